"""Out-of-range ids are an error naming the input: unchecked, an id of -1 read the last embedding row (Keras
wraps negative ids) and one past the table read zeros on GPU, silently. XLA drops the check but still compiles."""
import numpy as np
import pytest
import tensorflow as tf

from keras_bert.models.classifier import BertClassifier
from keras_bert.models.encoder import BertEncoder
from support.configs import tiny_config

CONFIG = tiny_config(vocab_size=80)


def inputs(word_ids, type_ids=None):
    ids = np.array([word_ids], np.int32)
    types = np.zeros_like(ids) if type_ids is None else np.array([type_ids], np.int32)
    return {"input_word_ids": ids, "input_mask": np.ones_like(ids), "input_type_ids": types}


@pytest.fixture(scope="module")
def encoder():
    return BertEncoder(CONFIG)


BAD_IDS = [
    (inputs([1, -1, 5]), "input_word_ids holds a negative id"),
    (inputs([1, 80, 5]), "input_word_ids holds an id not below vocab_size 80"),
    (inputs([1, 2, 3], type_ids=[0, 2, 1]), "input_type_ids holds an id not below type_vocab_size 2"),
    (inputs([1, 2, 3], type_ids=[0, -1, 1]), "input_type_ids holds a negative id"),
]


@pytest.mark.parametrize("x, message", BAD_IDS)
def test_out_of_range_ids_are_an_error_eagerly_and_in_graphs(encoder, x, message):
    with pytest.raises(tf.errors.InvalidArgumentError, match=message):
        encoder(x)
    graph = tf.function(lambda d: encoder(d, training=False)["pooled_output"])
    with pytest.raises(tf.errors.InvalidArgumentError, match=message):
        graph(x)


def test_out_of_range_ids_fail_predict_and_fit_of_a_task_model():
    model = BertClassifier(CONFIG, num_classes=2)
    x = inputs([1, 95, 3])
    with pytest.raises(tf.errors.InvalidArgumentError, match="input_word_ids holds an id not below vocab_size 80"):
        model.predict(x, verbose=0)
    model.compile(optimizer="sgd", loss={"logits": "mse"})
    with pytest.raises(tf.errors.InvalidArgumentError, match="input_word_ids holds an id not below vocab_size 80"):
        model.fit(x, {"logits": np.zeros([1, 2])}, verbose=0)


def test_ids_in_range_work_the_same_under_xla(encoder):
    """XLA ignores the assertion (TPUs, `--jit_compile`): it must still compile, and change nothing."""
    x = inputs([0, 79, 5], type_ids=[0, 1, 1])
    eager = encoder(x, training=False)["sequence_output"]
    compiled = tf.function(lambda d: encoder(d, training=False)["sequence_output"], jit_compile=True)(x)
    np.testing.assert_allclose(compiled, eager, atol=1e-5)
