"""`SentencePooling`: token vectors → one sentence vector, as sentence-transformers' `Pooling` module computes it
(its `cls`, `mean`, `max` and `mean_sqrt_len_tokens` modes), optionally L2-normalised as its `Normalize` module.

Why a layer of its own: sentence embeddings are the encoder's `sequence_output` reduced over the real tokens only
(`input_mask` 1), so padding never changes an embedding; the math runs in float32 under mixed precision, as
sentence-transformers accumulates half-precision inputs in float32.
"""
from __future__ import annotations

from typing import Any

import keras
from keras import ops

POOLING_MODES = ("cls", "mean", "max", "mean_sqrt_len")
# sentence-transformers' clamps: a row without real tokens divides by 1e-9 (`Pooling`), a zero vector by 1e-12
# (`torch.nn.functional.normalize`).
_MIN_TOKEN_COUNT = 1e-9
_MIN_NORM = 1e-12


@keras.saving.register_keras_serializable(package="keras_bert")
class SentencePooling(keras.layers.Layer):
    """Pools [batch, seq, hidden] token vectors over the mask into [batch, hidden] float32.

    Args:
        mode: "cls" (the first token's vector, [CLS] in BERT's packing), "mean" (the average over real tokens),
            "max" (per dimension, the largest value over real tokens; padding never wins), or "mean_sqrt_len" (the
            sum over real tokens divided by the square root of their count; sentence-transformers'
            `mean_sqrt_len_tokens`).
        normalize: bool, divide each vector by its L2 norm (at least 1e-12), so dot products are cosines.

    Call: `(sequence_output, input_mask)`, float [batch, seq, hidden] and int [batch, seq] (1 = real token)
    → float32 [batch, hidden].

    Example:
    >>> pooling = SentencePooling("mean", normalize=False)
    >>> pooling(np.array([[[1.0, 2.0], [3.0, 4.0], [9.0, 9.0]]]), np.array([[1, 1, 0]])).numpy().tolist()
    [[2.0, 3.0]]
    """

    def __init__(self, mode: str = "mean", normalize: bool = False, **kwargs: Any):
        super().__init__(**kwargs)
        if mode not in POOLING_MODES:
            raise ValueError(f"pooling mode must be one of {POOLING_MODES}, got {mode!r}")
        self.mode = mode
        self.normalize = bool(normalize)

    def call(self, sequence_output, input_mask):
        tokens = ops.cast(sequence_output, "float32")
        mask = ops.cast(input_mask, "float32")[:, :, None]  # [batch, seq, 1]
        if self.mode == "cls":
            pooled = tokens[:, 0]
        elif self.mode == "max":
            pooled = ops.max(ops.where(mask > 0, tokens, float("-inf")), axis=1)
        else:
            total = ops.sum(tokens * mask, axis=1)
            count = ops.maximum(ops.sum(mask, axis=1), _MIN_TOKEN_COUNT)  # [batch, 1]
            pooled = total / (count if self.mode == "mean" else ops.sqrt(count))
        if self.normalize:
            norm = ops.sqrt(ops.sum(ops.square(pooled), axis=-1, keepdims=True))
            pooled = pooled / ops.maximum(norm, _MIN_NORM)
        return pooled

    def compute_output_shape(self, sequence_output_shape, input_mask_shape):
        return (sequence_output_shape[0], sequence_output_shape[-1])

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(mode=self.mode, normalize=self.normalize)
        return config
