"""Pretraining text → `TokenizedCorpus`: documents of tokenized lines as flat arrays, read once.

The input format is the reference `create_pretraining_data`'s: one sentence per line, a blank line between
documents. A file's end also ends a document (the reference lets a document run on into the next file); a
line without tokens is dropped, and so is an empty document. Tokenizing is our TF-Text `BertTokenizer`:
up to 200k lines eagerly on all cores, larger corpora in parallel batches through `tf.data`.
"""
from __future__ import annotations

import concurrent.futures
import dataclasses
import os
from collections.abc import Sequence

import numpy as np
import tensorflow as tf
import tqdm

from keras_bert.files import decode_text
from keras_bert.tokenization.tokenizer import BertTokenizer

_TOKENIZE_BATCH = 4096
# Up to this many lines are tokenized eagerly in one call: tracing the tokenizer for tf.data costs
# about a second, more than tokenizing a few hundred thousand lines. Larger corpora go through a
# parallel tf.data map over all cores.
_EAGER_TOKENIZE_LINES = 200_000


@dataclasses.dataclass
class TokenizedCorpus:
    """All documents as flat arrays; segments (lines) of a document are contiguous.

    Attributes:
      ids: int32 [tokens], the word-piece ids of every segment back to back.
      word_starts: bool [tokens], True at the first piece of a word.
      segment_offsets: int64 [segments + 1], segment s is `ids[segment_offsets[s]:segment_offsets[s+1]]`.
      document_offsets: int64 [documents + 1], document d holds segments
        `document_offsets[d]:document_offsets[d+1]`.
    """

    ids: np.ndarray
    word_starts: np.ndarray
    segment_offsets: np.ndarray
    document_offsets: np.ndarray

    @property
    def num_documents(self) -> int:
        return len(self.document_offsets) - 1


def load_tokenizer(vocab_file: str, do_lower_case: bool) -> tuple[BertTokenizer, dict[str, int]]:
    """Our `BertTokenizer` and its special ids (`get_special_tokens_dict`); the vocabulary must hold `[MASK]`.

    Raises:
      FileNotFoundError naming a missing `vocab_file`; ValueError when it has no `[MASK]`.
    """
    if not tf.io.gfile.exists(vocab_file):
        raise FileNotFoundError(f"vocab_file not found: {vocab_file}")
    tokenizer = BertTokenizer(vocab_file, lower_case=do_lower_case)
    special = tokenizer.get_special_tokens_dict()
    if "mask_id" not in special:
        raise ValueError(f"vocab_file {vocab_file} has no [MASK] token")
    return tokenizer, special


def read_corpus(input_files: Sequence[str]) -> list[list[str]]:
    """Lines of each file, decoded as UTF-8 with bad bytes dropped and stripped, like the reference.

    Raises:
      FileNotFoundError / OSError naming the file that is missing or unreadable; `DataFileError` naming the
      file and line when it is not text (`keras_bert.files.decode_text`: NUL bytes, much invalid UTF-8, no
      line breaks), where the reference would make instances of garbage.
    """
    corpus = []
    for path in input_files:
        try:
            with tf.io.gfile.GFile(path, "rb") as reader:
                data = reader.read()
        except tf.errors.NotFoundError as error:
            raise FileNotFoundError(f"input file not found: {path}") from error
        except (tf.errors.OpError, OSError) as error:
            raise OSError(f"cannot read input file {path}: {error}") from error
        # Split on "\n" only, as iterating a binary GFile does; str.strip then drops "\r" and spaces.
        corpus.append([line.strip() for line in decode_text(path, data).split("\n")])
    return corpus


def tokenize_corpus(corpus: list[list[str]], tokenizer: BertTokenizer,
                    num_threads: int | None = None) -> TokenizedCorpus:
    """Lines per file (from `read_corpus`) → `TokenizedCorpus`, empty documents removed.

    `num_threads` defaults to the number of cores.
    """
    texts: list[str] = []
    document_of_line: list[int] = []
    document = 0
    for lines in corpus:
        document += 1  # Each file starts a new document.
        for line in lines:
            if line:
                texts.append(line)
                document_of_line.append(document)
            else:
                document += 1
    ids, word_starts, lengths = _tokenized_lines(tokenizer, texts, num_threads or os.cpu_count() or 1)
    keep = lengths > 0  # A line without tokens is neither a segment nor a document boundary.
    lengths = lengths[keep]
    documents = np.asarray(document_of_line, np.int64)[keep]
    segment_offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    is_first_segment = documents != np.concatenate([[-1], documents[:-1]])  # documents are numbered from 1
    document_offsets = np.append(np.flatnonzero(is_first_segment), len(documents)).astype(np.int64)
    return TokenizedCorpus(ids, word_starts, segment_offsets, document_offsets)


def tokenize_files(input_files: Sequence[str], tokenizer: BertTokenizer,
                   num_threads: int | None = None) -> TokenizedCorpus:
    """`read_corpus` then `tokenize_corpus`.

    Raises:
      FileNotFoundError / OSError naming a missing or unreadable file; ValueError naming the files when
      they hold no token at all.
    """
    corpus = tokenize_corpus(read_corpus(input_files), tokenizer, num_threads)
    if corpus.num_documents == 0:
        raise ValueError(f"no tokens in the input files {', '.join(input_files)}")
    return corpus


def _tokenized_lines(tokenizer: BertTokenizer, lines: list[str],
                     num_threads: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Tokenizes lines → (ids int32 [tokens], word_starts bool [tokens], tokens per line int64 [lines]).

    Up to `_EAGER_TOKENIZE_LINES` lines: eagerly, in `num_threads` chunks on as many threads (eager
    ops release the GIL). More: parallel batches through a tf.data map.
    """

    def tokenize(texts):
        pieces = tokenizer(texts)
        words = pieces.values
        starts = tf.scatter_nd(words.row_starts()[:, None], tf.ones_like(words.row_starts(), tf.bool),
                               tf.shape(words.values, out_type=tf.int64))
        return words.values, starts, pieces.merge_dims(1, 2).row_lengths()

    if not lines:
        return np.zeros([0], np.int32), np.zeros([0], bool), np.zeros([0], np.int64)
    if len(lines) <= _EAGER_TOKENIZE_LINES:
        chunk = -(-len(lines) // max(1, num_threads))
        with concurrent.futures.ThreadPoolExecutor(max(1, num_threads)) as pool:
            parts = list(pool.map(lambda first: [t.numpy() for t in tokenize(tf.constant(lines[first:first + chunk]))],
                                  range(0, len(lines), chunk)))
        return tuple(np.concatenate([part[k] for part in parts]) for k in range(3))
    dataset = tf.data.Dataset.from_tensor_slices(tf.constant(lines, tf.string))
    dataset = dataset.batch(_TOKENIZE_BATCH).map(tokenize, num_parallel_calls=tf.data.AUTOTUNE)
    ids, starts, lengths = [], [], []
    with tqdm.tqdm(total=len(lines), unit="line", desc="tokenizing", leave=False) as progress:
        for batch_ids, batch_starts, batch_lengths in dataset.as_numpy_iterator():
            ids.append(batch_ids)
            starts.append(batch_starts)
            lengths.append(batch_lengths)
            progress.update(len(batch_lengths))
    return np.concatenate(ids), np.concatenate(starts), np.concatenate(lengths)
