"""What every SavedModel export shares: the root object (vocabulary asset, `do_lower_case`, the model's
variables) and the graph helpers of the string-in signatures.

Every export loads with `tf.saved_model.load` after `import tensorflow_text` (no keras_bert needed) and
carries the vocabulary as the asset `assets/vocab.txt`, whatever the source file was called, and
`do_lower_case` as a bool variable.

Defined behaviour on bad input: bytes that are not valid UTF-8 are dropped by the tokenizer (character
offsets count each such byte as one U+FFFD); empty strings pack to `[CLS] [SEP]`; text beyond
`max_seq_length` word pieces is truncated as the reference does; a batch-size mismatch between two string
inputs (text_a/text_b, question/context) is an InvalidArgument error naming both inputs.

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

VOCAB_ASSET = "vocab.txt"  # the asset's name in every export, as in TF Hub's BERT models


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
