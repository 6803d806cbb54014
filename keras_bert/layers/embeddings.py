"""`BertEmbeddings`: the reference's `embedding_lookup` + `embedding_postprocessor` as one Keras layer."""
from __future__ import annotations

from typing import Any

import keras
from keras import ops

from keras_bert.layers.numerics import float32_layer_norm, truncated_normal


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

    Call: `(input_word_ids, input_type_ids)`, both int32 [batch, seq] with seq ≤ max_position_embeddings
    → float [batch, seq, hidden] in the compute dtype.

    Example:
    >>> layer = BertEmbeddings(vocab_size=10, hidden_size=4, max_position_embeddings=8, type_vocab_size=2,
    ...                        dropout_rate=0.0, initializer_range=0.02)
    >>> tuple(layer(np.array([[2, 5, 3]]), np.array([[0, 0, 1]])).shape)
    (1, 3, 4)
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
