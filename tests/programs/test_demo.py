"""A fast smoke of `make demo` (`saved_models.demo.run_demo`) with tiny settings: every step runs, every artefact is
where the demo says, the reported dev accuracy is the fine-tuned model's, and the exported classifier answers in a
fresh process without keras_bert as the Keras model does. (The full demo, with its default settings, is timed in the
README.)"""
import json
import pathlib

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_bert.tokenization.preprocessor import BertPreprocessor
from saved_models import demo, demo_corpus

MAX_SEQ_LENGTH = 32


@pytest.fixture(scope="module")
def result(tmp_path_factory) -> dict:
    return demo.run_demo(output_dir=str(tmp_path_factory.mktemp("demo")), vocab_size=800, max_corpus_sentences=1500,
                         hidden_size=64, num_layers=1, max_seq_length=MAX_SEQ_LENGTH, pretrain_steps=20,
                         pretrain_batch_size=16, examples_per_class=40, num_train_epochs=1, export_encoder=False,
                         verbose=0)


def _rows(path: pathlib.Path) -> list[tuple[str, str]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "sentence\tlabel"
    return [tuple(line.rsplit("\t", 1)) for line in lines[1:]]


@pytest.mark.slow
def test_every_reported_artefact_exists(result):
    for key in ("corpus", "vocab_file", "bert_config_file", "loss_plot", "saved_model_models_config"):
        assert pathlib.Path(result[key]).is_file(), key
    for key in ("labelled_data", "finetuned_model", "serving_base", "saved_model_task"):
        assert pathlib.Path(result[key]).is_dir(), key
    for name in ("bert_config.json", "bert_model.ckpt.index", "model.keras", "vocab.txt", "task_info.json",
                 "eval_results.txt"):
        assert (pathlib.Path(result["finetuned_model"]) / name).is_file(), name


@pytest.mark.slow
def test_corpus_is_stdlib_docstrings_with_documents(result):
    text = pathlib.Path(result["corpus"]).read_text(encoding="utf-8")
    assert "\n\n" in text and len(text.splitlines()) >= 1500
    assert all(4 <= len(line.split()) <= 60 for line in text.splitlines() if line)


@pytest.mark.slow
def test_vocabulary_and_pretraining_artefacts(result):
    vocab = pathlib.Path(result["vocab_file"]).read_text(encoding="utf-8").splitlines()
    assert vocab[:5] == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] and 500 < len(vocab) <= 800
    assert pathlib.Path(result["loss_plot"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert pathlib.Path(result["pretrained_checkpoint"] + ".index").is_file()
    first, last = result["pretraining_losses"]
    assert last < first


@pytest.mark.slow
def test_labelled_set_has_the_four_families_and_the_reported_figures_are_its(result):
    data = pathlib.Path(result["labelled_data"])
    train, dev = _rows(data / "train.tsv"), _rows(data / "dev.tsv")
    assert len(train) == 4 * 40 and len(dev) == 4 * 10
    assert {label for _, label in train} == {label for _, label in dev} == set(demo_corpus.FAMILIES)
    assert not set(train) & set(dev)
    dev_labels = [label for _, label in dev]
    assert result["majority_baseline"] == max(dev_labels.count(x) for x in set(dev_labels)) / len(dev) == 0.25

    # The reported dev accuracy is the fine-tuned model's on dev.tsv.
    model_dir = pathlib.Path(result["finetuned_model"])
    labels = json.loads((model_dir / "task_info.json").read_text(encoding="utf-8"))["labels"]
    model = keras.saving.load_model(model_dir / "model.keras")
    preprocessor = BertPreprocessor(str(model_dir / "vocab.txt"), True, MAX_SEQ_LENGTH)
    logits = model.predict(preprocessor(tf.constant([sentence for sentence, _ in dev])), verbose=0)["logits"]
    accuracy = np.mean([labels[i] == label for i, label in zip(logits.argmax(-1), dev_labels)])
    assert result["dev_accuracy"] == pytest.approx(accuracy)


@pytest.mark.slow
def test_exported_classifier_answers_in_a_fresh_process_as_the_keras_model(result):
    saved_model = pathlib.Path(result["saved_model_task"])
    assert saved_model.parent.name == "bert_classifier" and (saved_model / "saved_model.pb").is_file()
    answers = result["answers"]
    assert answers["keras_bert_imported"] is False
    assert len(answers["label"]) == len(demo.DEMO_REQUESTS) and set(answers["label"]) <= set(demo_corpus.FAMILIES)

    model_dir = pathlib.Path(result["finetuned_model"])
    labels = json.loads((model_dir / "task_info.json").read_text(encoding="utf-8"))["labels"]
    model = keras.saving.load_model(model_dir / "model.keras")
    preprocessor = BertPreprocessor(str(model_dir / "vocab.txt"), True, MAX_SEQ_LENGTH)
    logits = model.predict(preprocessor(tf.constant(demo.DEMO_REQUESTS)), verbose=0)["logits"]
    probabilities = tf.nn.softmax(logits).numpy()
    np.testing.assert_allclose(answers["probabilities"], probabilities, atol=1e-3)  # the answers are rounded to 3
    assert answers["label"] == [labels[i] for i in probabilities.argmax(-1)]
