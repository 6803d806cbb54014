"""`TransformerBlock`: one post-LayerNorm BERT layer (the body of the reference's `transformer_model` loop)."""
from __future__ import annotations

from typing import Any

import keras
from keras import ops

from keras_bert.layers.attention import BertSelfAttention
from keras_bert.layers.numerics import LAYER_NORM_EPSILON, activation_from_name, float32_layer_norm, truncated_normal


@keras.saving.register_keras_serializable(package="keras_bert")
class TransformerBlock(keras.layers.Layer):
    """Self-attention → dropout → add & norm → FFN (`hidden_act`) → dropout → add & norm.

    Residual sums and LayerNorms run in float32 whatever the dtype policy.

    Args:
        hidden_size: int, width of the hidden states (divisible by `num_attention_heads`).
        num_attention_heads: int, heads of size hidden_size / num_attention_heads.
        intermediate_size: int, width of the feed-forward layer.
        hidden_act: str, a `BertConfig.hidden_act` name ("gelu" is the reference's tanh GELU).
        hidden_dropout_prob: float, dropout after attention and after the feed-forward output.
        attention_probs_dropout_prob: float, dropout on the attention probabilities.
        initializer_range: float, stddev of the truncated-normal initializer.
        layer_norm_epsilon: float, the LayerNorms' ε (the reference's 1e-12 by default).

    Call: `(hidden_states, attention_mask)`: float [batch, seq, hidden], int/bool [batch, 1, seq]
    (1 = attend) → float [batch, seq, hidden] in the compute dtype.

    Example:
    >>> block = TransformerBlock(hidden_size=4, num_attention_heads=2, intermediate_size=8, hidden_act="gelu",
    ...                          hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, initializer_range=0.02)
    >>> tuple(block(np.ones((1, 3, 4), "float32"), np.array([[[1, 1, 0]]])).shape)
    (1, 3, 4)
    """

    def __init__(self, hidden_size: int, num_attention_heads: int, intermediate_size: int,
                 hidden_act: str, hidden_dropout_prob: float, attention_probs_dropout_prob: float,
                 initializer_range: float, layer_norm_epsilon: float = LAYER_NORM_EPSILON, **kwargs: Any):
        super().__init__(**kwargs)
        self.hidden_size = hidden_size
        self.num_attention_heads = num_attention_heads
        self.intermediate_size = intermediate_size
        self.hidden_act = hidden_act
        self.hidden_dropout_prob = hidden_dropout_prob
        self.attention_probs_dropout_prob = attention_probs_dropout_prob
        self.initializer_range = initializer_range
        self.layer_norm_epsilon = layer_norm_epsilon
        init = truncated_normal(initializer_range)
        policy = self.dtype_policy
        self.attention = BertSelfAttention(
            num_heads=num_attention_heads, key_dim=hidden_size // num_attention_heads,
            dropout=attention_probs_dropout_prob, kernel_initializer=init, dtype=policy, name="attention")
        self.attention_dropout = keras.layers.Dropout(hidden_dropout_prob, dtype=policy, name="attention_dropout")
        self.attention_layer_norm = float32_layer_norm("attention_layer_norm", layer_norm_epsilon)
        self.intermediate = keras.layers.Dense(
            intermediate_size, activation=activation_from_name(hidden_act), kernel_initializer=init,
            dtype=policy, name="intermediate")
        self.output_dense = keras.layers.Dense(hidden_size, kernel_initializer=init, dtype=policy,
                                               name="output_dense")
        self.output_dropout = keras.layers.Dropout(hidden_dropout_prob, dtype=policy, name="output_dropout")
        self.output_layer_norm = float32_layer_norm("output_layer_norm", layer_norm_epsilon)

    def build(self, input_shape=None) -> None:
        shape = (None, None, self.hidden_size)
        self.attention.build(shape, shape)
        self.attention_layer_norm.build(shape)
        self.intermediate.build(shape)
        self.output_dense.build((None, None, self.intermediate_size))
        self.output_layer_norm.build(shape)
        self.built = True

    def call(self, hidden_states, attention_mask, training=None):
        attended = self.attention(hidden_states, hidden_states, attention_mask=attention_mask,
                                  training=training)
        attended = self.attention_dropout(attended, training=training)
        hidden_states = self.attention_layer_norm(
            ops.cast(attended, "float32") + ops.cast(hidden_states, "float32"))
        hidden_states = ops.cast(hidden_states, self.compute_dtype)
        output = self.output_dense(self.intermediate(hidden_states))
        output = self.output_dropout(output, training=training)
        output = self.output_layer_norm(ops.cast(output, "float32") + ops.cast(hidden_states, "float32"))
        return ops.cast(output, self.compute_dtype)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "hidden_size": self.hidden_size,
                "num_attention_heads": self.num_attention_heads,
                "intermediate_size": self.intermediate_size, "hidden_act": self.hidden_act,
                "hidden_dropout_prob": self.hidden_dropout_prob,
                "attention_probs_dropout_prob": self.attention_probs_dropout_prob,
                "initializer_range": self.initializer_range, "layer_norm_epsilon": self.layer_norm_epsilon}
