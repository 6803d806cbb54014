"""Pooler against the reference's `bert/pooler`: tanh(first_token @ W + b)."""
import numpy as np

from keras_bert.layers.pooler import Pooler
from support.random_weights import randomize_weights


def test_tanh_dense_on_the_first_token():
    pooler = Pooler(hidden_size=8, initializer_range=0.02)
    pooler.build()
    randomize_weights(pooler, seed=4)
    x = np.random.default_rng(0).normal(size=(3, 5, 8)).astype(np.float32)
    got = pooler(x)
    want = np.tanh(x[:, 0].astype(np.float64) @ pooler.dense.kernel.numpy() + pooler.dense.bias.numpy())
    assert got.shape == (3, 8)
    np.testing.assert_allclose(np.asarray(got), want, atol=1e-5, rtol=0)
