"""CoNLL-format token tagging (NER): reading, features with labels on first word pieces, writing, metrics.

File format: one token per line, columns separated by whitespace, the token first and its label in the
last column; a blank line ends a sentence; `-DOCSTART-` lines are skipped.

Features label only the first word piece of each word; other pieces, `[CLS]`, `[SEP]` and padding get
`IGNORE_LABEL_ID` (-100), which a loss drops with `keras.losses.SparseCategoricalCrossentropy(ignore_class=-100)`.
Sentences longer than `seq_length - 2` word pieces are truncated; their cut-off words are predicted "O" in
the written predictions and the count is logged. Words that yield no word piece (e.g. only control
characters) are fed as `[UNK]` so that every word keeps a position. Batches may be cut to their longest sentence
(`trim_tagging_batch`): padding gets no attention, so the logits of real tokens do not change.
"""
from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Sequence
from typing import Protocol

import numpy as np
import tensorflow as tf
from seqeval import metrics as seqeval_metrics

from keras_bert.files import DataFileError, read_lines
from keras_bert.models.encoder import ENCODER_INPUTS
from keras_bert.tokenization.packing import pack_tokens_py, trim_padding

logger = logging.getLogger(__name__)

IGNORE_LABEL_ID = -100
OUTSIDE_LABEL = "O"


class WordPieceTokenizer(Protocol):
    def tokenize_words(self, texts: list[str]) -> list[list[str]]:
        """Word pieces (strings) of each text."""

    def convert_tokens_to_ids(self, tokens: list[str]) -> list[int]:
        """Vocabulary ids of word pieces."""


@dataclasses.dataclass(frozen=True)
class TaggedSentence:
    """Words and their labels; `lines` are the 1-based lines of the words in `path`."""

    words: tuple[str, ...]
    labels: tuple[str, ...]
    path: str
    lines: tuple[int, ...]


@dataclasses.dataclass
class TaggingFeature:
    """One sentence as encoder inputs, int32 [seq_length] each; `word_positions`: int32 [kept words]."""

    input_word_ids: np.ndarray
    input_mask: np.ndarray
    input_type_ids: np.ndarray
    label_ids: np.ndarray
    word_positions: np.ndarray


def read_conll(path: str | os.PathLike) -> list[TaggedSentence]:
    """Reads the sentences of a CoNLL file; a line with one column, or a file with no tokens, is an error."""
    path = os.fspath(path)
    sentences = []
    words, labels, lines = [], [], []

    def end_sentence():
        if words:
            sentences.append(TaggedSentence(tuple(words), tuple(labels), path, tuple(lines)))
            words.clear(), labels.clear(), lines.clear()

    for line_number, text in read_lines(path):
        columns = text.split()
        if not columns:
            end_sentence()
            continue
        if columns[0] == "-DOCSTART-":
            end_sentence()
            continue
        if len(columns) < 2:
            raise DataFileError(path, line_number, f"expected a token and a label, got {columns}")
        words.append(columns[0])
        labels.append(columns[-1])
        lines.append(line_number)
    end_sentence()
    if not sentences:
        raise DataFileError(path, None, "no tokens")
    return sentences


def collect_labels(sentences: Sequence[TaggedSentence]) -> list[str]:
    """The distinct labels: "O" first when present, the rest sorted."""
    labels = sorted({label for s in sentences for label in s.labels})
    return ([OUTSIDE_LABEL] if OUTSIDE_LABEL in labels else []) + [x for x in labels if x != OUTSIDE_LABEL]


def convert_sentences_to_features(sentences: Sequence[TaggedSentence], tokenizer: WordPieceTokenizer,
                                  label_list: Sequence[str], seq_length: int) -> list[TaggingFeature]:
    """`[CLS] pieces… [SEP]` per sentence (`keras_bert.tokenization.packing`), zero-padded, with label ids on
    each word's first piece.

    All words are tokenised in one `tokenize_words` call. A label outside `label_list` is a
    `DataFileError` naming the file and line.
    """
    if seq_length < 3:
        raise ValueError(f"seq_length must be at least 3, got {seq_length}")
    label_ids = {label: i for i, label in enumerate(label_list)}
    all_pieces = tokenizer.tokenize_words([w for s in sentences for w in s.words])
    cls_id, sep_id = tokenizer.convert_tokens_to_ids(["[CLS]", "[SEP]"])
    features = []
    next_word = 0
    truncated_sentences = dropped_words = 0
    for sentence in sentences:
        pieces, positions, first_labels = [], [], []
        for word_index, label in enumerate(sentence.labels):
            if label not in label_ids:
                raise DataFileError(sentence.path, sentence.lines[word_index],
                                    f"label {label!r} is not one of {list(label_list)}")
            word_pieces = all_pieces[next_word + word_index] or ["[UNK]"]
            if len(pieces) < seq_length - 2:
                positions.append(len(pieces) + 1)  # +1 for [CLS]
                first_labels.append(label_ids[label])
            pieces.extend(word_pieces)
        next_word += len(sentence.words)
        if len(pieces) > seq_length - 2:
            truncated_sentences += 1
            dropped_words += len(sentence.words) - len(positions)
            pieces = pieces[:seq_length - 2]
        ids, type_ids = pack_tokens_py(tokenizer.convert_tokens_to_ids(pieces), None, cls_id, sep_id)
        feature = TaggingFeature(*(np.zeros(seq_length, np.int32) for _ in range(3)),
                                 label_ids=np.full(seq_length, IGNORE_LABEL_ID, np.int32),
                                 word_positions=np.array(positions, np.int32))
        feature.input_word_ids[:len(ids)] = ids
        feature.input_mask[:len(ids)] = 1
        feature.input_type_ids[:len(ids)] = type_ids
        feature.label_ids[positions] = first_labels
        features.append(feature)
    if truncated_sentences:
        logger.warning("%d sentences longer than %d word pieces were truncated; %d words dropped (predicted %r)",
                       truncated_sentences, seq_length - 2, dropped_words, OUTSIDE_LABEL)
    return features


def tagging_dataset(features: Sequence[TaggingFeature], with_labels: bool = True) -> tf.data.Dataset:
    """Unbatched `(inputs, label_ids)` (or `inputs` alone): dict of int32 [seq] `input_word_ids`,
    `input_mask`, `input_type_ids`; `label_ids` int32 [seq] with `IGNORE_LABEL_ID` off first pieces."""
    if not features:
        raise ValueError("no tagging features to make a dataset from")
    inputs = {name: np.stack([getattr(f, name) for f in features]) for name in ENCODER_INPUTS}
    if not with_labels:
        return tf.data.Dataset.from_tensor_slices(inputs)
    return tf.data.Dataset.from_tensor_slices((inputs, np.stack([f.label_ids for f in features])))


def trim_tagging_batch(inputs: dict[str, tf.Tensor], label_ids: tf.Tensor | None = None):
    """A batch of `tagging_dataset` (map it after `.batch`) cut to its longest sentence, `label_ids` alike
    (`packing.trim_padding`): `inputs`, or `(inputs, label_ids)` when labels are given."""
    if label_ids is None:
        return trim_padding(inputs)
    trimmed = trim_padding({**inputs, "label_ids": label_ids}, sequence_keys=(*ENCODER_INPUTS, "label_ids"))
    return {name: trimmed[name] for name in ENCODER_INPUTS}, trimmed["label_ids"]


def predicted_labels(sentences: Sequence[TaggedSentence], features: Sequence[TaggingFeature],
                     predicted_ids: np.ndarray, label_list: Sequence[str]) -> list[list[str]]:
    """Per sentence, one label per word: the prediction at the word's first piece, "O" for truncated words.

    predicted_ids: int [num sentences, seq_length], e.g. the argmax of the tagger's logits.
    """
    predicted_ids = np.asarray(predicted_ids)
    if predicted_ids.ndim != 2 or len(predicted_ids) != len(sentences) or len(features) != len(sentences):
        raise ValueError(f"need one row of predicted ids per sentence: {len(sentences)} sentences, "
                         f"{len(features)} features, predicted_ids of shape {predicted_ids.shape}")
    out = []
    for sentence, feature, ids in zip(sentences, features, predicted_ids):
        labels = [label_list[i] for i in ids[feature.word_positions]]
        out.append(labels + [OUTSIDE_LABEL] * (len(sentence.words) - len(labels)))
    return out


def write_conll_predictions(path: str | os.PathLike, sentences: Sequence[TaggedSentence],
                            predictions: Sequence[Sequence[str]]) -> None:
    """Writes `token gold predicted` per line, a blank line after each sentence (conlleval's input)."""
    with open(path, "w", encoding="utf-8") as f:
        for sentence, labels in zip(sentences, predictions, strict=True):
            for word, gold, predicted in zip(sentence.words, sentence.labels, labels, strict=True):
                f.write(f"{word} {gold} {predicted}\n")
            f.write("\n")


def tagging_metrics(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]]) -> dict[str, float]:
    """Entity-level precision, recall and F1 (seqeval, conlleval's chunk rules) and token accuracy."""
    gold, predicted = [list(s) for s in gold], [list(s) for s in predicted]
    return {
        "precision": float(seqeval_metrics.precision_score(gold, predicted)),
        "recall": float(seqeval_metrics.recall_score(gold, predicted)),
        "f1": float(seqeval_metrics.f1_score(gold, predicted)),
        "accuracy": float(seqeval_metrics.accuracy_score(gold, predicted)),
    }
