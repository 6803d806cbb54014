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
from typing import Any

import tensorflow as tf

from keras_bert import cli
from keras_bert.checkpoints.google import save_google_checkpoint
from keras_bert.data.pretraining import dynamic_masking as raw_text_data  # the name dynamic_masking is the flag's
from keras_bert.data.pretraining import records as pretraining_records
from keras_bert.data.pretraining.instances import PretrainingDataOptions
from keras_bert.files import expand_file_patterns, name_files
from keras_bert.models.pretrainer import BertPretrainer
from keras_bert.training import distribute, model_inputs, outputs, resumable_fit, task_runner
from keras_bert.training.model_inputs import is_huggingface_checkpoint
from keras_bert.training.optimization import OPTIMIZER_TYPES

logger = logging.getLogger(__name__)


def _check_arguments(args: dict[str, Any]) -> None:
    """ValueError naming the flag of a value that would fail, hang or train garbage once work has started."""
    if not (args["do_train"] or args["do_eval"]):
        raise ValueError("at least one of --do_train or --do_eval must be True")
    if not args["output_dir"]:
        raise ValueError("--output_dir is required")
    if args["dynamic_masking"]:
        if not args["raw_text_files"] or not (args["vocab_file"] or is_huggingface_checkpoint(args["init_checkpoint"])):
            raise ValueError("--dynamic_masking needs --raw_text_files and --vocab_file (or a Hugging Face "
                             "--init_checkpoint, which has its vocab.txt)")
    elif not args["input_file"]:
        raise ValueError("--input_file (pretraining TFRecords) is required unless --dynamic_masking is set")
    for name in ("train_batch_size", "eval_batch_size", "num_train_steps", "save_checkpoints_steps",
                 "max_seq_length", "max_predictions_per_seq", "steps_per_execution", "max_eval_steps",
                 "keep_checkpoint_max"):
        if args[name] < 1:
            raise ValueError(f"--{name} must be >= 1, got {args[name]}")
    if args["log_every_steps"] is not None and args["log_every_steps"] < 1:
        raise ValueError(f"--log_every_steps must be >= 1, got {args['log_every_steps']}")
    if args["num_warmup_steps"] < 0:
        raise ValueError(f"--num_warmup_steps must be >= 0, got {args['num_warmup_steps']}")
    if not args["learning_rate"] > 0:
        raise ValueError(f"--learning_rate must be > 0, got {args['learning_rate']}")
    if args["dynamic_masking"]:  # the instance flags are checked where the generator checks them
        PretrainingDataOptions(max_seq_length=args["max_seq_length"],
                               max_predictions_per_seq=args["max_predictions_per_seq"],
                               masked_lm_prob=args["masked_lm_prob"], random_seed=args["random_seed"])


def _check_input_records(args: dict[str, Any]) -> None:
    """Reads the first records of --input_file: it must hold some (or nothing would train, or evaluation
    report nothing) and, to evaluate on TPUs (full batches only), a batch of --eval_batch_size."""
    if args["dynamic_masking"]:
        return  # the raw text is checked when it is tokenized and batched
    batch_needed = args["do_eval"] and _static_batches(args)
    wanted = args["eval_batch_size"] if batch_needed else 1
    found = pretraining_records.count_records(args["input_file"], args["max_seq_length"],
                                              args["max_predictions_per_seq"], limit=wanted)
    if found == 0:
        files = expand_file_patterns(args["input_file"])
        raise ValueError(f"--input_file {args['input_file']!r} holds no records (files: "
                         f"{name_files(files)})")
    if found < wanted:
        raise ValueError(f"--input_file {args['input_file']!r} holds {found} records, fewer than one "
                         f"--eval_batch_size of {wanted}: --strategy=tpu evaluates full batches only (static "
                         "shapes); use a smaller --eval_batch_size or more records")


def _set_up_with_checked_input(args: dict[str, Any]) -> tf.distribute.Strategy:
    """The run's strategy, with --input_file checked before it where possible (a TPU is not even connected to
    for an eval set too small for it), but after it under multi_worker, whose collective ops must be set up
    before TensorFlow runs any op."""
    if args["strategy"] == "multi_worker":
        distribution = task_runner.set_up_run(args["strategy"], args["mixed_precision"], args["tpu"])
        _check_input_records(args)
        return distribution
    _check_input_records(args)
    return task_runner.set_up_run(args["strategy"], args["mixed_precision"], args["tpu"])


def _static_batches(args: dict[str, Any]) -> bool:
    """Whether evaluation too must drop a last partial batch: TPUs compile for one batch shape. Elsewhere
    every eval record counts, as in the reference's classifier off TPUs."""
    return args["strategy"] == "tpu"


def _dataset_function(args: dict[str, Any], is_training: bool, corpus):
    """`dataset_fn(input_context)` for `strategy.distribute_datasets_from_function`."""
    batch_size = args["train_batch_size"] if is_training else args["eval_batch_size"]
    drop_remainder = is_training or _static_batches(args)

    def dataset_fn(input_context: tf.distribute.InputContext) -> tf.data.Dataset:
        if args["dynamic_masking"]:
            return raw_text_data.dynamic_masking_dataset(
                args["raw_text_files"], args["vocab_file"], batch_size, args["max_seq_length"],
                args["max_predictions_per_seq"], is_training=is_training, do_lower_case=args["do_lower_case"],
                do_whole_word_mask=args["do_whole_word_mask"], masked_lm_prob=args["masked_lm_prob"],
                seed=args["random_seed"], input_context=input_context, corpus=corpus, drop_remainder=drop_remainder)
        return pretraining_records.pretraining_dataset(
            args["input_file"], batch_size, args["max_seq_length"], args["max_predictions_per_seq"],
            is_training=is_training, input_context=input_context, drop_remainder=drop_remainder)

    return dataset_fn


def _naming_bad_record_files(args: dict[str, Any]):
    """Turns a TFRecord data error during fit/evaluate into one naming the bad file."""
    if args["dynamic_masking"]:
        return contextlib.nullcontext()
    return pretraining_records.naming_bad_record_files(args["input_file"], args["max_seq_length"],
                                                       args["max_predictions_per_seq"])


@cli.checks_arguments
@task_runner.restores_dtype_policy
def run_pretraining(
    output_dir: str,
    bert_config_file: str | None = None,
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
    do_lower_case: bool | None = None,
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
    """The program as a Python call; arguments are named like the flags. `init_checkpoint` is a Google checkpoint
    or a Hugging Face folder, which fills in `bert_config_file`, `vocab_file` and `do_lower_case` when they are None.

    Returns a dict: `output_dir`; `global_step` (optimizer steps done); `initial_step` (the step a
    resumed run started from, 0 for a fresh one); `history` (per-epoch Keras logs, an epoch being
    `save_checkpoints_steps` steps); `step_logs` (list of dicts with `step`, `learning_rate`, `loss`,
    `masked_lm_loss`, ... every `log_every_steps`, means over the steps since the previous entry);
    `google_checkpoint` (prefix of the final Google-format checkpoint, or None); `eval_results`
    (dict, with `--do_eval`); `model` (the trained `BertPretrainer`).
    """
    args = dict(locals())
    _check_arguments(args)
    distribution = _set_up_with_checked_input(args)
    inputs = model_inputs.resolve_model_inputs(init_checkpoint, bert_config_file, vocab_file, do_lower_case,
                                               max_seq_length, tokenizes_text=dynamic_masking)
    config, vocab_file, do_lower_case = inputs.config, inputs.vocab_file, inputs.do_lower_case
    args.update(vocab_file=vocab_file, do_lower_case=do_lower_case)  # what the datasets and run settings use
    corpus = raw_text_data.tokenize_raw_text(raw_text_files, vocab_file, do_lower_case) if dynamic_masking else None
    # The datasets come before the model, so that their errors (too little text for a batch) come before any work.
    train_data = (distribution.distribute_datasets_from_function(_dataset_function(args, True, corpus))
                  if do_train else None)
    eval_data = (distribution.distribute_datasets_from_function(_dataset_function(args, False, corpus))
                 if do_eval else None)
    chief = distribute.is_chief(distribution)  # under multi-worker training only the chief writes outputs
    if chief:
        tf.io.gfile.makedirs(output_dir)
    if do_train:  # a rerun resumes only the same run (same flags, config and data)
        data_files = ({"raw_text_files": expand_file_patterns(raw_text_files), "vocab_file": vocab_file}
                      if dynamic_masking else {"input_file": expand_file_patterns(input_file)})
        resumable_fit.check_run_settings(
            output_dir, task_runner.run_settings("run_pretraining", args, config, data_files), write=chief)

    model = task_runner.build_model(BertPretrainer, config, init_checkpoint, distribution)
    initial_step = task_runner.compile_for_training(
        model, distribution, output_dir, learning_rate=learning_rate, num_train_steps=num_train_steps,
        num_warmup_steps=num_warmup_steps, optimizer_type=optimizer, jit_compile=jit_compile,
        steps_per_execution=steps_per_execution)

    result: dict[str, Any] = {"output_dir": output_dir, "initial_step": initial_step, "history": {},
                              "step_logs": [], "google_checkpoint": None, "model": model}
    if do_train:
        with _naming_bad_record_files(args):
            run = task_runner.train(
                model, train_data, output_dir, num_train_steps=num_train_steps, initial_step=initial_step,
                save_checkpoints_steps=save_checkpoints_steps, keep_checkpoint_max=keep_checkpoint_max,
                log_every_steps=log_every_steps, steps_per_execution=steps_per_execution, verbose=verbose)
        result["history"], result["step_logs"] = run.history, run.step_logs
        if chief:
            result["google_checkpoint"] = save_google_checkpoint(
                model, os.path.join(output_dir, outputs.CHECKPOINT_PREFIX))
            logger.info("wrote Google-format checkpoint %s", result["google_checkpoint"])
    result["global_step"] = task_runner.global_step(model)

    if do_eval:
        with _naming_bad_record_files(args):
            metrics = model.evaluate(eval_data, steps=max_eval_steps, return_dict=True, verbose=0)
        eval_results = {"global_step": result["global_step"], **{k: float(v) for k, v in metrics.items()}}
        result["eval_results"] = eval_results
        logger.info("eval results: %s", eval_results)
        if chief:
            outputs.write_eval_results(os.path.join(output_dir, outputs.EVAL_RESULTS_FILE), eval_results)
    return result


def _define_flags() -> None:
    cli.define_flags(run_pretraining, {
        "bert_config_file": "bert_config.json of the model to pretrain (default: config.json of a Hugging Face "
                            "--init_checkpoint).",
        "input_file": "Pretraining TFRecords (comma-separated globs).",
        "output_dir": "Where checkpoints, logs and results are written.",
        "init_checkpoint": "Checkpoint to start from: Google format (prefix or release folder) or a Hugging Face "
                           "folder (config.json, weights, vocab.txt, tokenizer_config.json).",
        "max_seq_length": "Sequence length of the records (padded).",
        "max_predictions_per_seq": "Masked-LM predictions per sequence (records' length).",
        "do_train": "Whether to run training.",
        "do_eval": "Whether to run eval on the dev set.",
        "train_batch_size": "Total batch size for training.",
        "eval_batch_size": "Total batch size for eval.",
        "learning_rate": "The initial learning rate.",
        "num_train_steps": "Number of training steps.",
        "num_warmup_steps": "Number of warmup steps.",
        "save_checkpoints_steps": "How often to save the model checkpoint.",
        "iterations_per_loop": "Accepted for compatibility; see --steps_per_execution.",
        "max_eval_steps": "Maximum number of eval steps.",
        "keep_checkpoint_max": "Training checkpoints to keep.",
        "optimizer": "adamw (the reference's) or lamb.",
        "dynamic_masking": "Mask --raw_text_files on the fly (new masks every epoch).",
        "raw_text_files": "Raw text for --dynamic_masking (comma-separated globs).",
        "vocab_file": "Vocabulary; checked against vocab_size of --bert_config_file (default: vocab.txt of a "
                      "Hugging Face --init_checkpoint).",
        "do_lower_case": "--dynamic_masking: " + cli.MODEL_FLAGS["do_lower_case"],
        "do_whole_word_mask": "--dynamic_masking: mask whole words.",
        "masked_lm_prob": "--dynamic_masking: masked LM probability.",
        "random_seed": "--dynamic_masking: seed of pairs and masks.",
        "log_every_steps": "TensorBoard logging interval (default min(100, save_checkpoints_steps)).",
    }, enums={"optimizer": OPTIMIZER_TYPES})
    cli.define_distribution_flags(run_pretraining)


def main() -> None:
    """The `bert-run-pretraining` command (`python pretraining/run_pretraining.py`)."""
    cli.run_program(run_pretraining, _define_flags)


if __name__ == "__main__":
    main()
