"""A strings-in sentence (pair) classifier as a SavedModel for TensorFlow Serving.

Signatures (string [batch] inputs; batch 0 gives empty outputs):
  * `serving_default`: `text` (or `text_a` + `text_b` for sentence-pair tasks) →
    `probabilities` float32 [batch, classes], `label` string [batch], `label_id` int32 [batch];
    a regression task (STS-B) gives `score` float32 [batch] instead;
  * `classify_text` (always `text`) and `classify_pair` (always `text_a`, `text_b`).
Each string is first cut to `max_text_bytes` bytes (`export_module.cut_texts`); each batch is packed to
`max_seq_length`, then run at its longest row rounded up to a multiple of `length_bucket` (`export_module.bucketed`);
the model computes in `serving_dtype` (`keras_bert.export.precision`).
"""
from __future__ import annotations

import os
from collections.abc import Sequence

import keras
import tensorflow as tf

from keras_bert.export.export_module import (
    LENGTH_BUCKET,
    ExportModule,
    bucketed,
    check_length_bucket,
    check_same_batch,
    cut_texts,
    string_spec,
    text_byte_budget,
)
from keras_bert.export.precision import serving_model
from keras_bert.tokenization.preprocessor import BertPreprocessor


class _ClassifierModule(ExportModule):
    def __init__(self, model: keras.Model, preprocessor: BertPreprocessor, labels: Sequence[str],
                 is_regression: bool, max_text_bytes: int | None, length_bucket: int = LENGTH_BUCKET):
        if not is_regression and len(labels) != model.outputs[0].shape[-1]:
            raise ValueError(f"the classifier has {model.outputs[0].shape[-1]} outputs but {len(labels)} labels "
                             f"were given: {list(labels)}")
        tokenizer = preprocessor.tokenizer
        super().__init__(tokenizer.vocab_file, tokenizer.lower_case, model)
        self.model = model
        self.preprocessor = preprocessor
        self.is_regression = is_regression
        self.labels = tf.constant(list(labels) if labels else [""], tf.string)
        self.max_text_bytes = text_byte_budget(max_text_bytes, preprocessor.packer.seq_length)
        self.length_bucket = check_length_bucket(length_bucket)
        # Tokenization traced once and called by both signatures: its Unicode tables are stored only once.
        self.tokenize = tf.function(tokenizer, input_signature=[string_spec("text")])
        self.classify_text = tf.function(self._classify_text, input_signature=[string_spec("text")])
        self.classify_pair = tf.function(self._classify_pair,
                                         input_signature=[string_spec("text_a"), string_spec("text_b")])

    def _outputs(self, features: dict) -> dict[str, tf.Tensor]:
        logits = self.model(bucketed(features, self.length_bucket), training=False)
        logits = tf.cast(logits["logits"] if isinstance(logits, dict) else logits, tf.float32)
        if self.is_regression:
            return {"score": logits[:, 0]}
        label_id = tf.argmax(logits, axis=-1, output_type=tf.int32)
        return {"probabilities": tf.nn.softmax(logits, axis=-1), "label": tf.gather(self.labels, label_id),
                "label_id": label_id}

    def _pieces(self, text):
        return self.tokenize(cut_texts(text, self.max_text_bytes))

    def _classify_text(self, text):
        return self._outputs(self.preprocessor.packer([self._pieces(text)]))

    def _classify_pair(self, text_a, text_b):
        check_same_batch(text_a, text_b, ("text_a", "text_b"))
        return self._outputs(self.preprocessor.packer([self._pieces(text_a), self._pieces(text_b)]))


def export_classifier(model: keras.Model, preprocessor: BertPreprocessor, labels: Sequence[str],
                      export_dir: str | os.PathLike, *, is_regression: bool = False, pair_input: bool = False,
                      max_text_bytes: int | None = None, length_bucket: int = LENGTH_BUCKET,
                      serving_dtype: str = "float32") -> None:
    """Writes a strings-in classifier (module docstring).

    Args:
      model: a `BertClassifier` (or any Keras model from the encoder input dict to `logits` [batch, classes]).
      preprocessor: the `BertPreprocessor` it was trained with (vocab, lower case, max_seq_length).
      labels: class names in class-id order ([] for regression).
      export_dir: str or path, the SavedModel folder to write.
      is_regression: one real-valued output, served as `score`.
      pair_input: `serving_default` takes `text_a` + `text_b` (sentence-pair tasks) instead of `text`.
      max_text_bytes: the bytes of each string that are tokenized; None: `max_seq_length` ×
        `export_module.BYTES_PER_PIECE`, which leaves every piece the model sees of ordinary text unaffected.
      length_bucket: int, each batch runs at its longest row rounded up to a multiple of it; 0: at max_seq_length.
      serving_dtype: "float32" or "bfloat16", the model's compute precision (`keras_bert.export.precision`).
    """
    module = _ClassifierModule(serving_model(model, serving_dtype), preprocessor, labels, is_regression,
                               max_text_bytes, length_bucket)
    text = module.classify_text.get_concrete_function()
    pair = module.classify_pair.get_concrete_function()
    module.save(export_dir, {"serving_default": pair if pair_input else text,
                             "classify_text": text, "classify_pair": pair})
