"""`SentencePooling` against numpy formulas of sentence-transformers' Pooling modes and Normalize, written here."""
import keras
import numpy as np
import pytest

from keras_bert.layers.pooling import POOLING_MODES, SentencePooling

RNG = np.random.default_rng(3)
TOKENS = RNG.normal(size=(4, 6, 5)).astype(np.float32)
MASK = np.array([[1, 1, 1, 1, 1, 1], [1, 1, 1, 0, 0, 0], [1, 1, 0, 0, 0, 0], [1, 0, 0, 0, 0, 0]], np.int32)


def expected(tokens, mask, mode, normalize):
    tokens, mask = tokens.astype(np.float64), mask.astype(np.float64)
    rows = []
    for row, keep in zip(tokens, mask):
        real = row[keep > 0]
        rows.append({"cls": row[0], "mean": real.mean(0), "max": real.max(0),
                     "mean_sqrt_len": real.sum(0) / np.sqrt(len(real))}[mode])
    pooled = np.stack(rows)
    return pooled / np.linalg.norm(pooled, axis=1, keepdims=True) if normalize else pooled


@pytest.mark.parametrize("normalize", [False, True])
@pytest.mark.parametrize("mode", POOLING_MODES)
def test_modes_equal_numpy_formulas(mode, normalize):
    # Padded positions hold values larger than any real one: they must not reach max or mean.
    tokens = np.where(MASK[..., None] > 0, TOKENS, 100.0).astype(np.float32)
    got = np.asarray(SentencePooling(mode, normalize)(tokens, MASK))
    assert got.dtype == np.float32 and got.shape == (4, 5)
    np.testing.assert_allclose(got, expected(TOKENS, MASK, mode, normalize), atol=1e-6)
    if normalize:
        np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-6)


def test_half_precision_input_pools_in_float32():
    layer = SentencePooling("mean", normalize=True, dtype="float32")
    got = np.asarray(layer(TOKENS.astype(np.float16), MASK))
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, expected(TOKENS.astype(np.float16), MASK, "mean", True), atol=1e-6)


def test_zero_vector_is_not_divided_by_zero():
    got = np.asarray(SentencePooling("mean", normalize=True)(np.zeros((1, 3, 4), np.float32), np.ones((1, 3))))
    np.testing.assert_array_equal(got, np.zeros((1, 4)))


def test_unknown_mode_is_an_error():
    with pytest.raises(ValueError, match="pooling mode must be one of .*'weightedmean'"):
        SentencePooling("weightedmean")


def test_config_round_trip_in_a_model(tmp_path):
    tokens = keras.Input((None, 5))
    mask = keras.Input((None,), dtype="int32")
    model = keras.Model([tokens, mask], SentencePooling("max", normalize=True, name="pool")(tokens, mask))
    model.save(tmp_path / "pool.keras")
    reloaded = keras.saving.load_model(tmp_path / "pool.keras")
    layer = reloaded.get_layer("pool")
    assert (layer.mode, layer.normalize) == ("max", True)
    np.testing.assert_array_equal(np.asarray(reloaded([TOKENS, MASK])), np.asarray(model([TOKENS, MASK])))
