"""pretraining/run_pretraining.py: trains on tf-models-official's records, learns on the reference
sample text with dynamic masking, continues from a Google checkpoint, writes the reference outputs,
and is TPU-ready (static shapes, no strings in the model, XLA, bf16); bad input fails before any work."""
import glob
import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_bert.checkpoints import google as checkpoints
from keras_bert.config import BertConfig
from keras_bert.data.pretraining import records as pretraining_records
from keras_bert.data.pretraining.dynamic_masking import dynamic_masking_dataset
from keras_bert.files import DataFileError
from keras_bert.models.pretrainer import BertPretrainer
from pretraining.run_pretraining import run_pretraining
from support.google_checkpoints import random_reference_arrays, write_reference_checkpoint
from support.pretraining_fixtures import (
    TINY_CONFIG,
    TINY_PREDICTIONS,
    TINY_SEQ,
    reference_create_pretraining_data,
    write_tiny_setup,
)

EVAL_KEYS = ["global_step", "loss", "masked_lm_accuracy", "masked_lm_loss", "next_sentence_accuracy",
             "next_sentence_loss"]


@pytest.fixture(scope="module")
def setup(shared_data, tmp_path_factory):
    return write_tiny_setup(tmp_path_factory.mktemp("tiny"), shared_data, num_shards=1)


def _common(setup, output_dir, **overrides):
    kwargs = dict(output_dir=str(output_dir), bert_config_file=setup["bert_config_file"],
                  input_file=setup["input_file"], max_seq_length=TINY_SEQ, max_predictions_per_seq=TINY_PREDICTIONS,
                  train_batch_size=8, eval_batch_size=8, learning_rate=1e-3, num_train_steps=4, num_warmup_steps=1,
                  save_checkpoints_steps=2, max_eval_steps=3, verbose=0)
    kwargs.update(overrides)
    return kwargs


def test_trains_on_tf_models_official_records_and_writes_reference_outputs(setup, tmp_path):
    records = str(tmp_path / "theirs.tfrecord")
    count = reference_create_pretraining_data(setup["raw_text_files"], records, setup["vocab_file"],
                                              max_seq_length=TINY_SEQ, max_predictions_per_seq=TINY_PREDICTIONS,
                                              dupe_factor=2)
    assert count > 16
    result = run_pretraining(**_common(setup, tmp_path / "out", input_file=records, do_train=True, do_eval=True))
    assert result["global_step"] == 4
    assert all(np.isfinite(v) for v in result["history"]["loss"])
    lines = (tmp_path / "out" / "eval_results.txt").read_text().splitlines()
    assert [line.split(" = ")[0] for line in lines] == EVAL_KEYS
    assert lines[0] == "global_step = 4"
    results = result["eval_results"]
    # The reference's total loss is the masked-LM loss plus the next-sentence loss.
    assert results["loss"] == pytest.approx(results["masked_lm_loss"] + results["next_sentence_loss"], rel=0.05)
    reloaded = BertPretrainer.from_google_checkpoint(result["google_checkpoint"])
    for name, array in checkpoints.google_checkpoint_arrays(result["model"]).items():
        np.testing.assert_array_equal(array, checkpoints.google_checkpoint_arrays(reloaded)[name], err_msg=name)


def test_tiny_bert_lowers_its_mlm_loss_by_30_percent_within_300_steps(setup, tmp_path):
    result = run_pretraining(**_common(
        setup, tmp_path / "out", input_file=None, dynamic_masking=True, raw_text_files=setup["raw_text_files"],
        vocab_file=setup["vocab_file"], do_whole_word_mask=True, do_train=True, train_batch_size=16,
        num_train_steps=300, num_warmup_steps=30, save_checkpoints_steps=100, log_every_steps=50,
        learning_rate=2e-3))
    first = result["step_logs"][0]
    assert first["step"] == 1
    last_epoch = result["history"]["masked_lm_loss"][-1]  # mean over steps 201-300
    assert last_epoch <= 0.7 * first["masked_lm_loss"], (first, result["history"]["masked_lm_loss"])
    assert [r["step"] for r in result["step_logs"]] == [1, 50, 100, 150, 200, 250, 300]


def test_init_checkpoint_restores_every_encoder_and_cls_variable(setup, tmp_path):
    config = BertConfig.from_dict(TINY_CONFIG)
    arrays = random_reference_arrays(config, seed=5)
    prefix = write_reference_checkpoint(tmp_path / "google", arrays)
    result = run_pretraining(**_common(setup, tmp_path / "out", init_checkpoint=prefix, do_eval=True))
    loaded = checkpoints.google_checkpoint_arrays(result["model"])
    assert set(loaded) == set(arrays)
    assert any(n.startswith("cls/predictions") for n in arrays) and any(n.startswith("cls/seq") for n in arrays)
    for name, array in arrays.items():
        np.testing.assert_array_equal(loaded[name], array, err_msg=name)
    assert result["eval_results"]["global_step"] == 0


def test_bad_configuration_is_an_error_naming_the_flag(setup, tmp_path):
    wrong = tmp_path / "wrong_config.json"
    wrong.write_text(json.dumps({**TINY_CONFIG, "vocab_size": 1000}))
    with pytest.raises(ValueError, match="vocab_size.*wrong_config.json.*1000"):
        run_pretraining(**_common(setup, tmp_path / "a", bert_config_file=str(wrong), vocab_file=setup["vocab_file"],
                                  do_train=True))
    with pytest.raises(ValueError, match="--do_train or --do_eval"):
        run_pretraining(**_common(setup, tmp_path / "b"))
    with pytest.raises(ValueError, match="--raw_text_files"):
        run_pretraining(**_common(setup, tmp_path / "c", dynamic_masking=True, do_train=True))
    with pytest.raises(FileNotFoundError, match="no_such_records"):
        run_pretraining(**_common(setup, tmp_path / "d", input_file=str(tmp_path / "no_such_records*"), do_train=True))
    with pytest.raises(ValueError, match="--tpu"):
        run_pretraining(**_common(setup, tmp_path / "e", strategy="tpu", do_train=True))


def test_input_pipelines_have_static_shapes_for_tpus(setup):
    """drop_remainder and a fixed P: every dimension is known when the train step is traced."""
    for dataset in (
        pretraining_records.pretraining_dataset(setup["input_file"], 8, TINY_SEQ, TINY_PREDICTIONS, is_training=True),
        dynamic_masking_dataset(setup["raw_text_files"], setup["vocab_file"], 8, TINY_SEQ, TINY_PREDICTIONS,
                                is_training=True),
    ):
        for spec in tf.nest.flatten(dataset.element_spec):
            assert spec.shape.is_fully_defined(), dataset.element_spec
            assert spec.dtype in (tf.int32, tf.float32)


def _only_feeds_assertions(op) -> bool:
    """An Assert op, or a constant of its scope (its message) that only Assert ops consume, if any: XLA drops
    these (tests/models/test_encoder_inputs.py compiles the id-range assertions with jit_compile)."""
    consumers = [consumer for output in op.outputs for consumer in output.consumers()]
    return op.type == "Assert" or (op.type == "Const" and "/Assert/" in op.name
                                   and all(c.type == "Assert" for c in consumers))


def test_model_graph_has_no_string_ops():
    """All string work happens in tf.data on the host: the model consumes int32 ids only (strings appear only
    as the messages of the id-range assertions)."""
    model = BertPretrainer(BertConfig.from_dict(TINY_CONFIG))
    specs = {name: tf.TensorSpec([8, TINY_SEQ if name != "masked_lm_positions" else TINY_PREDICTIONS], tf.int32)
             for name in ("input_word_ids", "input_mask", "input_type_ids", "masked_lm_positions")}
    graph = tf.function(lambda inputs: model(inputs, training=True)).get_concrete_function(specs).graph
    string_ops = [op.name for op in graph.get_operations()
                  if any(t.dtype == tf.string for t in list(op.inputs) + list(op.outputs))
                  and not _only_feeds_assertions(op)]
    assert not string_ops
    assert any(op.type == "Assert" for op in graph.get_operations())  # the exemption is not vacuous
    assert len(graph.get_operations()) > 100


def test_train_step_compiles_with_xla_in_bf16_with_lamb(setup, tmp_path):
    result = run_pretraining(**_common(setup, tmp_path / "out", do_train=True, jit_compile=True,
                                       mixed_precision="bf16", steps_per_execution=2, optimizer="lamb"))
    model = result["model"]
    assert model.jit_compile and model.dtype_policy.name == "mixed_bfloat16"
    assert result["global_step"] == 4 and all(np.isfinite(result["history"]["masked_lm_loss"]))
    assert model.get_layer("masked_lm").compute_dtype == "bfloat16"
    assert keras.mixed_precision.global_policy().name == "float32"  # the caller's policy is put back


def test_corrupt_records_are_an_error_naming_the_file(setup, tmp_path):
    import pathlib

    good = pathlib.Path(glob.glob(setup["input_file"])[0]).read_bytes()
    corrupt = tmp_path / "corrupt_shard.tfrecord"
    corrupt.write_bytes(good[:3000] + b"\xff" * 16 + good[3016:])
    with pytest.raises(pretraining_records.CorruptRecordFileError, match="corrupt_shard.tfrecord"):
        run_pretraining(**_common(setup, tmp_path / "out", input_file=str(corrupt), do_eval=True, max_eval_steps=100))


def test_fp16_run_resumes_with_its_loss_scale_state(setup, tmp_path):
    first = run_pretraining(**_common(setup, tmp_path / "out", do_train=True, mixed_precision="fp16"))
    assert keras.mixed_precision.global_policy().name == "float32"  # the caller's policy is put back
    optimizer = first["model"].optimizer
    assert type(optimizer).__name__ == "LossScaleOptimizer"
    scale = float(optimizer.dynamic_scale.numpy())
    resumed = run_pretraining(**_common(setup, tmp_path / "out", do_train=True, mixed_precision="fp16",
                                        num_train_steps=6))
    assert resumed["initial_step"] == 4 and resumed["global_step"] == 6
    assert float(resumed["model"].optimizer.dynamic_scale.numpy()) in (scale, scale * 2, scale / 2)
    assert all(np.isfinite(resumed["history"]["loss"]))


def test_rerun_with_changed_settings_is_refused_naming_them(setup, tmp_path):
    """A rerun into an --output_dir with a training checkpoint used to resume whatever changed (here the
    learning rate and the records); now it resumes only the same run, and says how to start fresh."""
    run_pretraining(**_common(setup, tmp_path / "out", do_train=True, num_train_steps=2))
    other_records = _first_records(setup, tmp_path / "other.tfrecord", 16)
    with pytest.raises(ValueError, match=r"(?s)--learning_rate: 0\.001 → 0\.01.*--input_file.*another --output_dir"):
        run_pretraining(**_common(setup, tmp_path / "out", do_train=True, num_train_steps=4, learning_rate=1e-2,
                                  input_file=other_records))
    resumed = run_pretraining(**_common(setup, tmp_path / "out", do_train=True, num_train_steps=4))
    assert resumed["initial_step"] == 2 and resumed["global_step"] == 4


def _first_records(setup, path, count):
    """The first `count` records of the tiny setup, in a file of their own."""
    with tf.io.TFRecordWriter(str(path)) as writer:
        for record in tf.data.TFRecordDataset(sorted(glob.glob(setup["input_file"]))).take(count):
            writer.write(record.numpy())
    return str(path)


@pytest.mark.parametrize("mode", ["do_train", "do_eval"])
def test_input_without_records_is_an_error_before_any_work(setup, tmp_path, mode):
    """A 0-byte file used to spin forever at "Epoch 1" (training) or report only global_step (eval)."""
    empty = tmp_path / "empty.tfrecord"
    empty.write_bytes(b"")
    with pytest.raises(ValueError, match=r"--input_file .*empty.tfrecord.* holds no records \(files: .*empty"):
        run_pretraining(**_common(setup, tmp_path / "out", input_file=str(empty), **{mode: True}))
    assert not (tmp_path / "out").exists()


def test_eval_counts_every_record_of_a_last_partial_batch(setup, tmp_path):
    """3 records in batches of 2 (2 + 1) evaluate as one batch of 3; 1 record with batch 4 as that record."""
    three = _first_records(setup, tmp_path / "three.tfrecord", 3)
    arrays = random_reference_arrays(BertConfig.from_dict(TINY_CONFIG))
    weights = write_reference_checkpoint(tmp_path / "google", arrays)
    whole, split = (run_pretraining(**_common(setup, tmp_path / f"batch_{size}", input_file=three, do_eval=True,
                                              eval_batch_size=size, init_checkpoint=weights)) for size in (3, 2))
    for key in EVAL_KEYS:
        assert split["eval_results"][key] == pytest.approx(whole["eval_results"][key], rel=1e-5), key
    one = _first_records(setup, tmp_path / "one.tfrecord", 1)
    run_pretraining(**_common(setup, tmp_path / "one", input_file=one, do_eval=True, eval_batch_size=4))
    lines = (tmp_path / "one" / "eval_results.txt").read_text().splitlines()
    assert [line.split(" = ")[0] for line in lines] == EVAL_KEYS


def test_eval_on_tpu_needs_a_full_batch_and_says_so_before_connecting(setup, tmp_path):
    one = _first_records(setup, tmp_path / "one.tfrecord", 1)
    with pytest.raises(ValueError, match="holds 1 records, fewer than one --eval_batch_size of 4: --strategy=tpu"):
        run_pretraining(**_common(setup, tmp_path / "out", input_file=one, do_eval=True, eval_batch_size=4,
                                  strategy="tpu", tpu="no-such-tpu"))


def test_dynamic_masking_eval_keeps_a_partial_batch(setup, tmp_path):
    result = run_pretraining(**_common(setup, tmp_path / "out", input_file=None, dynamic_masking=True,
                                       raw_text_files=setup["raw_text_files"], vocab_file=setup["vocab_file"],
                                       do_eval=True, eval_batch_size=100_000, max_eval_steps=1))
    assert all(np.isfinite(result["eval_results"][key]) for key in EVAL_KEYS)


def test_binary_raw_text_is_an_error_naming_the_file(setup, tmp_path):
    binary = tmp_path / "corpus.bin"
    binary.write_bytes(np.random.default_rng(0).integers(0, 256, 50_000, np.uint8).tobytes())
    with pytest.raises(DataFileError, match="corpus.bin, line"):
        run_pretraining(**_common(setup, tmp_path / "out", input_file=None, dynamic_masking=True,
                                  raw_text_files=str(binary), vocab_file=setup["vocab_file"], do_train=True))
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("flag,value", [
    ("train_batch_size", 0), ("eval_batch_size", -4), ("max_seq_length", 0), ("max_predictions_per_seq", 0),
    ("num_train_steps", 0), ("max_eval_steps", 0), ("keep_checkpoint_max", 0), ("log_every_steps", 0),
    ("num_warmup_steps", -1), ("learning_rate", 0.0), ("learning_rate", -1e-4), ("learning_rate", float("nan")),
])
def test_bad_flags_are_errors_naming_them_before_any_work(setup, tmp_path, flag, value):
    with pytest.raises(ValueError, match=f"--{flag} must"):
        run_pretraining(**_common(setup, tmp_path / "out", do_train=True, do_eval=True, **{flag: value}))
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("flag,value", [("masked_lm_prob", 0.0), ("masked_lm_prob", 1.2), ("random_seed", -1),
                                        ("max_seq_length", 4)])
def test_bad_dynamic_masking_flags_are_errors_naming_them_before_any_work(setup, tmp_path, flag, value):
    with pytest.raises(ValueError, match=f"--{flag} must"):
        run_pretraining(**_common(setup, tmp_path / "out", input_file=None, dynamic_masking=True,
                                  raw_text_files=setup["raw_text_files"], vocab_file=setup["vocab_file"],
                                  do_train=True, **{flag: value}))
    assert not (tmp_path / "out").exists()
