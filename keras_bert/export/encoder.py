"""The encoder as a SavedModel with TF Hub's BERT encoder API, for reuse in other models (fine-tuning the
reloaded encoder included) and for TensorFlow Serving.

* root callable `encoder(inputs, training=False)`: inputs dict of int32 [batch, seq] `input_word_ids`,
  `input_mask`, `input_type_ids` → dict `pooled_output` float32 [batch, hidden], `sequence_output`
  [batch, seq, hidden], `encoder_outputs` (list of [batch, seq, hidden], one per layer), `default`
  (= pooled_output); `training=True` turns dropout on (for fine-tuning the reloaded encoder);
* `encoder.mlm(inputs, training=False)` (only when the model is a `BertPretrainer`): the same inputs plus
  int32 [batch, P] `masked_lm_positions` → the outputs above plus `mlm_logits` float32 [batch, P, vocab];
* signatures `serving_default` (flat outputs: `encoder_outputs_<i>` for the list) and `mlm`.
"""
from __future__ import annotations

import os

import tensorflow as tf

from keras_bert.export.export_module import ExportModule
from keras_bert.models.encoder import ENCODER_INPUTS, BertEncoder
from keras_bert.models.pretrainer import BertPretrainer


def _encoder_specs(with_positions: bool = False) -> dict[str, tf.TensorSpec]:
    specs = {name: tf.TensorSpec([None, None], tf.int32, name=name) for name in ENCODER_INPUTS}
    if with_positions:
        specs["masked_lm_positions"] = tf.TensorSpec([None, None], tf.int32, name="masked_lm_positions")
    return specs


def _flat_encoder_outputs(outputs: dict) -> dict[str, tf.Tensor]:
    """Signature outputs must be a flat dict: the `encoder_outputs` list becomes `encoder_outputs_<i>`."""
    flat = {key: value for key, value in outputs.items() if key != "encoder_outputs"}
    flat.update({f"encoder_outputs_{i}": value for i, value in enumerate(outputs["encoder_outputs"])})
    return flat


def _float32(outputs: dict) -> dict:
    """Mixed-precision models compute in float16: the API's outputs are float32 whatever the policy."""
    return tf.nest.map_structure(lambda t: tf.cast(t, tf.float32), outputs)


class _MaskedLM(tf.__internal__.tracking.AutoTrackable):
    """`.mlm`: encoder inputs + `masked_lm_positions` → encoder outputs + `mlm_logits`."""

    def __init__(self, pretrainer: BertPretrainer):
        self.pretrainer = pretrainer
        self.__call__ = tf.function(self._call)
        for training in (False, True):
            self.__call__.get_concrete_function(_encoder_specs(True), training=training)

    def _call(self, inputs, training=False):
        encoder_inputs = {name: inputs[name] for name in ENCODER_INPUTS}
        outputs = dict(self.pretrainer.encoder(encoder_inputs, training=training))
        sequence = outputs["sequence_output"]
        outputs["mlm_logits"] = self.pretrainer.get_layer("masked_lm")(
            sequence, inputs["masked_lm_positions"], training=training)
        return _float32(outputs)


class _EncoderModule(ExportModule):
    def __init__(self, model: BertEncoder | BertPretrainer, vocab_file, do_lower_case: bool):
        encoder = model.encoder if isinstance(model, BertPretrainer) else model
        if not isinstance(encoder, BertEncoder):
            raise TypeError(f"export_encoder needs a BertEncoder or BertPretrainer, got {type(model).__name__}")
        super().__init__(vocab_file, do_lower_case, model)
        self.encoder = encoder
        self.__call__ = tf.function(self._call)
        for training in (False, True):
            self.__call__.get_concrete_function(_encoder_specs(), training=training)
        if isinstance(model, BertPretrainer):
            self.mlm = _MaskedLM(model)

    def _call(self, inputs, training=False):
        return _float32(dict(self.encoder(dict(inputs), training=training)))

    def signatures(self) -> dict:
        serving = tf.function(lambda **inputs: _flat_encoder_outputs(self._call(inputs)))
        signatures = {"serving_default": serving.get_concrete_function(**_encoder_specs())}
        if hasattr(self, "mlm"):
            mlm = tf.function(lambda **inputs: _flat_encoder_outputs(self.mlm._call(inputs)))
            signatures["mlm"] = mlm.get_concrete_function(**_encoder_specs(True))
        return signatures


def export_encoder(model: BertEncoder | BertPretrainer, vocab_file: str | os.PathLike, do_lower_case: bool,
                   export_dir: str | os.PathLike) -> None:
    """Writes the encoder with TF Hub's encoder API (module docstring).

    Args:
      model: a `BertEncoder`, or a `BertPretrainer` (then the export also has `.mlm` and the `mlm` signature).
      vocab_file: str or path, the model's vocabulary (stored as `assets/vocab.txt`).
      do_lower_case: bool, stored with the export for its users' preprocessing.
      export_dir: str or path, the SavedModel folder to write.
    """
    module = _EncoderModule(model, vocab_file, do_lower_case)
    module.save(export_dir, module.signatures())
