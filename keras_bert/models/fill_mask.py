"""`FillMask`: masked-word prediction, what BERT is pretrained to do ("... bought a [MASK] of shoes" → "pair").

Each literal mask token of a text (`[MASK]`, see `tokenization.masked_text`) is predicted independently, as BERT's
masked-LM objective does: the masked-LM head's logits at its position → softmax over the whole vocabulary → the
top-k tokens, their probabilities, their ids, and the text with that mask replaced by each token (the other masks
stay). A `##` piece joins the word before it, as BERT's WordPiece detokenization (`" ".join(tokens).replace(" ##",
"")`) does: whitespace before the mask is removed and the `##` dropped ("the dog [MASK] loudly" with `##s` → "the
dogs loudly"). Special and unused tokens are candidates like any other: these are the model's probabilities.

`FillMask.outputs` is the TF graph computation, shared by the Python call and the `bert_fill_mask` SavedModel
(`keras_bert.export.fill_mask`), so both answer alike. It cuts each packed batch to its longest text
(`packing.trim_padding`, optionally rounded up to a multiple): the mask positions lie within the text, and padding
changes no prediction, since padded keys get no attention.

Bad input (Python call): a text without a mask token, an empty text, more masks than `max_predictions`, a str that
is not encodable as UTF-8 (a lone surrogate) are ValueErrors naming the text's index; bytes that are not valid UTF-8
are dropped, as the tokenizer does. A mask cut off by the truncation to `seq_length` − 2 pieces gets no prediction:
its result's `num_masks` is larger than `len(masks)`, and a warning names the text.
"""
from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from keras_bert.checkpoints.google import resolve_checkpoint
from keras_bert.checkpoints.pretrained import HUGGINGFACE, checkpoint_format
from keras_bert.config import ConfigLike
from keras_bert.models.encoder import ENCODER_INPUTS
from keras_bert.models.pretrainer import BertPretrainer
from keras_bert.tokenization.huggingface import read_tokenizer_settings
from keras_bert.tokenization.masked_text import DEFAULT_MAX_PREDICTIONS, MASK_TOKEN, MaskedTextPacker, split_at_masks
from keras_bert.tokenization.packing import trimmed_length
from keras_bert.tokenization.preprocessor import (
    BertPreprocessor,
    check_case_matches_checkpoint,
    lower_case_from_release_name,
)
from keras_bert.tokenization.vocab import check_vocab_matches_config

logger = logging.getLogger(__name__)

DEFAULT_SEQ_LENGTH = 128
# BERT's whitespace (the reference's _is_whitespace) at the end of a string, removed before a `##` piece.
_TRAILING_WHITESPACE = r"[\t\n\r \p{Zs}]+$"


@dataclasses.dataclass(frozen=True)
class MaskPrediction:
    """The top-k candidates for one mask, best first.

    Attributes:
        index: int, which mask token of the text (0 for its first).
        position: int, its position in the packed input ([CLS] is 0).
        tokens: list of str, vocabulary tokens (`##` pieces as in the vocabulary).
        scores: list of float, their probabilities (softmax over the vocabulary).
        token_ids: list of int.
        filled: list of str, the text with this mask replaced by each token.
    """

    index: int
    position: int
    tokens: list[str]
    scores: list[float]
    token_ids: list[int]
    filled: list[str]


@dataclasses.dataclass(frozen=True)
class FillMaskResult:
    """The predictions for one text.

    Attributes:
        text: str, the text as given (invalid UTF-8 bytes dropped).
        masks: list of MaskPrediction, one per predicted mask, in text order.
        num_masks: int, the mask tokens in the text; the last `num_masks - len(masks)` lie beyond `seq_length`
            and were not predicted.
    """

    text: str
    masks: list[MaskPrediction]
    num_masks: int


def _as_packer(preprocessor: BertPreprocessor | MaskedTextPacker, max_predictions: int) -> MaskedTextPacker:
    if isinstance(preprocessor, MaskedTextPacker):
        return preprocessor
    if isinstance(preprocessor, BertPreprocessor):
        return MaskedTextPacker.from_preprocessor(preprocessor, max_predictions)
    raise TypeError(f"FillMask needs a BertPreprocessor or a MaskedTextPacker, got {type(preprocessor).__name__}")


class FillMask:
    """Predicts the masked words of texts with a `BertPretrainer`'s masked-LM head (module docstring).

    Args:
        pretrainer: a `BertPretrainer` whose masked-LM head was trained (load it with
            `required_heads=("masked_lm",)`, as `from_pretrained` does).
        preprocessor: the `BertPreprocessor` of its vocabulary and casing (or a `MaskedTextPacker`).
        max_predictions: int, the most masks per text (a BertPreprocessor only; a packer has its own).
        fixed_length: run every batch at the packer's `seq_length` rather than cut to its longest text (the same
            predictions; static shapes).

    Example:
    >>> fill_mask = FillMask.from_pretrained("uncased_L-12_H-768_A-12")
    >>> result = fill_mask("the woman went to the store and bought a [MASK] of shoes .", top_k=3)
    >>> mask = result.masks[0]  # the first (here only) [MASK]
    >>> mask.tokens, mask.scores, mask.filled  # 3 candidates each, most probable first
    """

    def __init__(self, pretrainer: keras.Model, preprocessor: BertPreprocessor | MaskedTextPacker,
                 max_predictions: int = DEFAULT_MAX_PREDICTIONS, fixed_length: bool = False):
        if not isinstance(pretrainer, BertPretrainer):
            raise TypeError(f"FillMask needs a BertPretrainer (with its masked-LM head), got "
                            f"{type(pretrainer).__name__}")
        self.pretrainer = pretrainer
        self.packer = _as_packer(preprocessor, max_predictions)
        self.fixed_length = bool(fixed_length)
        self.vocab = list(self.packer.tokenizer.vocab)
        if len(self.vocab) > pretrainer.bert_config.vocab_size:
            raise ValueError(f"the vocabulary {self.packer.tokenizer.vocab_file} has {len(self.vocab)} tokens but the "
                             f"model only {pretrainer.bert_config.vocab_size} word embeddings")
        self._predict = tf.function(self.outputs, reduce_retracing=True)

    @classmethod
    def from_pretrained(cls, path: str | os.PathLike, vocab_file: str | os.PathLike | None = None,
                        do_lower_case: bool | None = None, seq_length: int | None = None,
                        max_predictions: int = DEFAULT_MAX_PREDICTIONS, config: ConfigLike | None = None,
                        mask_token: str = MASK_TOKEN) -> FillMask:
        """From a Google checkpoint or a Hugging Face folder with the masked-LM head (a checkpoint without it is a
        ValueError listing its missing variables).

        Args:
            path: a Google release folder or checkpoint prefix, or a Hugging Face folder (BertForMaskedLM,
                BertForPreTraining).
            vocab_file: default the `vocab.txt` in the folder (Google release or Hugging Face).
            do_lower_case: default the Hugging Face folder's tokenizer settings, or the Google release folder's
                name (`uncased_*` ...); a value contradicting either is a ValueError.
            seq_length: the packed length; default the smaller of 128 and `max_position_embeddings`.
            max_predictions, mask_token: see `MaskedTextPacker`.
            config: a BertConfig, its dict or a bert_config.json path; default the checkpoint's.
        """
        path = os.fspath(path)
        options: dict[str, Any] = {}
        if checkpoint_format(path) == HUGGINGFACE:
            settings = read_tokenizer_settings(path)
            if do_lower_case is not None and bool(do_lower_case) != settings.do_lower_case:
                raise ValueError(f"do_lower_case={bool(do_lower_case)} but {path} says do_lower_case="
                                 f"{settings.do_lower_case}: its weights expect that casing")
            vocab_file = vocab_file or settings.vocab_file
            do_lower_case = settings.do_lower_case
            options = settings.tokenizer_options()
            pretrainer = BertPretrainer.from_huggingface(path, config=config, required_heads=("masked_lm",))
        else:
            folder = resolve_checkpoint(path)[1]
            vocab_file = vocab_file or os.path.join(folder, "vocab.txt")
            if do_lower_case is None:
                try:
                    do_lower_case = lower_case_from_release_name(folder)
                except ValueError:
                    raise ValueError(f"pass do_lower_case: the casing of {path} is not known from its folder "
                                     "name (uncased_*, cased_*, ...)") from None
            check_case_matches_checkpoint(do_lower_case, path)
            pretrainer = BertPretrainer.from_google_checkpoint(path, config=config, required_heads=("masked_lm",))
        bert_config = pretrainer.bert_config
        check_vocab_matches_config(vocab_file, bert_config)
        limit = bert_config.max_position_embeddings
        seq_length = min(DEFAULT_SEQ_LENGTH, limit) if seq_length is None else seq_length
        if seq_length > limit:
            raise ValueError(f"seq_length {seq_length} exceeds max_position_embeddings {limit} of {path}")
        packer = MaskedTextPacker(vocab_file, do_lower_case, seq_length, max_predictions, mask_token, **options)
        return cls(pretrainer, packer)

    def outputs(self, texts: tf.Tensor, top_k: int, length_multiple: int = 1) -> dict[str, tf.Tensor]:
        """The graph computation: string [batch] → dict of (P: the most masks predicted in a row of the batch;
        entries past a row's `num_predictions` are padding: "", 0.0 or -1)
            `tokens` string [batch, P, k], `scores` float32 [batch, P, k], `token_ids` int32 [batch, P, k],
            `mask_positions` int32 [batch, P], `filled` string [batch, P, k], `num_predictions` int32 [batch],
            `num_masks` int32 [batch] (see `MaskedTextPacker`).

        `top_k`: Python int, at most the vocabulary size. `length_multiple`: Python int ≥ 1, the packed batch is cut
        to its longest text rounded up to a multiple of it (so that a served model sees few shapes); not with
        `fixed_length`.
        """
        features = self.packer(texts)
        if not self.fixed_length:
            kept = trimmed_length(features["input_mask"], length_multiple)
            # At least one column: the masked-LM gather fails on 0 texts × 0 columns (TF 2.20).
            kept = tf.maximum(kept, 1)
            features = {**features, **{name: features[name][:, :kept] for name in ENCODER_INPUTS}}
        width = tf.shape(features["masked_lm_positions"])[1]
        inputs = {name: features[name] for name in ENCODER_INPUTS}
        # One extra position, dropped after: keras.ops.take_along_axis fails on 0 texts × 0 positions (Keras 3.x).
        inputs["masked_lm_positions"] = tf.pad(features["masked_lm_positions"], [[0, 0], [0, 1]])
        logits = tf.cast(self.pretrainer(inputs, training=False)["mlm_logits"], tf.float32)[:, :width]
        probabilities = tf.nn.softmax(logits, axis=-1)[:, :, :len(self.vocab)]  # ids beyond vocab.txt: no token
        scores, token_ids = tf.math.top_k(probabilities, k=top_k)
        tokens = tf.gather(tf.constant(self.vocab), token_ids)
        valid = tf.range(width)[tf.newaxis, :] < features["num_predictions"][:, tf.newaxis]  # [batch, P]
        filled = self._filled(texts, tokens)
        each = valid[:, :, tf.newaxis]
        return {
            "tokens": tf.where(each, tokens, ""),
            "scores": tf.where(each, scores, 0.0),
            "token_ids": tf.where(each, token_ids, -1),
            "mask_positions": tf.where(valid, features["masked_lm_positions"], -1),
            "filled": tf.where(each, filled, ""),
            "num_predictions": features["num_predictions"],
            "num_masks": features["num_masks"],
        }

    def _filled(self, texts: tf.Tensor, tokens: tf.Tensor) -> tf.Tensor:
        """Each text with its i-th mask replaced by tokens[:, i, j]: string [batch, P, k]."""
        segments = split_at_masks(texts, self.packer.mask_token)
        segments = segments.with_flat_values(
            tf.strings.unicode_transcode(segments.flat_values, "UTF-8", "UTF-8", errors="ignore"))
        mask_bytes = len(self.packer.mask_token.encode("utf-8"))
        lengths = tf.strings.length(segments.flat_values)
        ends = tf.cumsum(lengths)  # end of each segment within the concatenation of all segments
        rows = segments.value_rowids()
        row_start = tf.gather(ends - lengths, segments.row_starts())  # where each text's first segment begins
        index = tf.range(tf.size(rows, out_type=tf.int64)) - tf.gather(segments.row_starts(), rows)
        # The mask after segment j of a text starts after segments 0..j and j masks.
        starts = ends - tf.gather(row_start, rows) + tf.cast(index, tf.int32) * mask_bytes
        shape = tf.shape(tokens)
        starts = segments.with_flat_values(starts).to_tensor(default_value=0, shape=shape[:2])  # [batch, P]
        # The text again (invalid bytes dropped): each segment but a text's last followed by the mask token. (Not
        # reduce_join's `separator`: on a RaggedTensor it drops the separator after an empty first segment, TF 2.20.)
        is_last = tf.equal(index, tf.gather(segments.row_lengths() - 1, rows))
        with_masks = tf.strings.join([segments.flat_values, tf.where(is_last, "", self.packer.mask_token)])
        joined = tf.strings.reduce_join(segments.with_flat_values(with_masks), axis=1)
        joined = tf.broadcast_to(joined[:, tf.newaxis], shape[:2])
        before = tf.strings.substr(joined, tf.zeros_like(starts), starts)
        total = tf.strings.length(joined)
        after = tf.strings.substr(joined, tf.minimum(starts + mask_bytes, total), total)  # (padding: clamped)
        is_piece = tf.logical_and(tf.equal(tf.strings.substr(tokens, 0, 2), "##"), tf.strings.length(tokens) > 2)
        word = tf.where(is_piece, tf.strings.regex_replace(tokens, "^##", ""), tokens)
        before, after = (tf.broadcast_to(t[:, :, tf.newaxis], shape) for t in (before, after))
        before = tf.where(is_piece, tf.strings.regex_replace(before, _TRAILING_WHITESPACE, ""), before)
        return tf.strings.join([before, word, after])

    def __call__(self, texts: str | bytes | Sequence[str | bytes], top_k: int = 5,
                 batch_size: int = 32) -> FillMaskResult | list[FillMaskResult]:
        """Predicts every mask of each text.

        Args:
            texts: a str (or UTF-8 bytes) holding mask tokens, or a sequence of them.
            top_k: int, candidates per mask, 1 to the vocabulary size.
            batch_size: int ≥ 1, texts per model call.

        Returns:
            A `FillMaskResult` for a single text, else a list of them in order.
        """
        single = isinstance(texts, (str, bytes))
        items = [texts] if single else list(texts)
        if isinstance(top_k, bool) or not isinstance(top_k, int) or not 1 <= top_k <= len(self.vocab):
            raise ValueError(f"top_k must be an int from 1 to the vocabulary size {len(self.vocab)}, got {top_k!r}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be an int ≥ 1, got {batch_size!r}")
        encoded = [self._checked(index, text) for index, text in enumerate(items)]
        results = []
        for start in range(0, len(encoded), batch_size):
            batch = encoded[start:start + batch_size]
            outputs = {k: v.numpy() for k, v in self._predict(tf.constant(batch, tf.string), top_k).items()}
            results += [self._result(start + row, batch[row], outputs, row) for row in range(len(batch))]
        return results[0] if single else results

    def _checked(self, index: int, text: str | bytes) -> bytes:
        """The UTF-8 bytes of texts[index], or a ValueError naming it (`masked_text_problem`, not encodable)."""
        if isinstance(text, str):
            try:
                text = text.encode("utf-8")
            except UnicodeEncodeError as error:
                raise ValueError(f"texts[{index}] cannot be encoded as UTF-8 ({error.reason} at character "
                                 f"{error.start})") from None
        elif not isinstance(text, bytes):
            raise TypeError(f"texts[{index}] must be a str or bytes, got {type(text).__name__}")
        problem = masked_text_problem(text, self.packer.mask_token, self.packer.max_predictions)
        if problem:
            raise ValueError(f"texts[{index}] {problem}")
        return text

    def _result(self, index: int, text: bytes, outputs: dict[str, np.ndarray], row: int) -> FillMaskResult:
        count, predicted = int(outputs["num_masks"][row]), int(outputs["num_predictions"][row])
        if predicted < count:
            logger.warning("texts[%d]: %d of its %d %s tokens lie beyond seq_length %d and were not predicted",
                           index, count - predicted, count, self.packer.mask_token, self.packer.seq_length)

        def strings(values) -> list[str]:
            return [value.decode("utf-8") for value in values]

        masks = [MaskPrediction(
            index=i, position=int(outputs["mask_positions"][row, i]), tokens=strings(outputs["tokens"][row, i]),
            scores=[float(s) for s in outputs["scores"][row, i]],
            token_ids=[int(t) for t in outputs["token_ids"][row, i]],
            filled=strings(outputs["filled"][row, i])) for i in range(predicted)]
        return FillMaskResult(text.decode("utf-8", "ignore"), masks, count)


def masked_text_problem(text: str | bytes, mask_token: str = MASK_TOKEN,
                        max_predictions: int = DEFAULT_MAX_PREDICTIONS) -> str | None:
    """What makes `text` unfit for fill-mask (empty, no mask token, more than `max_predictions` of them), as the end
    of a sentence naming it ("is empty: ..."); None when it is fit. Mask tokens are counted as
    `masked_text.split_at_masks` finds them: literal, non-overlapping.

    Example:
    >>> masked_text_problem("no mask here")
    "has no [MASK] to predict: 'no mask here'"
    """
    data = text.encode("utf-8", "surrogateescape") if isinstance(text, str) else text
    if not data.strip():
        return f"is empty (or only whitespace): write {mask_token} where a word is to be predicted"
    count = data.count(mask_token.encode("utf-8"))
    if count == 0:
        return f"has no {mask_token} to predict: {_preview(data)}"
    if count > max_predictions:
        return f"has {count} {mask_token} tokens, more than max_predictions {max_predictions}: {_preview(data)}"
    return None


def _preview(text: bytes, limit: int = 80) -> str:
    decoded = text.decode("utf-8", "replace")
    return repr(decoded if len(decoded) <= limit else decoded[:limit] + "…")
