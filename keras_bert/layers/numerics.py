"""The reference's numerics shared by every BERT layer: GELU, initializer, float32 LayerNorm, masking constant.

google-research/bert `modeling.py` uses LayerNorm ε = 1e-12, adds −10000 to masked attention scores,
initializes with a truncated normal and calls the tanh approximation of GELU "gelu". Keeping these in
one module keeps every layer (and every head) on the same numbers.
"""
from __future__ import annotations

import keras

LAYER_NORM_EPSILON = 1e-12
MASKED_ATTENTION_ADDER = -10000.0


@keras.saving.register_keras_serializable(package="keras_bert")
def gelu_tanh(x):
    """The reference's GELU: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))."""
    return keras.activations.gelu(x, approximate=True)


@keras.saving.register_keras_serializable(package="keras_bert")
def gelu_exact(x):
    """GELU in its erf form, 0.5·x·(1 + erf(x/√2)), for configs converted from other ecosystems."""
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


def float32_layer_norm(name: str, epsilon: float = LAYER_NORM_EPSILON) -> keras.layers.LayerNormalization:
    """LayerNorm kept in float32 under mixed precision (as the reference's fp16 recipes do); `epsilon` is
    `BertConfig.layer_norm_eps` (the reference's 1e-12 unless a converted checkpoint says otherwise)."""
    return keras.layers.LayerNormalization(epsilon=epsilon, dtype="float32", name=name)
