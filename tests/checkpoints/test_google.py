"""Google TF1 checkpoints: loading into every model, head numerics, the save round trip, and errors."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_bert.checkpoints.google import resolve_checkpoint, save_google_checkpoint
from keras_bert.config import BertConfig
from keras_bert.models.classifier import BertClassifier
from keras_bert.models.encoder import BertEncoder
from keras_bert.models.pretrainer import BertPretrainer
from keras_bert.models.span_labeler import BertSpanLabeler
from keras_bert.models.token_classifier import BertTokenClassifier
from support.configs import tiny_config
from support.google_checkpoints import random_reference_arrays, write_random_release, write_reference_checkpoint

CONFIG = tiny_config(vocab_size=64, num_attention_heads=4, intermediate_size=48, max_position_embeddings=40)


def gelu(x):
    return 0.5 * x * (1.0 + np.tanh(np.sqrt(2.0 / np.pi) * (x + 0.044715 * x ** 3)))


def layer_norm(x, gamma, beta):
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + 1e-12) * gamma + beta


def inputs(batch=2, seq=9, seed=0):
    rng = np.random.default_rng(seed)
    mask = np.ones((batch, seq), np.int32)
    mask[1, 5:] = 0
    return {"input_word_ids": rng.integers(0, CONFIG.vocab_size, (batch, seq)).astype(np.int32),
            "input_mask": mask, "input_type_ids": (np.arange(seq)[None] >= 4).astype(np.int32).repeat(batch, 0)}


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    folder = tmp_path_factory.mktemp("release")
    return folder, write_random_release(folder, CONFIG, seed=3)


def test_pretrainer_heads_equal_reference_formulas(release):
    folder, arrays = release
    model = BertPretrainer.from_google_checkpoint(str(folder))
    x = inputs()
    positions = np.array([[1, 3, 0], [2, 4, 4]], np.int32)
    out = model({**x, "masked_lm_positions": positions}, training=False)
    seq = np.asarray(out["sequence_output"])
    gathered = np.take_along_axis(seq, positions[..., None], axis=1)
    mlm_arrays = {name.removeprefix("cls/predictions/"): value for name, value in arrays.items()}
    hidden = gelu(gathered @ mlm_arrays["transform/dense/kernel"] + mlm_arrays["transform/dense/bias"])
    hidden = layer_norm(hidden, mlm_arrays["transform/LayerNorm/gamma"], mlm_arrays["transform/LayerNorm/beta"])
    mlm = hidden @ arrays["bert/embeddings/word_embeddings"].T + mlm_arrays["output_bias"]
    np.testing.assert_allclose(out["mlm_logits"], mlm, atol=1e-4, rtol=1e-4)
    nsp = (np.asarray(out["pooled_output"]) @ arrays["cls/seq_relationship/output_weights"].T
           + arrays["cls/seq_relationship/output_bias"])
    np.testing.assert_allclose(out["nsp_logits"], nsp, atol=1e-5, rtol=1e-5)
    pooled = np.tanh(seq[:, 0] @ arrays["bert/pooler/dense/kernel"] + arrays["bert/pooler/dense/bias"])
    np.testing.assert_allclose(out["pooled_output"], pooled, atol=1e-5)


def test_embeddings_equal_reference_formula(release):
    folder, arrays = release
    encoder = BertEncoder.from_google_checkpoint(str(folder / "bert_model.ckpt"))
    x = inputs(seq=6)
    got = encoder.embeddings(x["input_word_ids"], x["input_type_ids"], training=False)
    e = arrays["bert/embeddings/word_embeddings"][x["input_word_ids"]]
    e = e + arrays["bert/embeddings/token_type_embeddings"][x["input_type_ids"]]
    e = e + arrays["bert/embeddings/position_embeddings"][:6]
    want = layer_norm(e, arrays["bert/embeddings/LayerNorm/gamma"], arrays["bert/embeddings/LayerNorm/beta"])
    np.testing.assert_allclose(got, want, atol=1e-5)


@pytest.mark.parametrize("model_class, head, kwargs", [
    (BertEncoder, None, {}),
    (BertPretrainer, "pretraining", {}),
    (BertClassifier, "classifier", {"num_classes": 3}),
    (BertSpanLabeler, "squad", {}),
    (BertTokenClassifier, "classifier", {"num_labels": 3}),  # saved under run_classifier's names
])
def test_save_round_trip_is_exact(tmp_path, model_class, head, kwargs):
    arrays = random_reference_arrays(CONFIG, seed=5, head=head, num_labels=3)
    write_reference_checkpoint(tmp_path / "in", arrays, CONFIG)
    model = model_class.from_google_checkpoint(str(tmp_path / "in"), **kwargs)
    prefix = save_google_checkpoint(model, str(tmp_path / "out" / "bert_model.ckpt"))
    reader = tf.train.load_checkpoint(prefix)
    assert set(reader.get_variable_to_shape_map()) == set(arrays)
    for name, value in arrays.items():
        np.testing.assert_array_equal(reader.get_tensor(name), value, err_msg=name)
    assert BertConfig.from_json_file(tmp_path / "out" / "bert_config.json") == CONFIG
    # And the saved folder loads again.
    again = model_class.from_google_checkpoint(str(tmp_path / "out"), **kwargs)
    x = inputs()
    if model_class is BertPretrainer:
        x["masked_lm_positions"] = np.zeros((2, 2), np.int32)
    for value, value_again in zip(keras.tree.flatten(model(x)), keras.tree.flatten(again(x)), strict=True):
        np.testing.assert_array_equal(np.asarray(value), np.asarray(value_again))


def test_pretrained_checkpoint_starts_classifier_head_fresh(release):
    folder, arrays = release
    model = BertClassifier.from_google_checkpoint(str(folder), num_classes=2)
    np.testing.assert_array_equal(model.encoder.embeddings.word_embeddings.embeddings.numpy(),
                                  arrays["bert/embeddings/word_embeddings"])
    assert model.get_layer("classifier").dense.kernel.shape == (CONFIG.hidden_size, 2)


def test_config_disagreeing_with_checkpoint_lists_every_conflict(release):
    folder, _ = release
    for changes, expected in [({"vocab_size": 65}, "bert/embeddings/word_embeddings: checkpoint [64, 32]"),
                              ({"hidden_size": 36, "intermediate_size": 48}, "shape conflicts"),
                              ({"num_hidden_layers": 3}, "missing variables (16): bert/encoder/layer_2/"),
                              ({"num_hidden_layers": 1}, "checkpoint variables the model does not have (16)")]:
        with pytest.raises(ValueError, match=expected.replace("[", r"\[").replace("(", r"\(").replace(")", r"\)")):
            BertEncoder.from_google_checkpoint(str(folder), config=CONFIG.replace(**changes))


def test_missing_variable_is_named(tmp_path):
    arrays = random_reference_arrays(CONFIG, seed=1)
    del arrays["bert/encoder/layer_1/output/dense/bias"]
    write_reference_checkpoint(tmp_path, arrays, CONFIG)
    with pytest.raises(ValueError, match="missing variables \\(1\\): bert/encoder/layer_1/output/dense/bias"):
        BertEncoder.from_google_checkpoint(str(tmp_path))


def test_half_a_head_is_an_error(tmp_path):
    arrays = random_reference_arrays(CONFIG, seed=1, head="squad")
    del arrays["cls/squad/output_bias"]
    write_reference_checkpoint(tmp_path, arrays, CONFIG)
    with pytest.raises(ValueError, match="cls/squad/output_bias"):
        BertSpanLabeler.from_google_checkpoint(str(tmp_path))


def test_checkpoint_that_is_not_bert(tmp_path):
    write_reference_checkpoint(tmp_path, {"resnet/conv1/kernel": np.zeros((3, 3), np.float32)}, CONFIG)
    with pytest.raises(ValueError, match="is not a BERT checkpoint.*resnet/conv1/kernel"):
        BertEncoder.from_google_checkpoint(str(tmp_path))


def test_missing_files_are_named(tmp_path, release):
    with pytest.raises(FileNotFoundError, match="no TF1 checkpoint .* in folder"):
        BertEncoder.from_google_checkpoint(str(tmp_path))
    with pytest.raises(FileNotFoundError, match="BERT checkpoint not found: .*nope"):
        BertEncoder.from_google_checkpoint(str(tmp_path / "nope"))
    folder, arrays = release
    write_reference_checkpoint(tmp_path / "noconfig", arrays)
    with pytest.raises(FileNotFoundError, match="bert_config.json not found beside checkpoint"):
        BertEncoder.from_google_checkpoint(str(tmp_path / "noconfig"))


def test_a_model_without_google_names_is_refused(tmp_path):
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    with pytest.raises(TypeError, match="no Google checkpoint layout for Sequential"):
        save_google_checkpoint(model, str(tmp_path / "bert_model.ckpt"))


def test_config_may_be_a_bert_config_json_path_or_a_dict(release, tmp_path):
    """`config="x.json"` used to fail with AttributeError: 'str' object has no attribute 'items'."""
    folder, arrays = release
    config_file = tmp_path / "renamed_config.json"
    CONFIG.to_json_file(config_file)
    for config in (str(config_file), config_file, CONFIG.to_dict(), CONFIG):
        encoder = BertEncoder.from_google_checkpoint(str(folder / "bert_model.ckpt"), config=config)
        assert encoder.bert_config == CONFIG
    np.testing.assert_array_equal(encoder.embeddings.word_embeddings.embeddings.numpy(),
                                  arrays["bert/embeddings/word_embeddings"])
    with pytest.raises(FileNotFoundError, match="BERT config file not found: .*nope.json"):
        BertEncoder.from_google_checkpoint(str(folder), config=str(tmp_path / "nope.json"))
    with pytest.raises(ValueError, match=f"BERT config file {folder} is a folder"):
        BertEncoder.from_google_checkpoint(str(folder), config=str(folder))
    with pytest.raises(TypeError, match="expected a BertConfig, a dict or the path of a bert_config.json, got int"):
        BertEncoder.from_google_checkpoint(str(folder), config=3)


def _cut_in_half(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def test_truncated_data_shard_names_the_checkpoint(release, tmp_path):
    """A half-copied shard used to raise a bare `IndexError: Read less bytes than requested`."""
    _, arrays = release
    prefix = write_reference_checkpoint(tmp_path / "cut", arrays, CONFIG)
    _cut_in_half(next((tmp_path / "cut").glob("bert_model.ckpt.data-*")))
    with pytest.raises(ValueError, match=f"checkpoint {prefix} is truncated or corrupt: variable .* cannot be "
                                         "read from its data files"):
        BertEncoder.from_google_checkpoint(str(tmp_path / "cut"))


def test_missing_data_shard_and_truncated_index_name_the_checkpoint(release, tmp_path):
    _, arrays = release
    prefix = write_reference_checkpoint(tmp_path / "no_data", arrays, CONFIG)
    next((tmp_path / "no_data").glob("bert_model.ckpt.data-*")).unlink()
    with pytest.raises(ValueError, match=f"checkpoint {prefix} is truncated or corrupt"):
        BertEncoder.from_google_checkpoint(prefix)
    prefix = write_reference_checkpoint(tmp_path / "cut_index", arrays, CONFIG)
    _cut_in_half(tmp_path / "cut_index" / "bert_model.ckpt.index")
    with pytest.raises(ValueError, match=f"cannot read checkpoint {prefix}"):
        BertEncoder.from_google_checkpoint(prefix)


def test_resolve_checkpoint_takes_a_folder_a_prefix_or_one_of_its_files(release, tmp_path):
    folder, arrays = release
    prefix = str(folder / "bert_model.ckpt")
    data_file = str(next(folder.glob("bert_model.ckpt.data-*")))
    for path in (folder, str(folder), prefix, prefix + ".index", data_file):
        assert resolve_checkpoint(path) == (prefix, str(folder))
    single = tmp_path / "estimator_dir"  # e.g. model.ckpt-1000 without a `checkpoint` file
    write_reference_checkpoint(single, arrays)
    for name in single.glob("bert_model.ckpt.*"):
        name.rename(single / name.name.replace("bert_model.ckpt", "model.ckpt-1000"))
    assert resolve_checkpoint(single) == (str(single / "model.ckpt-1000"), str(single))
    write_reference_checkpoint(tmp_path / "other", arrays)
    for name in (tmp_path / "other").glob("bert_model.ckpt.*"):
        name.rename(single / name.name.replace("bert_model.ckpt", "model.ckpt-2000"))
    with pytest.raises(FileNotFoundError, match="holds several checkpoints \\(model.ckpt-1000.index, "
                                                "model.ckpt-2000.index\\) .*pass the prefix of one"):
        resolve_checkpoint(single)
    with pytest.raises(FileNotFoundError, match="BERT checkpoint not found: .*bert_model.ckpt-5 "):
        resolve_checkpoint(folder / "bert_model.ckpt-5")
