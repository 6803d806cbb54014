"""How every training program runs, pretraining and fine-tuning alike (the model flags are resolved by
`keras_bert.training.model_inputs`): the run's set-up (precision,
seed, strategy; the caller's dtype policy put back afterwards), the model from `--init_checkpoint`, compile +
resume + `fit_steps` with the reference optimizer, and the outputs the chief writes (`keras_bert.training.outputs`).

A fine-tuning `--output_dir` after training (read by the serving export):
  `bert_config.json` + `bert_model.ckpt.*`  the trained task model under the reference's variable names,
  `model.keras`                             the trained Keras task model,
  `vocab.txt`                               a copy of `--vocab_file`,
  `task_info.json`                          the `TaskInfo` of the model,
  `huggingface/`                            with `--save_huggingface`, the model as a Hugging Face folder.
"""
from __future__ import annotations

import dataclasses
import functools
import logging
import os
import shutil
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import keras
import tensorflow as tf

from keras_bert.checkpoints.google import assign_checkpoint, model_entries, resolve_checkpoint, save_google_checkpoint
from keras_bert.checkpoints.huggingface import assign_huggingface_arrays, save_huggingface_checkpoint
from keras_bert.config import BertConfig
from keras_bert.models.pretrainer import BertPretrainer
from keras_bert.training import distribute, model_inputs, optimization, outputs, resumable_fit

logger = logging.getLogger(__name__)

# Flags that change how, where, or what else a run computes, never what it trains: a rerun that changes them
# resumes the run in its --output_dir. (More epochs or steps train the same run further, as the reference's
# Estimator did; data and config files count by their content, in `run_settings`.)
RESUME_NEUTRAL_FLAGS = frozenset({
    "output_dir", "do_train", "do_eval", "do_predict", "eval_batch_size", "predict_batch_size", "max_eval_steps",
    "save_checkpoints_steps", "keep_checkpoint_max", "iterations_per_loop", "log_every_steps", "verbose",
    "num_train_epochs", "num_train_steps", "strategy", "tpu", "mixed_precision", "jit_compile",
    "steps_per_execution", "bert_config_file", "eval_file", "predict_file", "save_huggingface",
    "fixed_length_batches",  # padding changes no output on real tokens
})


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


def uses_fixed_length_batches(fixed_length_batches: bool, strategy: str, bucket_by_length: bool = False) -> bool:
    """Whether batches keep --max_seq_length: with `--fixed_length_batches`, and always under `--strategy=tpu`
    (XLA on TPUs compiles one program per input shape). ValueError for `--bucket_by_length` then, which only
    makes sense with variable-length batches."""
    fixed = fixed_length_batches or strategy == "tpu"
    if fixed and bucket_by_length:
        reason = "--strategy=tpu pads" if strategy == "tpu" else "--fixed_length_batches pads"
        raise ValueError(f"--bucket_by_length needs variable-length batches, but {reason} every batch to "
                         "--max_seq_length")
    return fixed


def build_model(model_class: type, config: BertConfig, init_checkpoint: str | None,
                strategy: tf.distribute.Strategy, fine_tuned_for: outputs.TaskInfo | None = None,
                **model_kwargs: Any) -> keras.Model:
    """`model_class(config, **model_kwargs)` in the strategy's scope, loaded from `--init_checkpoint` if given, a
    Google checkpoint or a Hugging Face folder (a pretrained checkpoint gets a fresh task head; a fine-tuned one
    brings its head).

    `fine_tuned_for`: the task of a run that evaluates or predicts without training, whose `init_checkpoint` must
    then be a model fine-tuned for it (`check_fine_tuned_checkpoint`, for Hugging Face folders
    `model_inputs.fine_tuned_huggingface_arrays`) rather than start a random head.
    """
    with strategy.scope():
        if init_checkpoint and fine_tuned_for is not None:
            model = model_class(config, **model_kwargs)
            if model_inputs.is_huggingface_checkpoint(init_checkpoint):
                arrays = model_inputs.fine_tuned_huggingface_arrays(model, init_checkpoint, fine_tuned_for)
                assign_huggingface_arrays(model, arrays, source=init_checkpoint)
                logger.info("%s loaded from fine-tuned Hugging Face folder %s", model_class.__name__, init_checkpoint)
                return model
            prefix = check_fine_tuned_checkpoint(model, init_checkpoint, fine_tuned_for)
            assign_checkpoint(model, prefix)
            logger.info("%s loaded from fine-tuned checkpoint %s", model_class.__name__, prefix)
            return model
        if init_checkpoint:
            model = model_class.from_pretrained(init_checkpoint, config=config, **model_kwargs)
            logger.info("%s initialized from %s", model_class.__name__, init_checkpoint)
            return model
        # Pretraining starts from random weights by design; a task model doing so is most likely a mistake.
        level = logging.INFO if model_class is BertPretrainer else logging.WARNING
        logger.log(level, "no --init_checkpoint: %s starts from random weights", model_class.__name__)
        return model_class(config, **model_kwargs)


def check_fine_tuned_checkpoint(model: keras.Model, init_checkpoint: str, task: outputs.TaskInfo) -> str:
    """Checks that `init_checkpoint` holds `model`'s task head, of `model`'s size, and that the `task_info.json`
    beside it, when there is one (a fine-tuning --output_dir), describes `task`: same kind of model, labels and
    casing. Returns the checkpoint prefix; ValueError naming the checkpoint and what differs."""
    prefix, folder = resolve_checkpoint(init_checkpoint)
    if os.path.isfile(os.path.join(folder, outputs.TASK_INFO_FILE)):
        _check_same_task(prefix, outputs.TaskInfo.read(folder), task)
    shapes = dict(tf.train.list_variables(prefix))
    head = [entry for entry in model_entries(model) if not entry.required]
    missing = [entry.name for entry in head if entry.name not in shapes]
    if missing:
        raise ValueError(f"--init_checkpoint {prefix} has no task head ({', '.join(missing)}): evaluating or "
                         f"predicting without --do_train needs a model fine-tuned for {task.task_name} (a "
                         "fine-tuning --output_dir), or add --do_train")
    for entry in head:
        expected = list(entry.file_shape)
        if list(shapes[entry.name]) != expected:
            raise ValueError(f"--init_checkpoint {prefix} has a task head of another size ({entry.name} "
                             f"{list(shapes[entry.name])}, {task.task_name} needs {expected}: "
                             f"{_outputs_described(task)}): it was fine-tuned for another task or label list")
    return prefix


def _check_same_task(prefix: str, recorded: outputs.TaskInfo, task: outputs.TaskInfo) -> None:
    source = f"--init_checkpoint {prefix} (see {outputs.TASK_INFO_FILE} beside it)"
    if recorded.task != task.task:
        raise ValueError(f"{source} is a {recorded.task} model, not a {task.task}")
    if (recorded.labels, recorded.is_regression) != (task.labels, task.is_regression):
        raise ValueError(f"{source} was fine-tuned for {recorded.task_name} with {_outputs_described(recorded)}, "
                         f"but {task.task_name} has {_outputs_described(task)}")
    if recorded.do_lower_case != task.do_lower_case:
        raise ValueError(f"--do_lower_case={task.do_lower_case} but {source} was fine-tuned with "
                         f"do_lower_case={recorded.do_lower_case}")


def _outputs_described(task: outputs.TaskInfo) -> str:
    if task.is_regression:
        return "one regression score"
    return f"{len(task.labels)} labels {list(task.labels)}" if task.labels else f"{task.num_outputs} outputs"


def start_fine_tuning(program: str, arguments: Mapping[str, Any], config: BertConfig,
                      data_files: Mapping[str, str | Sequence[str]],
                      neutral_flags: Iterable[str] = ()) -> tuple[tf.distribute.Strategy, bool]:
    """The start of every fine-tuning program, from its `arguments` (flags): precision, seed and strategy
    (`set_up_run`), the output folder (made by the chief only: under multi-worker training only the chief writes),
    and with `do_train` the check that a rerun resumes only the same run (`run_settings`, `data_files` and
    `neutral_flags` as there). Returns (strategy, whether this worker is the chief)."""
    strategy = set_up_run(arguments["strategy"], arguments["mixed_precision"], arguments["tpu"], arguments["seed"])
    chief = distribute.is_chief(strategy)
    if chief:
        os.makedirs(arguments["output_dir"], exist_ok=True)
    if arguments["do_train"]:
        resumable_fit.check_run_settings(
            arguments["output_dir"], run_settings(program, arguments, config, data_files, neutral_flags), write=chief)
    return strategy, chief


def run_settings(program: str, arguments: Mapping[str, Any], config: BertConfig,
                 data_files: Mapping[str, str | Sequence[str]], neutral_flags: Iterable[str] = ()) -> dict[str, Any]:
    """What defines a training run, for `resumable_fit.check_run_settings`: the program, its arguments (flags)
    but those in `RESUME_NEUTRAL_FLAGS` and `neutral_flags`, the BERT config, and `data_files` ({flag: the file(s)
    it names or stands for, e.g. {"data_dir": ".../train.tsv"}}) by content (`resumable_fit.file_fingerprint`)."""
    left_out = RESUME_NEUTRAL_FLAGS | set(neutral_flags) | set(data_files)
    return {"program": program,
            "flags": {name: value for name, value in arguments.items() if name not in left_out},
            "bert_config": config.to_dict(),
            "data_files": {name: resumable_fit.file_fingerprint(paths) for name, paths in data_files.items()}}


def num_train_steps(num_examples: int, train_batch_size: int, num_train_epochs: float) -> int:
    """The reference's `int(num_examples / train_batch_size * num_train_epochs)`, which must be positive."""
    steps = int(num_examples / train_batch_size * num_train_epochs)
    if steps < 1:
        raise ValueError(f"{num_examples} training examples at --train_batch_size {train_batch_size} and "
                         f"--num_train_epochs {num_train_epochs} make no training step")
    return steps


def compile_for_training(model: keras.Model, strategy: tf.distribute.Strategy, output_dir: str, *,
                         learning_rate: float, num_train_steps: int, num_warmup_steps: int,
                         optimizer_type: str = "adamw", loss: Any = None, loss_weights: Any = None,
                         jit_compile: bool = False, steps_per_execution: int = 1) -> int:
    """Compiles with `create_optimizer` (AdamWeightDecay or LAMB, warmup then linear decay) and restores the
    newest training checkpoint of `output_dir`, as the reference's Estimator resumes from its model_dir.

    Returns the optimizer step to train from: 0 on a fresh start.
    """
    with strategy.scope():
        optimizer = optimization.create_optimizer(learning_rate, num_train_steps, num_warmup_steps, optimizer_type)
        model.compile(optimizer=optimizer, loss=loss, loss_weights=loss_weights, jit_compile=jit_compile,
                      steps_per_execution=steps_per_execution)
    initial_step = resumable_fit.restore_for_resume(model, output_dir)
    if initial_step:
        logger.info("resuming from step %d of %s", initial_step, resumable_fit.latest_checkpoint(output_dir))
    return initial_step


@dataclasses.dataclass(frozen=True)
class TrainingRun:
    """What `train` leaves besides the trained model.

    Args:
        history: the per-epoch Keras logs, `{"epoch": [...], metric: [...]}` (an epoch is `save_checkpoints_steps`
            steps).
        step_logs: dicts of `step`, `learning_rate` and the losses/metrics every `log_every_steps` steps, each the
            mean over the steps since the previous one.
    """

    history: dict[str, list]
    step_logs: list[dict[str, float]]

    @property
    def last_metrics(self) -> dict[str, float]:
        """The last epoch's training metrics ({"loss": ...})."""
        return {name: float(values[-1]) for name, values in self.history.items() if name != "epoch" and values}


def train(model: keras.Model, dataset: Any, output_dir: str, *, num_train_steps: int, initial_step: int,
          save_checkpoints_steps: int, keep_checkpoint_max: int = 5, log_every_steps: int | None = None,
          steps_per_execution: int = 1, verbose: int | str = 2) -> TrainingRun:
    """Trains a model compiled by `compile_for_training` from `initial_step` to exactly `num_train_steps`
    optimizer steps over `dataset`, an endless stream of (inputs, labels) batches (repeat before batching, as the
    reference, so that every batch is full however small the data; shuffled already).

    Training checkpoints go to `output_dir/checkpoints` every `save_checkpoints_steps` steps and TensorBoard logs
    to `output_dir/logs/train` (see `keras_bert.training.resumable_fit`).
    """
    logger.info("training to step %d from step %d", num_train_steps, initial_step)
    callbacks = resumable_fit.training_callbacks(output_dir, save_checkpoints_steps, keep_checkpoint_max,
                                                 log_every_steps)
    with warnings.catch_warnings():
        # Token-level heads (SQuAD, tagging) leave the pooler unused, as in the reference: not a mistake.
        warnings.filterwarnings("ignore", message=r"Gradients do not exist for variables \['pooler/dense/kernel', "
                                r"'pooler/dense/bias'\]")
        history = resumable_fit.fit_steps(
            model, dataset, num_train_steps=num_train_steps, steps_per_loop=save_checkpoints_steps,
            initial_step=initial_step, callbacks=callbacks, steps_per_execution=steps_per_execution,
            verbose=verbose, shuffle=False)
    return TrainingRun(history, callbacks[-1].records)  # the StepLogger


def fine_tune(model: keras.Model, dataset: tf.data.Dataset, loss: Any, strategy: tf.distribute.Strategy,
              train_steps: int, learning_rate: float, warmup_proportion: float, output_dir: str,
              save_checkpoints_steps: int, loss_weights: Any = None, jit_compile: bool = False,
              steps_per_execution: int = 1) -> dict[str, float]:
    """A fine-tuning program's training: `compile_for_training` with the reference AdamWeightDecay warming up over
    `int(train_steps * warmup_proportion)` steps, then `train`. Returns the last epoch's training metrics."""
    num_warmup_steps = int(train_steps * warmup_proportion)
    logger.info("fine-tuning %d steps (%d warmup) at learning rate %g", train_steps, num_warmup_steps, learning_rate)
    initial_step = compile_for_training(
        model, strategy, output_dir, learning_rate=learning_rate, num_train_steps=train_steps,
        num_warmup_steps=num_warmup_steps, loss=loss, loss_weights=loss_weights, jit_compile=jit_compile,
        steps_per_execution=steps_per_execution)
    return train(model, dataset, output_dir, num_train_steps=train_steps, initial_step=initial_step,
                 save_checkpoints_steps=save_checkpoints_steps, steps_per_execution=steps_per_execution).last_metrics


def global_step(model: keras.Model) -> int:
    """Optimizer steps the model has taken (0 when it was only loaded, never compiled)."""
    optimizer = getattr(model, "optimizer", None)
    return int(optimizer.iterations.numpy()) if optimizer is not None else 0


def save_task_outputs(model: keras.Model, output_dir: str, vocab_file: str, task_info: outputs.TaskInfo,
                      save_huggingface: bool = False) -> dict[str, str]:
    """Writes a fine-tuned task model's files (see the module docstring), with `save_huggingface` also as a
    Hugging Face folder `output_dir/huggingface` (labels as `id2label`); returns their paths by key:
    "checkpoint", "model_file", "vocab_file", "task_info_file" (and "huggingface_dir")."""
    os.makedirs(output_dir, exist_ok=True)
    paths = {
        "checkpoint": save_google_checkpoint(model, os.path.join(output_dir, outputs.CHECKPOINT_PREFIX)),
        "model_file": os.path.join(output_dir, outputs.MODEL_FILE),
        "vocab_file": os.path.join(output_dir, outputs.VOCAB_FILE),
    }
    _inference_copy(model).save(paths["model_file"])
    if os.path.abspath(vocab_file) != os.path.abspath(paths["vocab_file"]):
        shutil.copyfile(vocab_file, paths["vocab_file"])
    paths["task_info_file"] = task_info.write(output_dir)
    if save_huggingface:
        paths["huggingface_dir"] = save_huggingface_checkpoint(
            model, os.path.join(output_dir, outputs.HUGGINGFACE_DIR), vocab_file, task_info.do_lower_case,
            task_info.labels or None, **{key: value for key, value in task_info.tokenizer_options.items()
                                         if key in ("strip_accents", "tokenize_chinese_chars")})
        logger.info("wrote the %s as a Hugging Face folder %s", type(model).__name__, paths["huggingface_dir"])
    return paths


def _inference_copy(model: keras.Model) -> keras.Model:
    """The model with its weights but no compile state, so that `model.keras` loads in any process that
    imports keras_bert (the optimizer's state is in the training checkpoints, not needed to serve)."""
    copy = type(model).from_config(model.get_config())
    copy.set_weights(model.get_weights())
    return copy
