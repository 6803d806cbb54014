"""Hugging Face folders in and out: every transformers BERT class, every weights-file form, every refusal.

Folders are written by `support.huggingface_folders` under transformers' names (listed by hand there);
outputs are checked against `support.numpy_bert`, a numpy forward pass of the published formulas.
"""
from __future__ import annotations

import json
import logging
import os
import shutil

import h5py
import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

import keras_bert
from keras_bert import (
    BertClassifier,
    BertConfig,
    BertEncoder,
    BertPretrainer,
    BertSpanLabeler,
    BertTokenClassifier,
)
from keras_bert.checkpoints.huggingface import huggingface_checkpoint_arrays, huggingface_labels
from keras_bert.checkpoints.pretrained import checkpoint_format
from support.huggingface_folders import huggingface_tensors, write_huggingface_folder
from support.numpy_bert import bert_forward, mlm_logits

CONFIG = {"vocab_size": 120, "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4,
          "intermediate_size": 64, "max_position_embeddings": 24, "hidden_act": "gelu"}
LABELS = ["negative", "neutral", "positive"]
IDS = np.array([[2, 17, 45, 99, 3, 0, 0], [2, 60, 61, 3, 70, 71, 3]])
MASK = np.array([[1, 1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1, 1]])
TYPES = np.array([[0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 1, 1, 1]])
INPUTS = {"input_word_ids": IDS, "input_mask": MASK, "input_type_ids": TYPES}
TOLERANCE = 2e-5  # float32 model vs float64 numpy


def _folder(tmp_path, architecture, name=None, **kwargs):
    labels = kwargs.pop("labels", LABELS)
    config = {**CONFIG, **kwargs.pop("config", {})}
    return write_huggingface_folder(tmp_path / (name or architecture), config, architecture, labels=labels, **kwargs)


def _amplify_activations(folder):
    """Scales the FFN inputs so that its activation works where the GELU forms differ (|x| ≈ 1..3), not near 0."""
    weights = _weights(folder)
    for name in weights:
        if name.endswith("intermediate.dense.weight"):
            weights[name] = weights[name] * 20
    save_file(weights, str(folder / "model.safetensors"), metadata={"format": "pt"})


def _weights(folder):
    return load_file(os.path.join(folder, "model.safetensors"))


def _config(folder):
    return json.loads((folder / "config.json").read_text())


def _reference(folder):
    weights, config = _weights(folder), _config(folder)
    return weights, config, bert_forward(weights, config, IDS, MASK, TYPES)


def _linear(x, weights, name):
    return x @ weights[f"{name}.weight"].astype(np.float64).T + weights[f"{name}.bias"]


def _check_encoder(outputs, reference, with_pooler=True):
    real = MASK.astype(bool)  # padded positions are not outputs
    np.testing.assert_allclose(np.asarray(outputs["sequence_output"])[real], reference["sequence_output"][real],
                               atol=TOLERANCE)
    for ours, theirs in zip(outputs["encoder_outputs"], reference["encoder_outputs"]):
        np.testing.assert_allclose(np.asarray(ours)[real], theirs[real], atol=TOLERANCE)
    if with_pooler:
        np.testing.assert_allclose(outputs["pooled_output"], reference["pooled_output"], atol=TOLERANCE)


@pytest.mark.parametrize("hidden_act", ["gelu", "gelu_new", "relu"])
def test_bert_model_equals_the_published_formulas(tmp_path, hidden_act):
    folder = _folder(tmp_path, "BertModel", config={"hidden_act": hidden_act})
    _amplify_activations(folder)
    _, _, reference = _reference(folder)
    encoder = BertEncoder.from_huggingface(folder)
    assert encoder.bert_config.hidden_act == {"gelu": "gelu_exact", "gelu_new": "gelu", "relu": "relu"}[hidden_act]
    _check_encoder(encoder(INPUTS), reference)


def test_gelu_forms_differ_measurably(tmp_path):
    """The test above can tell the erf GELU from the tanh one: the same weights read as the other form."""
    folder = _folder(tmp_path, "BertModel")
    _amplify_activations(folder)
    _, config, reference = _reference(folder)
    tanh_reading = bert_forward(_weights(folder), {**config, "hidden_act": "gelu_new"}, IDS, MASK, TYPES)
    assert np.abs(tanh_reading["sequence_output"] - reference["sequence_output"]).max() > 10 * TOLERANCE


def test_layer_norm_eps_is_honoured(tmp_path):
    folder = _folder(tmp_path, "BertModel", config={"layer_norm_eps": 1e-2})
    weights, config, reference = _reference(folder)
    encoder = BertEncoder.from_huggingface(folder)
    assert encoder.bert_config.layer_norm_eps == 1e-2
    _check_encoder(encoder(INPUTS), reference)
    default_eps = bert_forward(weights, {**config, "layer_norm_eps": 1e-12}, IDS, MASK, TYPES)
    assert np.abs(default_eps["sequence_output"] - reference["sequence_output"]).max() > 10 * TOLERANCE


def test_pretraining_heads(tmp_path):
    folder = _folder(tmp_path, "BertForPreTraining")
    weights, config, reference = _reference(folder)
    model = BertPretrainer.from_huggingface(folder)
    positions = np.array([[1, 3], [2, 5]])
    outputs = model({**INPUTS, "masked_lm_positions": positions})
    gathered = np.take_along_axis(reference["sequence_output"], positions[:, :, None], axis=1)
    np.testing.assert_allclose(outputs["mlm_logits"], mlm_logits(weights, config, gathered), atol=1e-4)
    np.testing.assert_allclose(outputs["nsp_logits"], _linear(reference["pooled_output"], weights,
                                                              "cls.seq_relationship"), atol=TOLERANCE)


def test_masked_lm_folder_starts_pooler_and_next_sentence_fresh(tmp_path, caplog):
    folder = _folder(tmp_path, "BertForMaskedLM")
    weights, config, reference = _reference(folder)
    with caplog.at_level(logging.WARNING):
        model = BertPretrainer.from_huggingface(folder)
    assert "bert.pooler.dense.weight" in caplog.text and "cls.seq_relationship.weight" in caplog.text
    outputs = model({**INPUTS, "masked_lm_positions": np.array([[1, 2], [3, 4]])})
    gathered = np.take_along_axis(reference["sequence_output"], np.array([[[1], [2]], [[3], [4]]]), axis=1)
    np.testing.assert_allclose(outputs["mlm_logits"], mlm_logits(weights, config, gathered), atol=1e-4)


def test_sequence_classification_takes_its_labels(tmp_path):
    folder = _folder(tmp_path, "BertForSequenceClassification")
    weights, _, reference = _reference(folder)
    model = BertClassifier.from_huggingface(folder)
    assert model.num_classes == 3 and huggingface_labels(folder) == LABELS
    np.testing.assert_allclose(model(INPUTS)["logits"], _linear(reference["pooled_output"], weights, "classifier"),
                               atol=TOLERANCE)


def test_question_answering_and_token_classification(tmp_path):
    qa = _folder(tmp_path, "BertForQuestionAnswering")
    weights, _, reference = _reference(qa)
    outputs = BertSpanLabeler.from_huggingface(qa)(INPUTS)
    logits = _linear(reference["sequence_output"], weights, "qa_outputs")
    real = MASK.astype(bool)
    np.testing.assert_allclose(np.asarray(outputs["start_logits"])[real], logits[..., 0][real], atol=TOLERANCE)
    np.testing.assert_allclose(np.asarray(outputs["end_logits"])[real], logits[..., 1][real], atol=TOLERANCE)
    tagger_folder = _folder(tmp_path, "BertForTokenClassification", labels=["O", "B-PER", "I-PER", "B-LOC"])
    weights, _, reference = _reference(tagger_folder)
    tagger = BertTokenClassifier.from_huggingface(tagger_folder)
    assert tagger.num_labels == 4
    np.testing.assert_allclose(np.asarray(tagger(INPUTS)["logits"])[real],
                               _linear(reference["sequence_output"], weights, "classifier")[real], atol=TOLERANCE)


def test_regression_folder_is_a_one_output_classifier(tmp_path):
    folder = _folder(tmp_path, "BertForSequenceClassification", labels=["LABEL_0"],
                     config={"problem_type": "regression"})
    assert BertClassifier.from_huggingface(folder).num_classes == 1


def test_name_spellings_all_load_the_same_numbers(tmp_path, caplog):
    """Old LayerNorm gamma/beta, no `bert.` prefix, the position_ids buffer and the tied decoder tensors."""
    folder = _folder(tmp_path, "BertForPreTraining")
    expected = BertPretrainer.from_huggingface(folder).get_weights()
    weights = _weights(folder)
    variant = {}
    for name, array in weights.items():
        name = name.replace("LayerNorm.weight", "LayerNorm.gamma").replace("LayerNorm.bias", "LayerNorm.beta")
        variant[name.removeprefix("bert.")] = array
    variant["embeddings.position_ids"] = np.arange(24, dtype=np.int64)[None]
    variant["cls.predictions.decoder.weight"] = weights["bert.embeddings.word_embeddings.weight"]
    variant["cls.predictions.decoder.bias"] = weights["cls.predictions.bias"]
    save_file(variant, str(folder / "model.safetensors"), metadata={"format": "pt"})
    for ours, theirs in zip(BertPretrainer.from_huggingface(folder).get_weights(), expected):
        np.testing.assert_array_equal(ours, theirs)
    variant["cls.predictions.decoder.weight"] = variant["cls.predictions.decoder.weight"] + 1
    save_file(variant, str(folder / "model.safetensors"), metadata={"format": "pt"})
    with pytest.raises(ValueError, match="decoder.weight is not the word-embedding table"):
        BertPretrainer.from_huggingface(folder)


def test_sharded_safetensors(tmp_path):
    folder = _folder(tmp_path, "BertForSequenceClassification")
    expected = BertClassifier.from_huggingface(folder).get_weights()
    weights = _weights(folder)
    names = sorted(weights)
    shards = {"model-00001-of-00002.safetensors": names[::2], "model-00002-of-00002.safetensors": names[1::2]}
    for shard, shard_names in shards.items():
        save_file({n: weights[n] for n in shard_names}, str(folder / shard), metadata={"format": "pt"})
    index = {"metadata": {}, "weight_map": {n: shard for shard, shard_names in shards.items() for n in shard_names}}
    (folder / "model.safetensors.index.json").write_text(json.dumps(index))
    os.remove(folder / "model.safetensors")
    for ours, theirs in zip(BertClassifier.from_huggingface(folder).get_weights(), expected):
        np.testing.assert_array_equal(ours, theirs)
    os.remove(folder / "model-00002-of-00002.safetensors")
    with pytest.raises(FileNotFoundError, match="model-00002-of-00002.safetensors listed in"):
        BertClassifier.from_huggingface(folder)


def _write_tf_model_h5(path, weights, model_scope):
    """transformers' TF-era layout (Keras 2 `save_weights`): a group per top-level layer whose `weight_names`
    are the TF variable names, `layer_._N` for list items, kernels [in, out], `mlm___cls` for the MLM head."""
    by_layer: dict[str, dict[str, np.ndarray]] = {}
    for name, array in weights.items():
        parts = name.split(".")
        if parts[-1] == "weight" and array.ndim == 2 and "embeddings" not in parts[-2]:
            parts[-1], array = "kernel", array.T
        elif parts[-2] == "LayerNorm":
            parts[-1] = {"weight": "gamma", "bias": "beta"}[parts[-1]]
        elif parts[-2] in ("position_embeddings", "token_type_embeddings"):
            parts[-1] = "embeddings"
        text = "/".join(parts).replace("layer/", "layer_._")
        layer = parts[0]
        by_layer.setdefault(layer, {})[f"{model_scope}/{text}:0"] = array
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = [layer.encode() for layer in by_layer]
        for layer, arrays in by_layer.items():
            group = f.create_group(layer)
            group.attrs["weight_names"] = [name.encode() for name in arrays]
            for name, array in arrays.items():
                group.create_dataset(name, data=array)


def test_tf_model_h5(tmp_path):
    folder = _folder(tmp_path, "BertForSequenceClassification")
    expected = BertClassifier.from_huggingface(folder).get_weights()
    _write_tf_model_h5(folder / "tf_model.h5", _weights(folder), "tf_bert_for_sequence_classification")
    os.remove(folder / "model.safetensors")
    for ours, theirs in zip(BertClassifier.from_huggingface(folder).get_weights(), expected):
        np.testing.assert_array_equal(ours, theirs)


def test_pytorch_pickle_without_torch_says_how_to_convert(tmp_path):
    try:
        import torch  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("torch is installed here, so the pickle is readable")
    folder = _folder(tmp_path, "BertModel")
    os.rename(folder / "model.safetensors", folder / "pytorch_model.bin")
    with pytest.raises(ValueError, match=r"torch is not installed.*model\.safetensors"):
        BertEncoder.from_huggingface(folder)


@pytest.mark.parametrize(("field", "value", "message"), [
    ("model_type", "roberta", "model_type 'roberta' is not BERT"),
    ("position_embedding_type", "relative_key", "position_embedding_type 'relative_key' is not supported"),
    ("hidden_act", "silu", "hidden_act 'silu' is not one of"),
    ("is_decoder", True, "is_decoder is true"),
    ("layer_norm_eps", "1e-12", "layer_norm_eps must be a number"),
])
def test_config_refusals_name_the_field(tmp_path, field, value, message):
    folder = _folder(tmp_path, "BertModel")
    config = _config(folder)
    config[field] = value
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match=message) as error:
        BertEncoder.from_huggingface(folder)
    assert "config.json" in str(error.value)


def test_every_missing_conflicting_and_unknown_tensor_is_listed(tmp_path):
    folder = _folder(tmp_path, "BertForSequenceClassification")
    weights = _weights(folder)
    del weights["bert.encoder.layer.1.output.dense.bias"]
    weights["bert.encoder.layer.0.intermediate.dense.weight"] = np.zeros((65, 32), np.float32)
    weights["bert.encoder.layer.7.output.dense.bias"] = np.zeros(32, np.float32)
    del weights["classifier.bias"]  # half a head
    save_file(weights, str(folder / "model.safetensors"), metadata={"format": "pt"})
    with pytest.raises(ValueError) as error:
        BertClassifier.from_huggingface(folder)
    text = str(error.value)
    for expected in ("missing tensors (2): bert.encoder.layer.1.output.dense.bias, classifier.bias",
                     "bert.encoder.layer.0.intermediate.dense.weight: checkpoint [65, 32] vs model [64, 32]",
                     "checkpoint tensors the model does not have (1): bert.encoder.layer.7.output.dense.bias"):
        assert expected in text


def test_config_that_disagrees_with_the_weights(tmp_path):
    folder = _folder(tmp_path, "BertModel")
    config = _config(folder)
    config["num_hidden_layers"] = 1
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match=r"does not have \(16\): bert.encoder.layer.1"):
        BertEncoder.from_huggingface(folder)


def test_task_model_on_a_bare_encoder_starts_its_head_fresh(tmp_path, caplog):
    folder = _folder(tmp_path, "BertModel")
    _, _, reference = _reference(folder)
    with caplog.at_level(logging.WARNING):
        model = BertClassifier.from_huggingface(folder, num_classes=5)
    assert model.num_classes == 5 and "classifier.weight" in caplog.text
    _check_encoder(model.encoder(INPUTS), reference)


def test_encoder_from_a_fine_tuned_folder_leaves_the_head_out(tmp_path):
    folder = _folder(tmp_path, "BertForSequenceClassification")
    _, _, reference = _reference(folder)
    _check_encoder(BertEncoder.from_huggingface(folder)(INPUTS), reference)


def test_missing_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="Hugging Face folder not found"):
        BertEncoder.from_huggingface(tmp_path / "nowhere")
    folder = _folder(tmp_path, "BertModel")
    os.remove(folder / "model.safetensors")
    with pytest.raises(FileNotFoundError, match="no Hugging Face weights file in"):
        BertEncoder.from_huggingface(folder)
    (folder / "model.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{\"a\":")
    with pytest.raises(ValueError, match="cannot read .*model.safetensors"):
        BertEncoder.from_huggingface(folder)


def test_from_pretrained_tells_the_formats_apart(tmp_path):
    hf_folder = _folder(tmp_path, "BertForSequenceClassification")
    model = BertClassifier.from_pretrained(hf_folder)
    google_folder = tmp_path / "google"
    google_folder.mkdir()
    keras_bert.save_google_checkpoint(model, google_folder)
    assert checkpoint_format(hf_folder) == "huggingface" and checkpoint_format(google_folder) == "google"
    reloaded = BertClassifier.from_pretrained(google_folder, num_classes=3)
    for ours, theirs in zip(reloaded.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(ours, theirs)
    with pytest.raises(FileNotFoundError, match="holds neither a Google BERT checkpoint"):
        checkpoint_format(tmp_path)


# transformers' class for each keras_bert model, and the class a saved folder must hold the names of.
SAVED = [(BertEncoder, "BertModel", {}), (BertPretrainer, "BertForPreTraining", {}),
         (BertClassifier, "BertForSequenceClassification", {"num_classes": 3}),
         (BertSpanLabeler, "BertForQuestionAnswering", {}),
         (BertTokenClassifier, "BertForTokenClassification", {"num_labels": 3})]


@pytest.mark.parametrize(("model_class", "architecture", "kwargs"), SAVED)
def test_save_writes_transformers_layout_and_round_trips(tmp_path, model_class, architecture, kwargs):
    config = BertConfig.from_dict({**CONFIG, "hidden_act": "gelu_exact"})
    model = model_class(config, **kwargs)
    labels = LABELS if kwargs else None
    folder = tmp_path / "saved"
    vocab = write_huggingface_folder(tmp_path / "vocab_source", CONFIG, "BertModel") / "vocab.txt"
    keras_bert.save_huggingface_checkpoint(model, folder, vocab_file=vocab, do_lower_case=True, labels=labels)
    written = _weights(folder)
    layout = huggingface_tensors({**CONFIG, "type_vocab_size": 2}, architecture, num_labels=3)
    assert {n: a.shape for n, a in written.items()} == {n: a.shape for n, a in layout.items()}
    values = _config(folder)
    assert values["architectures"] == [architecture] and values["model_type"] == "bert"
    assert values["hidden_act"] == "gelu" and values["layer_norm_eps"] == 1e-12
    if labels:
        assert values["id2label"] == {"0": "negative", "1": "neutral", "2": "positive"}
        assert values["label2id"] == {"negative": 0, "neutral": 1, "positive": 2}
    assert (folder / "vocab.txt").read_bytes() == vocab.read_bytes()
    reloaded = huggingface_checkpoint_arrays(model_class.from_huggingface(folder))
    assert sorted(reloaded) == sorted(written)
    for name, array in written.items():
        np.testing.assert_array_equal(reloaded[name], array, err_msg=name)


def test_saving_a_regression_classifier_marks_its_problem_type(tmp_path):
    model = BertClassifier(BertConfig.from_dict({**CONFIG, "hidden_act": "gelu_exact"}), num_classes=1)
    folder = keras_bert.save_huggingface_checkpoint(model, tmp_path / "saved")
    values = json.loads((tmp_path / "saved" / "config.json").read_text())
    assert values["problem_type"] == "regression" and values["id2label"] == {"0": "LABEL_0"}
    assert not os.path.exists(os.path.join(folder, "vocab.txt"))
    with pytest.raises(ValueError, match="2 labels given for a model with num_classes=1"):
        keras_bert.save_huggingface_checkpoint(model, tmp_path / "other", labels=["a", "b"])
    assert not os.path.exists(tmp_path / "other")


def test_a_loaded_folder_saves_back_byte_for_byte_equal_tensors(tmp_path):
    folder = _folder(tmp_path, "BertForPreTraining")
    model = BertPretrainer.from_huggingface(folder)
    saved = keras_bert.save_huggingface_checkpoint(model, tmp_path / "saved")
    original, written = _weights(folder), load_file(os.path.join(saved, "model.safetensors"))
    assert sorted(original) == sorted(written)
    for name in original:
        np.testing.assert_array_equal(written[name], original[name], err_msg=name)
    shutil.rmtree(saved)


def test_required_heads_must_be_in_the_checkpoint(tmp_path):
    """Fill-mask asks for the masked-LM head: a folder without it is an error naming its tensors, in both formats."""
    folder = _folder(tmp_path, "BertModel")
    with pytest.raises(ValueError, match=r"missing tensors \(5\): cls.predictions.transform.dense.weight"):
        BertPretrainer.from_huggingface(folder, required_heads=("masked_lm",))
    google_folder = tmp_path / "google"
    google_folder.mkdir()
    keras_bert.save_google_checkpoint(BertEncoder.from_huggingface(folder), google_folder)
    with pytest.raises(ValueError, match=r"missing variables \(5\): cls/predictions/transform/dense/kernel"):
        BertPretrainer.from_pretrained(google_folder, required_heads=("masked_lm",))
    assert BertPretrainer.from_huggingface(_folder(tmp_path, "BertForMaskedLM"), required_heads=("masked_lm",))
