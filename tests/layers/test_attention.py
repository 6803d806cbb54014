"""BertSelfAttention against the reference's `attention_layer`: scaled dot products, an additive −10000
on masked keys, softmax, the weighted sum of values and the output dense."""
import numpy as np
import pytest

from keras_bert.layers.attention import BertSelfAttention
from support import reference_formulas as ref
from support.random_weights import randomize_weights

HIDDEN, HEADS = 8, 2


def attention_layer(seed=2):
    layer = BertSelfAttention(num_heads=HEADS, key_dim=HIDDEN // HEADS, dropout=0.3)
    layer.build((None, None, HIDDEN), (None, None, HIDDEN))
    randomize_weights(layer, seed=seed)
    return layer


def reference_weights(layer):
    """The Keras [hidden, heads, size] / [heads, size, hidden] kernels in the reference's [hidden, hidden]."""
    flat = {}
    for name in ("query", "key", "value"):
        dense = getattr(layer, f"_{name}_dense")
        flat[f"w{name[0]}"] = dense.kernel.numpy().reshape(HIDDEN, HIDDEN)
        flat[f"b{name[0]}"] = dense.bias.numpy().reshape(HIDDEN)
    flat["wo"] = layer._output_dense.kernel.numpy().reshape(HIDDEN, HIDDEN)
    flat["bo"] = layer._output_dense.bias.numpy()
    return flat


@pytest.mark.parametrize("mask_kind", ["per_key", "per_query"])
def test_matches_reference_attention(mask_kind):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 5, HIDDEN)).astype(np.float32)
    if mask_kind == "per_key":  # [batch, 1, seq]: full, padded after 2 tokens, everything masked
        mask = np.array([[[1, 1, 1, 1, 1]], [[1, 1, 0, 0, 0]], [[0, 0, 0, 0, 0]]], np.int32)
    else:  # [batch, seq, seq]: a different mask for every query
        mask = rng.integers(0, 2, (3, 5, 5)).astype(np.int32)
    layer = attention_layer()
    got = layer(x, x, attention_mask=mask, training=False)
    want = ref.self_attention(x.astype(np.float64), mask.astype(np.float64), **reference_weights(layer),
                              num_heads=HEADS)
    np.testing.assert_allclose(np.asarray(got), want, atol=1e-5, rtol=0)


def test_masked_key_is_penalised_by_exactly_10000():
    """Hand-computed: one head, identity projections, integer inputs (exact in float32). Query 1 scores
    (100, 100, 0, 0)·(100, 100, 0, 0)/√4 = 10000 against its own key, which is masked, and 0 against
    the two others; −10000 brings the masked key level with them, so each gets 1/3 (a −1e9 mask would
    give 1/2, 0, 1/2)."""
    layer = BertSelfAttention(num_heads=1, key_dim=4)
    layer.build((None, None, 4), (None, None, 4))
    for dense in (layer._query_dense, layer._key_dense, layer._value_dense):
        dense.kernel.assign(np.eye(4, dtype=np.float32).reshape(4, 1, 4))
        dense.bias.assign(np.zeros((1, 4), np.float32))
    layer._output_dense.kernel.assign(np.eye(4, dtype=np.float32).reshape(1, 4, 4))
    layer._output_dense.bias.assign(np.zeros(4, np.float32))
    x = np.array([[[0, 0, 3, 0], [100, 100, 0, 0], [0, 0, 0, 3]]], np.float32)
    out, probs = layer(x, x, attention_mask=np.array([[[1, 0, 1]]]), return_attention_scores=True)
    np.testing.assert_allclose(np.asarray(probs)[0, 0, 1], [1 / 3, 1 / 3, 1 / 3], atol=1e-6, rtol=0)
    np.testing.assert_allclose(np.asarray(out)[0, 1], [100 / 3, 100 / 3, 1.0, 1.0], atol=1e-5, rtol=0)


def test_causal_mask_from_keras_gets_the_same_additive_mask():
    x = np.random.default_rng(3).normal(size=(2, 4, HIDDEN)).astype(np.float32)
    layer = attention_layer()
    got = layer(x, x, use_causal_mask=True, training=False)
    causal = np.tril(np.ones((4, 4)))[None].repeat(2, axis=0)
    want = ref.self_attention(x.astype(np.float64), causal, **reference_weights(layer), num_heads=HEADS)
    np.testing.assert_allclose(np.asarray(got), want, atol=1e-5, rtol=0)
