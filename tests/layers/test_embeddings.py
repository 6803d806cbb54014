"""BertEmbeddings against the reference formula: LayerNorm(word[ids] + type[types] + position[:seq])."""
import numpy as np
import pytest

from keras_bert.layers.embeddings import BertEmbeddings
from support import reference_formulas as ref
from support.random_weights import randomize_weights


def embeddings(dropout_rate=0.1):
    layer = BertEmbeddings(vocab_size=11, hidden_size=8, max_position_embeddings=7, type_vocab_size=3,
                           dropout_rate=dropout_rate, initializer_range=0.02)
    layer.build()
    randomize_weights(layer, seed=1)
    return layer


IDS = np.array([[2, 5, 7, 10, 0], [1, 1, 3, 0, 0]], np.int32)
TYPES = np.array([[0, 0, 1, 2, 2], [0, 1, 1, 0, 0]], np.int32)


def test_sum_of_three_tables_then_layer_norm():
    layer = embeddings()
    got = layer(IDS, TYPES, training=False)
    summed = (layer.word_embeddings.embeddings.numpy()[IDS] + layer.token_type_embeddings.embeddings.numpy()[TYPES]
              + layer.position_embeddings.numpy()[:5])
    want = ref.layer_norm(summed.astype(np.float64), layer.layer_norm.gamma.numpy(), layer.layer_norm.beta.numpy())
    assert got.shape == (2, 5, 8) and got.dtype == "float32"
    np.testing.assert_allclose(np.asarray(got), want, atol=1e-5, rtol=0)


def test_dropout_applies_in_training_only():
    layer = embeddings(dropout_rate=0.5)
    inference = np.asarray(layer(IDS, TYPES, training=False))
    training = np.asarray(layer(IDS, TYPES, training=True))
    kept = training != 0
    assert 0 < kept.mean() < 1
    # Inverted dropout: kept values are scaled by 1 / (1 − rate).
    np.testing.assert_allclose(training[kept], 2.0 * inference[kept], atol=1e-5, rtol=0)


def test_sequence_longer_than_the_position_table_is_an_error():
    with pytest.raises(ValueError, match="sequence length 8 exceeds max_position_embeddings 7"):
        embeddings()(np.zeros((1, 8), np.int32), np.zeros((1, 8), np.int32))
