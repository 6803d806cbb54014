"""What every SavedModel export shares: the root object (vocabulary asset, `do_lower_case`, the model's
variables) and the graph helpers of the string-in signatures.

Every export loads with `tf.saved_model.load` after `import tensorflow_text` (no keras_bert needed) and
carries the vocabulary as the asset `assets/vocab.txt`, whatever the source file was called, and
`do_lower_case` as a bool variable.

Defined behaviour on bad input: bytes that are not valid UTF-8 are dropped by the tokenizer (character
offsets count each such byte as one U+FFFD); empty strings pack to `[CLS] [SEP]`; text beyond
`max_seq_length` word pieces is truncated as the reference does; a batch-size mismatch between two string
inputs (text_a/text_b, question/context) is an InvalidArgument error naming both inputs.

Bounded work per string: before tokenizing, each string input is cut to a byte budget (`cut_texts`), so a
request's memory and time do not grow with text the model would never see (a 20-million-character string
would otherwise take seconds and gigabytes). The default budget, `BYTES_PER_PIECE` bytes for each piece the
model can use, leaves every such piece of ordinary text unaffected (see `BYTES_PER_PIECE`).

Variable-length requests: the classifier, tagger, embedder and fill-mask signatures pack each request to
`max_seq_length` (truncation as the reference), then cut the batch to its longest row rounded up to a multiple of
`length_bucket` (`bucketed`, default `LENGTH_BUCKET` = 16), so a batch of short texts costs what its texts need and
the model sees at most `max_seq_length / length_bucket` shapes; padding is masked out of attention, so outputs are
those of the fixed-length model (within float32 rounding). `length_bucket=0` keeps the fixed `max_seq_length`. The
encoder's and the preprocessing model's TF Hub APIs keep their fixed `seq_length` (their contract), and SQuAD its
fixed windows.

Minimum TensorFlow Serving version: 2.20.0, verified (tests/export/test_serving_contract.py: every op of every
export is registered by TF 2.20 core or TF-Text 2.20). The TF-Text ops used — FastWordpieceTokenizeWithOffsets,
and TFText>WhitespaceTokenizeWithOffsetsV2 (tagger only) — predate the TF-Text 2.12.1 that Serving 2.12–2.19
bundle, and RoundRobinTrim is not used; but Serving < 2.20 was not tested, for TF-Text or TF core ops.
"""
from __future__ import annotations

import os
import shutil
import tempfile

import keras
import tensorflow as tf

from keras_bert import upstream_workarounds
from keras_bert.tokenization.packing import trimmed_length
from keras_bert.tokenization.tokenizer import MAX_CHARS_PER_WORD

VOCAB_ASSET = "vocab.txt"  # the asset's name in every export, as in TF Hub's BERT models

# A whitespace-separated chunk of at most 200 characters (the tokenizer's per-word limit) is at most 800 UTF-8
# bytes and yields at least one piece (longer words yield one [UNK]); with its separator, 801 bytes. So a text
# whose chunks are of that size, singly separated, has its first N pieces within its first N × 801 bytes.
MAX_CHUNK_BYTES = 4 * MAX_CHARS_PER_WORD
BYTES_PER_PIECE = MAX_CHUNK_BYTES + 1
_ASCII_WHITESPACE = (ord(" "), ord("\t"), ord("\n"), ord("\r"))  # the reference's word separators below U+0080
LENGTH_BUCKET = 16  # a served batch's length is a multiple of it: 8 shapes at max_seq_length 128
ENCODER_SEQUENCE_KEYS = ("input_word_ids", "input_mask", "input_type_ids")


def string_spec(name: str) -> tf.TensorSpec:
    """A string [batch] signature input named `name`."""
    return tf.TensorSpec([None], tf.string, name=name)


class ExportModule(tf.__internal__.tracking.AutoTrackable):
    """The root of every export: vocabulary asset, `do_lower_case`, and the model's variables.

    `variables`, `trainable_variables` and `non_trainable_variables` are saved as lists, as TF Hub's
    models have them (Keras's dropout seed states are among `variables`: functions capture them).

    Args:
      vocab_file: str or path, the vocabulary; saved as `assets/vocab.txt`.
      do_lower_case: bool, stored as the variable `do_lower_case`.
      model: `keras.Model` whose variables the export lists, or None (the preprocessing export has none).

    Example:
    >>> module = ExportModule("vocab.txt", do_lower_case=True)
    >>> module.lower = tf.function(tf.strings.lower, input_signature=[string_spec("text")])
    >>> module.save("/tmp/lower_case", {"serving_default": module.lower.get_concrete_function()})
    """

    def __init__(self, vocab_file: str | os.PathLike, do_lower_case: bool, model: keras.Model | None = None):
        if model is not None:
            self.variables = list(model.variables)
            self.trainable_variables = list(model.trainable_variables)
            self.non_trainable_variables = list(model.non_trainable_variables)
        self._vocab_source = os.fspath(vocab_file)
        self.do_lower_case = tf.Variable(bool(do_lower_case), trainable=False, name="do_lower_case")

    def save(self, export_dir: str | os.PathLike, signatures: dict) -> None:
        """Writes the SavedModel to `export_dir`; `signatures`: {name: concrete function}."""
        # The vocabulary is copied to a staging `vocab.txt` first: an asset keeps its source file's name.
        with tempfile.TemporaryDirectory(prefix="keras_bert_export_") as staging:
            staged = os.path.join(staging, VOCAB_ASSET)
            shutil.copyfile(self._vocab_source, staged)
            self.vocab_file = tf.saved_model.Asset(staged)
            tf.saved_model.save(self, os.fspath(export_dir), signatures=signatures)


def char_offsets(texts: tf.Tensor, byte_offsets: tf.Tensor) -> tf.Tensor:
    """Byte offsets → code-point offsets: string [batch], int64 [batch, k] → int64 [batch, k].

    Each offset becomes the number of characters that start before it (invalid bytes count as one
    U+FFFD each), so a begin byte maps to its character's index and an exclusive end byte to the
    exclusive end character.
    """
    _, starts = tf.strings.unicode_decode_with_offsets(texts, "UTF-8", errors="replace")
    dense_starts = starts.to_tensor(default_value=tf.int64.max)
    return upstream_workarounds.searchsorted_rows(dense_starts, tf.cast(byte_offsets, tf.int64), side="left")


def check_same_batch(first: tf.Tensor, second: tf.Tensor, names: tuple[str, str]) -> None:
    """InvalidArgument error naming both inputs unless `first` and `second` have the same batch size."""
    tf.debugging.assert_equal(
        tf.shape(first)[0], tf.shape(second)[0],
        message=f"`{names[0]}` and `{names[1]}` must have the same batch size")


def default_max_text_bytes(num_pieces: int) -> int:
    """The byte budget of a string input of which the model uses at most `num_pieces` word pieces."""
    return num_pieces * BYTES_PER_PIECE


def text_byte_budget(max_text_bytes: int | None, num_pieces: int) -> int:
    """`max_text_bytes`, or `default_max_text_bytes(num_pieces)` when it is None; less than 1 is a ValueError."""
    if max_text_bytes is None:
        return default_max_text_bytes(num_pieces)
    if max_text_bytes < 1:
        raise ValueError(f"max_text_bytes must be positive, got {max_text_bytes}")
    return max_text_bytes


def cut_texts(texts: tf.Tensor, max_bytes: int) -> tf.Tensor:
    """Each string cut to at most `max_bytes` bytes, where that leaves the tokens before the cut as they were:
    string [batch] → string [batch]; strings within the budget are unchanged.

    A longer string is cut at its last ASCII whitespace among the budget's final `MAX_CHUNK_BYTES` + 1 bytes
    (words never span whitespace, so every whitespace-separated chunk before it is tokenized as in the whole
    string, offsets included); when there is none there (a chunk longer than any word the tokenizer splits into
    pieces, or text without spaces such as Chinese) it is cut at the last character boundary, so the result is
    valid UTF-8 where the input was. Only the first `max_bytes` + 1 bytes of a string are read.
    """
    if max_bytes < 1:
        raise ValueError(f"the byte budget per string must be positive, got {max_bytes}")
    lengths = tf.strings.length(texts, unit="BYTE")
    long_rows = tf.where(lengths > max_bytes)  # [long, 1]
    heads = tf.io.decode_raw(tf.gather_nd(texts, long_rows), tf.uint8, fixed_length=max_bytes + 1)
    position = tf.range(max_bytes + 1)
    is_space = tf.reduce_any(tf.equal(heads[:, :, tf.newaxis], tf.constant(_ASCII_WHITESPACE, tf.uint8)), axis=-1)
    near_budget = position >= max_bytes - MAX_CHUNK_BYTES
    last_space = tf.reduce_max(tf.where(is_space & near_budget, position, -1), axis=1)
    char_start = tf.not_equal(tf.bitwise.bitwise_and(heads, 0xC0), 0x80)  # not a UTF-8 continuation byte
    last_char_start = tf.reduce_max(tf.where(char_start, position, 0), axis=1)
    cut = tf.where(last_space >= 0, last_space, last_char_start)
    return tf.strings.substr(texts, tf.zeros_like(lengths), tf.tensor_scatter_nd_update(lengths, long_rows, cut),
                             unit="BYTE")


def check_length_bucket(length_bucket: int) -> int:
    """`length_bucket` if it is an int ≥ 0, else a ValueError naming `--length_bucket`."""
    if isinstance(length_bucket, bool) or not isinstance(length_bucket, int) or length_bucket < 0:
        raise ValueError(f"--length_bucket must be an int >= 0 (0: fixed max_seq_length), got {length_bucket!r}")
    return length_bucket


def bucketed(features: dict[str, tf.Tensor], length_bucket: int) -> dict[str, tf.Tensor]:
    """A packed batch cut to its longest row rounded up to a multiple of `length_bucket` (at most its seq_length):
    the encoder inputs [batch, seq] → [batch, kept]; other entries (e.g. `masked_lm_positions`, which all lie
    before the longest row's end) unchanged. `length_bucket` 0: the batch as it is (fixed seq_length).
    """
    if not length_bucket:
        return dict(features)
    kept = trimmed_length(features["input_mask"], length_bucket)
    # A batch of 0 rows would be cut to 0 columns, where the pooler has no column 0 to read: it keeps them all.
    kept = tf.where(tf.shape(features["input_mask"])[0] > 0, kept, tf.shape(features["input_mask"])[1])
    return {key: value[:, :kept] if key in ENCODER_SEQUENCE_KEYS else value for key, value in features.items()}

