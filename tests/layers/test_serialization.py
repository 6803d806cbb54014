"""Every layer of `keras_bert.layers` round-trips: `get_config` → `from_config` with the same weights gives
the same outputs, and so does a `.keras` file of a model holding it. Registered names stay `keras_bert>…`."""
import importlib
import pkgutil

import keras
import numpy as np
import pytest

import keras_bert.layers
from keras_bert.layers.attention import BertSelfAttention
from keras_bert.layers.embeddings import BertEmbeddings
from keras_bert.layers.heads import (
    ClassificationHead,
    DenseLogitsHead,
    MaskedLMHead,
    NextSentenceHead,
    SpanHead,
    TokenClassificationHead,
)
from keras_bert.layers.numerics import gelu_exact, gelu_tanh
from keras_bert.layers.pooler import Pooler
from keras_bert.layers.pooling import SentencePooling
from keras_bert.layers.transformer_block import TransformerBlock
from keras_bert.models.pretrainer import BertPretrainer
from support.configs import tiny_config
from support.random_weights import randomize_weights

HIDDEN, SEQ = 8, 5
RNG = np.random.default_rng(0)
IDS = RNG.integers(0, 11, (2, SEQ)).astype(np.int32)
TYPES = RNG.integers(0, 2, (2, SEQ)).astype(np.int32)
HIDDEN_STATES = RNG.normal(size=(2, SEQ, HIDDEN)).astype(np.float32)
POOLED = RNG.normal(size=(2, HIDDEN)).astype(np.float32)
MASK = np.array([[[1, 1, 1, 1, 1]], [[1, 1, 1, 0, 0]]], np.int32)

# class → (constructor arguments, [(input array, keras.Input)], how to call the layer on its inputs)
ids_input = (IDS, keras.Input((None,), dtype="int32"))
types_input = (TYPES, keras.Input((None,), dtype="int32"))
hidden_input = (HIDDEN_STATES, keras.Input((None, HIDDEN)))
mask_input = (MASK, keras.Input((1, None), dtype="int32"))
pooled_input = (POOLED, keras.Input((HIDDEN,)))
token_mask_input = (MASK[:, 0, :], keras.Input((None,), dtype="int32"))
CASES = {
    BertEmbeddings: (dict(vocab_size=11, hidden_size=HIDDEN, max_position_embeddings=9, type_vocab_size=2,
                          dropout_rate=0.1, initializer_range=0.03),
                     [ids_input, types_input], lambda layer, ids, types: layer(ids, types)),
    BertSelfAttention: (dict(num_heads=2, key_dim=HIDDEN // 2, dropout=0.1),
                        [hidden_input, mask_input], lambda layer, x, mask: layer(x, x, attention_mask=mask)),
    TransformerBlock: (dict(hidden_size=HIDDEN, num_attention_heads=2, intermediate_size=12, hidden_act="gelu_exact",
                            hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.2, initializer_range=0.03),
                       [hidden_input, mask_input], lambda layer, x, mask: layer(x, mask)),
    Pooler: (dict(hidden_size=HIDDEN, initializer_range=0.03), [hidden_input], lambda layer, x: layer(x)),
    DenseLogitsHead: (dict(num_outputs=4, dropout_rate=0.2, initializer_range=0.03), [pooled_input],
                      lambda layer, x: layer(x)),
    ClassificationHead: (dict(num_outputs=3, dropout_rate=0.2), [pooled_input], lambda layer, x: layer(x)),
    NextSentenceHead: (dict(initializer_range=0.03), [pooled_input], lambda layer, x: layer(x)),
    SpanHead: (dict(dropout_rate=0.1), [hidden_input], lambda layer, x: layer(x)),
    TokenClassificationHead: (dict(num_outputs=6, dropout_rate=0.1), [hidden_input], lambda layer, x: layer(x)),
    SentencePooling: (dict(mode="max", normalize=True), [hidden_input, token_mask_input],
                      lambda layer, x, mask: layer(x, mask)),
}


def layer_classes_in_package():
    classes = set()
    for module_info in pkgutil.iter_modules(keras_bert.layers.__path__):
        module = importlib.import_module(f"keras_bert.layers.{module_info.name}")
        classes |= {value for value in vars(module).values() if isinstance(value, type)
                    and issubclass(value, keras.layers.Layer) and value.__module__ == module.__name__}
    return classes


def test_every_layer_class_is_covered():
    assert layer_classes_in_package() == set(CASES) | {MaskedLMHead}


def test_registered_names_are_unchanged():
    # The names inside .keras files saved by earlier versions: renaming any breaks loading them.
    assert sorted(keras.saving.get_registered_name(c) for c in layer_classes_in_package()) == [
        "keras_bert>BertEmbeddings", "keras_bert>BertSelfAttention", "keras_bert>ClassificationHead",
        "keras_bert>DenseLogitsHead", "keras_bert>MaskedLMHead", "keras_bert>NextSentenceHead",
        "keras_bert>Pooler", "keras_bert>SentencePooling", "keras_bert>SpanHead", "keras_bert>TokenClassificationHead",
        "keras_bert>TransformerBlock"]
    assert keras.saving.get_registered_name(gelu_tanh) == "keras_bert>gelu_tanh"
    assert keras.saving.get_registered_name(gelu_exact) == "keras_bert>gelu_exact"


def built_layer(layer_class):
    arguments, inputs, call = CASES[layer_class]
    layer = layer_class(**arguments, name="under_test")
    call(layer, *[array for array, _ in inputs])
    randomize_weights(layer, seed=7)
    return layer, [array for array, _ in inputs], call


@pytest.mark.parametrize("layer_class", list(CASES), ids=lambda c: c.__name__)
def test_config_round_trip_gives_the_same_outputs(layer_class):
    layer, arrays, call = built_layer(layer_class)
    config = layer.get_config()
    clone = layer_class.from_config(config)
    call(clone, *arrays)
    clone.set_weights(layer.get_weights())
    assert clone.get_config() == config
    np.testing.assert_array_equal(np.asarray(call(clone, *arrays)), np.asarray(call(layer, *arrays)))


@pytest.mark.parametrize("layer_class", list(CASES), ids=lambda c: c.__name__)
def test_keras_file_of_a_model_holding_the_layer(tmp_path, layer_class):
    arguments, inputs, call = CASES[layer_class]
    symbolic = [keras.Input(i.shape[1:], dtype=i.dtype) for _, i in inputs]
    model = keras.Model(symbolic, call(layer_class(**arguments, name="under_test"), *symbolic))
    randomize_weights(model, seed=8)
    arrays = [array for array, _ in inputs]
    model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras")
    assert type(loaded.get_layer("under_test")) is layer_class
    assert loaded.get_layer("under_test").get_config() == model.get_layer("under_test").get_config()
    np.testing.assert_array_equal(np.asarray(loaded(arrays)), np.asarray(model(arrays)))


def test_masked_lm_head_round_trips_given_its_embedding(tmp_path):
    # Its tied `embedding` is a reference, not configuration: `from_config` takes it as an argument...
    table = keras.layers.Embedding(11, HIDDEN)
    table.build((None, None))
    head = MaskedLMHead(11, HIDDEN, "gelu", initializer_range=0.03, embedding=table)
    positions = np.array([[1, 4], [0, 2]], np.int32)
    head(HIDDEN_STATES, positions)
    randomize_weights(head, seed=9)
    clone = MaskedLMHead.from_config({**head.get_config(), "embedding": table})
    clone(HIDDEN_STATES, positions)
    clone.set_weights(head.get_weights())
    np.testing.assert_array_equal(np.asarray(clone(HIDDEN_STATES, positions)),
                                  np.asarray(head(HIDDEN_STATES, positions)))
    # ... and in a .keras file it is restored by the model holding it, which ties it to its encoder.
    model = BertPretrainer(tiny_config(vocab_size=11, hidden_size=HIDDEN, num_attention_heads=2))
    randomize_weights(model, seed=10)
    model.save(tmp_path / "pretrainer.keras")
    loaded = keras.saving.load_model(tmp_path / "pretrainer.keras")
    for mine, theirs in zip(model.get_layer("masked_lm").weights, loaded.get_layer("masked_lm").weights):
        np.testing.assert_array_equal(mine.numpy(), theirs.numpy())
    assert loaded.get_layer("masked_lm").embedding is loaded.encoder.embeddings.word_embeddings
