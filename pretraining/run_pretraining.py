"""google-research/bert `run_pretraining.py` on Keras `model.fit`, under any `tf.distribute` strategy.

Same flags and outputs as the reference (masked-LM + next-sentence loss, `eval_results.txt`), plus:
`--strategy {default,mirrored,multi_worker,tpu}` and `--tpu`, `--mixed_precision {none,bf16,fp16}`,
`--jit_compile`, `--steps_per_execution`, `--optimizer {adamw,lamb}`, `--keep_checkpoint_max`, and
`--dynamic_masking` with `--raw_text_files`/`--vocab_file` to mask raw text on the fly instead of
reading records.

Writes to `--output_dir`: `checkpoints/ckpt-<step>` every `--save_checkpoints_steps` (training state
for resuming: rerun the same command after a crash), `logs/train` (TensorBoard), at the end of
training `bert_model.ckpt.*` + `bert_config.json` (Google format, loadable by the reference and by
`BertPretrainer.from_google_checkpoint`), and with `--do_eval` `eval_results.txt`.

  python pretraining/run_pretraining.py --input_file='data/*.tfrecord' --output_dir=out \
    --bert_config_file=bert_config.json --do_train --do_eval --train_batch_size=32 \
    --max_seq_length=128 --max_predictions_per_seq=20 --num_train_steps=10000 \
    --num_warmup_steps=1000 --learning_rate=1e-4
"""
from __future__ import annotations

import contextlib
import logging
import os
import sys
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import tensorflow as tf

from keras_bert import cli as programs
from keras_bert.checkpoints import google as checkpoints
from keras_bert.config import BertConfig
from keras_bert.data.pretraining import dynamic_masking as raw_text_data  # the name dynamic_masking is the flag's
from keras_bert.data.pretraining import records as pretraining_records
from keras_bert.models.task_models import BertPretrainer
from keras_bert.tokenization.tokenizer import load_vocab
from keras_bert.training import distribute, outputs
from keras_bert.training import resumable_fit as training
from keras_bert.training.optimization import OPTIMIZER_TYPES, create_optimizer

logger = logging.getLogger(__name__)

EVAL_RESULTS_FILE = "eval_results.txt"
GOOGLE_CHECKPOINT = "bert_model.ckpt"


def _check_arguments(args: dict[str, Any]) -> None:
    if not (args["do_train"] or args["do_eval"]):
        raise ValueError("at least one of --do_train or --do_eval must be True")
    if not args["output_dir"]:
        raise ValueError("--output_dir is required")
    if args["dynamic_masking"]:
        if not args["raw_text_files"] or not args["vocab_file"]:
            raise ValueError("--dynamic_masking needs --raw_text_files and --vocab_file")
    elif not args["input_file"]:
        raise ValueError("--input_file (pretraining TFRecords) is required unless --dynamic_masking is set")
    for name in ("train_batch_size", "eval_batch_size", "num_train_steps", "save_checkpoints_steps",
                 "max_seq_length", "max_predictions_per_seq", "steps_per_execution"):
        if args[name] < 1:
            raise ValueError(f"--{name} must be >= 1, got {args[name]}")


def _load_config(bert_config_file: str, vocab_file: str | None, max_seq_length: int) -> BertConfig:
    if not bert_config_file or not os.path.exists(bert_config_file):
        raise FileNotFoundError(f"--bert_config_file not found: {bert_config_file}")
    config = BertConfig.from_json_file(bert_config_file)
    if max_seq_length > config.max_position_embeddings:
        raise ValueError(f"--max_seq_length {max_seq_length} exceeds max_position_embeddings "
                         f"{config.max_position_embeddings} of {bert_config_file}")
    if vocab_file:
        vocab_size = len(load_vocab(vocab_file))
        if vocab_size != config.vocab_size:
            raise ValueError(f"--vocab_file {vocab_file} has {vocab_size} tokens but vocab_size in "
                             f"--bert_config_file {bert_config_file} is {config.vocab_size}")
    return config


def _dataset_function(args: dict[str, Any], is_training: bool, corpus):
    """`dataset_fn(input_context)` for `strategy.distribute_datasets_from_function`."""
    batch_size = args["train_batch_size"] if is_training else args["eval_batch_size"]

    def dataset_fn(input_context: tf.distribute.InputContext) -> tf.data.Dataset:
        if args["dynamic_masking"]:
            return raw_text_data.dynamic_masking_dataset(
                args["raw_text_files"], args["vocab_file"], batch_size, args["max_seq_length"],
                args["max_predictions_per_seq"], is_training=is_training, do_lower_case=args["do_lower_case"],
                do_whole_word_mask=args["do_whole_word_mask"], masked_lm_prob=args["masked_lm_prob"],
                seed=args["random_seed"], input_context=input_context, corpus=corpus)
        return pretraining_records.pretraining_dataset(
            args["input_file"], batch_size, args["max_seq_length"], args["max_predictions_per_seq"],
            is_training=is_training, input_context=input_context)

    return dataset_fn


def _naming_bad_record_files(args: dict[str, Any]):
    """Turns a TFRecord data error during fit/evaluate into one naming the bad file."""
    if args["dynamic_masking"]:
        return contextlib.nullcontext()
    return pretraining_records.naming_bad_record_files(args["input_file"], args["max_seq_length"],
                                                       args["max_predictions_per_seq"])


def run_pretraining(
    output_dir: str,
    bert_config_file: str,
    input_file: str | None = None,
    init_checkpoint: str | None = None,
    max_seq_length: int = 128,
    max_predictions_per_seq: int = 20,
    do_train: bool = False,
    do_eval: bool = False,
    train_batch_size: int = 32,
    eval_batch_size: int = 8,
    learning_rate: float = 5e-5,
    num_train_steps: int = 100000,
    num_warmup_steps: int = 10000,
    save_checkpoints_steps: int = 1000,
    iterations_per_loop: int = 1000,
    max_eval_steps: int = 100,
    keep_checkpoint_max: int = 5,
    optimizer: str = "adamw",
    dynamic_masking: bool = False,
    raw_text_files: str | None = None,
    vocab_file: str | None = None,
    do_lower_case: bool = True,
    do_whole_word_mask: bool = False,
    masked_lm_prob: float = 0.15,
    random_seed: int = 12345,
    strategy: str = "default",
    tpu: str | None = None,
    mixed_precision: str = "none",
    jit_compile: bool = False,
    steps_per_execution: int = 1,
    log_every_steps: int | None = None,
    verbose: int = 2,
) -> dict[str, Any]:
    """The program as a Python call; arguments are named like the flags.

    Returns a dict: `output_dir`; `global_step` (optimizer steps done); `initial_step` (the step a
    resumed run started from, 0 for a fresh one); `history` (per-epoch Keras logs, an epoch being
    `save_checkpoints_steps` steps); `step_logs` (list of dicts with `step`, `learning_rate`, `loss`,
    `masked_lm_loss`, ... every `log_every_steps`, means over the steps since the previous entry);
    `google_checkpoint` (prefix of the final Google-format checkpoint, or None); `eval_results`
    (dict, with `--do_eval`); `model` (the trained `BertPretrainer`).
    """
    args = dict(locals())
    _check_arguments(args)
    distribute.set_mixed_precision(mixed_precision)
    strategy_object = distribute.create_strategy(strategy, tpu=tpu)
    config = _load_config(bert_config_file, vocab_file, max_seq_length)
    corpus = raw_text_data.tokenize_raw_text(raw_text_files, vocab_file, do_lower_case) if dynamic_masking else None
    chief = distribute.is_chief(strategy_object)
    if chief:
        tf.io.gfile.makedirs(output_dir)

    with strategy_object.scope():
        model = BertPretrainer(config)
        if init_checkpoint:
            prefix, _ = checkpoints.resolve_checkpoint(init_checkpoint)
            checkpoints.assign_checkpoint(model, prefix)
            logger.info("initialized from Google checkpoint %s", prefix)
        model.compile(optimizer=create_optimizer(learning_rate, num_train_steps, num_warmup_steps, optimizer),
                      jit_compile=jit_compile, steps_per_execution=steps_per_execution)
        initial_step = training.restore_for_resume(model, output_dir)
    if initial_step:
        logger.info("resuming from %s at step %d", training.latest_checkpoint(output_dir), initial_step)

    result: dict[str, Any] = {"output_dir": output_dir, "initial_step": initial_step, "history": {},
                              "step_logs": [], "google_checkpoint": None, "model": model}
    if do_train:
        callbacks = training.training_callbacks(output_dir, save_checkpoints_steps, keep_checkpoint_max,
                                                log_every_steps)
        train_data = strategy_object.distribute_datasets_from_function(_dataset_function(args, True, corpus))
        with _naming_bad_record_files(args):
            result["history"] = training.fit_steps(
                model, train_data, num_train_steps=num_train_steps, steps_per_loop=save_checkpoints_steps,
                initial_step=initial_step, callbacks=callbacks, steps_per_execution=steps_per_execution,
                verbose=verbose)
        result["step_logs"] = callbacks[1].records
        if chief:
            result["google_checkpoint"] = checkpoints.save_google_checkpoint(
                model, os.path.join(output_dir, GOOGLE_CHECKPOINT))
            logger.info("wrote Google-format checkpoint %s", result["google_checkpoint"])
    result["global_step"] = int(model.optimizer.iterations.numpy())

    if do_eval:
        eval_data = strategy_object.distribute_datasets_from_function(_dataset_function(args, False, corpus))
        with _naming_bad_record_files(args):
            metrics = model.evaluate(eval_data, steps=max_eval_steps, return_dict=True, verbose=0)
        eval_results = {"global_step": result["global_step"], **{k: float(v) for k, v in metrics.items()}}
        result["eval_results"] = eval_results
        if chief:
            outputs.write_eval_results(os.path.join(output_dir, EVAL_RESULTS_FILE), eval_results)
        logger.info("eval results: %s", eval_results)
    return result


def _define_flags() -> None:
    from absl import flags

    flags.DEFINE_string("bert_config_file", None, "bert_config.json of the model to pretrain.")
    flags.DEFINE_string("input_file", None, "Pretraining TFRecords (comma-separated globs).")
    flags.DEFINE_string("output_dir", None, "Where checkpoints, logs and results are written.")
    flags.DEFINE_string("init_checkpoint", None, "Google-format checkpoint (prefix or release folder) to start from.")
    flags.DEFINE_integer("max_seq_length", 128, "Sequence length of the records (padded).")
    flags.DEFINE_integer("max_predictions_per_seq", 20, "Masked-LM predictions per sequence (records' length).")
    flags.DEFINE_bool("do_train", False, "Whether to run training.")
    flags.DEFINE_bool("do_eval", False, "Whether to run eval on the dev set.")
    flags.DEFINE_integer("train_batch_size", 32, "Total batch size for training.")
    flags.DEFINE_integer("eval_batch_size", 8, "Total batch size for eval.")
    flags.DEFINE_float("learning_rate", 5e-5, "The initial learning rate.")
    flags.DEFINE_integer("num_train_steps", 100000, "Number of training steps.")
    flags.DEFINE_integer("num_warmup_steps", 10000, "Number of warmup steps.")
    flags.DEFINE_integer("save_checkpoints_steps", 1000, "How often to save the model checkpoint.")
    flags.DEFINE_integer("iterations_per_loop", 1000, "Accepted for compatibility; see --steps_per_execution.")
    flags.DEFINE_integer("max_eval_steps", 100, "Maximum number of eval steps.")
    flags.DEFINE_integer("keep_checkpoint_max", 5, "Training checkpoints to keep.")
    flags.DEFINE_enum("optimizer", "adamw", list(OPTIMIZER_TYPES), "adamw (the reference's) or lamb.")
    flags.DEFINE_bool("dynamic_masking", False, "Mask --raw_text_files on the fly (new masks every epoch).")
    flags.DEFINE_string("raw_text_files", None, "Raw text for --dynamic_masking (comma-separated globs).")
    flags.DEFINE_string("vocab_file", None, "Vocabulary; checked against vocab_size of --bert_config_file.")
    flags.DEFINE_bool("do_lower_case", True, "--dynamic_masking: lower-case the text (uncased models).")
    flags.DEFINE_bool("do_whole_word_mask", False, "--dynamic_masking: mask whole words.")
    flags.DEFINE_float("masked_lm_prob", 0.15, "--dynamic_masking: masked LM probability.")
    flags.DEFINE_integer("random_seed", 12345, "--dynamic_masking: seed of pairs and masks.")
    flags.DEFINE_integer("log_every_steps", None, "TensorBoard logging interval (default min(100, "
                         "save_checkpoints_steps)).")
    distribute.define_distribution_flags()
    flags.mark_flags_as_required(["bert_config_file", "output_dir"])


if __name__ == "__main__":
    programs.run_program(run_pretraining, _define_flags)
