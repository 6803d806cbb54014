"""`BertClassifier`: the reference's `run_classifier` model (classification, or regression with one output)."""
from __future__ import annotations

from typing import Any

import keras

from keras_bert.config import BertConfig
from keras_bert.layers.heads import ClassificationHead
from keras_bert.models.encoder import BertEncoder, encoder_inputs
from keras_bert.models.task_model import BertTaskModel


@keras.saving.register_keras_serializable(package="keras_bert")
class BertClassifier(BertTaskModel):
    """Encoder → dropout → dense on `pooled_output` → `logits` float32 [batch, num_classes].

    Args:
        config: `BertConfig` or its dict.
        num_classes: int, number of labels (1 for regression tasks such as STS-B).
        dropout_rate: float, dropout before the dense layer; defaults to `config.hidden_dropout_prob`.

    Example:
    >>> model = BertClassifier(BertConfig.preset("tiny"), num_classes=3)
    >>> ids = np.array([[101, 7592, 102]])
    >>> tuple(model({"input_word_ids": ids, "input_mask": np.ones_like(ids), "input_type_ids": 0 * ids})
    ...       ["logits"].shape)
    (1, 3)
    """

    # The reference's run_classifier names its head `output_weights` / `output_bias`, with no scope.
    google_checkpoint_heads = {"classifier": ""}
    huggingface_checkpoint_heads = {"classifier": "classifier."}
    huggingface_architecture = "BertForSequenceClassification"
    huggingface_labels_argument = "num_classes"

    def __init__(self, config: BertConfig | dict[str, Any], num_classes: int, dropout_rate: float | None = None,
                 **kwargs: Any):
        encoder = BertEncoder(config)
        cfg = encoder.bert_config
        rate = cfg.hidden_dropout_prob if dropout_rate is None else dropout_rate
        inputs = encoder_inputs()
        encoded = encoder(inputs)
        head = ClassificationHead(num_classes, rate, cfg.initializer_range, name="classifier")
        kwargs.setdefault("name", "bert_classifier")
        self._finish(encoder, inputs, {"logits": head(encoded["pooled_output"])},
                     {"num_classes": num_classes, "dropout_rate": rate}, **kwargs)
        self.num_classes = num_classes
