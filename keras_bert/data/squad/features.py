"""SQuAD 1.1/2.0 for BERT: reading, example → feature windows, and answer post-processing.

The rules are google-research/bert `run_squad.py`'s: whitespace words with `char_to_word_offset`, the query
truncated to `max_query_length`, sliding document windows every `doc_stride` word pieces, the "max
context" window per token, the improved answer span, n-best start/end search, `get_final_text`
de-tokenisation and the 2.0 null-score difference.

Tokenisation goes through a small interface (`SquadTokenizer`) so that a batched TF-Text tokenizer can
serve it: `tokenize_words(texts)` returns the word pieces of each text (the reference's
`FullTokenizer.tokenize` applied to each), `convert_tokens_to_ids(pieces)`, and `basic_tokenize(text)`
(the reference's `BasicTokenizer(do_lower_case).tokenize`, used by `get_final_text`).

Departures, each where the reference would crash or emit garbage: answers whose offsets fall outside
their context are skipped and counted like the reference's "Could not find answer" skips; a feature
without a model result is an error; a 2.0 example whose n-best holds only the null answer predicts "".
"""
from __future__ import annotations

import collections
import dataclasses
import json
import logging
import math
import os
from collections.abc import Sequence
from typing import Protocol

import numpy as np
import tensorflow as tf

from keras_bert.data.files import DataFileError

logger = logging.getLogger(__name__)

_FIRST_UNIQUE_ID = 1000000000  # as the reference


class SquadTokenizer(Protocol):
    """What SQuAD processing needs from a tokenizer."""

    def tokenize_words(self, texts: list[str]) -> list[list[str]]:
        """Word pieces (strings) of each text, as the reference `FullTokenizer.tokenize(text)`."""

    def convert_tokens_to_ids(self, tokens: list[str]) -> list[int]:
        """Vocabulary ids of word pieces."""

    def basic_tokenize(self, text: str) -> list[str]:
        """The reference `BasicTokenizer(do_lower_case).tokenize(text)`: cleaned, split, maybe lower-cased."""


@dataclasses.dataclass
class SquadExample:
    """A question on a whitespace-split context; positions index `doc_tokens` (-1 for 2.0 impossible)."""

    qas_id: str
    question_text: str
    doc_tokens: list[str]
    orig_answer_text: str | None = None
    start_position: int | None = None
    end_position: int | None = None
    is_impossible: bool = False


@dataclasses.dataclass
class SquadFeature:
    """One document window of one example.

    `input_ids`, `input_mask`, `segment_ids`: int32 [max_seq_length]. `token_to_orig_map`: window token
    position → `doc_tokens` index; `token_is_max_context`: position → whether this window gives the token
    its largest context. Training only: `start_position`/`end_position` (0 when the answer is not inside
    the window or the example is impossible) and `is_impossible` (the example's flag, as the reference).
    """

    unique_id: int
    example_index: int
    doc_span_index: int
    tokens: list[str]
    token_to_orig_map: dict[int, int]
    token_is_max_context: dict[int, bool]
    input_ids: np.ndarray
    input_mask: np.ndarray
    segment_ids: np.ndarray
    start_position: int | None = None
    end_position: int | None = None
    is_impossible: bool | None = None


@dataclasses.dataclass(frozen=True)
class RawResult:
    """Model output for one feature: float logits [max_seq_length]."""

    unique_id: int
    start_logits: Sequence[float]
    end_logits: Sequence[float]


def _is_whitespace(c: str) -> bool:
    return c in " \t\r\n" or ord(c) == 0x202F


def _split_context(text: str) -> tuple[list[str], list[int]]:
    """Whitespace words of `text` and, per character, the index of its word (the reference's loop)."""
    doc_tokens: list[str] = []
    char_to_word_offset = []
    prev_is_whitespace = True
    for c in text:
        if _is_whitespace(c):
            prev_is_whitespace = True
        else:
            if prev_is_whitespace:
                doc_tokens.append(c)
            else:
                doc_tokens[-1] += c
            prev_is_whitespace = False
        char_to_word_offset.append(len(doc_tokens) - 1)
    return doc_tokens, char_to_word_offset


def _require(record: dict, key: str, path: str, where: str):
    if not isinstance(record, dict) or key not in record:
        raise DataFileError(path, None, f"{where}: missing key {key!r}")
    return record[key]


def read_squad_examples(input_file: str | os.PathLike, is_training: bool,
                        version_2_with_negative: bool = False) -> list[SquadExample]:
    """Reads a SQuAD json file into examples.

    In training, answers whose text cannot be found at their offset ("Could not find answer", as the
    reference) or whose offsets fall outside the context are skipped, each logged, with a count at the end.
    A training question without exactly one answer (and not impossible) is an error.
    """
    path = os.fspath(input_file)
    with open(path, encoding="utf-8") as f:
        try:
            data = json.load(f)
        except json.JSONDecodeError as e:
            raise DataFileError(path, e.lineno, f"invalid JSON ({e.msg})") from None
    examples = []
    not_found = outside = 0
    for article_index, article in enumerate(_require(data, "data", path, "top level")):
        for paragraph_index, paragraph in enumerate(_require(article, "paragraphs", path, f"article {article_index}")):
            where = f"article {article_index}, paragraph {paragraph_index}"
            doc_tokens, char_to_word_offset = _split_context(_require(paragraph, "context", path, where))
            for qa in _require(paragraph, "qas", path, where):
                qas_id = _require(qa, "id", path, f"{where}, question")
                question = f"question {qas_id!r}"
                example = SquadExample(qas_id, _require(qa, "question", path, question), doc_tokens)
                if is_training:
                    if version_2_with_negative:
                        example.is_impossible = bool(_require(qa, "is_impossible", path, question))
                    if example.is_impossible:
                        example.start_position, example.end_position, example.orig_answer_text = -1, -1, ""
                    else:
                        answers = _require(qa, "answers", path, question)
                        if len(answers) != 1:
                            raise DataFileError(path, None, f"{question}: for training, each question should "
                                                f"have exactly 1 answer, got {len(answers)}")
                        text = _require(answers[0], "text", path, question)
                        offset = _require(answers[0], "answer_start", path, question)
                        if (not isinstance(offset, int) or not text or offset < 0
                                or offset + len(text) > len(char_to_word_offset)
                                or char_to_word_offset[offset] < 0):
                            logger.warning("Answer offset outside its context: %s, answer_start %r, text %r",
                                           question, offset, text)
                            outside += 1
                            continue
                        start = char_to_word_offset[offset]
                        end = char_to_word_offset[offset + len(text) - 1]
                        actual_text = " ".join(doc_tokens[start:end + 1])
                        cleaned_answer_text = " ".join(text.split())
                        if actual_text.find(cleaned_answer_text) == -1:
                            logger.warning("Could not find answer: '%s' vs. '%s'", actual_text, cleaned_answer_text)
                            not_found += 1
                            continue
                        example.orig_answer_text, example.start_position, example.end_position = text, start, end
                examples.append(example)
    if not_found or outside:
        logger.warning("%s: skipped %d training questions: %d 'Could not find answer', %d answer offsets outside "
                       "their context; kept %d", path, not_found + outside, not_found, outside, len(examples))
    return examples


def _improve_answer_span(doc_tokens: list[str], input_start: int, input_end: int,
                         tok_answer_text: str) -> tuple[int, int]:
    """The smallest sub-span of the word-piece answer span whose pieces spell the tokenised answer."""
    for new_start in range(input_start, input_end + 1):
        for new_end in range(input_end, new_start - 1, -1):
            if " ".join(doc_tokens[new_start:new_end + 1]) == tok_answer_text:
                return new_start, new_end
    return input_start, input_end


def _doc_spans(num_tokens: int, max_tokens_for_doc: int, doc_stride: int) -> list[tuple[int, int]]:
    """(start, length) windows over the document's word pieces."""
    spans = []
    start = 0
    while start < num_tokens:
        length = min(num_tokens - start, max_tokens_for_doc)
        spans.append((start, length))
        if start + length == num_tokens:
            break
        start += min(length, doc_stride)
    return spans


def _max_context_span(spans: list[tuple[int, int]], num_tokens: int) -> list[int]:
    """Per word piece, the window where min(left, right context) + 0.01 * length is largest (first on ties)."""
    best_score = [-1.0] * num_tokens
    best_span = [-1] * num_tokens
    for span_index, (start, length) in enumerate(spans):
        end = start + length - 1
        for position in range(start, end + 1):
            score = min(position - start, end - position) + 0.01 * length
            if best_span[position] < 0 or score > best_score[position]:
                best_score[position], best_span[position] = score, span_index
    return best_span


def convert_examples_to_features(examples: Sequence[SquadExample], tokenizer: SquadTokenizer,
                                 max_seq_length: int, doc_stride: int, max_query_length: int,
                                 is_training: bool) -> list[SquadFeature]:
    """Cuts each example into windows `[CLS] query [SEP] document window [SEP]`, zero-padded.

    Tokenises all questions (and training answers) in one `tokenize_words` call, and each distinct
    document (examples of one paragraph share it) in one more.
    """
    if max_seq_length <= max_query_length + 3:
        raise ValueError(f"max_seq_length ({max_seq_length}) must be greater than max_query_length "
                         f"({max_query_length}) + 3")
    if doc_stride < 1:
        raise ValueError(f"doc_stride must be positive, got {doc_stride}")
    queries = tokenizer.tokenize_words([ex.question_text for ex in examples])
    answers = tokenizer.tokenize_words([ex.orig_answer_text or "" for ex in examples]) if is_training else None
    cls_id, sep_id = tokenizer.convert_tokens_to_ids(["[CLS]", "[SEP]"])
    features = []
    unique_id = _FIRST_UNIQUE_ID
    doc_words, doc = None, None
    for example_index, example in enumerate(examples):
        query_tokens = queries[example_index][:max_query_length]
        if example.doc_tokens is not doc_words:  # examples of one paragraph share their doc_tokens list
            doc_words, doc = example.doc_tokens, _tokenize_document(example.doc_tokens, tokenizer)
        all_doc_tokens, all_doc_ids, tok_to_orig_index, orig_to_tok_index = doc
        query_ids = tokenizer.convert_tokens_to_ids(query_tokens) if query_tokens else []

        tok_start = tok_end = None
        if is_training and not example.is_impossible:
            tok_start = orig_to_tok_index[example.start_position]
            if example.end_position < len(example.doc_tokens) - 1:
                tok_end = orig_to_tok_index[example.end_position + 1] - 1
            else:
                tok_end = len(all_doc_tokens) - 1
            tok_start, tok_end = _improve_answer_span(all_doc_tokens, tok_start, tok_end,
                                                      " ".join(answers[example_index]))

        spans = _doc_spans(len(all_doc_tokens), max_seq_length - len(query_tokens) - 3, doc_stride)
        max_context = _max_context_span(spans, len(all_doc_tokens))
        doc_offset = len(query_tokens) + 2
        for span_index, (start, length) in enumerate(spans):
            tokens = ["[CLS]", *query_tokens, "[SEP]", *all_doc_tokens[start:start + length], "[SEP]"]
            ids = [cls_id, *query_ids, sep_id, *all_doc_ids[start:start + length], sep_id]
            input_ids = np.zeros(max_seq_length, np.int32)
            input_ids[:len(ids)] = ids
            input_mask = np.zeros(max_seq_length, np.int32)
            input_mask[:len(ids)] = 1
            segment_ids = np.zeros(max_seq_length, np.int32)
            segment_ids[doc_offset:len(ids)] = 1
            feature = SquadFeature(
                unique_id=unique_id, example_index=example_index, doc_span_index=span_index, tokens=tokens,
                token_to_orig_map={doc_offset + i: tok_to_orig_index[start + i] for i in range(length)},
                token_is_max_context={doc_offset + i: max_context[start + i] == span_index for i in range(length)},
                input_ids=input_ids, input_mask=input_mask, segment_ids=segment_ids)
            if is_training:
                feature.start_position = feature.end_position = 0
                feature.is_impossible = example.is_impossible
                if not example.is_impossible and start <= tok_start and tok_end <= start + length - 1:
                    feature.start_position = tok_start - start + doc_offset
                    feature.end_position = tok_end - start + doc_offset
            features.append(feature)
            unique_id += 1
    return features


_DocumentPieces = collections.namedtuple("_DocumentPieces", ["tokens", "ids", "tok_to_orig_index",
                                                             "orig_to_tok_index"])


def _tokenize_document(doc_tokens: list[str], tokenizer: SquadTokenizer) -> _DocumentPieces:
    """Word pieces of the document and their ids, the word of each piece, and the first piece of each word."""
    all_doc_tokens, tok_to_orig_index, orig_to_tok_index = [], [], []
    for word_index, pieces in enumerate(tokenizer.tokenize_words(doc_tokens) if doc_tokens else []):
        orig_to_tok_index.append(len(all_doc_tokens))
        all_doc_tokens.extend(pieces)
        tok_to_orig_index.extend([word_index] * len(pieces))
    ids = tokenizer.convert_tokens_to_ids(all_doc_tokens) if all_doc_tokens else []
    return _DocumentPieces(all_doc_tokens, ids, tok_to_orig_index, orig_to_tok_index)


def squad_dataset(features: Sequence[SquadFeature], is_training: bool) -> tf.data.Dataset:
    """Unbatched dataset of dicts: int32 [seq] `input_word_ids`, `input_mask`, `input_type_ids`, and

    in training int32 scalars `start_positions`, `end_positions`, `is_impossible`; else int64 `unique_ids`.
    """
    if not features:
        raise ValueError("no SQuAD features to make a dataset from")
    tensors = {
        "input_word_ids": np.stack([f.input_ids for f in features]),
        "input_mask": np.stack([f.input_mask for f in features]),
        "input_type_ids": np.stack([f.segment_ids for f in features]),
    }
    if is_training:
        tensors["start_positions"] = np.array([f.start_position for f in features], np.int32)
        tensors["end_positions"] = np.array([f.end_position for f in features], np.int32)
        tensors["is_impossible"] = np.array([int(f.is_impossible) for f in features], np.int32)
    else:
        tensors["unique_ids"] = np.array([f.unique_id for f in features], np.int64)
    return tf.data.Dataset.from_tensor_slices(tensors)


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


def write_predictions(examples: Sequence[SquadExample], features: Sequence[SquadFeature],
                      results: Sequence[RawResult], tokenizer: SquadTokenizer, output_dir: str | os.PathLike,
                      n_best_size: int = 20, max_answer_length: int = 30, version_2_with_negative: bool = False,
                      null_score_diff_threshold: float = 0.0, verbose_logging: bool = False) -> dict[str, str]:
    """Post-processes and writes `predictions.json`, `nbest_predictions.json` and, for 2.0, `null_odds.json`.

    Returns the predictions (qas_id → answer text).
    """
    predictions, nbest, null_odds = postprocess_predictions(
        examples, features, results, tokenizer, n_best_size, max_answer_length, version_2_with_negative,
        null_score_diff_threshold, verbose_logging)
    os.makedirs(output_dir, exist_ok=True)
    outputs = [("predictions.json", predictions), ("nbest_predictions.json", nbest)]
    if version_2_with_negative:
        outputs.append(("null_odds.json", null_odds))
    for name, records in outputs:
        with open(os.path.join(output_dir, name), "w", encoding="utf-8") as f:
            f.write(json.dumps(records, indent=4) + "\n")
    return predictions
