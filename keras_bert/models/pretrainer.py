"""`BertPretrainer`: the reference's `run_pretraining` model, trained with the reference's loss and metrics."""
from __future__ import annotations

from typing import Any

import keras

from keras_bert.config import BertConfig
from keras_bert.layers.heads import MaskedLMHead, NextSentenceHead
from keras_bert.models.encoder import ENCODER_INPUTS, BertEncoder, encoder_inputs
from keras_bert.models.pretraining_loss import PretrainingMetrics, pretraining_loss, scale_for_replicas
from keras_bert.models.task_model import BertTaskModel


@keras.saving.register_keras_serializable(package="keras_bert")
class BertPretrainer(BertTaskModel):
    """Encoder + masked-LM + next-sentence heads (the reference's `run_pretraining` model).

    Args:
        config: `BertConfig` or its dict.

    Extra input `masked_lm_positions` int32 [batch, P]. Outputs: `mlm_logits` float32 [batch, P, vocab],
    `nsp_logits` float32 [batch, 2], plus the encoder's `sequence_output` and `pooled_output`.
    Compiled with an optimizer and no `loss=`, `fit` on labels `masked_lm_ids`, `masked_lm_weights`
    and `next_sentence_labels` trains with the reference's loss and reports its metrics.

    Example:
    >>> model = BertPretrainer(BertConfig.preset("tiny"))
    >>> ids = np.array([[101, 103, 2003, 102]])
    >>> outputs = model({"input_word_ids": ids, "input_mask": np.ones_like(ids), "input_type_ids": 0 * ids,
    ...                  "masked_lm_positions": np.array([[1]])})
    >>> tuple(outputs["mlm_logits"].shape), tuple(outputs["nsp_logits"].shape)
    ((1, 1, 30522), (1, 2))
    """

    google_checkpoint_heads = {"masked_lm": "cls/predictions/", "next_sentence": "cls/seq_relationship/"}
    huggingface_checkpoint_heads = {"masked_lm": "cls.predictions.", "next_sentence": "cls.seq_relationship."}
    huggingface_architecture = "BertForPreTraining"

    def __init__(self, config: BertConfig | dict[str, Any], **kwargs: Any):
        encoder = BertEncoder(config)
        cfg = encoder.bert_config
        inputs = {**encoder_inputs(), "masked_lm_positions": keras.Input(
            shape=(None,), dtype="int32", name="masked_lm_positions")}
        encoded = encoder({k: inputs[k] for k in ENCODER_INPUTS})
        mlm = MaskedLMHead(cfg.vocab_size, cfg.hidden_size, cfg.hidden_act, cfg.initializer_range,
                           embedding=encoder.embeddings.word_embeddings, layer_norm_epsilon=cfg.layer_norm_eps,
                           name="masked_lm")
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
