"""Task heads on top of `BertEncoder` outputs. Logits are always float32, whatever the dtype policy."""
from __future__ import annotations

from typing import Any

import keras
from keras import ops

from keras_bert.layers.numerics import LAYER_NORM_EPSILON, activation_from_name, float32_layer_norm, truncated_normal


@keras.saving.register_keras_serializable(package="keras_bert")
class MaskedLMHead(keras.layers.Layer):
    """The reference's `cls/predictions`: gather → dense + activation → LayerNorm → tied output.

    Call: `(sequence_output, masked_lm_positions)`: float [batch, seq, hidden], int32 [batch, P]
    → float32 logits [batch, P, vocab_size]. The output projection is the transposed word-embedding
    table of `embedding` (shared with the encoder, as in the reference) plus a learnt `output_bias`.
    `embedding` is a construction-time reference, not configuration: models pass their encoder's.

    Example:
    >>> table = keras.layers.Embedding(10, 4)
    >>> table.build((None, None))
    >>> head = MaskedLMHead(vocab_size=10, hidden_size=4, hidden_act="gelu", initializer_range=0.02, embedding=table)
    >>> tuple(head(np.ones((2, 5, 4), "float32"), np.array([[1, 3], [0, 4]])).shape)
    (2, 2, 10)
    """

    def __init__(self, vocab_size: int, hidden_size: int, hidden_act: str, initializer_range: float,
                 embedding: keras.layers.Embedding | None = None, layer_norm_epsilon: float = LAYER_NORM_EPSILON,
                 **kwargs: Any):
        super().__init__(**kwargs)
        if embedding is None:
            raise ValueError("MaskedLMHead needs the encoder's word `embedding` layer to tie its output to")
        self.vocab_size = vocab_size
        self.hidden_size = hidden_size
        self.hidden_act = hidden_act
        self.initializer_range = initializer_range
        self.layer_norm_epsilon = layer_norm_epsilon
        self.embedding = embedding
        self.transform = keras.layers.Dense(
            hidden_size, activation=activation_from_name(hidden_act),
            kernel_initializer=truncated_normal(initializer_range), dtype=self.dtype_policy,
            name="transform")
        self.layer_norm = float32_layer_norm("layer_norm", layer_norm_epsilon)

    def build(self, input_shape=None) -> None:
        self.transform.build((None, None, self.hidden_size))
        self.layer_norm.build((None, None, self.hidden_size))
        self.output_bias = self.add_weight(name="output_bias", shape=(self.vocab_size,), initializer="zeros")
        self.built = True

    def call(self, sequence_output, masked_lm_positions):
        positions = ops.cast(masked_lm_positions, "int32")
        gathered = ops.take_along_axis(sequence_output, positions[:, :, None], axis=1)  # [B, P, H]
        transformed = ops.cast(self.layer_norm(ops.cast(self.transform(gathered), "float32")),
                               self.compute_dtype)
        table = ops.cast(self.embedding.embeddings, self.compute_dtype)  # [vocab, H]
        logits = ops.einsum("bph,vh->bpv", transformed, table)
        return ops.cast(logits, "float32") + ops.cast(self.output_bias, "float32")

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "vocab_size": self.vocab_size, "hidden_size": self.hidden_size,
                "hidden_act": self.hidden_act, "initializer_range": self.initializer_range,
                "layer_norm_epsilon": self.layer_norm_epsilon}


@keras.saving.register_keras_serializable(package="keras_bert")
class DenseLogitsHead(keras.layers.Layer):
    """Dropout then a dense layer to `num_outputs` float32 logits, on features [..., hidden].

    The reference's classifier (`output_weights`/`output_bias`), NSP (`cls/seq_relationship`), SQuAD
    (`cls/squad`) and our tagger share this shape; they differ only in what they are applied to.

    Example:
    >>> tuple(ClassificationHead(num_outputs=3)(np.ones((2, 4), "float32")).shape)
    (2, 3)
    """

    def __init__(self, num_outputs: int, dropout_rate: float = 0.0, initializer_range: float = 0.02,
                 **kwargs: Any):
        super().__init__(**kwargs)
        self.num_outputs = num_outputs
        self.dropout_rate = dropout_rate
        self.initializer_range = initializer_range
        self.dropout = keras.layers.Dropout(dropout_rate, dtype=self.dtype_policy, name="dropout")
        self.dense = keras.layers.Dense(num_outputs, kernel_initializer=truncated_normal(initializer_range),
                                        dtype=self.dtype_policy, name="dense")

    def build(self, input_shape) -> None:
        self.dense.build(input_shape)
        self.built = True

    def call(self, features, training=None):
        return ops.cast(self.dense(self.dropout(features, training=training)), "float32")

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "num_outputs": self.num_outputs, "dropout_rate": self.dropout_rate,
                "initializer_range": self.initializer_range}


@keras.saving.register_keras_serializable(package="keras_bert")
class NextSentenceHead(DenseLogitsHead):
    """`cls/seq_relationship`: pooled_output [batch, hidden] → float32 logits [batch, 2] (1 = random next)."""

    def __init__(self, num_outputs: int = 2, dropout_rate: float = 0.0, initializer_range: float = 0.02,
                 **kwargs: Any):
        super().__init__(num_outputs, dropout_rate, initializer_range, **kwargs)


@keras.saving.register_keras_serializable(package="keras_bert")
class ClassificationHead(DenseLogitsHead):
    """run_classifier's head: dropout + dense on pooled_output [batch, hidden] → logits [batch, classes]
    (a single output, no softmax, for regression tasks such as STS-B)."""


@keras.saving.register_keras_serializable(package="keras_bert")
class SpanHead(DenseLogitsHead):
    """run_squad's `cls/squad` head: sequence_output [batch, seq, hidden] → logits [batch, seq, 2]
    (start, end); models split the last axis into `start_logits` and `end_logits`."""

    def __init__(self, num_outputs: int = 2, dropout_rate: float = 0.0, initializer_range: float = 0.02,
                 **kwargs: Any):
        super().__init__(num_outputs, dropout_rate, initializer_range, **kwargs)


@keras.saving.register_keras_serializable(package="keras_bert")
class TokenClassificationHead(DenseLogitsHead):
    """Tagging head: dropout + dense on sequence_output [batch, seq, hidden] → logits [batch, seq, labels]."""
