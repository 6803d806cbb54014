"""BERT fine-tuning for SQuAD 1.1 and 2.0: google-research/bert `run_squad.py` on Keras `model.fit`, with the same
flags and outputs.

Examples become `[CLS] question [SEP] window [SEP]` features, sliding over long contexts every `--doc_stride`
word pieces; the model predicts start/end logits; the reference post-processing (n-best spans in each token's
max-context window, de-tokenisation back to the original text, the null-score difference for 2.0) writes
`predictions.json`, `nbest_predictions.json` and, with `--version_2_with_negative`, `null_odds.json`. When the
predict file has answers (a dev set) the predictions are also scored with tf-models-official's copy of the
official SQuAD evaluation (`squad_evaluate_v1_1` / `squad_evaluate_v2_0`) into `eval_results.txt`.

Training questions whose answer text is not found at its offset are skipped with a count in the log, as the
reference does. After training, the contract files are written (`bert_model.ckpt.*` with `cls/squad/*`,
`bert_config.json`, `model.keras`, `vocab.txt`, `task_info.json`).

  python finetuning/run_squad.py --vocab_file=vocab.txt --bert_config_file=bert_config.json \
    --init_checkpoint=bert_model.ckpt --do_train --train_file=train-v1.1.json --do_predict \
    --predict_file=dev-v1.1.json --output_dir=/tmp/squad
"""
from __future__ import annotations

import json
import logging
import os
from typing import Any

import keras
import numpy as np

from keras_bert import cli
from keras_bert.data.squad import features as squad
from keras_bert.data.squad.examples import read_squad_examples
from keras_bert.data.squad.postprocess import RawResult, postprocess_predictions, write_predictions
from keras_bert.models.span_labeler import BertSpanLabeler
from keras_bert.tokenization.piece_tokenizer import PieceTokenizer
from keras_bert.training import model_inputs, outputs, task_runner

logger = logging.getLogger(__name__)

# Flags of the post-processing only: a rerun that changes them resumes the training in --output_dir.
PREDICTION_FLAGS = ("n_best_size", "max_answer_length", "verbose_logging", "null_score_diff_threshold")


def _span_labels(features: dict) -> tuple[dict, dict]:
    inputs = {k: features[k] for k in ("input_word_ids", "input_mask", "input_type_ids")}
    return inputs, {"start_logits": features["start_positions"], "end_logits": features["end_positions"]}


def official_evaluation(predict_file: str, predictions: dict[str, str], null_odds: dict[str, float] | None,
                        version_2_with_negative: bool) -> dict[str, float] | None:
    """The official SQuAD scores (tf-models-official's copies of the scripts) when `predict_file` has answers,
    else None. 1.1: `exact_match`, `f1` (percent); 2.0: `exact`, `f1`, `HasAns_*`, `NoAns_*`, `best_*`..."""
    from official.nlp.tools import squad_evaluate_v1_1, squad_evaluate_v2_0

    with open(predict_file, encoding="utf-8") as f:
        dataset = json.load(f)["data"]
    qas = [qa for article in dataset for paragraph in article["paragraphs"] for qa in paragraph["qas"]]
    if not any(qa.get("answers") for qa in qas):
        return None
    if version_2_with_negative:
        return {k: float(v) for k, v in squad_evaluate_v2_0.evaluate(dataset, predictions, null_odds).items()}
    scores = squad_evaluate_v1_1.evaluate(dataset, predictions)  # fractions
    return {"exact_match": 100.0 * scores["exact_match"], "f1": 100.0 * scores["final_f1"]}


@cli.checks_arguments
@task_runner.restores_dtype_policy
def run_squad(output_dir: str, vocab_file: str | None = None, bert_config_file: str | None = None,
              train_file: str | None = None, predict_file: str | None = None, init_checkpoint: str | None = None,
              do_lower_case: bool | None = None,
              max_seq_length: int = 384, doc_stride: int = 128, max_query_length: int = 64,
              do_train: bool = False, do_predict: bool = False, train_batch_size: int = 32,
              predict_batch_size: int = 8, learning_rate: float = 5e-5, num_train_epochs: float = 3.0,
              warmup_proportion: float = 0.1, save_checkpoints_steps: int = 1000, n_best_size: int = 20,
              max_answer_length: int = 30, verbose_logging: bool = False, version_2_with_negative: bool = False,
              null_score_diff_threshold: float = 0.0, strategy: str = "default", tpu: str | None = None,
              mixed_precision: str = "none", jit_compile: bool = False, steps_per_execution: int = 1,
              seed: int | None = None, save_huggingface: bool = False) -> dict[str, Any]:
    """Trains and/or predicts as the reference's `run_squad.py` (arguments = its flags; `init_checkpoint` a Google
    checkpoint or a Hugging Face folder, which fills in `bert_config_file`, `vocab_file` and `do_lower_case` when
    they are None).

    Returns {"model": the `BertSpanLabeler`, "train": last training metrics, "predictions": {qas_id: text},
    "null_odds": {qas_id: null score − best non-null score} (2.0), "eval": official scores (when the predict file
    has answers), and the paths written (by the chief only under multi-worker training)}.
    """
    arguments = dict(locals())
    if not (do_train or do_predict):
        raise ValueError("At least one of `do_train` or `do_predict` must be True.")
    if do_train and not train_file:
        raise ValueError("If `do_train` is True, then `train_file` must be specified.")
    if do_predict and not predict_file:
        raise ValueError("If `do_predict` is True, then `predict_file` must be specified.")
    if not do_train and not init_checkpoint:
        raise ValueError("--do_predict without --do_train needs --init_checkpoint (a fine-tuned model)")
    inputs = model_inputs.resolve_model_inputs(init_checkpoint, bert_config_file, vocab_file, do_lower_case,
                                               max_seq_length)
    config, vocab_file, do_lower_case = inputs.config, inputs.vocab_file, inputs.do_lower_case
    arguments.update(vocab_file=vocab_file, do_lower_case=do_lower_case)
    if max_seq_length <= max_query_length + 3:
        raise ValueError(f"The max_seq_length ({max_seq_length}) must be greater than max_query_length "
                         f"({max_query_length}) + 3")
    distribution, chief = task_runner.start_fine_tuning(
        "run_squad", arguments, config, {"train_file": train_file, "vocab_file": vocab_file},
        neutral_flags=PREDICTION_FLAGS)
    tokenizer = PieceTokenizer(vocab_file, do_lower_case, **inputs.tokenizer_options())
    task_info = outputs.TaskInfo(
        outputs.SQUAD, "squad2.0" if version_2_with_negative else "squad1.1", do_lower_case, max_seq_length,
        squad=outputs.SquadSettings(doc_stride, max_query_length, max_answer_length, n_best_size,
                                    version_2_with_negative, null_score_diff_threshold),
        tokenizer_options=inputs.tokenizer_options())
    # Without training, the checkpoint must be a model fine-tuned for SQuAD: its head.
    model = task_runner.build_model(BertSpanLabeler, config, init_checkpoint, distribution,
                                    None if do_train else task_info)
    windows = dict(max_seq_length=max_seq_length, doc_stride=doc_stride, max_query_length=max_query_length)
    result: dict[str, Any] = {"output_dir": output_dir, "model": model}

    if do_train:
        examples = read_squad_examples(train_file, True, version_2_with_negative)
        features = squad.convert_examples_to_features(examples, tokenizer, is_training=True, **windows)
        steps = task_runner.num_train_steps(len(examples), train_batch_size, num_train_epochs)
        logger.info("%d training examples, %d features, batch size %d, %d steps", len(examples), len(features),
                    train_batch_size, steps)
        dataset = (squad.squad_dataset(features, is_training=True).shuffle(len(features), seed=seed)
                   .repeat().batch(train_batch_size, drop_remainder=True).map(_span_labels))
        loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        result["train"] = task_runner.fine_tune(
            model, dataset, {"start_logits": loss, "end_logits": loss}, distribution, steps, learning_rate,
            warmup_proportion, output_dir, save_checkpoints_steps,
            loss_weights={"start_logits": 0.5, "end_logits": 0.5},  # the reference's (start + end) / 2
            jit_compile=jit_compile, steps_per_execution=steps_per_execution)
        if chief:
            result.update(task_runner.save_task_outputs(model, output_dir, vocab_file, task_info, save_huggingface))

    if do_predict:
        examples = read_squad_examples(predict_file, False, version_2_with_negative)
        features = squad.convert_examples_to_features(examples, tokenizer, is_training=False, **windows)
        logger.info("%d prediction examples, %d features", len(examples), len(features))
        inputs = squad.squad_dataset(features, is_training=False).map(
            lambda f: {k: f[k] for k in ("input_word_ids", "input_mask", "input_type_ids")})
        logits = model.predict(inputs.batch(predict_batch_size), verbose=0)
        results = [RawResult(f.unique_id, start, end) for f, start, end in
                   zip(features, np.asarray(logits["start_logits"]), np.asarray(logits["end_logits"]), strict=True)]
        predictions, nbest, null_odds = postprocess_predictions(
            examples, features, results, tokenizer, n_best_size, max_answer_length, version_2_with_negative,
            null_score_diff_threshold, verbose_logging)
        result["predictions"] = predictions
        if version_2_with_negative:
            result["null_odds"] = null_odds
        scores = official_evaluation(predict_file, predictions, result.get("null_odds"), version_2_with_negative)
        if scores is not None:
            result["eval"] = scores
            logger.info("official evaluation: %s", scores)
        if chief:
            result.update(write_predictions(output_dir, predictions, nbest,
                                            null_odds if version_2_with_negative else None))
            if scores is not None:
                result["eval_results_file"] = os.path.join(output_dir, outputs.EVAL_RESULTS_FILE)
                outputs.write_eval_results(result["eval_results_file"], scores)
    return result


def _define_flags() -> None:
    cli.define_flags(run_squad, {
        "train_file": "SQuAD json for training, e.g. train-v1.1.json.",
        "predict_file": "SQuAD json for predictions, e.g. dev-v1.1.json.",
        "doc_stride": "Word pieces between the starts of context windows.",
        "max_query_length": "Questions are cut to this many pieces.",
        "n_best_size": "n-best predictions kept per question.",
        "max_answer_length": "Longest answer, in word pieces.",
        "verbose_logging": "Log post-processing alignment failures.",
        "version_2_with_negative": "SQuAD 2.0: some questions have no answer.",
        "null_score_diff_threshold": "Predict no answer when null score − best non-null score exceeds this.",
    })
    cli.define_fine_tuning_flags(run_squad)


def main() -> None:
    """The `bert-run-squad` command (`python finetuning/run_squad.py`)."""
    cli.run_program(run_squad, _define_flags)


if __name__ == "__main__":
    main()
