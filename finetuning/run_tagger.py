"""BERT token classification (NER) on CoNLL-format files, on Keras `model.fit`.

Files: one token per line with its label in the last column, a blank line between sentences (CoNLL-2003's
`eng.train` as is). Each word is labelled on its first word piece; the other pieces are ignored by the loss.
Sentences longer than `--max_seq_length` − 2 pieces are truncated (their cut-off words predicted "O", counted
in the log); batches are cut to their longest sentence (`--fixed_length_batches`, on with `--strategy=tpu`, keeps
`--max_seq_length`; `--bucket_by_length` groups training sentences of similar length). Labels: `--label_list`
(comma-separated), default the training file's labels, "O" first (without training, a Hugging Face
`--init_checkpoint`'s `id2label`).

Writes to `--output_dir`: `eval_results.txt` (seqeval entity precision/recall/F1 and token accuracy, `key =
value`), `eval_predictions.txt` / `test_predictions.txt` (`token gold predicted` per line, conlleval's input),
and after training the contract files (`bert_model.ckpt.*`, `bert_config.json`, `model.keras`, `vocab.txt`,
`task_info.json`).

  python finetuning/run_tagger.py --train_file=eng.train --eval_file=eng.testa --vocab_file=vocab.txt \
    --bert_config_file=bert_config.json --init_checkpoint=bert_model.ckpt --do_train --do_eval --output_dir=out
"""
from __future__ import annotations

import logging
import os
from typing import Any

import keras
import numpy as np

from keras_bert import cli
from keras_bert.checkpoints.huggingface import huggingface_labels
from keras_bert.data.classification.dataset import batch_by_length
from keras_bert.data.tagging import conll
from keras_bert.models.token_classifier import BertTokenClassifier
from keras_bert.tokenization.piece_tokenizer import PieceTokenizer
from keras_bert.training import model_inputs, outputs, task_runner

logger = logging.getLogger(__name__)

EVAL_PREDICTIONS_FILE = "eval_predictions.txt"
TEST_PREDICTIONS_FILE = "test_predictions.txt"


def _predict(model: keras.Model, sentences, tokenizer: PieceTokenizer, label_list: list[str],
             max_seq_length: int, batch_size: int, fixed_length: bool = False) -> list[list[str]]:
    """One predicted label per word of `sentences` (batches cut to their longest sentence unless `fixed_length`)."""
    features = conll.convert_sentences_to_features(sentences, tokenizer, label_list, max_seq_length)
    dataset = conll.tagging_dataset(features, with_labels=False).batch(batch_size)
    if not fixed_length:
        dataset = dataset.map(conll.trim_tagging_batch)
    rows = []
    for batch in dataset:  # batch by batch: `model.predict` cannot concatenate logits of different lengths
        ids = model.predict_on_batch(batch)["logits"].argmax(axis=-1)
        rows.append(np.pad(ids, [(0, 0), (0, max_seq_length - ids.shape[1])]))  # past the longest: never read
    return conll.predicted_labels(sentences, features, np.concatenate(rows), label_list)


@cli.checks_arguments
@task_runner.restores_dtype_policy
def run_tagger(output_dir: str, vocab_file: str | None = None, bert_config_file: str | None = None,
               train_file: str | None = None, eval_file: str | None = None, predict_file: str | None = None,
               label_list: str | None = None, task_name: str = "ner", init_checkpoint: str | None = None,
               do_lower_case: bool | None = None,
               max_seq_length: int = 128, do_train: bool = False, do_eval: bool = False, do_predict: bool = False,
               train_batch_size: int = 32, eval_batch_size: int = 8, predict_batch_size: int = 8,
               learning_rate: float = 5e-5, num_train_epochs: float = 3.0, warmup_proportion: float = 0.1,
               save_checkpoints_steps: int = 1000, strategy: str = "default", tpu: str | None = None,
               mixed_precision: str = "none", jit_compile: bool = False, steps_per_execution: int = 1,
               seed: int | None = None, save_huggingface: bool = False, fixed_length_batches: bool = False,
               bucket_by_length: bool = False) -> dict[str, Any]:
    """Trains, evaluates and/or predicts a tagger (arguments = the flags; `init_checkpoint` a Google checkpoint or
    a Hugging Face folder, which fills in `bert_config_file`, `vocab_file` and `do_lower_case` when they are None).

    Returns {"model": the `BertTokenClassifier`, "labels": the labels in id order, "eval": {precision, recall, f1,
    accuracy} (do_eval), "train": last training metrics, and the paths written (by the chief only under
    multi-worker training)}.
    """
    arguments = dict(locals())
    if not (do_train or do_eval or do_predict):
        raise ValueError("At least one of `do_train`, `do_eval` or `do_predict` must be True.")
    for flag, needed, path in (("train_file", do_train, train_file), ("eval_file", do_eval, eval_file),
                               ("predict_file", do_predict, predict_file)):
        if needed and not path:
            raise ValueError(f"--{flag} is required with --do_{flag.split('_')[0]}")
    if not do_train and not init_checkpoint:
        raise ValueError("--do_eval/--do_predict without --do_train need --init_checkpoint (a fine-tuned model)")
    fixed_length = task_runner.uses_fixed_length_batches(fixed_length_batches, strategy, bucket_by_length)
    inputs = model_inputs.resolve_model_inputs(init_checkpoint, bert_config_file, vocab_file, do_lower_case,
                                               max_seq_length)
    config, vocab_file, do_lower_case = inputs.config, inputs.vocab_file, inputs.do_lower_case
    arguments.update(vocab_file=vocab_file, do_lower_case=do_lower_case)
    train_sentences = conll.read_conll(train_file) if do_train else None
    if label_list:
        labels = [x.strip() for x in label_list.split(",")]
    elif train_sentences is not None:
        labels = conll.collect_labels(train_sentences)
    elif inputs.huggingface and huggingface_labels(init_checkpoint):
        labels = huggingface_labels(init_checkpoint)  # a fine-tuned Hugging Face folder's id2label
    else:
        raise ValueError("--label_list is required without --do_train (the fine-tuned model's labels in id order)")
    distribution, chief = task_runner.start_fine_tuning(
        "run_tagger", arguments, config, {"train_file": train_file, "vocab_file": vocab_file})
    tokenizer = PieceTokenizer(vocab_file, do_lower_case, **inputs.tokenizer_options())
    task_info = outputs.TaskInfo(outputs.TAGGER, task_name, do_lower_case, max_seq_length, labels,
                                 tokenizer_options=inputs.tokenizer_options())
    # Without training, the checkpoint must be a model fine-tuned for these labels: its head.
    model = task_runner.build_model(BertTokenClassifier, config, init_checkpoint, distribution,
                                    None if do_train else task_info, num_labels=len(labels))
    result: dict[str, Any] = {"output_dir": output_dir, "model": model, "labels": labels}
    if do_train:
        features = conll.convert_sentences_to_features(train_sentences, tokenizer, labels, max_seq_length)
        steps = task_runner.num_train_steps(len(features), train_batch_size, num_train_epochs)
        dataset = conll.tagging_dataset(features).shuffle(len(features), seed=seed).repeat()
        if bucket_by_length:
            dataset = batch_by_length(dataset, train_batch_size)
        else:
            dataset = dataset.batch(train_batch_size, drop_remainder=True)
        if not fixed_length:
            dataset = dataset.map(conll.trim_tagging_batch)
        dataset = dataset.map(lambda x, y: (x, {"logits": y}))
        loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=conll.IGNORE_LABEL_ID)
        result["train"] = task_runner.fine_tune(
            model, dataset, {"logits": loss}, distribution, steps, learning_rate, warmup_proportion, output_dir,
            save_checkpoints_steps, jit_compile=jit_compile, steps_per_execution=steps_per_execution)
        if chief:
            result.update(task_runner.save_task_outputs(model, output_dir, vocab_file, task_info, save_huggingface))

    if do_eval:
        sentences = conll.read_conll(eval_file)
        predicted = _predict(model, sentences, tokenizer, labels, max_seq_length, eval_batch_size, fixed_length)
        metrics = {f"eval_{k}": v for k, v in conll.tagging_metrics([s.labels for s in sentences], predicted).items()}
        metrics["global_step"] = task_runner.global_step(model)
        result["eval"] = metrics
        logger.info("eval results: %s", metrics)
        if chief:
            result["eval_predictions_file"] = os.path.join(output_dir, EVAL_PREDICTIONS_FILE)
            conll.write_conll_predictions(result["eval_predictions_file"], sentences, predicted)
            result["eval_results_file"] = os.path.join(output_dir, outputs.EVAL_RESULTS_FILE)
            outputs.write_eval_results(result["eval_results_file"], metrics)

    if do_predict:
        sentences = conll.read_conll(predict_file)
        predicted = _predict(model, sentences, tokenizer, labels, max_seq_length, predict_batch_size, fixed_length)
        if chief:
            result["test_predictions_file"] = os.path.join(output_dir, TEST_PREDICTIONS_FILE)
            conll.write_conll_predictions(result["test_predictions_file"], sentences, predicted)
    return result


def _define_flags() -> None:
    cli.define_flags(run_tagger, {
        "train_file": "CoNLL file to train on.",
        "eval_file": "CoNLL file to evaluate on.",
        "predict_file": "CoNLL file to predict (its label column is kept as 'gold').",
        "label_list": "Comma-separated labels in id order (default: the training file's; without --do_train, the "
                      "id2label of a Hugging Face --init_checkpoint).",
        "task_name": "Name recorded in task_info.json.",
        "do_eval": "Whether to evaluate on --eval_file.",
        "eval_batch_size": "Batch size for eval.",
    })
    cli.define_fine_tuning_flags(run_tagger)
    cli.define_batch_length_flags(run_tagger)


def main() -> None:
    """The `bert-run-tagger` command (`python finetuning/run_tagger.py`)."""
    cli.run_program(run_tagger, _define_flags)


if __name__ == "__main__":
    main()
