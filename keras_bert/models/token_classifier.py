"""`BertTokenClassifier`: a tagger (e.g. CoNLL NER), one set of label logits per token."""
from __future__ import annotations

from typing import Any

import keras

from keras_bert.config import BertConfig
from keras_bert.layers.heads import TokenClassificationHead
from keras_bert.models.encoder import BertEncoder, encoder_inputs
from keras_bert.models.task_model import BertTaskModel


@keras.saving.register_keras_serializable(package="keras_bert")
class BertTokenClassifier(BertTaskModel):
    """Encoder → dropout → dense on `sequence_output` → `logits` float32 [batch, seq, num_labels].

    Args:
        config: `BertConfig` or its dict.
        num_labels: int, number of tags.
        dropout_rate: float, dropout before the dense layer; defaults to `config.hidden_dropout_prob`.

    Example:
    >>> model = BertTokenClassifier(BertConfig.preset("tiny"), num_labels=9)
    >>> ids = np.array([[101, 7592, 2088, 102]])
    >>> tuple(model({"input_word_ids": ids, "input_mask": np.ones_like(ids), "input_type_ids": 0 * ids})
    ...       ["logits"].shape)
    (1, 4, 9)
    """

    # No reference tagger exists; its head is saved like run_classifier's, `output_weights` / `output_bias`.
    google_checkpoint_heads = {"tagger": ""}
    huggingface_checkpoint_heads = {"tagger": "classifier."}
    huggingface_has_pooler = False  # transformers' class has none, so neither has the folder it saves
    huggingface_architecture = "BertForTokenClassification"
    huggingface_labels_argument = "num_labels"

    def __init__(self, config: BertConfig | dict[str, Any], num_labels: int, dropout_rate: float | None = None,
                 **kwargs: Any):
        encoder = BertEncoder(config)
        cfg = encoder.bert_config
        rate = cfg.hidden_dropout_prob if dropout_rate is None else dropout_rate
        inputs = encoder_inputs()
        head = TokenClassificationHead(num_labels, rate, cfg.initializer_range, name="tagger")
        kwargs.setdefault("name", "bert_token_classifier")
        self._finish(encoder, inputs, {"logits": head(encoder(inputs)["sequence_output"])},
                     {"num_labels": num_labels, "dropout_rate": rate}, **kwargs)
        self.num_labels = num_labels
