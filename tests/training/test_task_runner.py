"""keras_bert.training.task_runner: what every training program shares — the config checks, the step count, the
caller's dtype policy put back, and the fine-tuned output folder."""
import json
import logging

import keras
import numpy as np
import pytest

from keras_bert.checkpoints.google import read_checkpoint_arrays
from keras_bert.models.classifier import BertClassifier
from keras_bert.models.pretrainer import BertPretrainer
from keras_bert.training import outputs, task_runner
from support.configs import tiny_config


def test_bert_config_checks_name_the_flag_and_file(tmp_path, uncased_vocab):
    config_file = tmp_path / "bert_config.json"
    tiny_config(max_position_embeddings=64).to_json_file(config_file)
    assert task_runner.load_bert_config(str(config_file), 64, str(uncased_vocab)) == tiny_config()
    with pytest.raises(ValueError, match="--bert_config_file is required"):
        task_runner.load_bert_config("", 64)
    with pytest.raises(FileNotFoundError, match="--bert_config_file not found: .*missing.json"):
        task_runner.load_bert_config(str(tmp_path / "missing.json"), 64)
    with pytest.raises(ValueError, match="--max_seq_length 65 exceeds max_position_embeddings 64 of .*bert_config"):
        task_runner.load_bert_config(str(config_file), 65)
    small_vocab = tmp_path / "vocab.txt"
    small_vocab.write_text("[PAD]\n[UNK]\n[CLS]\n[SEP]\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"--vocab_file .*vocab\.txt has 4 tokens but vocab_size in "
                                         r"--bert_config_file .*bert_config\.json is 30522"):
        task_runner.load_bert_config(str(config_file), 64, str(small_vocab))


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
