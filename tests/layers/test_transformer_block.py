"""TransformerBlock against the reference's `transformer_model` layer: attention → add & LayerNorm →
activation(dense) → dense → add & LayerNorm."""
import numpy as np
import pytest

from keras_bert.layers.transformer_block import TransformerBlock
from support import reference_formulas as ref
from support.random_weights import randomize_weights

HIDDEN, HEADS, INTERMEDIATE = 8, 2, 12
ACTIVATIONS = {"gelu": ref.gelu_tanh, "gelu_exact": ref.gelu_erf, "relu": lambda x: np.maximum(x, 0.0)}


@pytest.mark.parametrize("hidden_act", sorted(ACTIVATIONS))
def test_matches_reference_layer(hidden_act):
    block = TransformerBlock(hidden_size=HIDDEN, num_attention_heads=HEADS, intermediate_size=INTERMEDIATE,
                             hidden_act=hidden_act, hidden_dropout_prob=0.3, attention_probs_dropout_prob=0.2,
                             initializer_range=0.02)
    block.build()
    randomize_weights(block, seed=3)
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2, 6, HIDDEN)).astype(np.float32)
    mask = np.array([[[1, 1, 1, 1, 1, 1]], [[1, 1, 1, 0, 0, 0]]], np.int32)
    got = block(x, mask, training=False)  # dropout inactive at inference

    def w(variable):
        return variable.numpy().astype(np.float64)

    attention = block.attention
    attended = ref.self_attention(
        x.astype(np.float64), mask.astype(np.float64),
        wq=w(attention.query_dense.kernel).reshape(HIDDEN, HIDDEN), bq=w(attention.query_dense.bias).reshape(-1),
        wk=w(attention.key_dense.kernel).reshape(HIDDEN, HIDDEN), bk=w(attention.key_dense.bias).reshape(-1),
        wv=w(attention.value_dense.kernel).reshape(HIDDEN, HIDDEN), bv=w(attention.value_dense.bias).reshape(-1),
        wo=w(attention.output_dense.kernel).reshape(HIDDEN, HIDDEN), bo=w(attention.output_dense.bias),
        num_heads=HEADS)
    hidden = ref.layer_norm(attended + x, w(block.attention_layer_norm.gamma), w(block.attention_layer_norm.beta))
    inner = ACTIVATIONS[hidden_act](hidden @ w(block.intermediate.kernel) + w(block.intermediate.bias))
    want = ref.layer_norm(inner @ w(block.output_dense.kernel) + w(block.output_dense.bias) + hidden,
                          w(block.output_layer_norm.gamma), w(block.output_layer_norm.beta))
    np.testing.assert_allclose(np.asarray(got), want, atol=1e-5, rtol=0)
