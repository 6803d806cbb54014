"""What the fine-tuning programs share: model set-up from a Google checkpoint, `model.fit` with the reference
optimizer and schedule, and the output folder every program writes.

Output folder contract (read by the serving export):
  `bert_config.json` + `bert_model.ckpt.*`  the trained task model under the reference's variable names,
  `model.keras`                             the trained Keras task model,
  `vocab.txt`                               a copy of `--vocab_file`,
  `task_info.json`                          {"task", "task_name", "labels", "is_regression", "do_lower_case",
                                             "max_seq_length", ...program-specific keys}.
"""
from __future__ import annotations

import functools
import json
import logging
import os
import shutil
import warnings
from collections.abc import Callable
from typing import Any

import keras
import tensorflow as tf

from keras_bert.checkpoints.google import save_google_checkpoint
from keras_bert.config import BertConfig
from keras_bert.training import distribute, optimization
from keras_bert.training import resumable_fit as training

logger = logging.getLogger(__name__)

TASK_INFO_FILE = "task_info.json"
MODEL_FILE = "model.keras"
VOCAB_FILE = "vocab.txt"
CHECKPOINT_PREFIX = "bert_model.ckpt"


def load_bert_config(bert_config_file: str, max_seq_length: int) -> BertConfig:
    """Reads `--bert_config_file`; `--max_seq_length` beyond its position embeddings is an error (as the reference)."""
    if not bert_config_file:
        raise ValueError("--bert_config_file is required")
    config = BertConfig.from_json_file(bert_config_file)
    if max_seq_length > config.max_position_embeddings:
        raise ValueError(f"--max_seq_length {max_seq_length} exceeds max_position_embeddings "
                         f"{config.max_position_embeddings} of {bert_config_file}")
    return config


def restores_dtype_policy(program: Callable) -> Callable:
    """Decorates a program's Python entry point: Keras's global dtype policy (which `--mixed_precision` sets)
    is put back when it returns, so callers in the same process keep theirs."""

    @functools.wraps(program)
    def run(*args: Any, **kwargs: Any) -> Any:
        policy = keras.mixed_precision.global_policy()
        try:
            return program(*args, **kwargs)
        finally:
            keras.mixed_precision.set_global_policy(policy)

    return run


def set_up_run(strategy: str = "default", mixed_precision: str = "none", tpu: str | None = None,
               seed: int | None = None) -> tf.distribute.Strategy:
    """Mixed-precision policy, seeds and the distribution strategy, before any model is built."""
    distribute.set_mixed_precision(mixed_precision)
    if seed is not None:
        keras.utils.set_random_seed(seed)
    return distribute.create_strategy(strategy, tpu=tpu)


def build_task_model(model_class: type, config: BertConfig, init_checkpoint: str | None,
                     strategy: tf.distribute.Strategy, **model_kwargs: Any) -> keras.Model:
    """`model_class(config, **model_kwargs)` in the strategy's scope, loaded from `--init_checkpoint` if given
    (a pretrained checkpoint gets a fresh head; a fine-tuned one brings its head)."""
    with strategy.scope():
        if init_checkpoint:
            return model_class.from_google_checkpoint(init_checkpoint, config=config, **model_kwargs)
        logger.warning("no --init_checkpoint: %s starts from random weights", model_class.__name__)
        return model_class(config, **model_kwargs)


def num_train_steps(num_examples: int, train_batch_size: int, num_train_epochs: float) -> int:
    """The reference's `int(num_examples / train_batch_size * num_train_epochs)`, which must be positive."""
    steps = int(num_examples / train_batch_size * num_train_epochs)
    if steps < 1:
        raise ValueError(f"{num_examples} training examples at --train_batch_size {train_batch_size} and "
                         f"--num_train_epochs {num_train_epochs} make no training step")
    return steps


def train(model: keras.Model, dataset: tf.data.Dataset, loss: Any, strategy: tf.distribute.Strategy,
          train_steps: int, learning_rate: float, warmup_proportion: float, output_dir: str,
          save_checkpoints_steps: int, loss_weights: Any = None, jit_compile: bool = False,
          steps_per_execution: int = 1) -> dict[str, float]:
    """Compiles with `create_optimizer` (the reference AdamWeightDecay, warmup then linear decay) and trains
    for exactly `train_steps` optimizer steps over `dataset`, an endless stream of (inputs, labels) batches
    (repeat before batching, as the reference, so that every batch is full however small the data).

    Training checkpoints go to `output_dir/checkpoints` every `save_checkpoints_steps` steps (see
    `keras_bert.training.resumable_fit`); a run restarted on the same `output_dir` resumes from the newest one, as the
    reference's Estimator resumes from its model_dir. Returns the last epoch's training metrics ({"loss": ...}).
    """
    num_warmup_steps = int(train_steps * warmup_proportion)
    with strategy.scope():
        optimizer = optimization.create_optimizer(learning_rate, train_steps, num_warmup_steps)
        model.compile(optimizer=optimizer, loss=loss, loss_weights=loss_weights, jit_compile=jit_compile,
                      steps_per_execution=steps_per_execution)
    initial_step = training.restore_for_resume(model, output_dir)
    if initial_step:
        logger.info("resuming from step %d of %s", initial_step, training.latest_checkpoint(output_dir))
    logger.info("training %d steps (%d warmup) at learning rate %g", train_steps, num_warmup_steps, learning_rate)
    with warnings.catch_warnings():
        # Token-level heads (SQuAD, tagging) leave the pooler unused, as in the reference: not a mistake.
        warnings.filterwarnings("ignore", message=r"Gradients do not exist for variables \['pooler/dense/kernel', "
                                r"'pooler/dense/bias'\]")
        history = training.fit_steps(
            model, dataset, num_train_steps=train_steps,
            steps_per_loop=min(save_checkpoints_steps, train_steps), initial_step=initial_step,
            callbacks=training.training_callbacks(output_dir, save_checkpoints_steps),
            steps_per_execution=steps_per_execution, shuffle=False)  # the dataset is shuffled already
    return {name: float(values[-1]) for name, values in history.items() if name != "epoch" and values}


def global_step(model: keras.Model) -> int:
    """Optimizer steps the model has taken in this run (0 when it was only loaded, never compiled)."""
    optimizer = getattr(model, "optimizer", None)
    return int(optimizer.iterations.numpy()) if optimizer is not None else 0


def save_task_outputs(model: keras.Model, output_dir: str, vocab_file: str,
                      task_info: dict[str, Any]) -> dict[str, str]:
    """Writes the contract files (see the module docstring); returns their paths by key."""
    os.makedirs(output_dir, exist_ok=True)
    paths = {
        "checkpoint": save_google_checkpoint(model, os.path.join(output_dir, CHECKPOINT_PREFIX)),
        "model_file": os.path.join(output_dir, MODEL_FILE),
        "vocab_file": os.path.join(output_dir, VOCAB_FILE),
        "task_info_file": os.path.join(output_dir, TASK_INFO_FILE),
    }
    _inference_copy(model).save(paths["model_file"])
    if os.path.abspath(vocab_file) != os.path.abspath(paths["vocab_file"]):
        shutil.copyfile(vocab_file, paths["vocab_file"])
    with open(paths["task_info_file"], "w", encoding="utf-8") as f:
        json.dump(task_info, f, indent=2, ensure_ascii=False)
        f.write("\n")
    return paths


def _inference_copy(model: keras.Model) -> keras.Model:
    """The model with its weights but no compile state, so that `model.keras` loads in any process that
    imports keras_bert (the optimizer's state is in the training checkpoints, not needed to serve)."""
    copy = type(model).from_config(model.get_config())
    copy.set_weights(model.get_weights())
    return copy


def define_model_flags(defaults: dict[str, Any], *, train: bool = True) -> None:
    """The reference flags every fine-tuning program shares, with defaults from the program's entry point;
    with `train`, also the training ones plus `--strategy`, `--tpu`, `--mixed_precision`, `--jit_compile`,
    `--steps_per_execution` and `--seed`."""
    from absl import flags

    flags.DEFINE_string("bert_config_file", None, "bert_config.json of the pretrained model.")
    flags.DEFINE_string("vocab_file", None, "The vocabulary the model was trained on.")
    flags.DEFINE_string("init_checkpoint", defaults.get("init_checkpoint"),
                        "Google-format checkpoint (prefix or release folder) to start from.")
    flags.DEFINE_bool("do_lower_case", defaults["do_lower_case"],
                      "Lower-case the input (True for uncased models, False for cased).")
    flags.DEFINE_integer("max_seq_length", defaults["max_seq_length"],
                         "Maximum word pieces per input after tokenisation; longer inputs are truncated.")
    if train:
        flags.DEFINE_string("output_dir", None, "Where the model, checkpoints and results are written.")
        flags.DEFINE_bool("do_train", defaults["do_train"], "Whether to run training.")
        flags.DEFINE_bool("do_predict", defaults["do_predict"], "Whether to predict on the test/predict set.")
        flags.DEFINE_integer("train_batch_size", defaults["train_batch_size"], "Total batch size for training.")
        flags.DEFINE_integer("predict_batch_size", defaults["predict_batch_size"], "Batch size for prediction.")
        flags.DEFINE_float("learning_rate", defaults["learning_rate"], "Initial learning rate for Adam.")
        flags.DEFINE_float("num_train_epochs", defaults["num_train_epochs"], "Epochs of training.")
        flags.DEFINE_float("warmup_proportion", defaults["warmup_proportion"],
                           "Share of training with linear learning-rate warmup.")
        flags.DEFINE_integer("save_checkpoints_steps", defaults["save_checkpoints_steps"],
                             "How often to save a training checkpoint.")
        flags.DEFINE_integer("seed", defaults.get("seed"), "Random seed (weights, dropout, shuffling).")
        distribute.define_distribution_flags()
        flags.mark_flags_as_required(["vocab_file", "bert_config_file", "output_dir"])
