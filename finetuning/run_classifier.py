"""BERT fine-tuning for sentence (pair) classification and regression: google-research/bert `run_classifier.py`
on Keras `model.fit`, with the same flags and outputs.

Tasks (`--task_name`): every GLUE task (cola, sst-2, mrpc, sts-b (regression), qqp, mnli, mnli-mm, qnli, rte,
wnli) and xnli in their original file layouts, and `generic` for your own csv/tsv/jsonl files with named
columns (`--text_a_column`, `--text_b_column`, `--label_column`, `--label_list`, `--is_regression`).

Writes to `--output_dir`: `eval_results.txt` (`key = value`), `test_results.tsv` (one row per test example:
class probabilities, tab-separated, or the predicted score for regression), and after training the task
model as `bert_model.ckpt.*` + `bert_config.json`, `model.keras`, `vocab.txt` and `task_info.json` (with
`pair_input`: whether the task takes text pairs).

  python finetuning/run_classifier.py --task_name=sst-2 --data_dir=glue/SST-2 --vocab_file=vocab.txt \
    --bert_config_file=bert_config.json --init_checkpoint=bert_model.ckpt --do_train --do_eval \
    --output_dir=/tmp/sst2
"""
from __future__ import annotations

import logging
import os
import sys
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import keras
import numpy as np
import tensorflow as tf

from keras_bert import cli as programs
from keras_bert.data.classification.dataset import classification_dataset
from keras_bert.data.classification.generic import GenericTask
from keras_bert.data.classification.glue import InputExample, get_task
from keras_bert.data.classification.metrics import classification_metrics
from keras_bert.models.task_models import BertClassifier
from keras_bert.tokenization.tokenizer import BertPreprocessor, check_case_matches_checkpoint
from keras_bert.training import distribute, outputs
from keras_bert.training import task_runner as finetuning

logger = logging.getLogger(__name__)

GENERIC_TASK = "generic"
EVAL_RESULTS_FILE = "eval_results.txt"
TEST_RESULTS_FILE = "test_results.tsv"


def make_task(task_name: str, text_a_column: str | None = None, text_b_column: str | None = None,
              label_column: str | None = None, label_list: str | None = None, is_regression: bool = False):
    """A GLUE/XNLI task by name, or `GenericTask` over named columns for `--task_name generic`."""
    if task_name.lower() != GENERIC_TASK:
        return get_task(task_name)
    if not text_a_column or not label_column:
        raise ValueError("--task_name generic needs --text_a_column and --label_column")
    labels = [x.strip() for x in label_list.split(",")] if label_list else None
    return GenericTask(text_a_column, label_column, text_b_column or None, labels, is_regression)


def _with_label_dict(dataset: tf.data.Dataset, is_regression: bool) -> tf.data.Dataset:
    """(inputs, labels [batch]) → (inputs, {"logits": labels}); regression scores become [batch, 1]."""
    return dataset.map(lambda x, y: (x, {"logits": y[:, None] if is_regression else y}))


def _eval_loss(labels: np.ndarray, logits: np.ndarray, is_regression: bool) -> float:
    """Mean per-example loss of the dev set, the loss `model.fit` minimises."""
    if is_regression:
        return float(np.mean((logits[:, 0] - labels) ** 2))
    log_probs = logits - np.logaddexp.reduce(logits, axis=-1, keepdims=True)
    return float(-np.mean(log_probs[np.arange(len(labels)), labels]))


def _softmax(logits: np.ndarray) -> np.ndarray:
    exp = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return exp / exp.sum(axis=-1, keepdims=True)


@finetuning.restores_dtype_policy
def run_classifier(task_name: str, data_dir: str, vocab_file: str, bert_config_file: str, output_dir: str,
                   init_checkpoint: str | None = None, do_lower_case: bool = True, max_seq_length: int = 128,
                   do_train: bool = False, do_eval: bool = False, do_predict: bool = False,
                   train_batch_size: int = 32, eval_batch_size: int = 8, predict_batch_size: int = 8,
                   learning_rate: float = 5e-5, num_train_epochs: float = 3.0, warmup_proportion: float = 0.1,
                   save_checkpoints_steps: int = 1000, text_a_column: str | None = None,
                   text_b_column: str | None = None, label_column: str | None = None,
                   label_list: str | None = None, is_regression: bool = False, strategy: str = "default",
                   tpu: str | None = None, mixed_precision: str = "none", jit_compile: bool = False,
                   steps_per_execution: int = 1, seed: int | None = None) -> dict[str, Any]:
    """Trains, evaluates and/or predicts as the reference's `run_classifier.py` (arguments = its flags).

    Returns {"eval": {metric: value} (do_eval), "train": last training metrics (do_train), and the paths
    written: "eval_results_file", "test_results_file", "checkpoint", "model_file", "vocab_file",
    "task_info_file"}.
    """
    if not (do_train or do_eval or do_predict):
        raise ValueError("At least one of `do_train`, `do_eval` or `do_predict` must be True.")
    if not do_train and not init_checkpoint:
        raise ValueError("--do_eval/--do_predict without --do_train need --init_checkpoint (a fine-tuned model)")
    check_case_matches_checkpoint(do_lower_case, init_checkpoint)
    config = finetuning.load_bert_config(bert_config_file, max_seq_length)
    task = make_task(task_name, text_a_column, text_b_column, label_column, label_list, is_regression)
    os.makedirs(output_dir, exist_ok=True)
    train_examples = task.get_train_examples(data_dir) if do_train else None
    labels = task.get_labels()  # generic tasks learn theirs from the training file
    if not task.is_regression and not labels:
        raise ValueError(f"task {task_name!r} has no labels")
    num_classes = 1 if task.is_regression else len(labels)

    distribution = finetuning.set_up_run(strategy, mixed_precision, tpu, seed)
    preprocessor = BertPreprocessor(vocab_file, do_lower_case, max_seq_length)
    model = finetuning.build_task_model(BertClassifier, config, init_checkpoint, distribution,
                                        num_classes=num_classes)

    def dataset(examples: list[InputExample], batch_size: int, training: bool = False) -> tf.data.Dataset:
        return classification_dataset(examples, preprocessor, labels, task.is_regression, batch_size,
                                      shuffle=training, seed=seed, drop_remainder=training, repeat=training)

    result: dict[str, Any] = {"output_dir": output_dir}
    if do_train:
        steps = finetuning.num_train_steps(len(train_examples), train_batch_size, num_train_epochs)
        logger.info("%d training examples, batch size %d, %d steps", len(train_examples), train_batch_size, steps)
        loss = keras.losses.MeanSquaredError() if task.is_regression else \
            keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        result["train"] = finetuning.train(
            model, _with_label_dict(dataset(train_examples, train_batch_size, training=True), task.is_regression),
            {"logits": loss}, distribution, steps, learning_rate, warmup_proportion, output_dir,
            save_checkpoints_steps, jit_compile=jit_compile, steps_per_execution=steps_per_execution)
        task_info = {"task": "classifier", "task_name": task_name, "labels": labels,
                     "is_regression": task.is_regression, "do_lower_case": do_lower_case,
                     "max_seq_length": max_seq_length, "pair_input": train_examples[0].text_b is not None}
        result.update(finetuning.save_task_outputs(model, output_dir, vocab_file, task_info))

    if do_eval:
        examples = task.get_dev_examples(data_dir)
        logits = model.predict(dataset(examples, eval_batch_size), verbose=0)["logits"].astype(np.float64)
        gold = np.array([float(ex.label) for ex in examples]) if task.is_regression else \
            np.array([labels.index(ex.label) for ex in examples])
        predicted = logits[:, 0] if task.is_regression else logits.argmax(axis=-1)
        metric_task = task.name if task.name != "generic" else ("regression" if task.is_regression
                                                                 else "classification")
        metrics = {f"eval_{k}": v for k, v in classification_metrics(metric_task, gold, predicted).items()}
        metrics["eval_loss"] = _eval_loss(gold, logits, task.is_regression)
        metrics["loss"] = metrics["eval_loss"]  # the reference's Estimator reports the mean loss twice
        metrics["global_step"] = finetuning.global_step(model)
        result["eval"] = metrics
        result["eval_results_file"] = os.path.join(output_dir, EVAL_RESULTS_FILE)
        outputs.write_eval_results(result["eval_results_file"], metrics)
        logger.info("eval results: %s", metrics)

    if do_predict:
        examples = task.get_test_examples(data_dir)
        unlabelled = [InputExample(ex.guid, ex.text_a, ex.text_b) for ex in examples]
        logits = model.predict(dataset(unlabelled, predict_batch_size), verbose=0)["logits"].astype(np.float64)
        rows = logits if task.is_regression else _softmax(logits)
        result["test_results_file"] = os.path.join(output_dir, TEST_RESULTS_FILE)
        with open(result["test_results_file"], "w", encoding="utf-8") as f:
            for row in rows:
                f.write("\t".join(str(float(x)) for x in row) + "\n")
        logger.info("wrote %d test predictions to %s", len(rows), result["test_results_file"])
    return result


def _define_flags() -> None:
    from absl import flags

    defaults = programs.parameter_defaults(run_classifier)
    flags.DEFINE_string("task_name", None, "The task: a GLUE task, xnli, or generic.")
    flags.DEFINE_string("data_dir", None, "Folder of the task's train/dev/test files.")
    flags.DEFINE_bool("do_eval", defaults["do_eval"], "Whether to run eval on the dev set.")
    flags.DEFINE_integer("eval_batch_size", defaults["eval_batch_size"], "Batch size for eval.")
    flags.DEFINE_string("text_a_column", None, "generic task: column of the first text.")
    flags.DEFINE_string("text_b_column", None, "generic task: column of the second text (pair tasks).")
    flags.DEFINE_string("label_column", None, "generic task: column of the label.")
    flags.DEFINE_string("label_list", None, "generic task: comma-separated class names in id order "
                        "(default: the sorted labels of the training file).")
    flags.DEFINE_bool("is_regression", defaults["is_regression"], "generic task: labels are numbers.")
    finetuning.define_model_flags(defaults)
    flags.adopt_module_key_flags(finetuning)  # list the shared flags in --help
    flags.adopt_module_key_flags(distribute)
    flags.mark_flags_as_required(["task_name", "data_dir"])


if __name__ == "__main__":
    programs.run_program(run_classifier, _define_flags)
