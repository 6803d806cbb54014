"""The programs on Hugging Face folders: `--init_checkpoint=<folder>` with no other model flag (config, vocabulary and
casing from the folder), `--save_huggingface`, evaluate-only runs from a fine-tuned folder, and the serving export of
a BertForSequenceClassification folder without training.

Oracles: folders written under transformers' names by tests/support/huggingface_folders.py, the numpy forward pass
of tests/support/numpy_bert.py on those tensors, and Hugging Face's `tokenizers` for the token ids.
"""
import json

import numpy as np
import pytest
import tensorflow as tf
from safetensors.numpy import load_file
from tokenizers import BertWordPieceTokenizer

from finetuning.extract_features import extract_features
from finetuning.run_classifier import run_classifier
from finetuning.run_tagger import run_tagger
from keras_bert.export.huggingface import huggingface_task
from keras_bert.export.serving_layout import LABELS_FILE
from keras_bert.training.model_inputs import resolve_model_inputs
from support.huggingface_folders import huggingface_config, huggingface_tensors, write_huggingface_folder
from support.numpy_bert import bert_forward
from support.programs import run_program
from support.reference_formulas import softmax

SMALL = {"vocab_size": 400}  # special tokens, ASCII characters and their ## pieces, common words
# Weights large enough that GELU's erf form (transformers' "gelu") and tanh form differ in the outputs: by 5e-5 in
# the exported probabilities, 25 times the tolerance.
SPREAD = 0.2


def _sst2(shared_data, folder, rows=64, dev_rows=32):
    folder.mkdir()
    for name, count in (("train.tsv", rows), ("dev.tsv", dev_rows)):
        lines = (shared_data / "glue/SST-2" / name).read_text(encoding="utf-8").splitlines(keepends=True)
        (folder / name).write_text("".join(lines[:count + 1]), encoding="utf-8")
    return folder


def _ids(folder, texts, lower_case=True):
    tokenizer = BertWordPieceTokenizer(str(folder / "vocab.txt"), lowercase=lower_case)
    encodings = tokenizer.encode_batch(texts)
    length = max(len(e.ids) for e in encodings)
    ids = np.array([e.ids + [0] * (length - len(e.ids)) for e in encodings])
    return ids, (ids > 0).astype(np.int64)


def test_classifier_fine_tunes_from_a_huggingface_folder_and_saves_one_back(shared_data, tmp_path):
    hf = write_huggingface_folder(tmp_path / "hf", SMALL, "BertModel", do_lower_case=False)
    data = _sst2(shared_data, tmp_path / "sst2")
    out = tmp_path / "out"
    # No --bert_config_file, --vocab_file or --do_lower_case: all from the folder. A tiny learning rate keeps the
    # encoder at the folder's weights, so the saved folder shows where training started.
    result = run_classifier(task_name="sst-2", data_dir=str(data), output_dir=str(out), init_checkpoint=str(hf),
                            do_train=True, do_eval=True, max_seq_length=32, train_batch_size=16,
                            num_train_epochs=1.0, learning_rate=1e-7, save_huggingface=True, seed=0)
    task_info = json.loads((out / "task_info.json").read_text())
    assert task_info["do_lower_case"] is False
    # The folder's tokenizer settings, kept for the export of this output folder: Hugging Face's word limit.
    assert task_info["tokenizer_options"] == {"strip_accents": None, "tokenize_chinese_chars": True,
                                              "max_chars_per_word": 100}
    assert (out / "vocab.txt").read_text() == (hf / "vocab.txt").read_text()

    saved = out / "huggingface"
    assert result["huggingface_dir"] == str(saved)
    config = json.loads((saved / "config.json").read_text())
    assert config["architectures"] == ["BertForSequenceClassification"]
    assert config["id2label"] == {"0": "0", "1": "1"} and config["hidden_act"] == "gelu"
    assert json.loads((saved / "tokenizer_config.json").read_text())["do_lower_case"] is False
    expected = huggingface_tensors(huggingface_config(SMALL, "BertForSequenceClassification", ["0", "1"]),
                                   "BertForSequenceClassification", 2)
    tensors = load_file(saved / "model.safetensors")
    assert {n: t.shape for n, t in tensors.items()} == {n: t.shape for n, t in expected.items()}
    original = load_file(hf / "model.safetensors")
    for name, value in original.items():
        np.testing.assert_allclose(tensors["bert." + name], value, atol=1e-5, err_msg=name)

    # The saved folder evaluates without training, to the same numbers.
    again = run_classifier(task_name="sst-2", data_dir=str(data), output_dir=str(tmp_path / "eval"),
                           init_checkpoint=str(saved), do_eval=True, max_seq_length=32)
    assert again["eval"]["eval_loss"] == pytest.approx(result["eval"]["eval_loss"], abs=1e-6)
    assert again["eval"]["eval_accuracy"] == result["eval"]["eval_accuracy"]
    # So does the run's Google checkpoint, with the folder's tokenizer options, which its task_info.json records.
    google = run_classifier(task_name="sst-2", data_dir=str(data), output_dir=str(tmp_path / "eval_google"),
                            init_checkpoint=str(out / "bert_model.ckpt"),
                            bert_config_file=str(out / "bert_config.json"), vocab_file=str(out / "vocab.txt"),
                            do_lower_case=False, do_eval=True, max_seq_length=32)
    assert google["eval"]["eval_loss"] == pytest.approx(result["eval"]["eval_loss"], abs=1e-6)
    inputs = resolve_model_inputs(str(out / "bert_model.ckpt"), str(out / "bert_config.json"), str(out / "vocab.txt"),
                                  False)
    assert inputs.tokenizer_options() == task_info["tokenizer_options"]
    assert resolve_model_inputs(None, str(out / "bert_config.json"), str(out / "vocab.txt"),
                                False).tokenizer_options() == {}
    # The folder it started from has no classifier head to evaluate.
    with pytest.raises(ValueError, match=r"has no BertClassifier head \(classifier\.bias, classifier\.weight"):
        run_classifier(task_name="sst-2", data_dir=str(data), output_dir=str(tmp_path / "eval2"),
                       init_checkpoint=str(hf), do_eval=True, max_seq_length=32)


def test_evaluate_only_needs_the_tasks_labels_and_casing(shared_data, tmp_path):
    data = _sst2(shared_data, tmp_path / "sst2", rows=0, dev_rows=8)
    named = write_huggingface_folder(tmp_path / "named", SMALL, "BertForSequenceClassification",
                                     labels=["negative", "positive"])
    flags = dict(task_name="sst-2", data_dir=str(data), output_dir=str(tmp_path / "out"), do_eval=True,
                 max_seq_length=32)
    with pytest.raises(ValueError, match=r"fine-tuned with labels \['negative', 'positive'\] \(id2label in its "
                                         r"config.json\), but sst-2 has labels \['0', '1'\]"):
        run_classifier(init_checkpoint=str(named), **flags)
    # transformers' default names stand for the task's labels in order.
    generic = write_huggingface_folder(tmp_path / "generic", SMALL, "BertForSequenceClassification")
    assert run_classifier(init_checkpoint=str(generic), **flags)["eval"]["global_step"] == 0
    with pytest.raises(ValueError, match=r"--do_lower_case=False but --init_checkpoint .*generic says "
                                         r"do_lower_case=True \(its tokenizer_config.json\)"):
        run_classifier(init_checkpoint=str(generic), do_lower_case=False, **flags)


def test_command_line_casing_defaults_to_the_folder_and_a_contradiction_is_an_error(tmp_path):
    hf = write_huggingface_folder(tmp_path / "hf", SMALL, "BertModel", do_lower_case=True)
    run = run_program("finetuning/run_classifier", [
        "--task_name=sst-2", f"--data_dir={tmp_path}", f"--output_dir={tmp_path / 'out'}", f"--init_checkpoint={hf}",
        "--do_train", "--nodo_lower_case"])
    assert run.returncode != 0
    assert "--do_lower_case=False but --init_checkpoint" in run.stderr and "do_lower_case=True" in run.stderr


def test_tagger_saves_a_token_classification_folder_that_evaluates_again(tmp_path):
    hf = write_huggingface_folder(tmp_path / "hf", SMALL, "BertModel")
    conll = tmp_path / "train.txt"
    conll.write_text("\n\n".join(["Ada B-PER\nvisited O\nParis B-LOC\n. O", "New B-LOC\nYork I-LOC\nsleeps O"] * 8)
                     + "\n", encoding="utf-8")
    out = tmp_path / "out"
    result = run_tagger(output_dir=str(out), init_checkpoint=str(hf), train_file=str(conll), eval_file=str(conll),
                        do_train=True, do_eval=True, max_seq_length=16, train_batch_size=8, num_train_epochs=1.0,
                        save_huggingface=True)
    config = json.loads((out / "huggingface" / "config.json").read_text())
    assert config["architectures"] == ["BertForTokenClassification"]
    assert list(config["id2label"].values()) == result["labels"] == ["O", "B-LOC", "B-PER", "I-LOC"]
    # Without --label_list, the labels are the folder's id2label.
    again = run_tagger(output_dir=str(tmp_path / "eval"), init_checkpoint=str(out / "huggingface"),
                       eval_file=str(conll), do_eval=True, max_seq_length=16)
    assert again["labels"] == result["labels"]
    assert again["eval"]["eval_accuracy"] == result["eval"]["eval_accuracy"]


def test_extract_features_of_a_huggingface_folder_are_the_numpy_oracles(tmp_path):
    hf = write_huggingface_folder(tmp_path / "hf", SMALL, "BertModel", scale=SPREAD)
    texts = ["the first line of text", "a second, longer line of text here"]
    (tmp_path / "in.txt").write_text("\n".join(texts) + "\n", encoding="utf-8")
    extract_features(str(tmp_path / "in.txt"), str(tmp_path / "out.jsonl"), init_checkpoint=str(hf), layers="-1,0",
                     max_seq_length=32)
    ids, mask = _ids(hf, texts)
    expected = bert_forward(load_file(hf / "model.safetensors"), json.loads((hf / "config.json").read_text()), ids,
                            mask)["encoder_outputs"]
    for row, line in enumerate((tmp_path / "out.jsonl").read_text().splitlines()):
        features = json.loads(line)["features"]
        assert len(features) == mask[row].sum()
        for position, (layer, expected_layer) in enumerate([(-1, expected[-1]), (0, expected[0])]):
            got = np.array([f["layers"][position]["values"] for f in features])
            assert [f["layers"][position]["index"] for f in features] == [layer] * len(features)
            np.testing.assert_allclose(got, expected_layer[row, :len(features)], atol=1e-5)


def test_export_serves_a_sequence_classification_folder_with_its_labels(tmp_path):
    labels = ["negative", "neutral", "positive"]
    hf = write_huggingface_folder(tmp_path / "sentiment", SMALL, "BertForSequenceClassification", labels=labels,
                                  scale=SPREAD)
    run = run_program("saved_models/export", [f"--init_checkpoint={hf}", f"--export_base={tmp_path / 'serving'}",
                                              "--noexport_encoder", "--noexport_preprocessing"], module=True)
    assert run.returncode == 0, run.stderr[-3000:]
    served = tmp_path / "serving" / "bert_classifier" / "1"
    assert json.loads((served / LABELS_FILE).read_text()) == labels

    texts = ["a gripping , funny film .", "the plot is dull", "what a film"]
    outputs = tf.saved_model.load(str(served)).signatures["serving_default"](text=tf.constant(texts))
    ids, mask = _ids(hf, texts)
    weights = load_file(hf / "model.safetensors")
    pooled = bert_forward(weights, json.loads((hf / "config.json").read_text()), ids, mask)["pooled_output"]
    expected = softmax(pooled @ weights["classifier.weight"].T.astype(np.float64) + weights["classifier.bias"])
    np.testing.assert_allclose(outputs["probabilities"].numpy(), expected, atol=2e-6)
    assert [x.decode() for x in outputs["label"].numpy()] == [labels[i] for i in expected.argmax(-1)]


def test_export_task_follows_the_architectures(tmp_path):
    for architecture, task in (("BertForSequenceClassification", "classifier"), ("BertForTokenClassification",
                                                                                   "tagger"),
                               ("BertForQuestionAnswering", "squad"), ("BertForMaskedLM", "encoder"),
                               ("BertModel", "encoder")):
        folder = tmp_path / architecture
        folder.mkdir()
        (folder / "config.json").write_text(json.dumps(huggingface_config(SMALL, architecture)))
        assert huggingface_task(folder) == task
    (folder / "config.json").write_text(json.dumps({**huggingface_config(SMALL, "BertModel"),
                                                     "architectures": ["BertForMultipleChoice"]}))
    with pytest.raises(ValueError, match=r"architectures \['BertForMultipleChoice'\] has no keras_bert task model.*"
                                         r"--task=encoder"):
        huggingface_task(folder)
