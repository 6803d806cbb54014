"""keras_bert.training.resumable_fit: step checkpoints, resume with the optimizer state, TensorBoard logs, a
real run_pretraining process killed with SIGKILL and restarted with the same command, a stop at the first
non-finite loss, and the run settings that a resumed run must share."""
import json
import logging
import os
import shutil

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_bert.models.pretrainer import BertPretrainer
from keras_bert.training import resumable_fit as training
from keras_bert.training.optimization import create_optimizer
from support.configs import tiny_config
from support.programs import REPO_ROOT

TINY = tiny_config(vocab_size=60, num_hidden_layers=1, max_position_embeddings=32)
BATCH, SEQ, P = 4, 16, 3


def _dataset(nan_from_row=None):
    """32 random pretraining examples, repeated; from `nan_from_row` on their masked-LM weights are NaN."""
    rng = np.random.default_rng(0)
    n = 32
    x = {"input_word_ids": rng.integers(5, 60, (n, SEQ)).astype("int32"),
         "input_mask": np.ones((n, SEQ), "int32"), "input_type_ids": np.zeros((n, SEQ), "int32"),
         "masked_lm_positions": rng.integers(1, SEQ, (n, P)).astype("int32")}
    y = {"masked_lm_ids": rng.integers(5, 60, (n, P)).astype("int32"),
         "masked_lm_weights": np.ones((n, P), "float32"),
         "next_sentence_labels": rng.integers(0, 2, (n,)).astype("int32")}
    if nan_from_row is not None:
        y["masked_lm_weights"][nan_from_row:] = np.nan
    return tf.data.Dataset.from_tensor_slices((x, y)).repeat().batch(BATCH, drop_remainder=True)


def _compiled_model(num_train_steps):
    model = BertPretrainer(TINY)
    model.compile(optimizer=create_optimizer(1e-3, num_train_steps, 2))
    return model


@pytest.mark.parametrize("initial, total, loop, expected", [
    (0, 10, 4, [(0, 2, 4), (2, 3, 2)]),
    (0, 8, 4, [(0, 2, 4)]),
    (6, 10, 4, [(1, 2, 2), (2, 3, 2)]),
    (4, 13, 4, [(1, 3, 4), (3, 4, 1)]),
    (10, 10, 4, []),
])
def test_fit_segments_cover_exactly_the_remaining_steps(initial, total, loop, expected):
    segments = training._fit_segments(initial, total, loop)
    assert segments == expected
    assert sum((end - start) * steps for start, end, steps in segments) == total - initial


def test_checkpoints_every_n_steps_keep_last_and_resume_with_optimizer_state(tmp_path):
    total = 10
    model = _compiled_model(total)
    assert training.restore_for_resume(model, str(tmp_path)) == 0
    callbacks = training.training_callbacks(str(tmp_path), save_checkpoints_steps=3, keep_checkpoint_max=2,
                                            log_every_steps=2)
    history = training.fit_steps(model, _dataset(), num_train_steps=total, steps_per_loop=3,
                                 callbacks=callbacks, verbose=0)
    assert int(model.optimizer.iterations.numpy()) == total
    assert history["epoch"] == [0, 1, 2, 3] and len(history["masked_lm_loss"]) == 4
    # Saved at 3, 6, 9 and at the end (10); only the last two kept.
    kept = tf.train.get_checkpoint_state(training.checkpoint_dir(str(tmp_path))).all_model_checkpoint_paths
    assert [int(p.rsplit("-", 1)[1]) for p in kept] == [9, 10]
    # Step logger: the first step, then each multiple of 2, in memory and as TensorBoard events.
    records = callbacks[-1].records
    assert [r["step"] for r in records] == [1, 2, 4, 6, 8, 10]
    assert {"loss", "masked_lm_loss", "next_sentence_accuracy", "learning_rate"} <= set(records[0])
    events = os.listdir(tmp_path / training.LOG_SUBDIR)
    assert any(name.startswith("events.out.tfevents") for name in events)

    restored = _compiled_model(total)
    assert training.restore_for_resume(restored, str(tmp_path)) == total
    for saved, loaded in zip(model.optimizer.variables, restored.optimizer.variables):
        np.testing.assert_array_equal(saved.numpy(), loaded.numpy(), err_msg=saved.path)
    for saved, loaded in zip(model.weights, restored.weights):
        np.testing.assert_array_equal(saved.numpy(), loaded.numpy(), err_msg=saved.path)


def test_resume_mid_run_continues_to_the_same_state_as_an_uninterrupted_run(tmp_path):
    """A run stopped at step 4 and resumed from its checkpoint restores the exact optimizer state
    and goes on to num_train_steps, continuing the checkpoint numbering."""
    total = 8
    first = _compiled_model(total)
    training.fit_steps(first, _dataset(), num_train_steps=4, steps_per_loop=2,
                       callbacks=training.training_callbacks(str(tmp_path), 2), verbose=0)
    resumed = _compiled_model(total)
    start = training.restore_for_resume(resumed, str(tmp_path))
    assert start == 4
    for saved, loaded in zip(first.optimizer.variables, resumed.optimizer.variables):
        np.testing.assert_array_equal(saved.numpy(), loaded.numpy(), err_msg=saved.path)
    training.fit_steps(resumed, _dataset(), num_train_steps=total, steps_per_loop=2, initial_step=start,
                       callbacks=training.training_callbacks(str(tmp_path), 2), verbose=0)
    assert int(resumed.optimizer.iterations.numpy()) == total
    assert training.latest_checkpoint(str(tmp_path)).endswith("ckpt-8")


def test_a_checkpoint_of_another_model_is_an_error_naming_it(tmp_path):
    model = _compiled_model(4)
    training.fit_steps(model, _dataset(), num_train_steps=2, steps_per_loop=2,
                       callbacks=training.training_callbacks(str(tmp_path), 2), verbose=0)
    other = BertPretrainer(TINY.replace(hidden_size=16, intermediate_size=32))
    other.compile(optimizer=create_optimizer(1e-3, 4, 0))
    with pytest.raises(ValueError, match="ckpt-2"):
        training.restore_for_resume(other, str(tmp_path))


def test_steps_per_execution_must_divide_the_epochs(tmp_path):
    model = _compiled_model(4)
    with pytest.raises(ValueError, match="steps_per_execution"):
        training.fit_steps(model, _dataset(), num_train_steps=5, steps_per_loop=2, steps_per_execution=2,
                           verbose=0)


def _logged_steps(log_dir):
    """Steps of the `loss` scalars in every TensorBoard event file of `log_dir`, per file (run)."""
    runs = []
    for name in sorted(os.listdir(log_dir)):
        steps = [event.step for event in tf.compat.v1.train.summary_iterator(os.path.join(log_dir, name))
                 for value in event.summary.value if value.tag == "loss"]
        runs.append(steps)
    return runs


def test_run_killed_with_sigkill_resumes_from_its_last_checkpoint(tmp_path, shared_data):
    import signal
    import subprocess
    import sys
    import time

    from support.pretraining_fixtures import TINY_PREDICTIONS, TINY_SEQ, write_tiny_setup

    setup = write_tiny_setup(tmp_path, shared_data)
    output_dir = tmp_path / "out"
    total, every = 80, 5
    command = [sys.executable, "pretraining/run_pretraining.py", f"--bert_config_file={setup['bert_config_file']}",
               f"--input_file={setup['input_file']}", f"--output_dir={output_dir}", f"--max_seq_length={TINY_SEQ}",
               f"--max_predictions_per_seq={TINY_PREDICTIONS}", "--do_train", "--train_batch_size=8",
               f"--num_train_steps={total}", "--num_warmup_steps=2", f"--save_checkpoints_steps={every}",
               "--keep_checkpoint_max=3", "--log_every_steps=1", "--learning_rate=1e-3"]
    first = subprocess.Popen(command, cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    checkpoints = training.checkpoint_dir(str(output_dir))
    deadline = time.monotonic() + 120
    try:
        while True:
            latest = tf.train.latest_checkpoint(checkpoints) if os.path.isdir(checkpoints) else None
            if latest and int(latest.rsplit("-", 1)[1]) >= 2 * every:
                break
            assert first.poll() is None, f"run ended before it could be killed: {first.stderr.read()[-3000:]}"
            assert time.monotonic() < deadline, "no checkpoint within 120 s"
            time.sleep(0.02)
        first.send_signal(signal.SIGKILL)
    finally:
        first.kill()
        first.wait()
    assert first.returncode == -signal.SIGKILL
    saved_step = int(tf.train.latest_checkpoint(checkpoints).rsplit("-", 1)[1])
    reached_step = max(_logged_steps(output_dir / training.LOG_SUBDIR)[0])
    assert 2 * every <= saved_step < total
    assert reached_step - saved_step <= every  # lost at most save_checkpoints_steps steps

    second = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=180)
    assert second.returncode == 0, second.stderr[-4000:]
    assert f"resuming from step {saved_step} of" in second.stderr
    runs = _logged_steps(output_dir / training.LOG_SUBDIR)
    assert len(runs) == 2 and runs[1][0] == saved_step + 1 and runs[1][-1] == total
    final = tf.train.latest_checkpoint(checkpoints)
    assert final.endswith(f"ckpt-{total}")
    reader = tf.train.load_checkpoint(final)
    assert reader.get_tensor("optimizer/_iterations/.ATTRIBUTES/VARIABLE_VALUE") == total
    assert (output_dir / "bert_model.ckpt.index").exists()


def test_step_logger_records_means_over_each_interval_not_since_the_epoch_began():
    """With frozen weights (learning rate 0) each batch's loss is known in advance: a record must hold
    the mean loss of the steps since the previous record, across epoch boundaries too."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=(24, 3)).astype("float32")
    y = (rng.normal(size=(24, 1)) * np.arange(1, 25)[:, None]).astype("float32")  # losses grow per batch
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.0), loss="mse")
    batch_losses = [float(np.mean((model.predict_on_batch(x[i:i + 2]) - y[i:i + 2]) ** 2)) for i in range(0, 24, 2)]
    logger = training.StepLogger(None, log_every_steps=3)
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(2)
    model.fit(dataset, epochs=2, steps_per_epoch=6, callbacks=[logger], verbose=0)  # 12 steps
    assert [r["step"] for r in logger.records] == [1, 3, 6, 9, 12]
    expected = [batch_losses[0], np.mean(batch_losses[1:3]), np.mean(batch_losses[3:6]),
                np.mean(batch_losses[6:9]), np.mean(batch_losses[9:12])]
    np.testing.assert_allclose([r["loss"] for r in logger.records], expected, rtol=1e-4)


def test_a_non_finite_loss_stops_training_before_its_step_is_saved(tmp_path):
    """Rows 16 on have NaN weights, so step 5 (rows 16-19) has a NaN loss and NaN gradients: training stops there
    with an error naming the step, and the newest checkpoint stays step 4's, finite."""
    model = _compiled_model(10)
    with pytest.raises(ValueError, match=r"training stopped at step 5: the loss is not finite \(.*loss = nan.*\); "
                                         r"this step is not saved, the last good training checkpoint is .*ckpt-4\."):
        training.fit_steps(model, _dataset(nan_from_row=16), num_train_steps=10, steps_per_loop=2,
                           callbacks=training.training_callbacks(str(tmp_path), 2), verbose=0)
    kept = tf.train.get_checkpoint_state(training.checkpoint_dir(str(tmp_path))).all_model_checkpoint_paths
    assert [int(p.rsplit("-", 1)[1]) for p in kept] == [2, 4]
    restored = _compiled_model(10)
    assert training.restore_for_resume(restored, str(tmp_path)) == 4
    assert all(np.isfinite(weight.numpy()).all() for weight in restored.weights)


def _save_a_checkpoint(output_dir, step=3):
    state = tf.train.Checkpoint(step=tf.Variable(step))
    tf.train.CheckpointManager(state, training.checkpoint_dir(output_dir), max_to_keep=1).save(checkpoint_number=step)


def _write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_a_rerun_resumes_only_the_run_with_the_same_settings(tmp_path):
    out = str(tmp_path / "out")
    train_file = _write(tmp_path / "data" / "train.tsv", "good\t1\n")
    settings = {"program": "run_x", "flags": {"learning_rate": 5e-05, "seed": None, "label_list": ("a", "b")},
                "bert_config": {"hidden_act": "gelu"},
                "data_files": {"data_dir": training.file_fingerprint(train_file)}}
    recorded = tmp_path / "out" / "checkpoints" / training.RUN_SETTINGS_FILE
    training.check_run_settings(out, settings)  # a fresh start records its settings
    assert json.loads(recorded.read_text(encoding="utf-8"))["flags"]["label_list"] == ["a", "b"]
    _save_a_checkpoint(out)
    training.check_run_settings(out, settings)  # the same run resumes
    # The same data elsewhere is the same run.
    moved = tmp_path / "copy" / "train.tsv"
    moved.parent.mkdir()
    shutil.copy(train_file, moved)
    training.check_run_settings(out, settings | {"data_files": {"data_dir": training.file_fingerprint(str(moved))}})

    changed = {"program": "run_x", "flags": {"learning_rate": 1e-3, "label_list": ["a", "b"], "task_name": "rte"},
               "bert_config": {"hidden_act": "relu"},
               "data_files": {"data_dir": training.file_fingerprint(_write(moved, "good\t1\nbad\t0\n"))}}
    with pytest.raises(ValueError) as refused:
        training.check_run_settings(out, changed)
    checkpoints = os.path.join(out, "checkpoints")
    assert str(refused.value).splitlines() == [
        f"--output_dir {out} holds training checkpoint {checkpoints}/ckpt-3 of another run, which this one would "
        "resume; it differs in:",
        "  --learning_rate: 5e-05 → 0.001",
        "  --seed: None → '(unset)'",
        "  --task_name: '(unset)' → 'rte'",
        "  bert_config hidden_act: 'gelu' → 'relu'",
        f"  --data_dir data: {train_file} (7 bytes, sha256 {settings['data_files']['data_dir']['sha256'][:12]}…) → "
        f"{moved} (13 bytes, sha256 {changed['data_files']['data_dir']['sha256'][:12]}…)",
        f"Start fresh with another --output_dir or by deleting {checkpoints}, or rerun with the settings of "
        f"{recorded} to resume."]
    assert json.loads(recorded.read_text(encoding="utf-8"))["flags"]["learning_rate"] == 5e-05  # kept

    # A worker that is not the chief checks but never writes; a checkpoint of an older version has no settings.
    other = str(tmp_path / "other")
    training.check_run_settings(other, settings, write=False)
    assert not os.path.exists(training.checkpoint_dir(other))


def test_a_checkpoint_without_recorded_settings_resumes_with_a_warning(tmp_path, caplog):
    _save_a_checkpoint(str(tmp_path))
    with caplog.at_level(logging.WARNING, logger="keras_bert.training.resumable_fit"):
        training.check_run_settings(str(tmp_path), {"program": "run_x"})
    assert "has no run_settings.json (written by an older version): resuming it without checking" in caplog.text
    assert not (tmp_path / "checkpoints" / training.RUN_SETTINGS_FILE).exists()


def test_file_fingerprints_are_content_size_and_both_ends_of_large_files(tmp_path):
    big = bytearray(np.random.default_rng(0).integers(0, 256, 3 << 20, dtype=np.uint8).tobytes())
    (tmp_path / "a.bin").write_bytes(big)
    first = training.file_fingerprint(str(tmp_path / "a.bin"))
    assert first["bytes"] == 3 << 20 and first["path"] == str(tmp_path / "a.bin")
    for offset in (0, len(big) - 1):  # the first and last MiB count
        changed = big.copy()
        changed[offset] ^= 1
        (tmp_path / "b.bin").write_bytes(changed)
        assert training.file_fingerprint(str(tmp_path / "b.bin"))["sha256"] != first["sha256"]
    (tmp_path / "b.bin").write_bytes(big)
    assert training.file_fingerprint(str(tmp_path / "b.bin"))["sha256"] == first["sha256"]
    both = training.file_fingerprint([str(tmp_path / "a.bin"), str(tmp_path / "b.bin")])
    assert both["bytes"] == 6 << 20 and both["sha256"] != first["sha256"]
