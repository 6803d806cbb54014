"""Task models: an encoder plus a head, as functional `keras.Model`s that round-trip through `.keras`.

Every model takes the encoder's input dict (int32 [batch, seq] `input_word_ids`, `input_mask`,
`input_type_ids`) and exposes the encoder as `.encoder`; outputs are float32 logits.
"""
from __future__ import annotations

import os
from typing import Any

import keras

from keras_bert.config import BertConfig
from keras_bert.layers.heads import (
    ClassificationHead,
    MaskedLMHead,
    NextSentenceHead,
    SpanHead,
    TokenClassificationHead,
)
from keras_bert.models.encoder import BertEncoder, encoder_inputs
from keras_bert.models.pretraining_loss import PretrainingMetrics, pretraining_loss, scale_for_replicas


class _BertTaskModel(keras.Model):
    """Shared construction, config and checkpoint loading of the task models."""

    def _finish(self, encoder: BertEncoder, inputs: dict, outputs: dict, options: dict, **kwargs: Any) -> None:
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)
        self.encoder = encoder
        self.bert_config = encoder.bert_config
        self._options = options

    def get_config(self) -> dict[str, Any]:
        return {"config": self.bert_config.to_dict(), **self._options, "name": self.name,
                "trainable": self.trainable}

    @classmethod
    def from_config(cls, config: dict[str, Any]):
        return cls(**config)

    @classmethod
    def from_google_checkpoint(cls, path: str | os.PathLike, config: BertConfig | None = None, **kwargs: Any):
        """Builds the model from a Google release folder or checkpoint prefix (see `keras_bert.checkpoints.google`).

        Encoder variables must all be present; head variables are loaded when the checkpoint has
        them (a fine-tuned checkpoint) and keep their initial values otherwise (a pretrained one).
        """
        from keras_bert.checkpoints import google as checkpoints

        return checkpoints.load_google_checkpoint(cls, path, config=config, **kwargs)


def _encoder_for(config: BertConfig | dict[str, Any]) -> BertEncoder:
    return BertEncoder(config if isinstance(config, BertConfig) else BertConfig.from_dict(config))


@keras.saving.register_keras_serializable(package="keras_bert")
class BertPretrainer(_BertTaskModel):
    """Encoder + masked-LM + next-sentence heads (the reference's `run_pretraining` model).

    Extra input `masked_lm_positions` int32 [batch, P]. Outputs: `mlm_logits` float32 [batch, P, vocab],
    `nsp_logits` float32 [batch, 2], plus the encoder's `sequence_output` and `pooled_output`.
    """

    def __init__(self, config: BertConfig | dict[str, Any], **kwargs: Any):
        encoder = _encoder_for(config)
        cfg = encoder.bert_config
        inputs = {**encoder_inputs(), "masked_lm_positions": keras.Input(
            shape=(None,), dtype="int32", name="masked_lm_positions")}
        encoded = encoder({k: inputs[k] for k in ("input_word_ids", "input_mask", "input_type_ids")})
        mlm = MaskedLMHead(cfg.vocab_size, cfg.hidden_size, cfg.hidden_act, cfg.initializer_range,
                           embedding=encoder.embeddings.word_embeddings, name="masked_lm")
        nsp = NextSentenceHead(initializer_range=cfg.initializer_range, name="next_sentence")
        outputs = {"mlm_logits": mlm(encoded["sequence_output"], inputs["masked_lm_positions"]),
                   "nsp_logits": nsp(encoded["pooled_output"]),
                   "sequence_output": encoded["sequence_output"], "pooled_output": encoded["pooled_output"]}
        kwargs.setdefault("name", "bert_pretrainer")
        self._finish(encoder, inputs, outputs, {}, **kwargs)
        self.pretraining_metrics = PretrainingMetrics()
        self._tracked_metrics = self.pretraining_metrics.all()

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """The reference's loss when `y` holds `masked_lm_ids`, `masked_lm_weights` and
        `next_sentence_labels` (compile with an optimizer only, no `loss=`)."""
        if not isinstance(y, dict) or "masked_lm_ids" not in y:
            return super().compute_loss(x, y, y_pred, sample_weight, training)
        return scale_for_replicas(pretraining_loss(y, y_pred))

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        if isinstance(y, dict) and "masked_lm_ids" in y:
            self.pretraining_metrics.update(y, y_pred)
        return super().compute_metrics(x, y, y_pred, sample_weight)


@keras.saving.register_keras_serializable(package="keras_bert")
class BertClassifier(_BertTaskModel):
    """run_classifier's model: encoder → dropout → dense on pooled_output → `logits` [batch, num_classes]
    (num_classes = 1 for regression)."""

    def __init__(self, config: BertConfig | dict[str, Any], num_classes: int, dropout_rate: float | None = None,
                 **kwargs: Any):
        encoder = _encoder_for(config)
        cfg = encoder.bert_config
        rate = cfg.hidden_dropout_prob if dropout_rate is None else dropout_rate
        inputs = encoder_inputs()
        encoded = encoder(inputs)
        head = ClassificationHead(num_classes, rate, cfg.initializer_range, name="classifier")
        kwargs.setdefault("name", "bert_classifier")
        self._finish(encoder, inputs, {"logits": head(encoded["pooled_output"])},
                     {"num_classes": num_classes, "dropout_rate": rate}, **kwargs)
        self.num_classes = num_classes


@keras.saving.register_keras_serializable(package="keras_bert")
class BertSpanLabeler(_BertTaskModel):
    """run_squad's model: `start_logits`, `end_logits` float32 [batch, seq] from sequence_output."""

    def __init__(self, config: BertConfig | dict[str, Any], **kwargs: Any):
        encoder = _encoder_for(config)
        inputs = encoder_inputs()
        logits = SpanHead(initializer_range=encoder.bert_config.initializer_range, name="span")(
            encoder(inputs)["sequence_output"])
        outputs = {"start_logits": logits[..., 0], "end_logits": logits[..., 1]}
        kwargs.setdefault("name", "bert_span_labeler")
        self._finish(encoder, inputs, outputs, {}, **kwargs)


@keras.saving.register_keras_serializable(package="keras_bert")
class BertTokenClassifier(_BertTaskModel):
    """Tagging model: `logits` float32 [batch, seq, num_labels] from sequence_output."""

    def __init__(self, config: BertConfig | dict[str, Any], num_labels: int, dropout_rate: float | None = None,
                 **kwargs: Any):
        encoder = _encoder_for(config)
        cfg = encoder.bert_config
        rate = cfg.hidden_dropout_prob if dropout_rate is None else dropout_rate
        inputs = encoder_inputs()
        head = TokenClassificationHead(num_labels, rate, cfg.initializer_range, name="tagger")
        kwargs.setdefault("name", "bert_token_classifier")
        self._finish(encoder, inputs, {"logits": head(encoder(inputs)["sequence_output"])},
                     {"num_labels": num_labels, "dropout_rate": rate}, **kwargs)
        self.num_labels = num_labels
