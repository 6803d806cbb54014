"""A fast smoke of `make demo` (`saved_models.demo.run_demo`) with tiny settings: every step runs, every artefact is
where the demo says, and the exported classifier answers in a fresh process without keras_bert. (The full demo,
with its default settings, is timed in the README.)"""
import pathlib

import pytest

from saved_models import demo


@pytest.fixture(scope="module")
def result(tmp_path_factory) -> dict:
    return demo.run_demo(output_dir=str(tmp_path_factory.mktemp("demo")), vocab_size=800, max_corpus_sentences=1500,
                         hidden_size=64, num_layers=1, max_seq_length=32, pretrain_steps=20, pretrain_batch_size=16,
                         examples_per_class=40, num_train_epochs=1, export_encoder=False, verbose=0)


def test_corpus_is_stdlib_docstrings_with_documents(result):
    text = pathlib.Path(result["corpus"]).read_text(encoding="utf-8")
    assert "\n\n" in text and len(text.splitlines()) >= 1500
    assert all(4 <= len(line.split()) <= 60 for line in text.splitlines() if line)


def test_vocabulary_and_pretraining_artefacts(result):
    vocab = pathlib.Path(result["vocab_file"]).read_text(encoding="utf-8").splitlines()
    assert vocab[:5] == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] and 500 < len(vocab) <= 800
    assert pathlib.Path(result["loss_plot"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert pathlib.Path(result["pretrained_checkpoint"] + ".index").is_file()
    first, last = result["pretraining_losses"]
    assert last < first


def test_labelled_set_has_the_four_families(result):
    data = pathlib.Path(result["labelled_data"])
    train = (data / "train.tsv").read_text(encoding="utf-8").splitlines()
    dev = (data / "dev.tsv").read_text(encoding="utf-8").splitlines()
    assert train[0] == "sentence\tlabel" and len(train) == 1 + 4 * 40 and len(dev) == 1 + 4 * 10
    assert {line.rsplit("\t", 1)[1] for line in train[1:]} == set(demo.FAMILIES)
    assert not set(train[1:]) & set(dev[1:])
    assert 0.0 <= result["dev_accuracy"] <= 1.0 and result["majority_baseline"] == pytest.approx(0.25)


def test_exported_classifier_answers_in_a_fresh_process(result):
    saved_model = pathlib.Path(result["saved_model_task"])
    assert saved_model.parent.name == "bert_classifier" and (saved_model / "saved_model.pb").is_file()
    assert pathlib.Path(result["saved_model_models_config"]).is_file()
    answers = result["answers"]
    assert answers["keras_bert_imported"] is False
    assert len(answers["label"]) == len(demo.DEMO_REQUESTS) and set(answers["label"]) <= set(demo.FAMILIES)
    assert all(sum(row) == pytest.approx(1.0, abs=1e-2) for row in answers["probabilities"])
