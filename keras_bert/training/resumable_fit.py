"""Resumable `model.fit` training shared by every training program: step checkpoints, resume, logs.

Layout under `output_dir`:

* `checkpoints/ckpt-<step>.*` — `tf.train.Checkpoint(model=..., optimizer=...)`, the full training
  state (weights, optimizer slots, `optimizer.iterations`), written every `save_checkpoints_steps`
  optimizer steps and at the end of training, the last `keep_checkpoint_max` kept;
* `checkpoints/run_settings.json` — what defines the run (program, meaningful flags, config, data files):
  a rerun resumes only a run with the same settings (`check_run_settings`);
* `logs/train/` — TensorBoard scalars (the fit logs and the learning rate) at the optimizer step.

Typical use (compile first, inside `strategy.scope()`)::

    training.check_run_settings(output_dir, settings, write=chief)  # before any work
    initial_step = training.restore_for_resume(model, output_dir)      # 0 on a fresh start
    callbacks = training.training_callbacks(output_dir, save_checkpoints_steps)
    history = training.fit_steps(model, dataset, num_train_steps=..., steps_per_loop=...,
                                 initial_step=initial_step, callbacks=callbacks)

A run killed at any moment (SIGKILL included) and restarted with the same command restores the
last checkpoint and continues from its step with the same optimizer state, losing at most
`save_checkpoints_steps` steps. Under multi-worker training only the chief writes to `output_dir`;
the other workers save into a scratch folder they delete right away (every worker takes part in
saving). Training stops with an error at the first non-finite loss, before that step is saved.
"""
from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import shutil
from collections.abc import Mapping, Sequence
from typing import Any

import keras
import tensorflow as tf

from keras_bert.training import distribute

logger = logging.getLogger(__name__)

CHECKPOINT_SUBDIR = "checkpoints"
LOG_SUBDIR = os.path.join("logs", "train")
RUN_SETTINGS_FILE = "run_settings.json"
# A data file is identified by its size and the SHA-256 of its first and last MiB (all of a file up to 2 MiB):
# cheap for corpora of gigabytes, and blind to where the file lies and when it was copied.
_FINGERPRINT_SPAN = 1 << 20


def checkpoint_dir(output_dir: str) -> str:
    """Folder holding the resumable training checkpoints of a run."""
    return os.path.join(os.fspath(output_dir), CHECKPOINT_SUBDIR)


def _training_state(model: keras.Model) -> tf.train.Checkpoint:
    if model.optimizer is None:
        raise ValueError(f"model {model.name} must be compiled (with its optimizer) before checkpointing")
    return tf.train.Checkpoint(model=model, optimizer=model.optimizer)


def _build_optimizer(model: keras.Model) -> None:
    """Creates the optimizer's slot variables now, so a restore fills them instead of deferring."""
    if not model.optimizer.built:
        with model.distribute_strategy.scope():
            model.optimizer.build(model.trainable_variables)


def latest_checkpoint(output_dir: str) -> str | None:
    """Prefix of the newest training checkpoint of `output_dir`, or None."""
    return tf.train.latest_checkpoint(checkpoint_dir(output_dir))


def restore_for_resume(model: keras.Model, output_dir: str) -> int:
    """Restores the newest training checkpoint of `output_dir` into a compiled model.

    Returns the optimizer step to resume from (`optimizer.iterations`), 0 when there is no
    checkpoint. Raises ValueError naming the checkpoint when it does not fit the model (e.g. a
    different config in the same output_dir).
    """
    _build_optimizer(model)
    prefix = latest_checkpoint(output_dir)
    if prefix is None:
        return 0
    try:
        _training_state(model).restore(prefix).assert_existing_objects_matched()
    except (AssertionError, ValueError, tf.errors.OpError) as error:
        raise ValueError(f"training checkpoint {prefix} does not match model {model.name}: {error}. "
                         "Use a fresh output_dir for a different model.") from error
    return int(model.optimizer.iterations.numpy())


def file_fingerprint(paths: str | Sequence[str]) -> dict[str, Any]:
    """`{"path": paths, "bytes": total size, "sha256": ...}` of a data file (or the files, in order) for the
    run settings; any `tf.io.gfile` path."""
    files = [paths] if isinstance(paths, str) else list(paths)
    digest, size = hashlib.sha256(), 0
    for path in files:
        file_size = tf.io.gfile.stat(path).length
        with tf.io.gfile.GFile(path, "rb") as f:
            digest.update(f.read(_FINGERPRINT_SPAN))
            if file_size > 2 * _FINGERPRINT_SPAN:
                f.seek(file_size - _FINGERPRINT_SPAN)
            digest.update(f.read())
        digest.update(str(file_size).encode())
        size += file_size
    return {"path": paths, "bytes": size, "sha256": digest.hexdigest()}


def check_run_settings(output_dir: str, settings: Mapping[str, Any], write: bool = True) -> None:
    """Makes sure a rerun into `output_dir` resumes only the same run.

    `settings`: what defines the run, as JSON: `{"program": ..., "flags": {...}, "bert_config": {...},
    "data_files": {flag: file_fingerprint(...)}}` (see `task_runner.run_settings`). With a training
    checkpoint in `output_dir`, the settings recorded beside it must be these, or ValueError names each
    difference (old → new; data files by content, wherever they lie). Without one, `settings` are recorded
    (when `write`: the chief) for the next rerun. A checkpoint of an older version, without recorded settings,
    resumes with a warning.
    """
    path = os.path.join(checkpoint_dir(output_dir), RUN_SETTINGS_FILE)
    settings = json.loads(json.dumps(settings))  # as it reads back: tuples become lists
    checkpoint = latest_checkpoint(output_dir)
    if checkpoint is None:
        if write:
            tf.io.gfile.makedirs(checkpoint_dir(output_dir))
            with tf.io.gfile.GFile(path, "w") as f:
                f.write(json.dumps(settings, indent=2, sort_keys=True) + "\n")
        return
    if not tf.io.gfile.exists(path):
        logger.warning("training checkpoint %s has no %s (written by an older version): resuming it without "
                       "checking that it is the same run", checkpoint, RUN_SETTINGS_FILE)
        return
    with tf.io.gfile.GFile(path) as f:
        recorded = json.loads(f.read())
    differences = _setting_differences(recorded, settings)
    if differences:
        raise ValueError(
            f"--output_dir {output_dir} holds training checkpoint {checkpoint} of another run, which this one "
            "would resume; it differs in:\n  " + "\n  ".join(differences) + "\n"
            f"Start fresh with another --output_dir or by deleting {checkpoint_dir(output_dir)}, or rerun with "
            f"the settings of {path} to resume.")


def _setting_differences(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """`what: old → new` for each setting that differs."""
    differences = []
    if old.get("program") != new.get("program"):
        differences.append(f"program: {old.get('program')} → {new.get('program')}")
    for section, label in (("flags", "--{}"), ("bert_config", "bert_config {}")):
        old_values, new_values = old.get(section, {}), new.get(section, {})
        for name in sorted(set(old_values) | set(new_values)):
            before, after = old_values.get(name, "(unset)"), new_values.get(name, "(unset)")
            if before != after:
                differences.append(f"{label.format(name)}: {before!r} → {after!r}")
    old_files, new_files = old.get("data_files", {}), new.get("data_files", {})
    for name in sorted(set(old_files) | set(new_files)):
        before, after = old_files.get(name), new_files.get(name)
        if _content(before) != _content(after):
            differences.append(f"--{name} data: {_described_file(before)} → {_described_file(after)}")
    return differences


def _content(fingerprint: Mapping[str, Any] | None) -> tuple | None:
    return None if fingerprint is None else (fingerprint["bytes"], fingerprint["sha256"])


def _described_file(fingerprint: Mapping[str, Any] | None) -> str:
    if fingerprint is None:
        return "(none)"
    return f"{fingerprint['path']} ({fingerprint['bytes']} bytes, sha256 {fingerprint['sha256'][:12]}…)"


class StopOnNonFiniteLoss(keras.callbacks.Callback):
    """Stops training with ValueError naming the optimizer step at the first NaN or infinite loss, before
    `StepCheckpoint` saves that step: the newest checkpoint stays the last good one."""

    def __init__(self, output_dir: str):
        super().__init__()
        self.output_dir = os.fspath(output_dir)

    def on_train_batch_end(self, batch, logs=None):
        bad = [f"{name} = {float(value)}" for name, value in (logs or {}).items()
               if name.endswith("loss") and not math.isfinite(float(value))]
        if bad:
            step = int(self.model.optimizer.iterations.numpy())
            kept = latest_checkpoint(self.output_dir) or "none (no checkpoint was saved yet)"
            raise ValueError(f"training stopped at step {step}: the loss is not finite ({', '.join(bad)}); this "
                             f"step is not saved, the last good training checkpoint is {kept}. Look for bad labels "
                             "or inputs, or lower --learning_rate.")


class StepCheckpoint(keras.callbacks.Callback):
    """Saves the training state every `save_checkpoints_steps` optimizer steps and when training ends.

    Checkpoints are numbered by `optimizer.iterations`, so a resumed run continues the sequence.
    With `steps_per_execution` > 1 the check runs once per execution: use multiples of it.
    """

    def __init__(self, output_dir: str, save_checkpoints_steps: int, keep_checkpoint_max: int = 5):
        super().__init__()
        if save_checkpoints_steps < 1:
            raise ValueError(f"save_checkpoints_steps must be >= 1, got {save_checkpoints_steps}")
        if keep_checkpoint_max < 1:
            raise ValueError(f"keep_checkpoint_max must be >= 1, got {keep_checkpoint_max}")
        self.output_dir = os.fspath(output_dir)
        self.save_checkpoints_steps = save_checkpoints_steps
        self.keep_checkpoint_max = keep_checkpoint_max
        self._manager: tf.train.CheckpointManager | None = None
        self._scratch_dir: str | None = None
        self._last_saved = -1

    def _ensure_manager(self) -> tf.train.CheckpointManager:
        if self._manager is None:
            directory = checkpoint_dir(self.output_dir)
            if not distribute.is_chief(self.model.distribute_strategy):
                resolver = self.model.distribute_strategy.cluster_resolver
                directory = os.path.join(directory, f".scratch_{resolver.task_type}_{resolver.task_id}")
                self._scratch_dir = directory
            self._manager = tf.train.CheckpointManager(
                _training_state(self.model), directory, max_to_keep=self.keep_checkpoint_max)
        return self._manager

    def _step(self) -> int:
        return int(self.model.optimizer.iterations.numpy())

    def save(self) -> str | None:
        """Saves now unless this step is already saved; returns the prefix written."""
        step = self._step()
        if step == self._last_saved:
            return None
        self._last_saved = step
        prefix = self._ensure_manager().save(checkpoint_number=step)
        if self._scratch_dir is not None:  # a non-chief worker only takes part in saving
            shutil.rmtree(self._scratch_dir, ignore_errors=True)
            return None
        return prefix

    def on_train_begin(self, logs=None):
        self._ensure_manager()
        if self._last_saved < 0:
            # The step training starts from (restored or 0), the same on every worker, so all
            # workers save at the same steps.
            self._last_saved = self._step()

    def on_train_batch_end(self, batch, logs=None):
        if self._step() - self._last_saved >= self.save_checkpoints_steps:
            self.save()

    def on_train_end(self, logs=None):
        self.save()


class StepLogger(keras.callbacks.Callback):
    """Records the fit logs every `log_every_steps` optimizer steps, in memory (`records`) and as
    TensorBoard scalars under `log_dir` (chief only), together with the learning rate.

    Each record holds the means over the steps since the previous record (the first: that step
    alone). Keras's batch logs are running means since the start of the current `fit` epoch; they
    are turned into interval means by differencing the running sums `mean × batches`. That is
    exact for `loss` (every batch weighs the same: static batch sizes) and close for metrics that
    weigh batches by their masked-token counts.
    """

    def __init__(self, log_dir: str | None, log_every_steps: int = 100):
        super().__init__()
        if log_every_steps < 1:
            raise ValueError(f"log_every_steps must be >= 1, got {log_every_steps}")
        self.log_dir = os.fspath(log_dir) if log_dir else None
        self.log_every_steps = log_every_steps
        self.records: list[dict[str, float]] = []
        self._writer = None
        self._last_logged = -1
        self._epoch_batches_at_record = 0  # batches of the current epoch at the previous record
        self._epoch_sums_at_record: dict[str, float] = {}

    def on_train_begin(self, logs=None):
        if self.log_dir and self._writer is None and distribute.is_chief(self.model.distribute_strategy):
            self._writer = tf.summary.create_file_writer(self.log_dir)

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_batches_at_record, self._epoch_sums_at_record = 0, {}

    def _interval_means(self, batches: int, logs: dict) -> dict[str, float]:
        """Means over the batches since the previous record, from running means over `batches`."""
        sums = {name: float(value) * batches for name, value in logs.items()}
        count = batches - self._epoch_batches_at_record
        means = {name: (total - self._epoch_sums_at_record.get(name, 0.0)) / count
                 for name, total in sums.items()}
        self._epoch_batches_at_record, self._epoch_sums_at_record = batches, sums
        return means

    def _learning_rate(self, step: int) -> float:
        optimizer = getattr(self.model.optimizer, "inner_optimizer", self.model.optimizer)
        rate = optimizer._learning_rate
        value = rate(step) if callable(rate) else rate
        return float(keras.ops.convert_to_numpy(value))

    def on_train_batch_end(self, batch, logs=None):
        step = int(self.model.optimizer.iterations.numpy())
        # The first step, then whenever a multiple of log_every_steps is passed.
        if self._last_logged >= 0 and step // self.log_every_steps == self._last_logged // self.log_every_steps:
            return
        self._last_logged = step
        record = {"step": step, "learning_rate": self._learning_rate(step),
                  **self._interval_means(batch + 1, logs or {})}
        self.records.append(record)
        if self._writer is not None:
            with self._writer.as_default(step=step):
                for name, value in record.items():
                    if name != "step":
                        tf.summary.scalar(name, value)
            self._writer.flush()

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.flush()


def training_callbacks(output_dir: str, save_checkpoints_steps: int, keep_checkpoint_max: int = 5,
                       log_every_steps: int | None = None) -> list[keras.callbacks.Callback]:
    """The callbacks of a resumable run: `[StopOnNonFiniteLoss, StepCheckpoint, StepLogger]`.

    `log_every_steps` defaults to `min(100, save_checkpoints_steps)`; TensorBoard logs go to
    `output_dir/logs/train`. Pass them to `fit_steps` (or `model.fit`) together with
    `restore_for_resume` before training.
    """
    every = log_every_steps or min(100, save_checkpoints_steps)
    return [StopOnNonFiniteLoss(output_dir), StepCheckpoint(output_dir, save_checkpoints_steps, keep_checkpoint_max),
            StepLogger(os.path.join(os.fspath(output_dir), LOG_SUBDIR), every)]


def _fit_segments(initial_step: int, num_train_steps: int, steps_per_loop: int) -> list[tuple[int, int, int]]:
    """Remaining steps as `(initial_epoch, epochs, steps_per_epoch)` fit calls.

    Epoch e covers steps `[e * steps_per_loop, (e + 1) * steps_per_loop)`; a resume inside an
    epoch and a last short epoch get their own call, so every call has a fixed epoch length.
    """
    segments = []
    step = initial_step
    while step < num_train_steps:
        epoch = step // steps_per_loop
        epoch_end = min((epoch + 1) * steps_per_loop, num_train_steps)
        if step % steps_per_loop == 0 and epoch_end - step == steps_per_loop:
            full_epochs = (num_train_steps - step) // steps_per_loop
            segments.append((epoch, epoch + full_epochs, steps_per_loop))
            step += full_epochs * steps_per_loop
        else:
            segments.append((epoch, epoch + 1, epoch_end - step))
            step = epoch_end
    return segments


def fit_steps(model: keras.Model, dataset: Any, *, num_train_steps: int, steps_per_loop: int,
              initial_step: int = 0, callbacks: Sequence[keras.callbacks.Callback] = (),
              steps_per_execution: int = 1, verbose: int | str = 2, **fit_kwargs: Any) -> dict[str, list]:
    """Trains from `initial_step` to exactly `num_train_steps` optimizer steps with `model.fit`.

    Args:
      model: compiled model (optimizer state already restored by `restore_for_resume`).
      dataset: a repeating `tf.data.Dataset` or distributed dataset of `(x, y)` batches; each
        `fit` call starts a fresh iterator over it.
      num_train_steps: total optimizer steps of the run.
      steps_per_loop: steps per Keras epoch (e.g. `save_checkpoints_steps`): epoch logs,
        validation and `verbose` output come at this rhythm.
      initial_step: the step restored from a checkpoint.
      steps_per_execution: as compiled; every epoch length must be a multiple of it.
      fit_kwargs: passed to `model.fit` (e.g. `validation_data`, `validation_steps`).

    Returns:
      The merged Keras history: `{"epoch": [...], metric: [per-epoch values]}`.
    """
    if steps_per_loop < 1:
        raise ValueError(f"steps_per_loop must be >= 1, got {steps_per_loop}")
    if initial_step > num_train_steps:
        raise ValueError(f"checkpoint step {initial_step} is beyond num_train_steps {num_train_steps}")
    segments = _fit_segments(initial_step, num_train_steps, steps_per_loop)
    for _, _, steps in segments:
        if steps % steps_per_execution:
            raise ValueError(
                f"steps_per_execution {steps_per_execution} must divide every fit epoch: got one of "
                f"{steps} steps (num_train_steps, save_checkpoints_steps and the resumed step must be "
                "multiples of steps_per_execution)")
    merged: dict[str, list] = {"epoch": []}
    fit_kwargs.setdefault("shuffle", False)  # datasets shuffle themselves; Keras would only warn
    for initial_epoch, epochs, steps in segments:
        history = model.fit(dataset, initial_epoch=initial_epoch, epochs=epochs, steps_per_epoch=steps,
                            callbacks=list(callbacks), verbose=verbose, **fit_kwargs)
        merged["epoch"].extend(history.epoch)
        for name, values in history.history.items():
            merged.setdefault(name, []).extend(values)
    return merged
