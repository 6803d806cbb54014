"""`Pooler`: the reference's `bert/pooler`, a tanh dense layer on the first ([CLS]) position."""
from __future__ import annotations

from typing import Any

import keras

from keras_bert.layers.numerics import truncated_normal


@keras.saving.register_keras_serializable(package="keras_bert")
class Pooler(keras.layers.Layer):
    """tanh(dense(sequence_output[:, 0])).

    Args:
        hidden_size: int, width of the input and of the pooled output.
        initializer_range: float, stddev of the truncated-normal initializer.

    Call: `sequence_output` float [batch, seq, hidden] → float [batch, hidden].

    Example:
    >>> tuple(Pooler(hidden_size=4, initializer_range=0.02)(np.ones((2, 3, 4), "float32")).shape)
    (2, 4)
    """

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
