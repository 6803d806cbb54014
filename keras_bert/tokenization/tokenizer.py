"""BERT preprocessing as Keras 3 layers on TF-Text ops, id-for-id equal to google-research/bert.

`BertTokenizer` gives exactly the ids of the reference `tokenization.FullTokenizer` (BasicTokenizer +
WordpieceTokenizer, max_input_chars_per_word=200); `BertPackInputs` builds `[CLS] a [SEP] (b [SEP])`
with the reference's truncation; `BertPreprocessor` chains the two.

Defined behaviour on bad input: bytes that are not valid UTF-8 are dropped, exactly as the
reference's `bytes.decode("utf-8", "ignore")` drops them (a truncated sequence, a stray continuation
byte, an overlong form or an encoded surrogate disappears; the valid text around it stays); an empty,
all-whitespace or all-control-character string has no words and packs to `[CLS] [SEP]`. A word of
more than 200 characters (after normalization) becomes one `[UNK]`, as in google-research/bert.
The literal text `[MASK]` (or `[CLS]`, ...) is not special: it splits into `[`, `mask`, `]`.

Character rules are tabulated from the running Python's `unicodedata` (3.11: Unicode 14.0), so the
ids equal the reference run on the same Python; a vocabulary missing, or lacking [UNK], [CLS] or
[SEP], is an error naming the file.
"""
from __future__ import annotations

import os
import pathlib
import re

import keras
import tensorflow as tf
import tensorflow_text as tf_text

from keras_bert.tokenization import basic_tokenizer, unicode_tables

REQUIRED_TOKENS = ("[UNK]", "[CLS]", "[SEP]")
MAX_CHARS_PER_WORD = 200  # google-research/bert's WordpieceTokenizer.max_input_chars_per_word.
_MAX_BYTES_PER_WORD = 4 * MAX_CHARS_PER_WORD  # TF-Text counts bytes; no word within the limit exceeds it.
_TOO_LONG_WORD = "x" * (_MAX_BYTES_PER_WORD + 1)  # Stands in for a word over the limit: becomes [UNK].


def load_vocab(vocab_file: str | os.PathLike) -> list[str]:
    """Reads a vocabulary as the reference does: one token per line, stripped; id = line number.

    Raises FileNotFoundError / ValueError naming the file if it is missing, not UTF-8, or lacks [UNK],
    [CLS] or [SEP].
    """
    path = pathlib.Path(vocab_file)
    if not path.is_file():
        raise FileNotFoundError(f"vocabulary file not found: {path}")
    try:
        with open(path, encoding="utf-8", newline="") as reader:
            tokens = [line.strip() for line in _reference_lines(reader.read())]
    except UnicodeDecodeError as error:
        raise ValueError(f"vocabulary file {path} is not UTF-8 text ({error})") from None
    missing = [t for t in REQUIRED_TOKENS if t not in tokens]
    if missing:
        raise ValueError(f"vocabulary file {path} lacks the required token(s) {', '.join(missing)}")
    return tokens


def _reference_lines(text: str) -> list[str]:
    """Splits like the reference's `GFile.readline()` loop: on "\\n" only, keeping an unterminated tail."""
    lines = text.split("\n")
    return lines[:-1] if lines[-1] == "" else lines


def _matchable_vocab(tokens: list[str]) -> list[str]:
    """The vocabulary as FastWordpieceTokenizer should see it, ids unchanged.

    The reference keeps the last id of a duplicated token and can never emit "" or a bare "##"
    (e.g. lines holding only U+2028 in Google's Chinese vocabulary). Such entries are replaced by
    placeholders that no word can match, since they contain punctuation.
    """
    last_id = {token: i for i, token in enumerate(tokens)}
    return [
        token if last_id[token] == i and token not in ("", "##") else f"[keras_bert unreachable {i}]"
        for i, token in enumerate(tokens)
    ]


class BertTokenizer(keras.layers.Layer):
    """Strings → WordPiece ids, exactly as google-research/bert's FullTokenizer.

    Call: string [batch] → int32 RaggedTensor [batch, (words), (pieces)].

    Args:
        vocab_file: path of the vocabulary (one token per line).
        lower_case: the reference's `do_lower_case` (str.lower, NFD, strip Mn).
    """

    def __init__(self, vocab_file: str | os.PathLike, lower_case: bool, **kwargs):
        super().__init__(**kwargs)
        self._convert_input_args = False
        self._allow_non_tensor_positional_args = True
        self.vocab_file = str(vocab_file)
        self.lower_case = bool(lower_case)
        self.vocab = load_vocab(vocab_file)
        self._char_tables = basic_tokenizer.TableTensors(unicode_tables.build_char_tables(self.lower_case))
        self._wordpiece = tf_text.FastWordpieceTokenizer(
            _matchable_vocab(self.vocab),
            suffix_indicator="##",
            max_bytes_per_word=_MAX_BYTES_PER_WORD,
            token_out_type=tf.int32,
            unknown_token="[UNK]",
            no_pretokenization=True,
        )

    def get_special_tokens_dict(self) -> dict[str, int]:
        """Python ints: vocab_size, start_of_sequence_id ([CLS]), end_of_segment_id ([SEP]),
        padding_id ([PAD], else 0 as the reference pads with 0) and mask_id ([MASK], if present)."""
        ids = {token: i for i, token in enumerate(self.vocab)}
        special = {
            "vocab_size": len(self.vocab),
            "start_of_sequence_id": ids["[CLS]"],
            "end_of_segment_id": ids["[SEP]"],
            "padding_id": ids.get("[PAD]", 0),
        }
        if "[MASK]" in ids:
            special["mask_id"] = ids["[MASK]"]
        return special

    def _words(self, texts) -> basic_tokenizer.BasicTokens:
        texts = tf.convert_to_tensor(texts, tf.string)
        if texts.shape.rank != 1:
            raise ValueError(f"BertTokenizer expects strings of shape [batch], got shape {texts.shape}")
        return basic_tokenizer.basic_tokenize(texts, self._char_tables, self.lower_case)

    def _wordpiece_input(self, words: basic_tokenizer.BasicTokens) -> tuple[tf.Tensor, tf.Tensor]:
        too_long = words.word_char_counts > MAX_CHARS_PER_WORD
        return tf.where(too_long, _TOO_LONG_WORD, words.words), too_long

    def _nest(self, texts, pieces: tf.RaggedTensor, words: basic_tokenizer.BasicTokens) -> tf.RaggedTensor:
        batch = tf.shape(texts, out_type=tf.int64)[0]
        return tf.RaggedTensor.from_value_rowids(pieces, words.word_rows, nrows=batch)

    def call(self, texts) -> tf.RaggedTensor:
        """string [batch] → int32 RaggedTensor [batch, (words), (pieces)]."""
        words = self._words(texts)
        wordpiece_input, _ = self._wordpiece_input(words)
        return self._nest(texts, self._wordpiece.tokenize(wordpiece_input), words)

    def tokenize(self, texts) -> tf.RaggedTensor:
        """Same as calling the layer."""
        return self(texts)

    def tokenize_with_offsets(self, texts) -> tuple[tf.RaggedTensor, tf.RaggedTensor, tf.RaggedTensor]:
        """string [batch] → (ids int32, begins int64, ends int64), each [batch, (words), (pieces)].

        Offsets are byte positions in the original string: a piece spans from the first byte of the
        input character its first code point came from to the end of the one its last came from.
        """
        words = self._words(texts)
        wordpiece_input, too_long = self._wordpiece_input(words)
        pieces, local_begins, local_ends = self._wordpiece.tokenize_with_offsets(wordpiece_input)
        piece_words = pieces.value_rowids()
        word_start = tf.gather(words.word_normalized_starts, piece_words)
        starts = words.char_normalized_starts
        def char_at(normalized_position):  # The code point covering a byte of the normalized words.
            return tf.maximum(tf.searchsorted(starts, normalized_position, side="right", out_type=tf.int64) - 1, 0)

        first_char = char_at(word_start + local_begins.flat_values)
        last_char = char_at(word_start + local_ends.flat_values - 1)
        whole_word = tf.gather(too_long, piece_words)  # An over-long word's [UNK] spans the whole word.
        begins = tf.where(whole_word, tf.gather(words.word_begins, piece_words), tf.gather(words.char_begins, first_char))
        ends = tf.where(whole_word, tf.gather(words.word_ends, piece_words), tf.gather(words.char_ends, last_char))
        return tuple(
            self._nest(texts, pieces.with_flat_values(values), words) for values in (pieces.flat_values, begins, ends)
        )

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(vocab_file=self.vocab_file, lower_case=self.lower_case)
        return config


def truncation_lengths(length_a: tf.Tensor, length_b: tf.Tensor, budget) -> tuple[tf.Tensor, tf.Tensor]:
    """Lengths kept by the reference's `_truncate_seq_pair`: int64 [batch] ×2, budget → int64 [batch] ×2.

    The reference pops one token at a time from the longer segment, from `b` on ties. In closed
    form: if `b` is the shorter, it keeps min(len_b, ⌊budget/2⌋); otherwise `a` keeps
    min(len_a, ⌈budget/2⌉); the other gets the rest. (Round-robin trimming differs on ties.)
    """
    budget = tf.cast(budget, tf.int64)
    fits = length_a + length_b <= budget
    keep_b_if_shorter = tf.minimum(length_b, budget // 2)
    keep_a_otherwise = tf.minimum(length_a, budget - budget // 2)
    a_longer = length_a > length_b
    keep_a = tf.where(fits, length_a, tf.where(a_longer, budget - keep_b_if_shorter, keep_a_otherwise))
    keep_b = tf.where(fits, length_b, tf.where(a_longer, keep_b_if_shorter, budget - keep_a_otherwise))
    return keep_a, keep_b


class BertPackInputs(keras.layers.Layer):
    """One or two segments of ids → the encoder's inputs, as the reference's `convert_single_example`.

    Call: a RaggedTensor [batch, (pieces)] or [batch, (words), (pieces)], or a list of one or two of
    them → dict of int32 [batch, seq_length]: `input_word_ids` (`[CLS] a [SEP] (b [SEP])`, padded with
    `padding_id`), `input_mask` (1 on real tokens), `input_type_ids` (0 for `[CLS] a [SEP]`, 1 for
    `b [SEP]`). Truncation: a single segment keeps its first seq_length − 2 pieces; a pair is cut
    by `truncation_lengths`.
    """

    def __init__(self, seq_length: int, special_tokens_dict: dict, **kwargs):
        super().__init__(**kwargs)
        self._convert_input_args = False
        self._allow_non_tensor_positional_args = True
        if int(seq_length) < 3:
            raise ValueError(f"BertPackInputs: seq_length must be at least 3, got {seq_length}")
        self.seq_length = int(seq_length)
        self.special_tokens_dict = {k: int(v) for k, v in special_tokens_dict.items()}
        for key in ("start_of_sequence_id", "end_of_segment_id"):
            if key not in self.special_tokens_dict:
                raise ValueError(f"BertPackInputs: special_tokens_dict lacks {key!r}")

    def call(self, inputs, seq_length=None) -> dict[str, tf.Tensor]:
        segments = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        if len(segments) not in (1, 2):
            raise ValueError(f"BertPackInputs takes 1 or 2 segments, got {len(segments)}")
        seq_length = tf.cast(self.seq_length if seq_length is None else seq_length, tf.int64)
        segments = [self._flatten(s) for s in segments]
        budget = seq_length - 1 - len(segments)
        lengths = [s.row_lengths() for s in segments]
        if len(segments) == 1:
            kept = [tf.minimum(lengths[0], budget)]
        else:
            kept = list(truncation_lengths(lengths[0], lengths[1], budget))
        return self._pack(segments, [tf.expand_dims(k, 1) for k in kept], seq_length)

    def _pack(self, segments, kept, seq_length) -> dict[str, tf.Tensor]:
        """Places [CLS], the kept pieces and [SEP]s with dense index arithmetic. kept: int64 [batch, 1]."""
        batch = segments[0].nrows()
        shape = tf.stack([batch, seq_length])
        position = tf.expand_dims(tf.range(seq_length), 0)  # [1, seq_length]
        padding = self.special_tokens_dict.get("padding_id", 0)
        ids = tf.fill(tf.cast(shape, tf.int32), tf.constant(padding, tf.int32))
        type_ids = tf.zeros_like(ids)
        segment_start = tf.ones_like(kept[0])  # After [CLS].
        for index, (segment, keep) in enumerate(zip(segments, kept)):
            dense = segment.to_tensor(default_value=0, shape=shape)
            offset = position - segment_start
            inside = (offset >= 0) & (offset < keep)
            pieces = tf.gather(dense, tf.clip_by_value(offset, 0, seq_length - 1), batch_dims=1)
            separator = tf.equal(offset, keep)
            ids = tf.where(inside, pieces, tf.where(separator, self.special_tokens_dict["end_of_segment_id"], ids))
            type_ids = tf.where(inside | separator, index, type_ids)
            segment_start = segment_start + keep + 1
        ids = tf.where(tf.equal(position, 0), self.special_tokens_dict["start_of_sequence_id"], ids)
        return {
            "input_word_ids": ids,
            "input_mask": tf.cast(position < segment_start, tf.int32),
            "input_type_ids": type_ids,
        }

    @staticmethod
    def _flatten(segment) -> tf.RaggedTensor:
        if not isinstance(segment, tf.RaggedTensor):
            raise TypeError(f"BertPackInputs expects RaggedTensor segments, got {type(segment).__name__}")
        if segment.ragged_rank == 2:
            segment = segment.merge_dims(1, 2)
        if segment.ragged_rank != 1:
            raise ValueError(f"BertPackInputs expects ragged rank 1 or 2, got {segment.ragged_rank}")
        return tf.cast(segment, tf.int32)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(seq_length=self.seq_length, special_tokens_dict=self.special_tokens_dict)
        return config


def lower_case_from_release_name(folder: str | os.PathLike) -> bool:
    """`do_lower_case` implied by a Google release folder name, as the reference's
    `validate_case_matches_checkpoint`: "uncased" → True, "cased" → False, chinese/multilingual → True."""
    name = pathlib.Path(folder).resolve().name.lower()
    if "uncased" in name:
        return True
    if "cased" in name:
        return False
    if name.startswith(("chinese", "multilingual")):
        return True
    raise ValueError(f"cannot infer lower_case from the folder name {str(folder)!r}; pass lower_case explicitly")


# Google's release folder names: BERT-Base/Large, multilingual, Chinese, whole-word masking, small BERTs.
_RELEASE_NAME = re.compile(r"^(wwm_)?(uncased|cased|multi_cased|multilingual|chinese)_L-\d+_H-\d+_A-\d+$")


def check_case_matches_checkpoint(do_lower_case: bool, init_checkpoint: str | os.PathLike | None) -> None:
    """The reference's `validate_case_matches_checkpoint`: when `init_checkpoint` lies in (or is) a Google
    release folder, `--do_lower_case` must match its casing; a ValueError names both flags otherwise.
    Checkpoints outside such folders are not checked."""
    if not init_checkpoint:
        return
    path = pathlib.Path(init_checkpoint)
    for folder in (path, *path.parents):
        if _RELEASE_NAME.match(folder.name):
            expected = lower_case_from_release_name(folder)
            if bool(do_lower_case) != expected:
                raise ValueError(
                    f"--do_lower_case={bool(do_lower_case)} but --init_checkpoint {init_checkpoint} is the "
                    f"{'uncased' if expected else 'cased'} release {folder.name}: its vocabulary and weights "
                    f"expect --do_lower_case={expected}")
            return


class BertPreprocessor(keras.layers.Layer):
    """Strings (or a list of 2 string tensors for pairs) → the encoder's input dict.

    Call: string [batch], or [string [batch], string [batch]] → dict of int32 [batch, seq_length]
    (`input_word_ids`, `input_mask`, `input_type_ids`); see `BertPackInputs`.
    """

    def __init__(self, vocab_file: str | os.PathLike, lower_case: bool, seq_length: int = 128, **kwargs):
        super().__init__(**kwargs)
        self._convert_input_args = False
        self._allow_non_tensor_positional_args = True
        self.tokenizer = BertTokenizer(vocab_file, lower_case, name="tokenizer")
        self.packer = BertPackInputs(seq_length, self.tokenizer.get_special_tokens_dict(), name="packer")

    @classmethod
    def from_google_release(cls, folder: str | os.PathLike, lower_case: bool | None = None, seq_length: int = 128):
        """From a Google BERT release folder (its `vocab.txt`); lower_case from the folder name unless given."""
        if lower_case is None:
            lower_case = lower_case_from_release_name(folder)
        return cls(pathlib.Path(folder) / "vocab.txt", lower_case, seq_length)

    def call(self, inputs) -> dict[str, tf.Tensor]:
        texts = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        return self.packer([self.tokenizer(t) for t in texts])

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(
            vocab_file=self.tokenizer.vocab_file, lower_case=self.tokenizer.lower_case, seq_length=self.packer.seq_length
        )
        return config
