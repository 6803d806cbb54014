"""keras_bert.training.task_runner: what every training program shares — the config checks, the step count, the
caller's dtype policy put back, the fine-tuned output folder, the checkpoint an eval-only run needs, and the settings
that define a run."""
import dataclasses
import json
import logging

import keras
import numpy as np
import pytest

from keras_bert.checkpoints.google import google_checkpoint_arrays, read_checkpoint_arrays
from keras_bert.models.classifier import BertClassifier
from keras_bert.models.pretrainer import BertPretrainer
from keras_bert.training import model_inputs, outputs, resumable_fit, task_runner
from support.configs import tiny_config
from support.google_checkpoints import write_random_release


def test_bert_config_checks_name_the_flag_and_file(tmp_path, uncased_vocab):
    config_file = tmp_path / "bert_config.json"
    tiny_config(max_position_embeddings=64).to_json_file(config_file)

    def resolve(bert_config_file, max_seq_length, vocab_file=str(uncased_vocab)):
        return model_inputs.resolve_model_inputs(None, bert_config_file, vocab_file, None, max_seq_length)

    assert resolve(str(config_file), 64) == model_inputs.ModelInputs(tiny_config(), str(uncased_vocab), True)
    with pytest.raises(ValueError, match="--bert_config_file is required"):
        resolve("", 64)
    with pytest.raises(ValueError, match="--vocab_file is required"):
        resolve(str(config_file), 64, vocab_file=None)
    with pytest.raises(FileNotFoundError, match="--bert_config_file not found: .*missing.json"):
        resolve(str(tmp_path / "missing.json"), 64)
    with pytest.raises(ValueError, match="--max_seq_length 65 exceeds max_position_embeddings 64 of .*bert_config"):
        resolve(str(config_file), 65)
    small_config = tmp_path / "small_config.json"
    tiny_config(vocab_size=100, max_position_embeddings=64).to_json_file(small_config)
    with pytest.raises(ValueError, match=r"vocabulary file .*uncased_vocab\.txt has 30522 tokens but vocab_size in "
                                         r".*small_config\.json is 100"):
        resolve(str(small_config), 64)


@pytest.mark.parametrize("examples, batch, epochs, expected", [(2000, 32, 3.0, 187), (96, 16, 1.0, 6),
                                                               (10, 32, 3.5, 1), (100, 8, 0.5, 6)])
def test_num_train_steps_is_the_reference_formula(examples, batch, epochs, expected):
    assert task_runner.num_train_steps(examples, batch, epochs) == expected


def test_no_training_step_is_an_error():
    with pytest.raises(ValueError, match="10 training examples at --train_batch_size 32 and --num_train_epochs 1.0 "
                                         "make no training step"):
        task_runner.num_train_steps(10, 32, 1.0)


def test_the_callers_dtype_policy_is_put_back_even_after_an_error():
    @task_runner.restores_dtype_policy
    def program(mixed_precision):
        task_runner.set_up_run(mixed_precision=mixed_precision)
        assert keras.mixed_precision.global_policy().name == "mixed_bfloat16"
        raise RuntimeError("failed half way")

    assert program.__name__ == "program"
    with pytest.raises(RuntimeError, match="failed half way"):
        program("bf16")
    assert keras.mixed_precision.global_policy().name == "float32"


def test_a_task_model_from_random_weights_is_warned_about(caplog):
    strategy = task_runner.set_up_run()
    with caplog.at_level(logging.INFO, logger="keras_bert.training.task_runner"):
        task_runner.build_model(BertPretrainer, tiny_config(vocab_size=60, num_hidden_layers=1), None, strategy)
        task_runner.build_model(BertClassifier, tiny_config(vocab_size=60, num_hidden_layers=1), None, strategy,
                                num_classes=3)
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("INFO", "no --init_checkpoint: BertPretrainer starts from random weights"),
        ("WARNING", "no --init_checkpoint: BertClassifier starts from random weights")]


def test_save_task_outputs_writes_the_output_folder(tmp_path):
    vocab = tmp_path / "my_vocab.txt"
    vocab.write_text("".join(f"token{i}\n" for i in range(60)), encoding="utf-8")
    model = BertClassifier(tiny_config(vocab_size=60, num_hidden_layers=1), 3)
    info = outputs.TaskInfo(outputs.CLASSIFIER, "generic", do_lower_case=True, max_seq_length=16,
                            labels=["a", "b", "c"])
    out = tmp_path / "out"
    paths = task_runner.save_task_outputs(model, str(out), str(vocab), info)
    assert paths == {"checkpoint": str(out / "bert_model.ckpt"), "model_file": str(out / "model.keras"),
                     "vocab_file": str(out / "vocab.txt"), "task_info_file": str(out / "task_info.json")}
    assert (out / "vocab.txt").read_bytes() == vocab.read_bytes()
    assert json.loads((out / "task_info.json").read_text(encoding="utf-8"))["labels"] == ["a", "b", "c"]
    assert json.loads((out / "bert_config.json").read_text(encoding="utf-8"))["vocab_size"] == 60
    assert read_checkpoint_arrays(str(out / "bert_model.ckpt"))["output_weights"].shape == (3, 32)
    reloaded = keras.saving.load_model(out / "model.keras")
    assert type(reloaded) is BertClassifier and getattr(reloaded, "optimizer", None) is None
    for saved, original in zip(reloaded.weights, model.weights):
        np.testing.assert_array_equal(saved.numpy(), original.numpy(), err_msg=original.path)


def test_an_eval_only_run_needs_a_model_fine_tuned_for_its_task(tmp_path, caplog):
    config = tiny_config(vocab_size=60, num_hidden_layers=1)
    strategy = task_runner.set_up_run()
    sst2 = outputs.TaskInfo(outputs.CLASSIFIER, "sst-2", do_lower_case=True, max_seq_length=16, labels=["0", "1"])

    def build(folder, task=sst2):
        return task_runner.build_model(BertClassifier, config, str(folder), strategy, task, num_classes=2)

    write_random_release(tmp_path / "pretrained", config, head="pretraining")
    with pytest.raises(ValueError, match=r"--init_checkpoint .*pretrained/bert_model\.ckpt has no task head "
                                         r"\(output_weights, output_bias\): evaluating or predicting without "
                                         r"--do_train needs a model fine-tuned for sst-2"):
        build(tmp_path / "pretrained")
    write_random_release(tmp_path / "three", config, head="classifier", num_labels=3)
    with pytest.raises(ValueError, match=r"three/bert_model\.ckpt has a task head of another size \(output_weights "
                                         r"\[3, 32\], sst-2 needs \[2, 32\]: 2 labels \['0', '1'\]\)"):
        build(tmp_path / "three")

    # An RTE model: a head of the right size, but its task_info.json tells other labels.
    arrays = write_random_release(tmp_path / "rte", config, head="classifier", num_labels=2)
    outputs.TaskInfo(outputs.CLASSIFIER, "rte", True, 128, ["entailment", "not_entailment"]).write(tmp_path / "rte")
    with pytest.raises(ValueError, match=r"rte/bert_model\.ckpt \(see task_info\.json beside it\) was fine-tuned for "
                                         r"rte with 2 labels \['entailment', 'not_entailment'\], but sst-2 has 2 "
                                         r"labels \['0', '1'\]"):
        build(tmp_path / "rte")
    outputs.TaskInfo(outputs.CLASSIFIER, "sst-2", True, 128, ["0", "1"]).write(tmp_path / "rte")
    with pytest.raises(ValueError, match=r"--do_lower_case=False but .*rte/bert_model\.ckpt .* was fine-tuned with "
                                         r"do_lower_case=True"):
        build(tmp_path / "rte", dataclasses.replace(sst2, do_lower_case=False))

    # A model fine-tuned for the task loads with its head (another max_seq_length is fine), without a warning.
    with caplog.at_level(logging.WARNING):
        model = build(tmp_path / "rte")
    assert not caplog.records
    np.testing.assert_array_equal(google_checkpoint_arrays(model)["output_weights"], arrays["output_weights"])


def test_run_settings_leave_out_what_does_not_change_the_run(tmp_path, uncased_vocab):
    train_file = tmp_path / "train.tsv"
    train_file.write_text("sentence\tlabel\ngood\t1\n", encoding="utf-8")
    config = tiny_config(hidden_act="relu")
    arguments = dict(task_name="sst-2", data_dir=str(tmp_path), vocab_file=str(uncased_vocab),
                     bert_config_file="bert_config.json", output_dir="out", learning_rate=1e-3, seed=None,
                     eval_batch_size=8, do_eval=True, save_checkpoints_steps=5, strategy="mirrored",
                     num_train_epochs=3.0, n_best_size=4)
    settings = task_runner.run_settings("run_x", arguments, config,
                                        {"data_dir": str(train_file), "vocab_file": str(uncased_vocab)},
                                        neutral_flags=["n_best_size"])
    assert settings == {
        "program": "run_x", "flags": {"task_name": "sst-2", "learning_rate": 1e-3, "seed": None},
        "bert_config": config.to_dict(),
        "data_files": {"data_dir": resumable_fit.file_fingerprint(str(train_file)),
                       "vocab_file": resumable_fit.file_fingerprint(str(uncased_vocab))}}
    assert settings["bert_config"]["hidden_act"] == "relu"
