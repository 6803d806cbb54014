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
import sys
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import keras
import numpy as np

from keras_bert import cli as programs
from keras_bert.data.squad import features as squad
from keras_bert.models.task_models import BertSpanLabeler
from keras_bert.tokenization.piece_tokenizer import PieceTokenizer
from keras_bert.tokenization.tokenizer import check_case_matches_checkpoint
from keras_bert.training import distribute, outputs
from keras_bert.training import task_runner as finetuning

logger = logging.getLogger(__name__)

EVAL_RESULTS_FILE = "eval_results.txt"


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


@finetuning.restores_dtype_policy
def run_squad(vocab_file: str, bert_config_file: str, output_dir: str, train_file: str | None = None,
              predict_file: str | None = None, init_checkpoint: str | None = None, do_lower_case: bool = True,
              max_seq_length: int = 384, doc_stride: int = 128, max_query_length: int = 64,
              do_train: bool = False, do_predict: bool = False, train_batch_size: int = 32,
              predict_batch_size: int = 8, learning_rate: float = 5e-5, num_train_epochs: float = 3.0,
              warmup_proportion: float = 0.1, save_checkpoints_steps: int = 1000, n_best_size: int = 20,
              max_answer_length: int = 30, verbose_logging: bool = False, version_2_with_negative: bool = False,
              null_score_diff_threshold: float = 0.0, strategy: str = "default", tpu: str | None = None,
              mixed_precision: str = "none", jit_compile: bool = False, steps_per_execution: int = 1,
              seed: int | None = None) -> dict[str, Any]:
    """Trains and/or predicts as the reference's `run_squad.py` (arguments = its flags).

    Returns {"train": last training metrics, "predictions": {qas_id: text}, "eval": official scores (when the
    predict file has answers), and the paths written}.
    """
    if not (do_train or do_predict):
        raise ValueError("At least one of `do_train` or `do_predict` must be True.")
    if do_train and not train_file:
        raise ValueError("If `do_train` is True, then `train_file` must be specified.")
    if do_predict and not predict_file:
        raise ValueError("If `do_predict` is True, then `predict_file` must be specified.")
    if not do_train and not init_checkpoint:
        raise ValueError("--do_predict without --do_train needs --init_checkpoint (a fine-tuned model)")
    check_case_matches_checkpoint(do_lower_case, init_checkpoint)
    config = finetuning.load_bert_config(bert_config_file, max_seq_length)
    if max_seq_length <= max_query_length + 3:
        raise ValueError(f"The max_seq_length ({max_seq_length}) must be greater than max_query_length "
                         f"({max_query_length}) + 3")
    os.makedirs(output_dir, exist_ok=True)
    distribution = finetuning.set_up_run(strategy, mixed_precision, tpu, seed)
    tokenizer = PieceTokenizer(vocab_file, do_lower_case)
    model = finetuning.build_task_model(BertSpanLabeler, config, init_checkpoint, distribution)
    windows = dict(max_seq_length=max_seq_length, doc_stride=doc_stride, max_query_length=max_query_length)
    result: dict[str, Any] = {"output_dir": output_dir}

    if do_train:
        examples = squad.read_squad_examples(train_file, True, version_2_with_negative)
        features = squad.convert_examples_to_features(examples, tokenizer, is_training=True, **windows)
        steps = finetuning.num_train_steps(len(examples), train_batch_size, num_train_epochs)
        logger.info("%d training examples, %d features, batch size %d, %d steps", len(examples), len(features),
                    train_batch_size, steps)
        dataset = (squad.squad_dataset(features, is_training=True).shuffle(len(features), seed=seed)
                   .repeat().batch(train_batch_size, drop_remainder=True).map(_span_labels))
        loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        result["train"] = finetuning.train(
            model, dataset, {"start_logits": loss, "end_logits": loss}, distribution, steps, learning_rate,
            warmup_proportion, output_dir, save_checkpoints_steps,
            loss_weights={"start_logits": 0.5, "end_logits": 0.5},  # the reference's (start + end) / 2
            jit_compile=jit_compile, steps_per_execution=steps_per_execution)
        task_info = {"task": "squad", "task_name": "squad2.0" if version_2_with_negative else "squad1.1",
                     "labels": [], "is_regression": False, "do_lower_case": do_lower_case,
                     "max_seq_length": max_seq_length, "doc_stride": doc_stride, "max_query_length": max_query_length,
                     "max_answer_length": max_answer_length, "n_best_size": n_best_size,
                     "version_2_with_negative": version_2_with_negative,
                     "null_score_diff_threshold": null_score_diff_threshold}
        result.update(finetuning.save_task_outputs(model, output_dir, vocab_file, task_info))

    if do_predict:
        examples = squad.read_squad_examples(predict_file, False, version_2_with_negative)
        features = squad.convert_examples_to_features(examples, tokenizer, is_training=False, **windows)
        logger.info("%d prediction examples, %d features", len(examples), len(features))
        inputs = squad.squad_dataset(features, is_training=False).map(
            lambda f: {k: f[k] for k in ("input_word_ids", "input_mask", "input_type_ids")})
        logits = model.predict(inputs.batch(predict_batch_size), verbose=0)
        results = [squad.RawResult(f.unique_id, start, end) for f, start, end in
                   zip(features, np.asarray(logits["start_logits"]), np.asarray(logits["end_logits"]), strict=True)]
        predictions = squad.write_predictions(examples, features, results, tokenizer, output_dir, n_best_size,
                                              max_answer_length, version_2_with_negative,
                                              null_score_diff_threshold, verbose_logging)
        null_odds = None
        if version_2_with_negative:
            with open(os.path.join(output_dir, "null_odds.json"), encoding="utf-8") as f:
                null_odds = json.load(f)
        result["predictions"] = predictions
        result["predictions_file"] = os.path.join(output_dir, "predictions.json")
        scores = official_evaluation(predict_file, predictions, null_odds, version_2_with_negative)
        if scores is not None:
            result["eval"] = scores
            result["eval_results_file"] = os.path.join(output_dir, EVAL_RESULTS_FILE)
            outputs.write_eval_results(result["eval_results_file"], scores)
            logger.info("official evaluation: %s", scores)
    return result


def _define_flags() -> None:
    from absl import flags

    defaults = programs.parameter_defaults(run_squad)
    flags.DEFINE_string("train_file", None, "SQuAD json for training, e.g. train-v1.1.json.")
    flags.DEFINE_string("predict_file", None, "SQuAD json for predictions, e.g. dev-v1.1.json.")
    flags.DEFINE_integer("doc_stride", defaults["doc_stride"], "Word pieces between the starts of context windows.")
    flags.DEFINE_integer("max_query_length", defaults["max_query_length"], "Questions are cut to this many pieces.")
    flags.DEFINE_integer("n_best_size", defaults["n_best_size"], "n-best predictions kept per question.")
    flags.DEFINE_integer("max_answer_length", defaults["max_answer_length"], "Longest answer, in word pieces.")
    flags.DEFINE_bool("verbose_logging", defaults["verbose_logging"], "Log post-processing alignment failures.")
    flags.DEFINE_bool("version_2_with_negative", defaults["version_2_with_negative"],
                      "SQuAD 2.0: some questions have no answer.")
    flags.DEFINE_float("null_score_diff_threshold", defaults["null_score_diff_threshold"],
                       "Predict no answer when null score − best non-null score exceeds this.")
    finetuning.define_model_flags(defaults)
    flags.adopt_module_key_flags(finetuning)  # list the shared flags in --help
    flags.adopt_module_key_flags(distribute)


if __name__ == "__main__":
    programs.run_program(run_squad, _define_flags)
