"""BERT fine-tuning for sentence (pair) classification and regression: google-research/bert `run_classifier.py`
on Keras `model.fit`, with the same flags and outputs.

Tasks (`--task_name`): every GLUE task (cola, sst-2, mrpc, sts-b (regression), qqp, mnli, mnli-mm, qnli, rte,
wnli) and xnli in their original file layouts, and `generic` for your own csv/tsv/jsonl files with named
columns (`--text_a_column`, `--text_b_column`, `--label_column`, `--label_list`, `--is_regression`).

Writes to `--output_dir`: `eval_results.txt` (`key = value`), `test_results.tsv` (one row per test example:
class probabilities, tab-separated, or the predicted score for regression), and after training the task
model as `bert_model.ckpt.*` + `bert_config.json`, `model.keras`, `vocab.txt` and `task_info.json` (with
`pair_input`: whether the task takes text pairs).

Batches are packed to `--max_seq_length` (which truncates, as the reference) and then cut to their longest example,
in training, evaluation and prediction alike: the encoder's outputs on real tokens are the same, its cost follows
the real lengths. `--bucket_by_length` also batches training examples of similar length together;
`--fixed_length_batches` (always on with `--strategy=tpu`) keeps every batch at `--max_seq_length`.
`--mixed_precision=bf16` trains, evaluates and predicts in bfloat16 (logits float32).

  python finetuning/run_classifier.py --task_name=sst-2 --data_dir=glue/SST-2 --vocab_file=vocab.txt \
    --bert_config_file=bert_config.json --init_checkpoint=bert_model.ckpt --do_train --do_eval \
    --output_dir=/tmp/sst2

`--init_checkpoint` may be a Hugging Face folder (config.json, weights, vocab.txt, tokenizer_config.json), whose
files stand in for `--bert_config_file`, `--vocab_file` and `--do_lower_case`; `--save_huggingface` also writes the
trained classifier as one, `<output_dir>/huggingface` (a BertForSequenceClassification with the labels as id2label).
Evaluating or predicting without training takes such a folder when its id2label is the task's labels (or
transformers' default LABEL_0, LABEL_1, ... standing for them in order).

  python finetuning/run_classifier.py --task_name=sst-2 --data_dir=glue/SST-2 --init_checkpoint=bert-base-uncased \
    --do_train --do_eval --save_huggingface --output_dir=/tmp/sst2
"""
from __future__ import annotations

import logging
import os
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from keras_bert import cli
from keras_bert.data.classification.dataset import classification_dataset
from keras_bert.data.classification.generic import GenericTask
from keras_bert.data.classification.glue import InputExample, get_task
from keras_bert.data.classification.metrics import classification_metrics
from keras_bert.models.classifier import BertClassifier
from keras_bert.tokenization.preprocessor import BertPreprocessor
from keras_bert.training import model_inputs, outputs, task_runner

logger = logging.getLogger(__name__)

GENERIC_TASK = "generic"
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


@cli.checks_arguments
@task_runner.restores_dtype_policy
def run_classifier(task_name: str, data_dir: str, output_dir: str, vocab_file: str | None = None,
                   bert_config_file: str | None = None, init_checkpoint: str | None = None,
                   do_lower_case: bool | None = None, max_seq_length: int = 128,
                   do_train: bool = False, do_eval: bool = False, do_predict: bool = False,
                   train_batch_size: int = 32, eval_batch_size: int = 8, predict_batch_size: int = 8,
                   learning_rate: float = 5e-5, num_train_epochs: float = 3.0, warmup_proportion: float = 0.1,
                   save_checkpoints_steps: int = 1000, text_a_column: str | None = None,
                   text_b_column: str | None = None, label_column: str | None = None,
                   label_list: str | None = None, is_regression: bool = False, strategy: str = "default",
                   tpu: str | None = None, mixed_precision: str = "none", jit_compile: bool = False,
                   steps_per_execution: int = 1, seed: int | None = None,
                   save_huggingface: bool = False, fixed_length_batches: bool = False,
                   bucket_by_length: bool = False) -> dict[str, Any]:
    """Trains, evaluates and/or predicts as the reference's `run_classifier.py` (arguments = its flags;
    `init_checkpoint` a Google checkpoint or a Hugging Face folder, which fills in `bert_config_file`,
    `vocab_file` and `do_lower_case` when they are None).

    Returns {"model": the `BertClassifier`, "eval": {metric: value} (do_eval), "train": last training metrics
    (do_train), and the paths written (by the chief only under multi-worker training): "eval_results_file",
    "test_results_file", "checkpoint", "model_file", "vocab_file", "task_info_file" (and "huggingface_dir" with
    `save_huggingface`)}.
    """
    arguments = dict(locals())
    if not (do_train or do_eval or do_predict):
        raise ValueError("At least one of `do_train`, `do_eval` or `do_predict` must be True.")
    fixed_length = task_runner.uses_fixed_length_batches(fixed_length_batches, strategy, bucket_by_length)
    if not do_train and not init_checkpoint:
        raise ValueError("--do_eval/--do_predict without --do_train need --init_checkpoint (a fine-tuned model)")
    inputs = model_inputs.resolve_model_inputs(init_checkpoint, bert_config_file, vocab_file, do_lower_case,
                                               max_seq_length)
    config, vocab_file, do_lower_case = inputs.config, inputs.vocab_file, inputs.do_lower_case
    arguments.update(vocab_file=vocab_file, do_lower_case=do_lower_case)
    task = make_task(task_name, text_a_column, text_b_column, label_column, label_list, is_regression)
    train_examples = task.get_train_examples(data_dir) if do_train else None
    labels = task.get_labels()  # generic tasks learn theirs from the training file
    if not task.is_regression and not labels:
        raise ValueError(f"task {task_name!r} has no labels")
    num_classes = 1 if task.is_regression else len(labels)

    distribution, chief = task_runner.start_fine_tuning(
        "run_classifier", arguments, config, {"data_dir": task.train_path(data_dir), "vocab_file": vocab_file})
    preprocessor = BertPreprocessor(vocab_file, do_lower_case, max_seq_length, **inputs.tokenizer_options())
    # Without training, the checkpoint must be a model fine-tuned for this task: its head, its labels.
    fine_tuned_for = None if do_train else outputs.TaskInfo(outputs.CLASSIFIER, task_name, do_lower_case,
                                                            max_seq_length, labels, task.is_regression)
    model = task_runner.build_model(BertClassifier, config, init_checkpoint, distribution, fine_tuned_for,
                                    num_classes=num_classes)

    def dataset(examples: list[InputExample], batch_size: int, training: bool = False) -> tf.data.Dataset:
        return classification_dataset(examples, preprocessor, labels, task.is_regression, batch_size,
                                      shuffle=training, seed=seed, drop_remainder=training, repeat=training,
                                      fixed_length=fixed_length, bucket_by_length=training and bucket_by_length)

    result: dict[str, Any] = {"output_dir": output_dir, "model": model}
    if do_train:
        steps = task_runner.num_train_steps(len(train_examples), train_batch_size, num_train_epochs)
        logger.info("%d training examples, batch size %d, %d steps", len(train_examples), train_batch_size, steps)
        loss = keras.losses.MeanSquaredError() if task.is_regression else \
            keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        result["train"] = task_runner.fine_tune(
            model, _with_label_dict(dataset(train_examples, train_batch_size, training=True), task.is_regression),
            {"logits": loss}, distribution, steps, learning_rate, warmup_proportion, output_dir,
            save_checkpoints_steps, jit_compile=jit_compile, steps_per_execution=steps_per_execution)
        if chief:
            task_info = outputs.TaskInfo(outputs.CLASSIFIER, task_name, do_lower_case, max_seq_length, labels,
                                         is_regression=task.is_regression,
                                         pair_input=train_examples[0].text_b is not None,
                                         tokenizer_options=inputs.tokenizer_options())
            result.update(task_runner.save_task_outputs(model, output_dir, vocab_file, task_info, save_huggingface))

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
        metrics["global_step"] = task_runner.global_step(model)
        result["eval"] = metrics
        logger.info("eval results: %s", metrics)
        if chief:
            result["eval_results_file"] = os.path.join(output_dir, outputs.EVAL_RESULTS_FILE)
            outputs.write_eval_results(result["eval_results_file"], metrics)

    if do_predict:
        examples = task.get_test_examples(data_dir)
        unlabelled = [InputExample(ex.guid, ex.text_a, ex.text_b) for ex in examples]
        logits = model.predict(dataset(unlabelled, predict_batch_size), verbose=0)["logits"].astype(np.float64)
        rows = logits if task.is_regression else _softmax(logits)
        if chief:
            result["test_results_file"] = _write_test_results(output_dir, rows)
    return result


def _write_test_results(output_dir: str, rows: np.ndarray) -> str:
    """`test_results.tsv`: one tab-separated row of class probabilities (or the score) per test example."""
    path = os.path.join(output_dir, TEST_RESULTS_FILE)
    with open(path, "w", encoding="utf-8") as f:
        for row in rows:
            f.write("\t".join(str(float(x)) for x in row) + "\n")
    logger.info("wrote %d test predictions to %s", len(rows), path)
    return path


def _define_flags() -> None:
    cli.define_flags(run_classifier, {
        "task_name": "The task: a GLUE task, xnli, or generic.",
        "data_dir": "Folder of the task's train/dev/test files.",
        "do_eval": "Whether to run eval on the dev set.",
        "eval_batch_size": "Batch size for eval.",
        "text_a_column": "generic task: column of the first text.",
        "text_b_column": "generic task: column of the second text (pair tasks).",
        "label_column": "generic task: column of the label.",
        "label_list": "generic task: comma-separated class names in id order (default: the sorted labels of the "
                      "training file).",
        "is_regression": "generic task: labels are numbers.",
    })
    cli.define_fine_tuning_flags(run_classifier)
    cli.define_batch_length_flags(run_classifier)


def main() -> None:
    """The `bert-run-classifier` command (`python finetuning/run_classifier.py`)."""
    cli.run_program(run_classifier, _define_flags)


if __name__ == "__main__":
    main()
