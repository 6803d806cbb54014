"""Keras 3 layers of the BERT encoder: embeddings, self-attention, transformer block, pooler.

Each follows google-research/bert `modeling.py` numerically: LayerNorm ε = 1e-12, an additive
−10000 on masked attention positions, GELU as the reference's tanh approximation, post-LayerNorm
residual blocks. Under a mixed-precision policy, LayerNorm and the attention softmax run in float32.
"""
from __future__ import annotations

from typing import Any

import keras
from keras import ops

LAYER_NORM_EPSILON = 1e-12
MASKED_ATTENTION_ADDER = -10000.0


@keras.saving.register_keras_serializable(package="keras_bert")
def gelu_tanh(x):
    """The reference's GELU: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))."""
    return keras.activations.gelu(x, approximate=True)


@keras.saving.register_keras_serializable(package="keras_bert")
def gelu_exact(x):
    return keras.activations.gelu(x, approximate=False)


_ACTIVATIONS = {"gelu": gelu_tanh, "gelu_exact": gelu_exact, "relu": keras.activations.relu,
                "tanh": keras.activations.tanh}


def activation_from_name(name: str):
    """Maps a `BertConfig.hidden_act` name to a Keras-compatible callable."""
    try:
        return _ACTIVATIONS[name]
    except KeyError:
        raise ValueError(f"unknown hidden_act {name!r}; use one of {sorted(_ACTIVATIONS)}") from None


def truncated_normal(stddev: float) -> keras.initializers.Initializer:
    return keras.initializers.TruncatedNormal(stddev=stddev)


def float32_layer_norm(name: str) -> keras.layers.LayerNormalization:
    """LayerNorm kept in float32 under mixed precision (as the reference's fp16 recipes do)."""
    return keras.layers.LayerNormalization(epsilon=LAYER_NORM_EPSILON, dtype="float32", name=name)


@keras.saving.register_keras_serializable(package="keras_bert")
class BertEmbeddings(keras.layers.Layer):
    """Word + position + token-type embeddings, LayerNorm and dropout.

    Call: `(input_word_ids, input_type_ids)`, both int32 [batch, seq] with seq ≤ max_position_embeddings
    → float [batch, seq, hidden] in the compute dtype. `word_embeddings` is exposed for the tied MLM output.
    """

    def __init__(self, vocab_size: int, hidden_size: int, max_position_embeddings: int,
                 type_vocab_size: int, dropout_rate: float, initializer_range: float, **kwargs: Any):
        super().__init__(**kwargs)
        self.vocab_size = vocab_size
        self.hidden_size = hidden_size
        self.max_position_embeddings = max_position_embeddings
        self.type_vocab_size = type_vocab_size
        self.dropout_rate = dropout_rate
        self.initializer_range = initializer_range
        init = truncated_normal(initializer_range)
        self.word_embeddings = keras.layers.Embedding(
            vocab_size, hidden_size, embeddings_initializer=init, dtype=self.dtype_policy,
            name="word_embeddings")
        self.token_type_embeddings = keras.layers.Embedding(
            type_vocab_size, hidden_size, embeddings_initializer=init, dtype=self.dtype_policy,
            name="token_type_embeddings")
        self.layer_norm = float32_layer_norm("layer_norm")
        self.dropout = keras.layers.Dropout(dropout_rate, dtype=self.dtype_policy, name="dropout")

    def build(self, input_shape=None) -> None:
        self.position_embeddings = self.add_weight(
            name="position_embeddings", shape=(self.max_position_embeddings, self.hidden_size),
            initializer=truncated_normal(self.initializer_range))
        self.word_embeddings.build((None, None))
        self.token_type_embeddings.build((None, None))
        self.layer_norm.build((None, None, self.hidden_size))
        self.built = True

    def call(self, input_word_ids, input_type_ids, training=None):
        seq_length = ops.shape(input_word_ids)[1]
        if isinstance(seq_length, int) and seq_length > self.max_position_embeddings:
            raise ValueError(f"sequence length {seq_length} exceeds max_position_embeddings "
                             f"{self.max_position_embeddings} of this BERT config")
        words = ops.cast(self.word_embeddings(input_word_ids), "float32")
        types = ops.cast(self.token_type_embeddings(input_type_ids), "float32")
        positions = ops.cast(self.position_embeddings[:seq_length], "float32")
        embeddings = self.layer_norm(words + types + positions[None, :, :])
        return self.dropout(ops.cast(embeddings, self.compute_dtype), training=training)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "vocab_size": self.vocab_size, "hidden_size": self.hidden_size,
                "max_position_embeddings": self.max_position_embeddings,
                "type_vocab_size": self.type_vocab_size, "dropout_rate": self.dropout_rate,
                "initializer_range": self.initializer_range}


@keras.saving.register_keras_serializable(package="keras_bert")
class BertSelfAttention(keras.layers.MultiHeadAttention):
    """Keras `MultiHeadAttention` with the reference's masking and a float32 softmax.

    Keras masks with −1e9 (−3e4 in float16) and switches to a fused kernel when dropout is 0; the
    reference adds −10000 to masked scores, which differs on rows with every key masked. Overriding
    `_compute_attention` (Keras's documented extension point) keeps one code path with reference numerics.
    `attention_mask`: bool/int [batch, 1 or seq, seq], true where attention is allowed.
    """

    def _compute_attention(self, query, key, value, attention_mask=None, training=None,
                           return_attention_scores=False, use_causal_mask=False):
        if use_causal_mask:
            raise ValueError("BertSelfAttention is bidirectional; use_causal_mask is not supported")
        query = ops.multiply(query, ops.cast(self._inverse_sqrt_key_dim, query.dtype))
        scores = ops.cast(ops.einsum(self._dot_product_equation, key, query), "float32")  # [B, N, T, S]
        if attention_mask is not None:
            allowed = ops.cast(ops.expand_dims(attention_mask, axis=1), "float32")  # [B, 1, T|1, S]
            scores = scores + (1.0 - allowed) * MASKED_ATTENTION_ADDER
        probs = ops.cast(ops.softmax(scores, axis=-1), self.compute_dtype)
        dropped = self._dropout_layer(probs, training=training)
        return ops.einsum(self._combine_equation, dropped, value), probs


@keras.saving.register_keras_serializable(package="keras_bert")
class TransformerBlock(keras.layers.Layer):
    """One post-LayerNorm BERT layer: self-attention → dropout → add & norm → GELU FFN → dropout → add & norm.

    Call: `(hidden_states, attention_mask)`: float [batch, seq, hidden], int/bool [batch, 1, seq]
    → float [batch, seq, hidden] in the compute dtype.
    """

    def __init__(self, hidden_size: int, num_attention_heads: int, intermediate_size: int,
                 hidden_act: str, hidden_dropout_prob: float, attention_probs_dropout_prob: float,
                 initializer_range: float, **kwargs: Any):
        super().__init__(**kwargs)
        self.hidden_size = hidden_size
        self.num_attention_heads = num_attention_heads
        self.intermediate_size = intermediate_size
        self.hidden_act = hidden_act
        self.hidden_dropout_prob = hidden_dropout_prob
        self.attention_probs_dropout_prob = attention_probs_dropout_prob
        self.initializer_range = initializer_range
        init = truncated_normal(initializer_range)
        policy = self.dtype_policy
        self.attention = BertSelfAttention(
            num_heads=num_attention_heads, key_dim=hidden_size // num_attention_heads,
            dropout=attention_probs_dropout_prob, kernel_initializer=init, dtype=policy, name="attention")
        self.attention_dropout = keras.layers.Dropout(hidden_dropout_prob, dtype=policy, name="attention_dropout")
        self.attention_layer_norm = float32_layer_norm("attention_layer_norm")
        self.intermediate = keras.layers.Dense(
            intermediate_size, activation=activation_from_name(hidden_act), kernel_initializer=init,
            dtype=policy, name="intermediate")
        self.output_dense = keras.layers.Dense(hidden_size, kernel_initializer=init, dtype=policy,
                                               name="output_dense")
        self.output_dropout = keras.layers.Dropout(hidden_dropout_prob, dtype=policy, name="output_dropout")
        self.output_layer_norm = float32_layer_norm("output_layer_norm")

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
                "initializer_range": self.initializer_range}


@keras.saving.register_keras_serializable(package="keras_bert")
class Pooler(keras.layers.Layer):
    """tanh(dense(sequence_output[:, 0])): float [batch, seq, hidden] → float [batch, hidden]."""

    def __init__(self, hidden_size: int, initializer_range: float, **kwargs: Any):
        super().__init__(**kwargs)
        self.hidden_size = hidden_size
        self.initializer_range = initializer_range
        self.dense = keras.layers.Dense(hidden_size, activation="tanh",
                                        kernel_initializer=truncated_normal(initializer_range),
                                        dtype=self.dtype_policy, name="dense")

    def build(self, input_shape=None) -> None:
        self.dense.build((None, self.hidden_size))
        self.built = True

    def call(self, sequence_output):
        return self.dense(sequence_output[:, 0, :])

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "hidden_size": self.hidden_size,
                "initializer_range": self.initializer_range}
