"""Model logits → SQuAD answers, as google-research/bert `run_squad.py`'s `write_predictions`.

n-best start/end search over each example's windows (max-context tokens only), `get_final_text`
de-tokenisation back onto the original words, and the 2.0 null-score difference. Departures, where the
reference would crash or emit garbage: a feature without a model result is an error; a 2.0 example whose
n-best holds only the null answer predicts "".
"""
from __future__ import annotations

import collections
import dataclasses
import json
import logging
import math
import os
from collections.abc import Sequence

import numpy as np

from keras_bert.data.squad.examples import SquadExample
from keras_bert.data.squad.features import SquadFeature, SquadTokenizer

logger = logging.getLogger(__name__)

PREDICTIONS_FILE = "predictions.json"
NBEST_PREDICTIONS_FILE = "nbest_predictions.json"
NULL_ODDS_FILE = "null_odds.json"


@dataclasses.dataclass(frozen=True)
class RawResult:
    """Model output for one feature: float logits [max_seq_length]."""

    unique_id: int
    start_logits: Sequence[float]
    end_logits: Sequence[float]


_Prelim = collections.namedtuple("_Prelim", ["feature_index", "start_index", "end_index", "start_logit", "end_logit"])
_NBest = collections.namedtuple("_NBest", ["text", "start_logit", "end_logit"])


def _best_indexes(logits: np.ndarray, n_best_size: int) -> list[int]:
    """Indexes of the n largest logits, ties in index order (the reference's stable descending sort)."""
    return np.argsort(-logits, kind="stable")[:n_best_size].tolist()


def postprocess_predictions(examples: Sequence[SquadExample], features: Sequence[SquadFeature],
                            results: Sequence[RawResult], tokenizer: SquadTokenizer, n_best_size: int = 20,
                            max_answer_length: int = 30, version_2_with_negative: bool = False,
                            null_score_diff_threshold: float = 0.0, verbose_logging: bool = False
                            ) -> tuple[dict[str, str], dict[str, list[dict]], dict[str, float]]:
    """The reference's answer selection.

    Returns:
      predictions (qas_id → answer text, "" for no answer), n-best lists (qas_id → list of dicts `text`,
      `probability`, `start_logit`, `end_logit`), and for 2.0 the null-score differences (qas_id → null
      score − best non-null score; "" is predicted when it exceeds `null_score_diff_threshold`).
    """
    features_by_example = collections.defaultdict(list)
    for feature in features:
        features_by_example[feature.example_index].append(feature)
    result_by_id = {result.unique_id: result for result in results}

    predictions: dict[str, str] = collections.OrderedDict()
    nbest_by_id: dict[str, list[dict]] = collections.OrderedDict()
    null_odds: dict[str, float] = collections.OrderedDict()
    for example_index, example in enumerate(examples):
        example_features = features_by_example[example_index]
        prelim = []
        score_null = 1000000.0  # min over windows of the null (position 0) score
        min_null_feature_index, null_start_logit, null_end_logit = 0, 0.0, 0.0
        for feature_index, feature in enumerate(example_features):
            if feature.unique_id not in result_by_id:
                raise ValueError(f"no model result for feature unique_id {feature.unique_id} "
                                 f"(question {example.qas_id!r})")
            result = result_by_id[feature.unique_id]
            start_logits = np.asarray(result.start_logits, np.float64).ravel()
            end_logits = np.asarray(result.end_logits, np.float64).ravel()
            if version_2_with_negative:
                feature_null_score = start_logits[0] + end_logits[0]
                if feature_null_score < score_null:
                    score_null, min_null_feature_index = feature_null_score, feature_index
                    null_start_logit, null_end_logit = float(start_logits[0]), float(end_logits[0])
            for start_index in _best_indexes(start_logits, n_best_size):
                for end_index in _best_indexes(end_logits, n_best_size):
                    if (start_index not in feature.token_to_orig_map or end_index not in feature.token_to_orig_map
                            or not feature.token_is_max_context.get(start_index, False)
                            or end_index < start_index or end_index - start_index + 1 > max_answer_length):
                        continue
                    prelim.append(_Prelim(feature_index, start_index, end_index, float(start_logits[start_index]),
                                          float(end_logits[end_index])))
        if version_2_with_negative:
            prelim.append(_Prelim(min_null_feature_index, 0, 0, null_start_logit, null_end_logit))
        prelim.sort(key=lambda p: p.start_logit + p.end_logit, reverse=True)

        seen = set()
        nbest = []
        for pred in prelim:
            if len(nbest) >= n_best_size:
                break
            if pred.start_index > 0:
                feature = example_features[pred.feature_index]
                final_text = _answer_text(example, feature, pred.start_index, pred.end_index, tokenizer,
                                          verbose_logging)
                if final_text in seen:
                    continue
            else:
                final_text = ""
            seen.add(final_text)
            nbest.append(_NBest(final_text, pred.start_logit, pred.end_logit))
        if version_2_with_negative and "" not in seen:
            nbest.append(_NBest("", null_start_logit, null_end_logit))
        if not nbest:  # no valid span at all: the reference's nonce prediction
            nbest.append(_NBest("empty", 0.0, 0.0))

        probs = _compute_softmax([entry.start_logit + entry.end_logit for entry in nbest])
        nbest_by_id[example.qas_id] = [
            collections.OrderedDict(text=entry.text, probability=prob, start_logit=entry.start_logit,
                                    end_logit=entry.end_logit) for entry, prob in zip(nbest, probs)]
        best_non_null = next((entry for entry in nbest if entry.text), None)
        if not version_2_with_negative:
            predictions[example.qas_id] = nbest[0].text
        elif best_non_null is None:
            null_odds[example.qas_id] = float(score_null)
            predictions[example.qas_id] = ""
        else:
            score_diff = float(score_null - best_non_null.start_logit - best_non_null.end_logit)
            null_odds[example.qas_id] = score_diff
            predictions[example.qas_id] = "" if score_diff > null_score_diff_threshold else best_non_null.text
    return predictions, nbest_by_id, null_odds


def _answer_text(example: SquadExample, feature: SquadFeature, start_index: int, end_index: int,
                 tokenizer: SquadTokenizer, verbose_logging: bool) -> str:
    """The original-text answer for a window span of word pieces."""
    tok_text = " ".join(feature.tokens[start_index:end_index + 1])
    tok_text = tok_text.replace(" ##", "").replace("##", "")  # de-tokenise word pieces
    tok_text = " ".join(tok_text.strip().split())
    orig_start, orig_end = feature.token_to_orig_map[start_index], feature.token_to_orig_map[end_index]
    orig_text = " ".join(example.doc_tokens[orig_start:orig_end + 1])
    return get_final_text(tok_text, orig_text, tokenizer, verbose_logging)


def _strip_spaces(text: str) -> tuple[str, dict[int, int]]:
    """`text` without spaces, and the map from its positions back to positions in `text`."""
    ns_chars = []
    ns_to_s_map = {}
    for i, c in enumerate(text):
        if c != " ":
            ns_to_s_map[len(ns_chars)] = i
            ns_chars.append(c)
    return "".join(ns_chars), ns_to_s_map


def get_final_text(pred_text: str, orig_text: str, tokenizer: SquadTokenizer, verbose_logging: bool = False) -> str:
    """Projects the normalised predicted text back onto the original words (e.g. "steve smith" in "Steve Smith's").

    Basic-tokenises `orig_text`, aligns it character by character with `orig_text` once spaces are removed,
    and maps the predicted span through; returns `orig_text` whole where the alignment fails.
    """
    tok_text = " ".join(tokenizer.basic_tokenize(orig_text))
    start_position = tok_text.find(pred_text)
    if start_position == -1:
        if verbose_logging:
            logger.info("Unable to find text: '%s' in '%s'", pred_text, orig_text)
        return orig_text
    end_position = start_position + len(pred_text) - 1

    orig_ns_text, orig_ns_to_s_map = _strip_spaces(orig_text)
    tok_ns_text, tok_ns_to_s_map = _strip_spaces(tok_text)
    if len(orig_ns_text) != len(tok_ns_text):
        if verbose_logging:
            logger.info("Length not equal after stripping spaces: '%s' vs '%s'", orig_ns_text, tok_ns_text)
        return orig_text
    tok_s_to_ns_map = {tok_index: i for i, tok_index in tok_ns_to_s_map.items()}

    orig_start_position = orig_ns_to_s_map.get(tok_s_to_ns_map.get(start_position))
    if orig_start_position is None:
        if verbose_logging:
            logger.info("Couldn't map start position")
        return orig_text
    orig_end_position = orig_ns_to_s_map.get(tok_s_to_ns_map.get(end_position))
    if orig_end_position is None:
        if verbose_logging:
            logger.info("Couldn't map end position")
        return orig_text
    return orig_text[orig_start_position:orig_end_position + 1]


def _compute_softmax(scores: list[float]) -> list[float]:
    """Softmax in Python floats, as the reference."""
    max_score = max(scores)
    exp_scores = [math.exp(score - max_score) for score in scores]
    total = sum(exp_scores)
    return [x / total for x in exp_scores]


def write_predictions(output_dir: str | os.PathLike, predictions: dict[str, str], nbest: dict[str, list],
                      null_odds: dict[str, float] | None = None) -> dict[str, str]:
    """Writes `postprocess_predictions`' results as the reference does (JSON indented by 4):
    `predictions.json`, `nbest_predictions.json` and, for SQuAD 2.0 (`null_odds` given), `null_odds.json`.

    Returns {"predictions_file", "nbest_file", "null_odds_file" (2.0)}: the paths written.
    """
    os.makedirs(output_dir, exist_ok=True)
    files = {"predictions_file": (PREDICTIONS_FILE, predictions), "nbest_file": (NBEST_PREDICTIONS_FILE, nbest)}
    if null_odds is not None:
        files["null_odds_file"] = (NULL_ODDS_FILE, null_odds)
    paths = {}
    for key, (name, records) in files.items():
        paths[key] = os.path.join(output_dir, name)
        with open(paths[key], "w", encoding="utf-8") as f:
            f.write(json.dumps(records, indent=4) + "\n")
    return paths
