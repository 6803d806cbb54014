"""`BertEmbeddings`: the reference's `embedding_lookup` + `embedding_postprocessor` as one Keras layer."""
from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf
from keras import ops

from keras_bert.layers.numerics import LAYER_NORM_EPSILON, float32_layer_norm, truncated_normal


def checked_ids(ids, table_size: int, name: str, size_name: str):
    """`ids`, asserted to lie in [0, table_size): else an InvalidArgumentError naming `name`. Unchecked, an id of -1
    reads the table's last row (Keras wraps negative ids) and one past the end reads zeros on GPU or a clamped row
    under XLA, silently. XLA (`jit_compile`, TPUs) drops assertions: there only the preprocessing keeps ids in range.
    """
    ids = tf.convert_to_tensor(ids)
    in_range = [tf.debugging.assert_non_negative(ids, message=f"{name} holds a negative id"),
                tf.debugging.assert_less(ids, tf.cast(table_size, ids.dtype),
                                         message=f"{name} holds an id not below {size_name} {table_size}")]
    with tf.control_dependencies(in_range):
        return tf.identity(ids)


@keras.saving.register_keras_serializable(package="keras_bert")
class BertEmbeddings(keras.layers.Layer):
    """Word + position + token-type embeddings, LayerNorm and dropout.

    The sum and its LayerNorm run in float32 whatever the dtype policy; the result is cast back to the
    compute dtype. `word_embeddings` is exposed for the tied masked-LM output.

    Args:
        vocab_size: int, rows of the word-embedding table.
        hidden_size: int, embedding width.
        max_position_embeddings: int, longest sequence the learnt position table covers.
        type_vocab_size: int, number of token types (segments).
        dropout_rate: float in [0, 1), dropout on the output during training.
        initializer_range: float, stddev of the truncated-normal initializer.
        layer_norm_epsilon: float, the LayerNorm's ε (the reference's 1e-12 by default).

    Call: `(input_word_ids, input_type_ids)`, both int32 [batch, seq] with seq ≤ max_position_embeddings,
    ids in [0, vocab_size) and [0, type_vocab_size) (else an InvalidArgumentError naming the input, see
    `checked_ids`) → float [batch, seq, hidden] in the compute dtype.

    Example:
    >>> layer = BertEmbeddings(vocab_size=10, hidden_size=4, max_position_embeddings=8, type_vocab_size=2,
    ...                        dropout_rate=0.0, initializer_range=0.02)
    >>> tuple(layer(np.array([[2, 5, 3]]), np.array([[0, 0, 1]])).shape)
    (1, 3, 4)
    """

    def __init__(self, vocab_size: int, hidden_size: int, max_position_embeddings: int,
                 type_vocab_size: int, dropout_rate: float, initializer_range: float,
                 layer_norm_epsilon: float = LAYER_NORM_EPSILON, **kwargs: Any):
        super().__init__(**kwargs)
        self.vocab_size = vocab_size
        self.hidden_size = hidden_size
        self.max_position_embeddings = max_position_embeddings
        self.type_vocab_size = type_vocab_size
        self.dropout_rate = dropout_rate
        self.initializer_range = initializer_range
        self.layer_norm_epsilon = layer_norm_epsilon
        init = truncated_normal(initializer_range)
        self.word_embeddings = keras.layers.Embedding(
            vocab_size, hidden_size, embeddings_initializer=init, dtype=self.dtype_policy,
            name="word_embeddings")
        self.token_type_embeddings = keras.layers.Embedding(
            type_vocab_size, hidden_size, embeddings_initializer=init, dtype=self.dtype_policy,
            name="token_type_embeddings")
        self.layer_norm = float32_layer_norm("layer_norm", layer_norm_epsilon)
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
        input_word_ids = checked_ids(input_word_ids, self.vocab_size, "input_word_ids", "vocab_size")
        input_type_ids = checked_ids(input_type_ids, self.type_vocab_size, "input_type_ids", "type_vocab_size")
        words = ops.cast(self.word_embeddings(input_word_ids), "float32")
        types = ops.cast(self.token_type_embeddings(input_type_ids), "float32")
        positions = ops.cast(self.position_embeddings[:seq_length], "float32")
        embeddings = self.layer_norm(words + types + positions[None, :, :])
        return self.dropout(ops.cast(embeddings, self.compute_dtype), training=training)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "vocab_size": self.vocab_size, "hidden_size": self.hidden_size,
                "max_position_embeddings": self.max_position_embeddings,
                "type_vocab_size": self.type_vocab_size, "dropout_rate": self.dropout_rate,
                "initializer_range": self.initializer_range, "layer_norm_epsilon": self.layer_norm_epsilon}
