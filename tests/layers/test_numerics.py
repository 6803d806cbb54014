"""The shared numerics against the reference's definitions: both GELU forms, activation names,
LayerNorm ε = 1e-12 in float32, the truncated-normal initializer and the masking constant."""
import keras
import numpy as np
import pytest

from keras_bert.layers.numerics import (
    MASKED_ATTENTION_ADDER,
    activation_from_name,
    float32_layer_norm,
    gelu_exact,
    gelu_tanh,
    truncated_normal,
)
from support import reference_formulas as ref

X = np.linspace(-6.0, 6.0, 241, dtype=np.float32)


def test_gelu_tanh_is_the_reference_approximation():
    np.testing.assert_allclose(np.asarray(gelu_tanh(X)), ref.gelu_tanh(X.astype(np.float64)), atol=1e-5, rtol=0)


def test_gelu_exact_is_the_erf_form():
    np.testing.assert_allclose(np.asarray(gelu_exact(X)), ref.gelu_erf(X.astype(np.float64)), atol=1e-5, rtol=0)


def test_the_two_gelu_forms_are_distinguishable():
    # They differ by up to ~4.7e-4 (near x = ±2.7): far above the 1e-5 tolerance of the checks above.
    assert np.abs(ref.gelu_tanh(X.astype(np.float64)) - ref.gelu_erf(X.astype(np.float64))).max() > 4e-4


@pytest.mark.parametrize("name, formula", [
    ("gelu", ref.gelu_tanh), ("gelu_exact", ref.gelu_erf),
    ("relu", lambda x: np.maximum(x, 0.0)), ("tanh", np.tanh)])
def test_activation_names_of_bert_config(name, formula):
    np.testing.assert_allclose(np.asarray(activation_from_name(name)(X)), formula(X.astype(np.float64)),
                               atol=1e-5, rtol=0)


def test_unknown_activation_is_named():
    with pytest.raises(ValueError, match="unknown hidden_act 'swish'; use one of"):
        activation_from_name("swish")


def test_layer_norm_uses_epsilon_1e12_in_float32_under_mixed_precision():
    # A variance of ~1e-8 is normalised to unit variance only with the reference's ε = 1e-12
    # (Keras's default ε = 1e-3 would shrink it ~300-fold).
    rng = np.random.default_rng(0)
    x = (1e-4 * rng.normal(size=(2, 3, 8))).astype(np.float32)
    gamma, beta = rng.normal(size=8), rng.normal(size=8)
    keras.mixed_precision.set_dtype_policy("mixed_bfloat16")
    try:
        norm = float32_layer_norm("layer_norm")
    finally:
        keras.mixed_precision.set_dtype_policy("float32")
    norm.build((None, None, 8))
    norm.set_weights([gamma.astype(np.float32), beta.astype(np.float32)])
    assert norm.compute_dtype == "float32" and norm.variable_dtype == "float32"
    got = norm(x)
    assert got.dtype == "float32"
    np.testing.assert_allclose(np.asarray(got), ref.layer_norm(x.astype(np.float64), gamma, beta),
                               atol=1e-5, rtol=0)


def test_truncated_normal_cuts_at_two_standard_deviations():
    values = np.asarray(truncated_normal(0.02)((20000,)))
    assert np.abs(values).max() <= 2 * 0.02
    # A normal truncated at ±2σ has standard deviation σ·√(1 − 4φ(2)/(Φ(2) − Φ(−2))) ≈ 0.8796σ.
    assert abs(values.std() / 0.02 - 0.8796) < 0.02


def test_masked_attention_adder_is_the_reference_constant():
    assert MASKED_ATTENTION_ADDER == ref.MASK_ADDER == -10000.0
