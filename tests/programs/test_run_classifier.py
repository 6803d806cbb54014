"""run_classifier: learning on real SST-2, CoLA's MCC, the full program from a Google-format checkpoint, bad input.

Oracles: scikit-learn's metrics on the saved model's own predictions, the reference's variable names as listed
independently in tests/google_checkpoints.py, and chance level on real GLUE dev data.
"""
import json
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf
from sklearn import metrics as sk_metrics

from finetuning.run_classifier import run_classifier
from keras_bert.checkpoints.google import read_checkpoint_arrays
from keras_bert.data.classification.glue import get_task
from keras_bert.files import DataFileError
from keras_bert.tokenization.preprocessor import BertPreprocessor
from keras_bert.training import outputs
from support.configs import tiny_config
from support.google_checkpoints import reference_variable_shapes, write_random_release
from support.multi_worker import run_two_workers
from support.programs import run_program

TINY = tiny_config(hidden_size=64, intermediate_size=128)
CONTRACT_FILES = ("bert_config.json", "bert_model.ckpt.index", "model.keras", "vocab.txt", "task_info.json")


def _subset(source, target, rows, header=True):
    """The first `rows` data rows of a real GLUE file (plus its header)."""
    lines = source.read_text(encoding="utf-8").splitlines(keepends=True)
    target.write_text("".join(lines[:rows + int(header)]), encoding="utf-8")


@pytest.fixture(scope="module")
def tiny_config_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("config") / "bert_config.json"
    TINY.to_json_file(path)
    return str(path)


@pytest.fixture(scope="module")
def sst2_runs(shared_data, uncased_vocab, tiny_config_file, tmp_path_factory):
    """The same short SST-2 fine-tuning from random weights three times: batches cut to their longest sentence (the
    default), training batches of similar lengths (--bucket_by_length) and padded to --max_seq_length
    (--fixed_length_batches, the reference's)."""
    data = tmp_path_factory.mktemp("sst2")
    _subset(shared_data / "glue/SST-2/train.tsv", data / "train.tsv", 2000)
    _subset(shared_data / "glue/SST-2/dev.tsv", data / "dev.tsv", 872)
    dev_rows = (data / "dev.tsv").read_text(encoding="utf-8").splitlines()[1:]
    (data / "test.tsv").write_text("index\tsentence\n" + "".join(
        f"{i}\t{row.split(chr(9))[0]}\n" for i, row in enumerate(dev_rows)), encoding="utf-8")
    runs = {}
    for name, flags in (("variable", {}), ("bucketed", {"bucket_by_length": True}),
                        ("fixed", {"fixed_length_batches": True})):
        runs[name] = run_classifier(task_name="SST-2", data_dir=str(data), vocab_file=str(uncased_vocab),
                                    bert_config_file=tiny_config_file, do_train=True, do_eval=True,
                                    output_dir=str(tmp_path_factory.mktemp(name)), max_seq_length=48,
                                    learning_rate=1e-3, num_train_epochs=3.0, seed=1, **flags)
    return data, runs


def test_sst2_random_init_learns_clearly_above_chance_with_any_padding(sst2_runs):
    _, runs = sst2_runs
    accuracies = {name: run["eval"]["eval_accuracy"] for name, run in runs.items()}
    print(f"SST-2 dev accuracy after the same 187 steps: {accuracies}")
    for run in runs.values():
        # Dev is balanced (444 positive of 872): chance is 0.51. Measured 0.71 with this set-up.
        assert run["eval"]["eval_accuracy"] >= 0.62
        assert run["eval"]["global_step"] == int(2000 / 32 * 3)
        assert run["train"]["loss"] < 0.6
    # Padding changes no output, but dropout masks follow the batch shape (and bucketing regroups the training
    # examples): the runs differ by training noise.
    assert max(accuracies.values()) - min(accuracies.values()) <= 0.05, accuracies


def test_bf16_predictions_have_the_float32_argmax(sst2_runs, uncased_vocab, tiny_config_file, tmp_path):
    """--mixed_precision=bf16 evaluation and prediction of a fine-tuned classifier: the dev predictions of the
    float32 run, within a stated tolerance."""
    data, runs = sst2_runs
    probabilities = {}
    for precision in ("none", "bf16"):
        out = tmp_path / precision
        result = run_classifier(task_name="SST-2", data_dir=str(data), vocab_file=str(uncased_vocab),
                                bert_config_file=tiny_config_file, do_eval=True, do_predict=True,
                                init_checkpoint=os.path.join(runs["fixed"]["output_dir"], "bert_model.ckpt"),
                                output_dir=str(out), max_seq_length=48, eval_batch_size=32, predict_batch_size=32,
                                mixed_precision=precision)
        assert result["model"].dtype_policy.name == {"none": "float32", "bf16": "mixed_bfloat16"}[precision]
        probabilities[precision] = np.loadtxt(out / "test_results.tsv", delimiter="\t")
        if precision == "none":
            assert result["eval"]["eval_accuracy"] == pytest.approx(runs["fixed"]["eval"]["eval_accuracy"])
    # bfloat16 keeps 8 significant bits: probabilities within 0.02; the class is the same wherever float32 is not
    # within that of a tie.
    np.testing.assert_allclose(probabilities["bf16"], probabilities["none"], atol=0.02)
    decided = np.abs(probabilities["none"][:, 1] - 0.5) > 0.02
    assert decided.mean() > 0.9
    np.testing.assert_array_equal(probabilities["bf16"][decided].argmax(1), probabilities["none"][decided].argmax(1))
    assert np.abs(probabilities["bf16"] - probabilities["none"]).max() > 1e-6  # bf16 did run


def test_cola_reports_matthews_correlation_of_its_predictions(shared_data, uncased_vocab, tiny_config_file,
                                                              tmp_path):
    data = tmp_path / "cola"
    data.mkdir()
    _subset(shared_data / "glue/CoLA/train.tsv", data / "train.tsv", 600, header=False)
    _subset(shared_data / "glue/CoLA/dev.tsv", data / "dev.tsv", 516, header=False)
    out = tmp_path / "out"
    result = run_classifier(task_name="cola", data_dir=str(data), vocab_file=str(uncased_vocab),
                            bert_config_file=tiny_config_file, output_dir=str(out), do_train=True, do_eval=True,
                            max_seq_length=32, learning_rate=1e-3, num_train_epochs=1.0, seed=2)
    lines = (out / "eval_results.txt").read_text().splitlines()
    assert [line.split(" = ")[0] for line in lines] == ["eval_accuracy", "eval_loss", "eval_matthews_corrcoef",
                                                         "global_step", "loss"]
    # Recompute from the saved model's predictions on the dev rows, with scikit-learn.
    model = keras.saving.load_model(out / "model.keras")
    examples = get_task("cola").get_dev_examples(data)
    inputs = BertPreprocessor(uncased_vocab, True, 32)(tf.constant([ex.text_a for ex in examples]))
    predicted = model.predict(inputs, verbose=0)["logits"].argmax(-1)
    gold = [int(ex.label) for ex in examples]
    assert result["eval"]["eval_matthews_corrcoef"] == pytest.approx(sk_metrics.matthews_corrcoef(gold, predicted))
    assert result["eval"]["eval_accuracy"] == pytest.approx(sk_metrics.accuracy_score(gold, predicted))
    assert float(lines[2].split(" = ")[1]) == pytest.approx(sk_metrics.matthews_corrcoef(gold, predicted))


def _run_program(args, module=False):
    return run_program("finetuning/run_classifier", args, module=module)


@pytest.mark.slow
def test_full_program_from_google_checkpoint_writes_every_output(shared_data, uncased_vocab, tmp_path):
    release = tmp_path / "release"
    arrays = write_random_release(release, TINY, seed=3, head="pretraining")
    data = tmp_path / "sst2"
    data.mkdir()
    _subset(shared_data / "glue/SST-2/train.tsv", data / "train.tsv", 96)
    _subset(shared_data / "glue/SST-2/dev.tsv", data / "dev.tsv", 40)
    dev_rows = (shared_data / "glue/SST-2/dev.tsv").read_text(encoding="utf-8").splitlines()[1:8]
    (data / "test.tsv").write_text("index\tsentence\n" + "".join(
        f"{i}\t{row.split(chr(9))[1]}\n" for i, row in enumerate(dev_rows)), encoding="utf-8")
    out = tmp_path / "out"
    run = _run_program([
        "--task_name=sst-2", f"--data_dir={data}", f"--vocab_file={uncased_vocab}",
        f"--bert_config_file={release / 'bert_config.json'}", f"--init_checkpoint={release / 'bert_model.ckpt'}",
        "--do_train", "--do_eval", "--do_predict", "--max_seq_length=32", "--train_batch_size=16",
        "--num_train_epochs=1", "--learning_rate=1e-4", f"--output_dir={out}", "--seed=0",
        "--save_checkpoints_steps=4"])
    assert run.returncode == 0, run.stderr[-3000:]
    for name in CONTRACT_FILES + ("eval_results.txt", "test_results.tsv"):
        assert (out / name).is_file(), name
    info = json.loads((out / "task_info.json").read_text())
    assert info == {"task": "classifier", "task_name": "sst-2", "labels": ["0", "1"], "is_regression": False,
                    "do_lower_case": True, "max_seq_length": 32, "pair_input": False, "squad": None,
                    "tokenizer_options": {}}
    assert (out / "vocab.txt").read_bytes() == uncased_vocab.read_bytes()
    results = (out / "eval_results.txt").read_text()
    assert "eval_accuracy = " in results and "global_step = 6\n" in results  # int(96 / 16 * 1)
    assert tf.train.latest_checkpoint(out / "checkpoints").endswith("ckpt-6")  # resumable state, every 4 steps
    assert (out / "checkpoints" / "ckpt-4.index").is_file()

    # The checkpoint holds exactly the reference classifier's variables, trained away from the start.
    saved = read_checkpoint_arrays(str(out / "bert_model.ckpt"))
    expected = reference_variable_shapes(TINY, head="classifier", num_labels=2)
    assert {name: tuple(a.shape) for name, a in saved.items()} == expected
    changed = [n for n in arrays if n in saved and not np.array_equal(arrays[n], saved[n])]
    assert "bert/encoder/layer_1/output/dense/kernel" in changed

    # model.keras loads in a fresh process that imports only keras_bert (no compile state inside).
    code = ("import sys, keras, keras_bert; m = keras.saving.load_model(sys.argv[1]); "
            "print(type(m).__name__, getattr(m, 'optimizer', None) is None)")
    load = subprocess.run([sys.executable, "-c", code, str(out / "model.keras")], capture_output=True, text=True,
                          timeout=120)
    assert load.stdout.split() == ["BertClassifier", "True"], load.stderr[-2000:]

    # test_results.tsv: one row of 2 probabilities per test example, as model.keras predicts them.
    rows = np.loadtxt(out / "test_results.tsv", delimiter="\t", ndmin=2)
    assert rows.shape == (7, 2)
    np.testing.assert_allclose(rows.sum(axis=1), 1.0, atol=1e-6)
    model = keras.saving.load_model(out / "model.keras")
    texts = [row.split("\t")[1] for row in dev_rows]
    logits = model.predict(BertPreprocessor(uncased_vocab, True, 32)(tf.constant(texts)), verbose=0)["logits"]
    np.testing.assert_allclose(rows, tf.nn.softmax(logits).numpy(), atol=1e-5)


def test_generic_jsonl_regression_as_module(uncased_vocab, tiny_config_file, tmp_path):
    rng = np.random.default_rng(0)
    words = ["good", "bad", "fine", "awful", "great", "poor"]
    for split, count in (("train", 64), ("dev", 24)):
        with open(tmp_path / f"{split}.jsonl", "w", encoding="utf-8") as f:
            for _ in range(count):
                a, b = rng.choice(words, 2)
                f.write(json.dumps({"first": f"it was {a}", "second": f"really {b}", "score": float(rng.uniform(0, 5))})
                        + "\n")
    out = tmp_path / "out"
    run = _run_program(["--task_name=generic", f"--data_dir={tmp_path}", "--text_a_column=first",
                        "--text_b_column=second", "--label_column=score", "--is_regression",
                        f"--vocab_file={uncased_vocab}", f"--bert_config_file={tiny_config_file}", "--do_train",
                        "--do_eval", "--max_seq_length=16", "--train_batch_size=16", f"--output_dir={out}"],
                       module=True)
    assert run.returncode == 0, run.stderr[-3000:]
    results = dict(line.split(" = ") for line in (out / "eval_results.txt").read_text().splitlines())
    assert set(results) == {"eval_pearson", "eval_spearman", "eval_loss", "global_step", "loss"}
    assert results["loss"] == results["eval_loss"]
    info = json.loads((out / "task_info.json").read_text())
    assert info["labels"] == [] and info["is_regression"] is True and info["task_name"] == "generic"
    assert info["pair_input"] is True


def test_bad_input_names_file_and_row(uncased_vocab, tiny_config_file, tmp_path):
    (tmp_path / "train.tsv").write_text("sentence\tlabel\nfine film\t1\nawful film\t2\n", encoding="utf-8")
    run = _run_program(["--task_name=sst-2", f"--data_dir={tmp_path}", f"--vocab_file={uncased_vocab}",
                        f"--bert_config_file={tiny_config_file}", "--do_train", "--max_seq_length=32",
                        f"--output_dir={tmp_path / 'o'}"])
    assert run.returncode != 0
    assert f"{tmp_path / 'train.tsv'}, line 3: label '2' is not one of ['0', '1']" in run.stderr

    kwargs = dict(vocab_file=str(uncased_vocab), bert_config_file=tiny_config_file, output_dir=str(tmp_path / "o"),
                  do_train=True, max_seq_length=32)
    user = tmp_path / "user"
    user.mkdir()
    (user / "train.csv").write_text("text,target\nfine,1\n", encoding="utf-8")
    with pytest.raises(DataFileError, match=r"train\.csv, line 1: header \['text', 'target'\] lacks column"):
        run_classifier(task_name="generic", data_dir=str(user), text_a_column="text", label_column="label",
                       **kwargs)
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "train.tsv").write_text("", encoding="utf-8")
    with pytest.raises(DataFileError, match=r"empty[/\\]train\.tsv: file is empty"):
        run_classifier(task_name="sst-2", data_dir=str(empty), **kwargs)
    with pytest.raises(ValueError, match="max_seq_length 128 exceeds max_position_embeddings 64"):
        run_classifier(task_name="sst-2", data_dir=str(tmp_path), **kwargs | {"max_seq_length": 128})
    with pytest.raises(ValueError, match="At least one of"):
        run_classifier(task_name="sst-2", data_dir=str(tmp_path), **kwargs | {"do_train": False})
    cased_release = tmp_path / "cased_L-12_H-768_A-12" / "bert_model.ckpt"
    with pytest.raises(ValueError, match=r"--do_lower_case=True but --init_checkpoint .* is the cased release"):
        run_classifier(task_name="sst-2", data_dir=str(tmp_path), init_checkpoint=str(cased_release), **kwargs)


def test_mixed_precision_trains_and_restores_the_callers_policy(shared_data, uncased_vocab, tiny_config_file,
                                                                tmp_path):
    data = tmp_path / "sst2"
    data.mkdir()
    _subset(shared_data / "glue/SST-2/train.tsv", data / "train.tsv", 48)
    _subset(shared_data / "glue/SST-2/dev.tsv", data / "dev.tsv", 16)
    out = tmp_path / "out"
    result = run_classifier(task_name="sst-2", data_dir=str(data), vocab_file=str(uncased_vocab),
                            bert_config_file=tiny_config_file, output_dir=str(out), do_train=True, do_eval=True,
                            max_seq_length=16, train_batch_size=16, num_train_epochs=1.0, mixed_precision="bf16")
    assert keras.mixed_precision.global_policy().name == "float32"
    assert np.isfinite(result["eval"]["eval_loss"]) and result["eval"]["global_step"] == 3
    # Google-format checkpoints hold float32 whatever the compute precision.
    assert {a.dtype for a in read_checkpoint_arrays(str(out / "bert_model.ckpt")).values()} == {np.dtype("float32")}


def test_rerun_resumes_from_the_training_checkpoint(shared_data, uncased_vocab, tiny_config_file, tmp_path, caplog):
    """As the reference's Estimator resumes from its model_dir: a second run continues the first's steps."""
    data = tmp_path / "sst2"
    data.mkdir()
    _subset(shared_data / "glue/SST-2/train.tsv", data / "train.tsv", 48)
    kwargs = dict(task_name="sst-2", data_dir=str(data), vocab_file=str(uncased_vocab),
                  bert_config_file=tiny_config_file, output_dir=str(tmp_path / "out"), do_train=True,
                  max_seq_length=16, train_batch_size=16, save_checkpoints_steps=2)
    run_classifier(num_train_epochs=1.0, **kwargs)  # 3 steps: checkpoints 2 and 3
    first = read_checkpoint_arrays(str(tmp_path / "out" / "bert_model.ckpt"))
    with caplog.at_level("INFO", logger="keras_bert.training.task_runner"):
        run_classifier(num_train_epochs=2.0, **kwargs)  # 6 steps in all: 3 more
    assert "resuming from step 3 of" in caplog.text
    assert tf.train.latest_checkpoint(tmp_path / "out" / "checkpoints").endswith("ckpt-6")
    second = read_checkpoint_arrays(str(tmp_path / "out" / "bert_model.ckpt"))
    assert not np.array_equal(first["output_weights"], second["output_weights"])


def test_rerun_that_changes_the_run_is_refused_naming_each_change(shared_data, uncased_vocab, tiny_config_file,
                                                                  tmp_path, caplog):
    """A rerun into an --output_dir with a training checkpoint resumes it only when it is the same run: another
    learning rate, config, starting checkpoint or training data is an error before any work, and nothing trains."""
    data = tmp_path / "sst2"
    data.mkdir()
    _subset(shared_data / "glue/SST-2/train.tsv", data / "train.tsv", 48)
    _subset(shared_data / "glue/SST-2/dev.tsv", data / "dev.tsv", 8)
    out = tmp_path / "out"
    kwargs = dict(task_name="sst-2", data_dir=str(data), vocab_file=str(uncased_vocab),
                  bert_config_file=tiny_config_file, output_dir=str(out), do_train=True, max_seq_length=16,
                  train_batch_size=16, num_train_epochs=1.0, save_checkpoints_steps=2)
    run_classifier(**kwargs)  # 3 steps: checkpoints 2 and 3
    relu_config = tmp_path / "relu" / "bert_config.json"
    relu_config.parent.mkdir()
    TINY.replace(hidden_act="relu").to_json_file(relu_config)
    _subset(shared_data / "glue/SST-2/train.tsv", data / "train.tsv", 64)
    other_checkpoint = str(tmp_path / "fine_tuned" / "bert_model.ckpt")
    with pytest.raises(ValueError) as refused:
        run_classifier(**kwargs | {"learning_rate": 1e-3, "bert_config_file": str(relu_config),
                                   "init_checkpoint": other_checkpoint})
    message = str(refused.value)
    assert message.startswith(f"--output_dir {out} holds training checkpoint {out / 'checkpoints' / 'ckpt-3'} of "
                              "another run, which this one would resume; it differs in:\n")
    for change in ("--init_checkpoint: None → " + repr(other_checkpoint), "--learning_rate: 5e-05 → 0.001",
                   "bert_config hidden_act: 'gelu' → 'relu'", f"--data_dir data: {data / 'train.tsv'} ("):
        assert f"\n  {change}" in message, change
    assert f"another --output_dir or by deleting {out / 'checkpoints'}" in message
    assert tf.train.latest_checkpoint(out / "checkpoints").endswith("ckpt-3")  # nothing trained

    # Flags that do not change the run leave it resumable: the finished run is evaluated as it is.
    _subset(shared_data / "glue/SST-2/train.tsv", data / "train.tsv", 48)
    with caplog.at_level("INFO", logger="keras_bert.training.task_runner"):
        result = run_classifier(**kwargs | {"do_eval": True, "eval_batch_size": 4, "save_checkpoints_steps": 3,
                                            "jit_compile": False, "steps_per_execution": 1})
    assert "resuming from step 3 of" in caplog.text
    assert result["eval"]["global_step"] == 3


def test_eval_only_needs_the_fine_tuned_model_of_its_task(shared_data, uncased_vocab, tmp_path):
    """Without --do_train the checkpoint's head is the model: a pretrained checkpoint (no head) or one fine-tuned
    for another label set would evaluate a random or foreign head."""
    data = tmp_path / "sst2"
    data.mkdir()
    _subset(shared_data / "glue/SST-2/dev.tsv", data / "dev.tsv", 8)
    pretrained = tmp_path / "pretrained"
    write_random_release(pretrained, TINY, seed=4, head="pretraining")
    kwargs = dict(task_name="sst-2", data_dir=str(data), vocab_file=str(uncased_vocab),
                  bert_config_file=str(pretrained / "bert_config.json"), output_dir=str(tmp_path / "out"),
                  do_eval=True, max_seq_length=16)
    with pytest.raises(ValueError, match=r"--init_checkpoint .*pretrained/bert_model\.ckpt has no task head "
                                         r"\(output_weights, output_bias\)"):
        run_classifier(init_checkpoint=str(pretrained), **kwargs)
    rte = tmp_path / "rte"  # a fine-tuning --output_dir of RTE: two labels too, but others
    write_random_release(rte, TINY, seed=5, head="classifier", num_labels=2)
    outputs.TaskInfo(outputs.CLASSIFIER, "rte", True, 16, ["entailment", "not_entailment"]).write(rte)
    with pytest.raises(ValueError, match=r"was fine-tuned for rte with 2 labels \['entailment', 'not_entailment'\], "
                                         r"but sst-2 has 2 labels \['0', '1'\]"):
        run_classifier(init_checkpoint=str(rte / "bert_model.ckpt"), **kwargs)
    assert not (tmp_path / "out" / "eval_results.txt").exists()


def test_non_finite_labels_and_losses_stop_the_run(shared_data, uncased_vocab, tiny_config_file, tmp_path):
    sts = tmp_path / "sts-b"
    sts.mkdir()
    (sts / "train.tsv").write_text("index\tsentence1\tsentence2\tscore\n0\ta cat\ta dog\t3.5\n"
                                   "1\ta man\ta car\tnan\n", encoding="utf-8")
    kwargs = dict(vocab_file=str(uncased_vocab), bert_config_file=tiny_config_file, do_train=True,
                  max_seq_length=16, train_batch_size=16, save_checkpoints_steps=2)
    with pytest.raises(DataFileError, match=r"train\.tsv, line 3: regression label 'nan' is not a finite number"):
        run_classifier(task_name="sts-b", data_dir=str(sts), output_dir=str(tmp_path / "sts_out"), **kwargs)

    # A learning rate that blows the weights up after one step: training stops at the first non-finite loss with an
    # error naming the step, keeping the last good checkpoint; no model is written.
    data = tmp_path / "sst2"
    data.mkdir()
    _subset(shared_data / "glue/SST-2/train.tsv", data / "train.tsv", 96)
    out = tmp_path / "out"
    with pytest.raises(ValueError, match=r"training stopped at step 2: the loss is not finite \(loss = nan\); this "
                                         r"step is not saved, the last good training checkpoint is .*ckpt-1\."):
        run_classifier(task_name="sst-2", data_dir=str(data), output_dir=str(out), learning_rate=1e30, seed=0,
                       num_train_epochs=1.0, **kwargs | {"save_checkpoints_steps": 1})
    assert tf.train.latest_checkpoint(out / "checkpoints").endswith("ckpt-1")
    assert not (out / "model.keras").exists() and not (out / "bert_model.ckpt.index").exists()


def test_arguments_and_flags_are_checked_before_any_work(uncased_vocab, tiny_config_file, tmp_path):
    kwargs = dict(task_name="sst-2", data_dir=str(tmp_path / "no_data"), vocab_file=str(uncased_vocab),
                  bert_config_file=tiny_config_file, output_dir=str(tmp_path / "out"), do_train=True)
    with pytest.raises(TypeError, match=r"run_classifier: do_train must be a bool, got the str 'False'"):
        run_classifier(**kwargs | {"do_train": "False"})
    with pytest.raises(TypeError, match=r"run_classifier: max_seq_length must be an int, got the str '32'"):
        run_classifier(**kwargs | {"max_seq_length": "32"})
    for name, value, requirement in [("train_batch_size", 0, ">= 1"), ("eval_batch_size", 0, ">= 1"),
                                     ("predict_batch_size", -1, ">= 1"), ("max_seq_length", 2, ">= 3"),
                                     ("num_train_epochs", 0.0, "a positive finite number"),
                                     ("num_train_epochs", -1, "a positive finite number"),
                                     ("warmup_proportion", 1.5, r"within \[0, 1\]"),
                                     ("warmup_proportion", -0.1, r"within \[0, 1\]")]:
        with pytest.raises(ValueError, match=rf"--{name} must be {requirement}.*, got {value}"):
            run_classifier(**kwargs | {name: value})
    a_file = tmp_path / "a_file"
    a_file.write_text("", encoding="utf-8")
    with pytest.raises(ValueError, match=r"--output_dir must be a folder \(created if missing\), not a file, got "
                                         r"'.*a_file'"):
        run_classifier(**kwargs | {"output_dir": str(a_file)})
    assert not (tmp_path / "out").exists()
    run = _run_program(["--task_name=sst-2", f"--data_dir={tmp_path}", f"--vocab_file={uncased_vocab}",
                        f"--bert_config_file={tiny_config_file}", "--do_train", "--do_eval", "--eval_batch_size=0",
                        f"--output_dir={tmp_path / 'out'}"])
    assert run.returncode != 0 and "ValueError: --eval_batch_size must be >= 1, got 0" in run.stderr


TWO_WORKERS = textwrap.dedent("""
    import json, sys
    import numpy as np
    from finetuning.run_classifier import run_classifier
    result = run_classifier(**json.loads(sys.argv[1]))
    np.savez(sys.argv[2], *[w.numpy() for w in result["model"].weights])
    print("RESULT", json.dumps({"replicas": result["model"].distribute_strategy.num_replicas_in_sync,
                                "keys": sorted(result), "eval": result["eval"]}))
""")


@pytest.mark.slow
def test_two_workers_fine_tune_to_identical_weights_and_only_the_chief_writes(shared_data, uncased_vocab,
                                                                              tiny_config_file, tmp_path):
    data = tmp_path / "sst2"
    data.mkdir()
    _subset(shared_data / "glue/SST-2/train.tsv", data / "train.tsv", 64)
    _subset(shared_data / "glue/SST-2/dev.tsv", data / "dev.tsv", 24)
    out = tmp_path / "out"

    def arguments(index):
        return [json.dumps(dict(task_name="sst-2", data_dir=str(data), vocab_file=str(uncased_vocab),
                                bert_config_file=tiny_config_file, output_dir=str(out), do_train=True, do_eval=True,
                                max_seq_length=16, train_batch_size=16, num_train_epochs=1.0,
                                save_checkpoints_steps=2, learning_rate=1e-3, seed=3, strategy="multi_worker")),
                str(tmp_path / f"weights_{index}.npz")]

    codes, outputs = run_two_workers(TWO_WORKERS, arguments, timeout=300)
    results = []
    for code, (stdout, stderr) in zip(codes, outputs):
        assert code == 0, stderr[-4000:]
        results.append(json.loads(stdout.split("RESULT ", 1)[1]))
    assert [r["replicas"] for r in results] == [2, 2]
    chief, other = results

    # One model trained by both workers: identical weights, moved by int(64 / 16 * 1) = 4 steps.
    first, second = np.load(tmp_path / "weights_0.npz"), np.load(tmp_path / "weights_1.npz")
    assert len(first.files) == len(second.files) > 10
    for name in first.files:
        np.testing.assert_array_equal(first[name], second[name], err_msg=name)
    assert chief["eval"] == other["eval"] and chief["eval"]["global_step"] == 4

    # Only the chief wrote: the contract files, eval_results.txt, its checkpoints and TensorBoard logs.
    assert {"model_file", "eval_results_file"} <= set(chief["keys"])
    assert not {"checkpoint", "model_file", "vocab_file", "task_info_file", "eval_results_file"} & set(other["keys"])
    assert sorted(p.name for p in out.iterdir()) == sorted(CONTRACT_FILES + (
        "bert_model.ckpt.data-00000-of-00001", "checkpoints", "eval_results.txt", "logs"))
    saved = tf.train.get_checkpoint_state(str(out / "checkpoints")).all_model_checkpoint_paths
    assert [int(p.rsplit("-", 1)[1]) for p in saved] == [2, 4]
    assert not [p for p in (out / "checkpoints").iterdir() if p.name.startswith(".scratch")]
    assert len(list((out / "logs" / "train").iterdir())) == 1

    # The chief's model.keras is the trained model, and the reported accuracy is its accuracy on dev.
    model = keras.saving.load_model(out / "model.keras")
    for index, weight in enumerate(model.weights):
        np.testing.assert_array_equal(weight.numpy(), first[f"arr_{index}"], err_msg=weight.path)
    examples = get_task("sst-2").get_dev_examples(data)
    predicted = model.predict(BertPreprocessor(uncased_vocab, True, 16)(tf.constant([ex.text_a for ex in examples])),
                              verbose=0)["logits"].argmax(-1)
    gold = [int(ex.label) for ex in examples]
    assert chief["eval"]["eval_accuracy"] == pytest.approx(sk_metrics.accuracy_score(gold, predicted))
