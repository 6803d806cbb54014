"""`MaskedTextPacker`: strings holding the literal mask token (`[MASK]`) → the pretrainer's inputs, in the TF graph.

`BertTokenizer` keeps ordinary text reference-exact, and so splits the literal `[MASK]` into `[`, `mask`, `]`. This
packer splits each text on the literal mask token first (byte-exact and case-sensitive: `[mask]` is ordinary text),
tokenizes the pieces between the masks with the tokenizer, puts the mask id between them and packs the result as
`[CLS] text [SEP]` with the one packing rule (`packing.BertPackInputs`: the first seq_length − 2 pieces are kept).

Single texts only (no pairs). Each text's masks are counted (`num_masks`); a mask cut off by the truncation to
seq_length − 2 pieces, or beyond the first `max_predictions` masks, gets no position, and the counts say so
(`num_predictions` < `num_masks`) — callers report it, nothing is dropped silently. Invalid UTF-8 bytes are dropped
by the tokenizer, as the reference does; they never form or break a mask token (its bytes must be literal).
"""
from __future__ import annotations

import os

import keras
import tensorflow as tf

from keras_bert.tokenization.packing import BertPackInputs
from keras_bert.tokenization.tokenizer import MAX_CHARS_PER_WORD, BertTokenizer

MASK_TOKEN = "[MASK]"
DEFAULT_MAX_PREDICTIONS = 20  # the reference's max_predictions_per_seq


def split_at_masks(texts: tf.Tensor, mask_token: str = MASK_TOKEN) -> tf.RaggedTensor:
    """string [batch] → string [batch, (masks + 1)]: the text before, between and after its literal mask tokens.

    Example:
    >>> split_at_masks(tf.constant(["a [MASK] b"])).to_list()
    [[b'a ', b' b']]
    """
    return tf.strings.split(tf.convert_to_tensor(texts, tf.string), sep=mask_token)


def _index_in_row(ragged: tf.RaggedTensor) -> tf.Tensor:
    """int64 [values]: the index of each value of a ragged [batch, (n)] within its row."""
    rows = ragged.value_rowids()
    return tf.range(tf.shape(rows, out_type=tf.int64)[0]) - tf.gather(ragged.row_starts(), rows)


class MaskedTextPacker(keras.layers.Layer):
    """Strings with literal mask tokens → the encoder's inputs + `masked_lm_positions` (module docstring).

    Args:
        vocab_file: path of the vocabulary; it must hold `mask_token`.
        lower_case: the reference's `do_lower_case`.
        seq_length: int ≥ 3, the packed length.
        max_predictions: int ≥ 1, the most masks of a text given a position (the reference's
            `max_predictions_per_seq`).
        mask_token: str, the literal that stands for the mask (default `[MASK]`); it must be a vocabulary token.
        strip_accents, tokenize_chinese_chars, max_chars_per_word: `BertTokenizer`'s options.

    Call: string [batch] → dict of
        `input_word_ids`, `input_mask`, `input_type_ids`: int32 [batch, seq_length], the mask id at each mask;
        `masked_lm_positions`: int32 [batch, P], P the most positions of a row in this batch (0 if none): row i's
            first `num_predictions[i]` entries are the packed positions of its first masks, the rest 0;
        `num_predictions`: int32 [batch], masks given a position;
        `num_masks`: int32 [batch], literal mask tokens in the text;
        `num_truncated`: int32 [batch], masks cut off because they lie beyond the first seq_length − 2 pieces.

    Example:
    >>> packer = MaskedTextPacker("../shared/data/vocab/uncased_vocab.txt", lower_case=True, seq_length=8)
    >>> features = packer(tf.constant(["Hello [MASK]!"]))
    >>> features["input_word_ids"].numpy().tolist(), features["masked_lm_positions"].numpy().tolist()
    ([[101, 7592, 103, 999, 102, 0, 0, 0]], [[2]])
    """

    def __init__(self, vocab_file: str | os.PathLike, lower_case: bool, seq_length: int = 128,
                 max_predictions: int = DEFAULT_MAX_PREDICTIONS, mask_token: str = MASK_TOKEN,
                 strip_accents: bool | None = None, tokenize_chinese_chars: bool = True,
                 max_chars_per_word: int = MAX_CHARS_PER_WORD, **kwargs):
        super().__init__(**kwargs)
        self._convert_input_args = False
        self._allow_non_tensor_positional_args = True
        if isinstance(max_predictions, bool) or not isinstance(max_predictions, int) or max_predictions < 1:
            raise ValueError(f"max_predictions must be an int ≥ 1, got {max_predictions!r}")
        if not isinstance(mask_token, str) or not mask_token:
            raise ValueError(f"mask_token must be a non-empty string, got {mask_token!r}")
        self.tokenizer = BertTokenizer(vocab_file, lower_case, strip_accents=strip_accents,
                                       tokenize_chinese_chars=tokenize_chinese_chars,
                                       max_chars_per_word=max_chars_per_word, name="tokenizer")
        if mask_token not in self.tokenizer.vocab:
            raise ValueError(f"the mask token {mask_token!r} is not in the vocabulary {vocab_file}")
        self.mask_token = mask_token
        self.mask_id = self.tokenizer.vocab.index(mask_token)
        self.max_predictions = max_predictions
        self.packer = BertPackInputs(seq_length, self.tokenizer.get_special_tokens_dict(), name="packer")

    @classmethod
    def from_preprocessor(cls, preprocessor, max_predictions: int = DEFAULT_MAX_PREDICTIONS,
                          mask_token: str = MASK_TOKEN) -> MaskedTextPacker:
        """The packer of a `BertPreprocessor`'s vocabulary, tokenizer options and seq_length."""
        config = preprocessor.get_config()
        options = {key: config[key] for key in ("vocab_file", "lower_case", "seq_length", "strip_accents",
                                                "tokenize_chinese_chars", "max_chars_per_word")}
        return cls(max_predictions=max_predictions, mask_token=mask_token, **options)

    @property
    def seq_length(self) -> int:
        return self.packer.seq_length

    def call(self, texts) -> dict[str, tf.Tensor]:
        texts = tf.convert_to_tensor(texts, tf.string)
        if texts.shape.rank != 1:
            raise ValueError(f"MaskedTextPacker expects strings of shape [batch], got shape {texts.shape}")
        segments = split_at_masks(texts, self.mask_token)  # [batch, (masks + 1)]
        pieces = tf.cast(self.tokenizer.tokenize_pieces(segments.flat_values), tf.int32)  # [segments, (pieces)]
        # The mask id follows each segment but the last of its text.
        is_last = tf.equal(_index_in_row(segments), tf.gather(segments.row_lengths() - 1, segments.value_rowids()))
        follows = tf.cast(tf.logical_not(is_last), tf.int64)
        masks = tf.RaggedTensor.from_row_lengths(tf.fill([tf.reduce_sum(follows)], self.mask_id), follows)
        ids = tf.RaggedTensor.from_row_splits(tf.concat([pieces, masks], axis=1), segments.row_splits)
        ids = ids.merge_dims(1, 2)  # [batch, (pieces and masks)]
        is_mask = tf.RaggedTensor.from_row_splits(
            tf.concat([tf.zeros_like(pieces, tf.bool), tf.ones_like(masks, tf.bool)], axis=1), segments.row_splits
        ).merge_dims(1, 2)
        # Where each mask lands after [CLS]; the packer keeps the first seq_length − 2 pieces.
        positions = tf.ragged.boolean_mask(ids.with_flat_values(_index_in_row(ids) + 1), is_mask)
        kept = positions <= self.seq_length - 2
        num_masks = positions.row_lengths()
        num_kept = tf.reduce_sum(tf.cast(kept, tf.int64), axis=1)
        chosen = tf.ragged.boolean_mask(positions, kept)[:, :self.max_predictions]
        features = self.packer(ids)
        return {
            **features,
            "masked_lm_positions": tf.cast(chosen.to_tensor(default_value=0), tf.int32),
            "num_predictions": tf.cast(chosen.row_lengths(), tf.int32),
            "num_masks": tf.cast(num_masks, tf.int32),
            "num_truncated": tf.cast(num_masks - num_kept, tf.int32),
        }

    def get_config(self) -> dict:
        config = super().get_config()
        tokenizer = self.tokenizer
        config.update(vocab_file=tokenizer.vocab_file, lower_case=tokenizer.lower_case, seq_length=self.seq_length,
                      max_predictions=self.max_predictions, mask_token=self.mask_token,
                      strip_accents=tokenizer.strip_accents, tokenize_chinese_chars=tokenizer.tokenize_chinese_chars,
                      max_chars_per_word=tokenizer.max_chars_per_word)
        return config
