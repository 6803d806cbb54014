"""`.keras` round trips (and files saved by earlier versions), mixed precision and XLA of the models."""
import json
import pathlib
import zipfile

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_bert.models.classifier import BertClassifier
from keras_bert.models.encoder import BertEncoder
from keras_bert.models.pretrainer import BertPretrainer
from keras_bert.models.span_labeler import BertSpanLabeler
from keras_bert.models.token_classifier import BertTokenClassifier
from support.configs import tiny_config

CONFIG = tiny_config(vocab_size=80, num_attention_heads=4)


def batch(seq=12, seed=0):
    rng = np.random.default_rng(seed)
    mask = np.ones((3, seq), np.int32)
    mask[2, 4:] = 0
    return {"input_word_ids": rng.integers(0, 80, (3, seq)).astype(np.int32), "input_mask": mask,
            "input_type_ids": np.zeros((3, seq), np.int32),
            "masked_lm_positions": np.array([[1, 2], [3, 4], [0, 1]], np.int32)}


def call(model, x):
    names = [i.name for i in model.inputs]
    return model({k: v for k, v in x.items() if k in names}, training=False)


@pytest.mark.parametrize("make", [
    lambda: BertEncoder(CONFIG), lambda: BertPretrainer(CONFIG), lambda: BertClassifier(CONFIG, num_classes=3),
    lambda: BertSpanLabeler(CONFIG), lambda: BertTokenClassifier(CONFIG, num_labels=5)])
def test_keras_file_round_trip(tmp_path, make):
    model = make()
    x = batch()
    before = call(model, x)
    model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras")
    assert type(loaded) is type(model) and loaded.bert_config == CONFIG
    after = call(loaded, x)
    for key in ("sequence_output", "mlm_logits", "nsp_logits", "logits", "start_logits", "pooled_output"):
        if key in before:
            np.testing.assert_array_equal(np.asarray(before[key]), np.asarray(after[key]))


def test_tied_embeddings_are_one_variable():
    model = BertPretrainer(CONFIG)
    table = model.encoder.embeddings.word_embeddings.embeddings
    assert sum(w is table for w in model.trainable_weights) == 1
    assert model.get_layer("masked_lm").embedding.embeddings is table


def test_any_sequence_length_up_to_max_positions():
    encoder = BertEncoder(CONFIG)
    for seq in (1, 5, 64):
        assert encoder(batch(seq))["sequence_output"].shape == (3, seq, 32)
    with pytest.raises(ValueError, match="sequence length 65 exceeds max_position_embeddings 64"):
        encoder(batch(65))


@pytest.mark.parametrize("policy, tolerance", [("mixed_bfloat16", 0.05), ("mixed_float16", 5e-3)])
def test_mixed_precision_agrees_with_float32(policy, tolerance):
    reference = BertPretrainer(CONFIG)
    weights = reference.get_weights()
    x = batch()
    want = call(reference, x)
    keras.mixed_precision.set_dtype_policy(policy)
    try:
        model = BertPretrainer(CONFIG)
    finally:
        keras.mixed_precision.set_dtype_policy("float32")
    model.set_weights(weights)
    block = model.encoder.transformer_layers[0]
    assert block.compute_dtype == policy.split("_")[1] and block.output_layer_norm.compute_dtype == "float32"
    got = call(model, x)
    assert got["mlm_logits"].dtype == "float32"
    for key in ("mlm_logits", "nsp_logits", "sequence_output"):
        scale = np.abs(np.asarray(want[key])).max()
        diff = np.abs(np.asarray(got[key], np.float32) - np.asarray(want[key])).max()
        assert diff <= tolerance * max(scale, 1.0), f"{policy} {key}: {diff}"


def test_jit_compile_forward_agrees():
    model = BertPretrainer(CONFIG)
    x = batch()
    eager = call(model, x)
    compiled = tf.function(lambda inputs: model(inputs, training=False), jit_compile=True)
    got = compiled({k: tf.constant(v) for k, v in x.items()})
    np.testing.assert_allclose(got["mlm_logits"], eager["mlm_logits"], atol=1e-4)
    np.testing.assert_allclose(got["sequence_output"], eager["sequence_output"], atol=1e-5)


MODELS = {"BertEncoder": lambda c: BertEncoder(c), "BertPretrainer": lambda c: BertPretrainer(c),
          "BertClassifier": lambda c: BertClassifier(c, num_classes=3), "BertSpanLabeler": lambda c: BertSpanLabeler(c),
          "BertTokenClassifier": lambda c: BertTokenClassifier(c, num_labels=4)}


@pytest.mark.parametrize("class_name", sorted(MODELS))
def test_saved_archive_names_the_class_as_before(tmp_path, class_name):
    MODELS[class_name](CONFIG).save(tmp_path / "model.keras")
    with zipfile.ZipFile(tmp_path / "model.keras") as archive:
        saved = json.loads(archive.read("config.json"))
    assert saved["registered_name"] == f"keras_bert>{class_name}" and saved["class_name"] == class_name


SAVED_BEFORE = pathlib.Path(__file__).parent / "saved_before_restructure"


@pytest.mark.parametrize("class_name", sorted(MODELS))
def test_keras_files_saved_before_the_restructure_still_load(class_name):
    """Files written by the last flat-module release (commit 6cecbe8: `keras_bert.models`, `keras_bert.encoder`,
    `keras_bert.layers` were modules), from a 1-layer hidden-8 config with N(0, 0.25) weights, with the outputs
    they gave then on the inputs stored beside them."""
    expected = np.load(SAVED_BEFORE / "expected_outputs.npz")
    inputs = {name.removeprefix("input/"): expected[name] for name in expected.files if name.startswith("input/")}
    loaded = keras.saving.load_model(SAVED_BEFORE / f"{class_name}.keras")
    assert type(loaded).__name__ == class_name
    outputs = call(loaded, inputs)
    keys = [name.split("/", 1)[1] for name in expected.files if name.startswith(class_name + "/")]
    assert keys
    for key in keys:
        np.testing.assert_allclose(np.asarray(outputs[key]), expected[f"{class_name}/{key}"], atol=1e-6, rtol=1e-6,
                                   err_msg=key)
