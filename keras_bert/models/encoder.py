"""`BertEncoder`: the BERT transformer as a functional `keras.Model` with the TF Hub encoder interface."""
from __future__ import annotations

from typing import Any

import keras
from keras import ops

from keras_bert.config import BertConfig
from keras_bert.layers.embeddings import BertEmbeddings
from keras_bert.layers.pooler import Pooler
from keras_bert.layers.transformer_block import TransformerBlock
from keras_bert.models.pretrained_loading import LoadsCheckpoints

ENCODER_INPUTS = ("input_word_ids", "input_mask", "input_type_ids")


def encoder_inputs(name_prefix: str = "") -> dict[str, keras.KerasTensor]:
    """Symbolic int32 [batch, seq] inputs named as TF Hub's BERT encoders name them."""
    return {name: keras.Input(shape=(None,), dtype="int32", name=name_prefix + name) for name in ENCODER_INPUTS}


@keras.saving.register_keras_serializable(package="keras_bert")
class BertEncoder(LoadsCheckpoints, keras.Model):
    """google-research/bert's `BertModel` in Keras 3 layers.

    Inputs, a dict of int32 [batch, seq] (seq ≤ `max_position_embeddings`, any length per call):
      `input_word_ids`, `input_mask` (1 = real token, 0 = padding), `input_type_ids` (segment ids).
      An id outside [0, vocab_size) or a type id outside [0, type_vocab_size) is an InvalidArgumentError naming
      the input (not checked under XLA, i.e. `jit_compile` and TPUs, where it would read a clamped row).
    Outputs, a dict: `sequence_output` [batch, seq, hidden], `pooled_output` [batch, hidden]
      (tanh pooler on [CLS]), `encoder_outputs` (list of `num_hidden_layers` [batch, seq, hidden]),
      `default` (= `pooled_output`). Floats are in the compute dtype of the Keras dtype policy.

    Example:
    >>> encoder = BertEncoder(BertConfig.preset("tiny"))
    >>> ids = np.array([[101, 7592, 102, 0]])
    >>> outputs = encoder({"input_word_ids": ids, "input_mask": np.sign(ids), "input_type_ids": 0 * ids})
    >>> tuple(outputs["sequence_output"].shape), tuple(outputs["pooled_output"].shape)
    ((1, 4, 128), (1, 128))
    """

    def __init__(self, config: BertConfig | dict[str, Any], **kwargs: Any):
        config = config if isinstance(config, BertConfig) else BertConfig.from_dict(config)
        inputs = encoder_inputs()
        embeddings = BertEmbeddings(
            vocab_size=config.vocab_size, hidden_size=config.hidden_size,
            max_position_embeddings=config.max_position_embeddings,
            type_vocab_size=config.type_vocab_size, dropout_rate=config.hidden_dropout_prob,
            initializer_range=config.initializer_range, layer_norm_epsilon=config.layer_norm_eps, name="embeddings")
        hidden = embeddings(inputs["input_word_ids"], inputs["input_type_ids"])
        # [batch, 1, seq]: every query position sees the same keys, as in the reference's
        # create_attention_mask_from_input_mask.
        attention_mask = ops.expand_dims(inputs["input_mask"], axis=1)
        layer_outputs = []
        for index in range(config.num_hidden_layers):
            hidden = TransformerBlock(
                hidden_size=config.hidden_size, num_attention_heads=config.num_attention_heads,
                intermediate_size=config.intermediate_size, hidden_act=config.hidden_act,
                hidden_dropout_prob=config.hidden_dropout_prob,
                attention_probs_dropout_prob=config.attention_probs_dropout_prob,
                initializer_range=config.initializer_range, layer_norm_epsilon=config.layer_norm_eps,
                name=f"transformer_layer_{index}",
            )(hidden, attention_mask)
            layer_outputs.append(hidden)
        pooled = Pooler(config.hidden_size, config.initializer_range, name="pooler")(hidden)
        outputs = {"sequence_output": hidden, "pooled_output": pooled,
                   "encoder_outputs": layer_outputs, "default": pooled}
        kwargs.setdefault("name", "bert_encoder")
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)
        self.bert_config = config

    @property
    def embeddings(self) -> BertEmbeddings:
        return self.get_layer("embeddings")

    @property
    def transformer_layers(self) -> list[TransformerBlock]:
        return [self.get_layer(f"transformer_layer_{i}") for i in range(self.bert_config.num_hidden_layers)]

    @property
    def pooler(self) -> Pooler:
        return self.get_layer("pooler")

    @property
    def google_checkpoint_names(self) -> dict[str, str]:
        """{layer name: prefix of its variables in Google checkpoints} (see `keras_bert.checkpoints.google`)."""
        layers = range(self.bert_config.num_hidden_layers)
        blocks = {f"transformer_layer_{i}": f"bert/encoder/layer_{i}/" for i in layers}
        return {"embeddings": "bert/embeddings/", **blocks, "pooler": "bert/pooler/"}

    # transformers' class for a bare encoder, whose tensor names have no `bert.` prefix.
    huggingface_architecture = "BertModel"
    huggingface_checkpoint_heads = None

    def get_config(self) -> dict[str, Any]:
        return {"config": self.bert_config.to_dict(), "name": self.name, "trainable": self.trainable}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> BertEncoder:
        return cls(**config)
