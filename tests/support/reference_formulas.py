"""google-research/bert `modeling.py` formulas in plain numpy (float64): the oracle of the layer tests.

Matrices are in the reference's layout ([in, out] dense kernels, [hidden, hidden] attention projections),
written from the paper and `modeling.py`, not from keras_bert.
"""
from __future__ import annotations

import math

import numpy as np

LAYER_NORM_EPSILON = 1e-12  # modeling.layer_norm
MASK_ADDER = -10000.0  # modeling.attention_layer: adder = (1.0 - mask) * -10000.0


def layer_norm(x, gamma, beta):
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + LAYER_NORM_EPSILON) * gamma + beta


def gelu_tanh(x):
    """modeling.gelu: the tanh approximation of the Gaussian error linear unit."""
    return 0.5 * x * (1.0 + np.tanh(np.sqrt(2.0 / np.pi) * (x + 0.044715 * x ** 3)))


def gelu_erf(x):
    """The exact GELU, x·Φ(x) = 0.5·x·(1 + erf(x/√2))."""
    return 0.5 * x * (1.0 + np.vectorize(math.erf)(x / math.sqrt(2.0)))


def softmax(x, axis=-1):
    shifted = np.exp(x - x.max(axis, keepdims=True))
    return shifted / shifted.sum(axis, keepdims=True)


def self_attention(x, mask, wq, bq, wk, bk, wv, bv, wo, bo, num_heads: int):
    """modeling.attention_layer + the attention output dense: x [B, T, H]; mask [B, 1 or T, T], 1 = attend;
    w* [H, H], b* [H]. Returns [B, T, H]."""
    batch, seq, hidden = x.shape
    size = hidden // num_heads

    def heads(t):  # [B, T, H] → [B, N, T, size]
        return t.reshape(batch, seq, num_heads, size).transpose(0, 2, 1, 3)

    q, k, v = heads(x @ wq + bq), heads(x @ wk + bk), heads(x @ wv + bv)
    scores = q @ k.transpose(0, 1, 3, 2) / math.sqrt(size)  # [B, N, T, T]
    # The reference adds the mask in float32: next to −10000 a score keeps only ~1e-3 of resolution, which
    # shows on rows whose every key is masked (softmax is shift-invariant only in exact arithmetic).
    adder = ((1.0 - mask[:, None, :, :]) * MASK_ADDER).astype(np.float32)
    scores = (scores.astype(np.float32) + adder).astype(np.float64)
    context = softmax(scores) @ v  # [B, N, T, size]
    return context.transpose(0, 2, 1, 3).reshape(batch, seq, hidden) @ wo + bo
