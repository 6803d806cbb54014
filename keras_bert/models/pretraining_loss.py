"""The reference's pretraining objective (google-research/bert `run_pretraining.py`), as tensor functions.

Labels, as the pretraining data readers yield them:
  `masked_lm_ids` int32 [batch, P], `masked_lm_weights` float32 [batch, P] (1 real, 0 padding),
  `next_sentence_labels` int32 [batch] (1 = random next).
"""
from __future__ import annotations

import keras
import tensorflow as tf
from keras import ops


def masked_lm_example_loss(masked_lm_ids, mlm_logits):
    """Cross-entropy per masked position: float32 [batch, P]."""
    return keras.losses.sparse_categorical_crossentropy(masked_lm_ids, mlm_logits, from_logits=True)


def masked_lm_loss(masked_lm_ids, masked_lm_weights, mlm_logits):
    """Σ(w·CE) / (Σw + 1e-5) over this replica's batch, exactly as the reference."""
    weights = ops.cast(masked_lm_weights, "float32")
    per_position = masked_lm_example_loss(masked_lm_ids, mlm_logits)
    return ops.sum(weights * per_position) / (ops.sum(weights) + 1e-5)


def next_sentence_example_loss(next_sentence_labels, nsp_logits):
    """Cross-entropy per example: float32 [batch]."""
    labels = ops.reshape(next_sentence_labels, (-1,))
    return keras.losses.sparse_categorical_crossentropy(labels, nsp_logits, from_logits=True)


def pretraining_loss(labels: dict, outputs: dict):
    """Masked-LM loss + mean next-sentence loss (a scalar for this replica's batch)."""
    mlm = masked_lm_loss(labels["masked_lm_ids"], labels["masked_lm_weights"], outputs["mlm_logits"])
    nsp = ops.mean(next_sentence_example_loss(labels["next_sentence_labels"], outputs["nsp_logits"]))
    return mlm + nsp


def scale_for_replicas(loss):
    """Divides a per-replica mean loss by the replica count: gradients are summed across replicas,
    so the applied gradient is that of the mean over replicas (the reference's CrossShardOptimizer)."""
    replicas = tf.distribute.get_strategy().num_replicas_in_sync
    return loss / replicas if replicas > 1 else loss


class PretrainingMetrics:
    """The reference's `metric_fn`: weighted MLM accuracy and mean loss, NSP accuracy and mean loss."""

    def __init__(self):
        self.masked_lm_accuracy = keras.metrics.SparseCategoricalAccuracy(name="masked_lm_accuracy")
        self.masked_lm_loss = keras.metrics.Mean(name="masked_lm_loss")
        self.next_sentence_accuracy = keras.metrics.SparseCategoricalAccuracy(name="next_sentence_accuracy")
        self.next_sentence_loss = keras.metrics.Mean(name="next_sentence_loss")

    def all(self) -> list[keras.metrics.Metric]:
        return [self.masked_lm_accuracy, self.masked_lm_loss, self.next_sentence_accuracy, self.next_sentence_loss]

    def update(self, labels: dict, outputs: dict) -> None:
        ids, weights = labels["masked_lm_ids"], ops.cast(labels["masked_lm_weights"], "float32")
        self.masked_lm_accuracy.update_state(ids, outputs["mlm_logits"], sample_weight=weights)
        self.masked_lm_loss.update_state(masked_lm_example_loss(ids, outputs["mlm_logits"]), sample_weight=weights)
        nsp_labels = ops.reshape(labels["next_sentence_labels"], (-1,))
        self.next_sentence_accuracy.update_state(nsp_labels, outputs["nsp_logits"])
        self.next_sentence_loss.update_state(next_sentence_example_loss(nsp_labels, outputs["nsp_logits"]))
