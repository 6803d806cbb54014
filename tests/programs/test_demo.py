"""A fast smoke of `make demo` (`saved_models.demo.run_demo`) with tiny settings but the real all-MiniLM-L6-v2 weights:
every step runs, every artefact is where the demo says and its path is printed, the reported figures are the models'
own, and the three exports answer in a fresh process without keras_bert.

Oracles: the fill-mask table and the served fill-mask answers against the numpy masked-LM forward pass on the
pretrained checkpoint's arrays (`support.fill_mask_oracle`); the served semantic search against MiniLM embeddings
from the numpy forward pass on Hugging Face `tokenizers` ids, mean-pooled and normalised as sentence-transformers
does (`support.sentence_transformers_folders`), ranked by cosine in the test; the corpus lookups against a scan of
the corpus file. (The full demo, with its default settings, is timed in the README.)"""
import contextlib
import io
import json
import pathlib

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_bert.tokenization.preprocessor import BertPreprocessor
from keras_bert.training.outputs import TaskInfo
from saved_models import demo, demo_corpus
from support.fill_mask_oracle import assert_top_k, encode, huggingface_names, mask_probabilities
from support.huggingface_tokenizers import minilm_folder
from support.sentence_transformers_folders import oracle_embeddings

MAX_SEQ_LENGTH = 32
PER_CLASS = 40
REAL_PER_CLASS = 8


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> tuple[dict, str]:
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        result = demo.run_demo(output_dir=str(tmp_path_factory.mktemp("demo")), vocab_size=800,
                               max_corpus_sentences=1500, hidden_size=64, num_layers=1, max_seq_length=MAX_SEQ_LENGTH,
                               pretrain_steps=20, pretrain_batch_size=16, examples_per_class=PER_CLASS,
                               num_train_epochs=1, pretrained_examples_per_class=REAL_PER_CLASS,
                               pretrained_max_seq_length=16, pretrained_epochs=1, verbose=0)
    return result, printed.getvalue()


@pytest.fixture(scope="module")
def result(run) -> dict:
    return run[0]


@pytest.fixture(scope="module")
def keras_answers(result) -> dict:
    """Per fine-tuned model ("finetuned_model", "pretrained_finetuned_model"): the Keras model's class probabilities
    for the dev sentences then the showcase texts, and its labels."""
    dev = demo_corpus.read_labelled_rows(pathlib.Path(result["labelled_data"]) / "dev.tsv")
    texts = [s for s, _ in dev] + [text for text, _ in demo.DEMO_REQUESTS]
    answers = {}
    for key in ("finetuned_model", "pretrained_finetuned_model"):
        model_dir = pathlib.Path(result[key])
        info = TaskInfo.read(model_dir)
        model = keras.saving.load_model(model_dir / "model.keras")
        preprocessor = BertPreprocessor(str(model_dir / "vocab.txt"), info.do_lower_case, info.max_seq_length,
                                        **info.tokenizer_options)
        logits = model.predict(preprocessor(tf.constant(texts)), verbose=0)["logits"]
        probabilities = tf.nn.softmax(logits).numpy()
        answers[key] = (probabilities[:len(dev)], probabilities[len(dev):], info.labels)
    return answers


def _toy_oracle(result: dict, text: str) -> tuple[np.ndarray, list[str]]:
    """The numpy masked-LM probabilities of `text`'s mask on the pretrained checkpoint, and the vocabulary."""
    reader = tf.train.load_checkpoint(result["pretrained_checkpoint"])
    arrays = {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()}
    config = json.loads(pathlib.Path(result["bert_config_file"]).read_text(encoding="utf-8"))
    config["hidden_act"] = {"gelu": "gelu_new", "gelu_exact": "gelu"}.get(config["hidden_act"], config["hidden_act"])
    vocab = pathlib.Path(result["vocab_file"]).read_text(encoding="utf-8").splitlines()
    ids = encode(result["vocab_file"], text, True, MAX_SEQ_LENGTH)
    return mask_probabilities(huggingface_names(arrays), config, ids, vocab.index("[MASK]"))[0], vocab


@pytest.mark.slow
def test_every_reported_artefact_exists_and_is_printed(run):
    result, printed = run
    for key in ("corpus", "vocab_file", "bert_config_file", "loss_plot", "saved_model_models_config"):
        assert pathlib.Path(result[key]).is_file(), key
    for key in ("labelled_data", "finetuned_model", "pretrained_labelled_data", "pretrained_finetuned_model",
                "serving_base", "saved_model_task", "saved_model_embedder", "saved_model_fill_mask"):
        assert pathlib.Path(result[key]).is_dir(), key
    for key in ("finetuned_model", "pretrained_finetuned_model"):
        for name in ("bert_config.json", "bert_model.ckpt.index", "model.keras", "vocab.txt", "task_info.json",
                     "eval_results.txt"):
            assert (pathlib.Path(result[key]) / name).is_file(), (key, name)
    for key in ("corpus", "vocab_file", "loss_plot", "pretrained_checkpoint", "finetuned_model",
                "pretrained_finetuned_model", "saved_model_task", "saved_model_embedder", "saved_model_fill_mask",
                "saved_model_models_config"):
        assert f"{key}: {result[key]}\n" in printed, key
    config = pathlib.Path(result["saved_model_models_config"]).read_text(encoding="utf-8")
    assert all(f'name: "{name}"' in config for name in ("bert_classifier", "bert_embedder", "bert_fill_mask"))
    assert result["pretrained_bert"] == str(minilm_folder())


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
def test_fill_mask_table_is_the_masked_lm_heads_and_its_hits_and_corpus_lookups_are_right(result):
    rows = result["fill_mask"]
    assert [(row["text"], row["expected"]) for row in rows] == demo.FILL_MASK_TEXTS
    corpus = {" ".join(line.lower().split()).rstrip(".")
              for line in pathlib.Path(result["corpus"]).read_text("utf-8").splitlines()}
    for row in rows:
        probabilities, vocab = _toy_oracle(result, row["text"])
        assert len(row["tokens"]) == 5
        assert_top_k([vocab.index(token) for token in row["tokens"]], row["scores"], probabilities)
        assert row["rank"] == (row["tokens"].index(row["expected"]) + 1 if row["expected"] in row["tokens"] else None)
        filled = " ".join(row["text"].replace("[MASK]", row["expected"]).lower().split()).rstrip(".")
        assert row["in_corpus"] == (filled in corpus)
    assert result["fill_mask_hits"] == (sum(row["rank"] == 1 for row in rows), sum(bool(row["rank"]) for row in rows),
                                        len(rows))


@pytest.mark.slow
def test_served_fill_mask_answers_as_the_oracle(result):
    served = result["answers"]["fill_mask"]
    assert len(served["tokens"]) == len(demo.FILL_MASK_TEXTS)
    for (text, _), tokens, token_ids, scores in zip(demo.FILL_MASK_TEXTS, served["tokens"], served["token_ids"],
                                                     served["scores"]):
        probabilities, vocab = _toy_oracle(result, text)
        assert tokens == [vocab[i] for i in token_ids]
        assert_top_k(token_ids, scores, probabilities)


@pytest.mark.slow
def test_labelled_sets_and_both_reported_accuracies_are_the_models(result, keras_answers):
    data = pathlib.Path(result["labelled_data"])
    train, dev = (demo_corpus.read_labelled_rows(data / name) for name in ("train.tsv", "dev.tsv"))
    assert len(train) == 4 * PER_CLASS and len(dev) == 4 * (PER_CLASS // 4)
    assert {label for _, label in train} == {label for _, label in dev} == set(demo_corpus.FAMILIES)
    assert not set(train) & set(dev)
    dev_labels = [label for _, label in dev]
    assert result["majority_baseline"] == max(dev_labels.count(x) for x in set(dev_labels)) / len(dev) == 0.25

    # The real BERT trains on the first REAL_PER_CLASS sentences of each family, and is evaluated on the same dev.
    real_data = pathlib.Path(result["pretrained_labelled_data"])
    assert demo_corpus.read_labelled_rows(real_data / "dev.tsv") == dev
    expected = []
    for family in demo_corpus.FAMILIES:
        expected += [row for row in train if row[1] == family][:REAL_PER_CLASS]
    assert sorted(demo_corpus.read_labelled_rows(real_data / "train.tsv")) == sorted(expected)

    for key, accuracy_key in (("finetuned_model", "dev_accuracy"), ("pretrained_finetuned_model",
                                                                    "pretrained_dev_accuracy")):
        probabilities, _, labels = keras_answers[key]
        accuracy = np.mean([labels[i] == label for i, label in zip(probabilities.argmax(-1), dev_labels)])
        assert result[accuracy_key] == pytest.approx(accuracy), key


@pytest.mark.slow
def test_exported_classifier_is_the_real_berts_and_answers_in_a_fresh_process_as_the_keras_model(result,
                                                                                               keras_answers):
    saved_model = pathlib.Path(result["saved_model_task"])
    assert saved_model.parent.name == "bert_classifier" and (saved_model / "saved_model.pb").is_file()
    assert result["served_classifier"] == result["pretrained_finetuned_model"]
    answers = result["answers"]
    assert answers["keras_bert_imported"] is False
    _, probabilities, labels = keras_answers["pretrained_finetuned_model"]
    np.testing.assert_allclose(answers["classify"]["probabilities"], probabilities, atol=2e-3)  # rounded to 3
    assert answers["classify"]["label"] == [labels[i] for i in probabilities.argmax(-1)]
    assert result["showcase_right"] == sum(label == family for label, (_, family)
                                           in zip(answers["classify"]["label"], demo.DEMO_REQUESTS))


@pytest.mark.slow
def test_served_semantic_search_ranks_the_dev_sentences_as_minilm_does(result):
    sentences = [s for s, _ in demo_corpus.read_labelled_rows(pathlib.Path(result["labelled_data"]) / "dev.tsv")]
    vectors = oracle_embeddings(minilm_folder(), sentences + demo.SEARCH_QUERIES, 256, "mean", True)
    rows, queries = vectors[:len(sentences)], vectors[len(sentences):]
    served = result["answers"]["search"]
    assert len(served) == len(demo.SEARCH_QUERIES)
    for query, hits in zip(queries, served):
        similarity = rows @ query
        expected = np.argsort(-similarity)[:3]
        assert [index for index, _ in hits] == expected.tolist()
        np.testing.assert_allclose([score for _, score in hits], similarity[expected], atol=1e-4)


@pytest.mark.slow
def test_summary_reports_the_measured_figures(run):
    result, printed = run
    summary = printed[printed.index("\nsummary\n"):]
    first, top5, count = result["fill_mask_hits"]
    assert f"{first}/{count} / {top5}/{count}" in summary
    for key in ("dev_accuracy", "pretrained_dev_accuracy", "majority_baseline"):
        assert f"{result[key]:.3f}" in summary, key
    assert f"{result['showcase_right']}/4" in summary and "total time" in summary
    assert set(result["step_seconds"]) == {str(step) for step in range(1, 9)}
