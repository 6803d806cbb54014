"""SQuAD examples → `SquadFeature` windows and their tf.data dataset, as google-research/bert `run_squad.py`.

The query is truncated to `max_query_length`; sliding document windows every `doc_stride` word pieces are
packed `[CLS] query [SEP] window [SEP]` by `keras_bert.tokenization.packing`; each token gets its "max context"
window; training answers get the reference's improved span.

Tokenisation goes through a small interface (`SquadTokenizer`) so that a batched TF-Text tokenizer can
serve it: `tokenize_words(texts)` returns the word pieces of each text (the reference's
`FullTokenizer.tokenize` applied to each), `convert_tokens_to_ids(pieces)`, and `basic_tokenize(text)`
(the reference's `BasicTokenizer(do_lower_case).tokenize`, used by `postprocess.get_final_text`).
"""
from __future__ import annotations

import collections
import dataclasses
from collections.abc import Sequence
from typing import Protocol

import numpy as np
import tensorflow as tf

from keras_bert.data.squad.examples import SquadExample
from keras_bert.tokenization.packing import pack_tokens_py

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
class SquadFeature:
    """One document window of one example.

    `input_word_ids`, `input_mask`, `input_type_ids`: int32 [max_seq_length], the encoder's inputs.
    `token_to_orig_map`: window token position → `doc_tokens` index; `token_is_max_context`: position →
    whether this window gives the token its largest context. Training only: `start_position`/`end_position`
    (0 when the answer is not inside the window or the example is impossible) and `is_impossible` (the
    example's flag, as the reference).
    """

    unique_id: int
    example_index: int
    doc_span_index: int
    tokens: list[str]
    token_to_orig_map: dict[int, int]
    token_is_max_context: dict[int, bool]
    input_word_ids: np.ndarray
    input_mask: np.ndarray
    input_type_ids: np.ndarray
    start_position: int | None = None
    end_position: int | None = None
    is_impossible: bool | None = None


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
            tokens, _ = pack_tokens_py(query_tokens, all_doc_tokens[start:start + length], "[CLS]", "[SEP]")
            ids, type_ids = pack_tokens_py(query_ids, all_doc_ids[start:start + length], cls_id, sep_id)
            feature = SquadFeature(
                unique_id=unique_id, example_index=example_index, doc_span_index=span_index, tokens=tokens,
                token_to_orig_map={doc_offset + i: tok_to_orig_index[start + i] for i in range(length)},
                token_is_max_context={doc_offset + i: max_context[start + i] == span_index for i in range(length)},
                input_word_ids=_padded(ids, max_seq_length), input_mask=_padded([1] * len(ids), max_seq_length),
                input_type_ids=_padded(type_ids, max_seq_length))
            if is_training:
                feature.start_position = feature.end_position = 0
                feature.is_impossible = example.is_impossible
                if not example.is_impossible and start <= tok_start and tok_end <= start + length - 1:
                    feature.start_position = tok_start - start + doc_offset
                    feature.end_position = tok_end - start + doc_offset
            features.append(feature)
            unique_id += 1
    return features


def _padded(values: list[int], length: int) -> np.ndarray:
    """int32 [length]: `values`, then zeros (the reference pads every input with 0)."""
    padded = np.zeros(length, np.int32)
    padded[:len(values)] = values
    return padded


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
        "input_word_ids": np.stack([f.input_word_ids for f in features]),
        "input_mask": np.stack([f.input_mask for f in features]),
        "input_type_ids": np.stack([f.input_type_ids for f in features]),
    }
    if is_training:
        tensors["start_positions"] = np.array([f.start_position for f in features], np.int32)
        tensors["end_positions"] = np.array([f.end_position for f in features], np.int32)
        tensors["is_impossible"] = np.array([int(f.is_impossible) for f in features], np.int32)
    else:
        tensors["unique_ids"] = np.array([f.unique_id for f in features], np.int64)
    return tf.data.Dataset.from_tensor_slices(tensors)
