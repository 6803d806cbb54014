"""`BertSpanLabeler`: the reference's `run_squad` model, start and end logits over the sequence."""
from __future__ import annotations

from typing import Any

import keras

from keras_bert.config import BertConfig
from keras_bert.layers.heads import SpanHead
from keras_bert.models.encoder import BertEncoder, encoder_inputs
from keras_bert.models.task_model import BertTaskModel


@keras.saving.register_keras_serializable(package="keras_bert")
class BertSpanLabeler(BertTaskModel):
    """Encoder → dense on `sequence_output` → `start_logits`, `end_logits` float32 [batch, seq].

    Args:
        config: `BertConfig` or its dict.

    Example:
    >>> model = BertSpanLabeler(BertConfig.preset("tiny"))
    >>> ids = np.array([[101, 2040, 102, 3000, 102]])
    >>> outputs = model({"input_word_ids": ids, "input_mask": np.ones_like(ids), "input_type_ids": 0 * ids})
    >>> tuple(outputs["start_logits"].shape), tuple(outputs["end_logits"].shape)
    ((1, 5), (1, 5))
    """

    google_checkpoint_heads = {"span": "cls/squad/"}
    huggingface_checkpoint_heads = {"span": "qa_outputs."}
    huggingface_has_pooler = False  # transformers' class has none, so neither has the folder it saves
    huggingface_architecture = "BertForQuestionAnswering"

    def __init__(self, config: BertConfig | dict[str, Any], **kwargs: Any):
        encoder = BertEncoder(config)
        inputs = encoder_inputs()
        logits = SpanHead(initializer_range=encoder.bert_config.initializer_range, name="span")(
            encoder(inputs)["sequence_output"])
        outputs = {"start_logits": logits[..., 0], "end_logits": logits[..., 1]}
        kwargs.setdefault("name", "bert_span_labeler")
        self._finish(encoder, inputs, outputs, {}, **kwargs)
