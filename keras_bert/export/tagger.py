"""A text → per-word tags model (CoNLL-style tagging) as a SavedModel for TensorFlow Serving.

`serving_default`: `text` string [batch] → `tags` string [batch, words], `start_char`, `end_char` int64
[batch, words], `num_words` int32 [batch]. Words are the text's whitespace-separated tokens (as CoNLL files
hold them); each is tagged at its first word piece; words cut off by `max_seq_length` are tagged "O" (as
`keras_bert.data.tagging.conll`); rows are padded with tag "" and offsets -1. Each text is first cut to
`max_text_bytes` bytes (`export_module.cut_texts`): words after the cut are not returned. Each batch is packed to
`max_seq_length`, then run at its longest row rounded up to a multiple of `length_bucket` (`export_module.bucketed`);
the model computes in `serving_dtype` (`keras_bert.export.precision`).
"""
from __future__ import annotations

import os
from collections.abc import Sequence

import keras
import tensorflow as tf
import tensorflow_text as tf_text

from keras_bert.data.tagging.conll import OUTSIDE_LABEL
from keras_bert.export.export_module import (
    LENGTH_BUCKET,
    ExportModule,
    bucketed,
    char_offsets,
    check_length_bucket,
    cut_texts,
    string_spec,
    text_byte_budget,
)
from keras_bert.export.precision import serving_model
from keras_bert.tokenization.preprocessor import BertPreprocessor


class _TaggerModule(ExportModule):
    def __init__(self, model: keras.Model, preprocessor: BertPreprocessor, tags: Sequence[str],
                 max_text_bytes: int | None, length_bucket: int = LENGTH_BUCKET):
        if len(tags) != model.outputs[0].shape[-1]:
            raise ValueError(f"the tagger has {model.outputs[0].shape[-1]} outputs but {len(tags)} tags were given")
        tokenizer = preprocessor.tokenizer
        super().__init__(tokenizer.vocab_file, tokenizer.lower_case, model)
        self.model = model
        self.preprocessor = preprocessor
        self.tags = tf.constant(list(tags), tf.string)
        self.unknown_id = tokenizer.vocab.index("[UNK]")
        self.max_text_bytes = text_byte_budget(max_text_bytes, preprocessor.packer.seq_length)
        self.length_bucket = check_length_bucket(length_bucket)
        self._whitespace = tf_text.WhitespaceTokenizer()
        self.tag = tf.function(self._tag, input_signature=[string_spec("text")])

    def _tag(self, text):
        text = cut_texts(text, self.max_text_bytes)
        words, word_begins, word_ends = self._whitespace.tokenize_with_offsets(text)  # [batch, (words)]
        pieces = self.preprocessor.tokenizer(words.flat_values).merge_dims(1, 2)  # [all words, (pieces)]
        # A word without pieces (only control characters) stands as [UNK], as keras_bert.data.tagging.conll does.
        empty = tf.cast(tf.equal(pieces.row_lengths(), 0), tf.int64)
        unknown = tf.RaggedTensor.from_row_lengths(tf.fill([tf.reduce_sum(empty)], self.unknown_id), empty)
        pieces = tf.concat([pieces, tf.cast(unknown, pieces.dtype)], axis=1)
        per_text = tf.RaggedTensor.from_row_splits(pieces, words.row_splits)  # [batch, (words), (pieces)]
        features = bucketed(self.preprocessor.packer(per_text), self.length_bucket)
        logits = self.model(features, training=False)
        logits = tf.cast(logits["logits"] if isinstance(logits, dict) else logits, tf.float32)
        predicted = tf.argmax(logits, axis=-1, output_type=tf.int32)  # [batch, seq]

        word_lengths = per_text.row_lengths(axis=2)  # [batch, (words)]
        first_piece = 1 + tf.cumsum(word_lengths, axis=1, exclusive=True)  # position after [CLS]
        kept = first_piece <= self.preprocessor.packer.seq_length - 2
        # Kept words' first pieces lie within the bucketed length; the others are clamped to a valid column.
        last_column = tf.shape(predicted, out_type=first_piece.dtype)[1] - 1
        positions = tf.minimum(first_piece, last_column).to_tensor(default_value=0)
        tag_ids = tf.gather(predicted, positions, batch_dims=1)  # [batch, max words]
        tags = tf.where(kept.to_tensor(default_value=False), tf.gather(self.tags, tag_ids), OUTSIDE_LABEL)
        is_word = tf.ones_like(words.values, tf.bool)
        is_word = words.with_flat_values(is_word).to_tensor(default_value=False)
        chars = char_offsets(text, tf.concat([word_begins.to_tensor(), word_ends.to_tensor()], axis=1))
        num_words = tf.cast(words.row_lengths(), tf.int32)
        width = tf.shape(is_word)[1]
        return {
            "tags": tf.where(is_word, tags, ""),
            "start_char": tf.where(is_word, chars[:, :width], -1),
            "end_char": tf.where(is_word, chars[:, width:], -1),
            "num_words": num_words,
        }


def export_tagger(model: keras.Model, preprocessor: BertPreprocessor, tags: Sequence[str],
                  export_dir: str | os.PathLike, max_text_bytes: int | None = None,
                  length_bucket: int = LENGTH_BUCKET, serving_dtype: str = "float32") -> None:
    """Writes a text → per-word tags model (module docstring).

    Args:
      model: a `BertTokenClassifier` (or any Keras model from the encoder input dict to `logits`
        float [batch, seq, tags]).
      preprocessor: the `BertPreprocessor` it was trained with (vocab, lower case, max_seq_length).
      tags: tag names in tag-id order.
      export_dir: str or path, the SavedModel folder to write.
      max_text_bytes: int, the bytes of each text that are tagged; None: `max_seq_length` ×
        `export_module.BYTES_PER_PIECE`, which leaves every word the model tags of ordinary text unaffected.
      length_bucket: int, each batch runs at its longest row rounded up to a multiple of it; 0: at max_seq_length.
      serving_dtype: "float32" or "bfloat16", the model's compute precision (`keras_bert.export.precision`).
    """
    module = _TaggerModule(serving_model(model, serving_dtype), preprocessor, tags, max_text_bytes, length_bucket)
    module.save(export_dir, {"serving_default": module.tag.get_concrete_function()})
