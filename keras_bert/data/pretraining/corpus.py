"""Pretraining text → `TokenizedCorpus`: documents of tokenized lines as flat arrays, read once.

The input format is the reference `create_pretraining_data`'s: one sentence per line, a blank line between
documents. A file's end also ends a document (the reference lets a document run on into the next file); a
line without tokens is dropped, and so is an empty document. Tokenizing is our TF-Text `BertTokenizer`
on all cores (`LineTokenizer`).

Files are read in blocks of whole lines (`read_documents`), so that a corpus can be streamed a bounded number
of documents at a time; each block passes the text checks of `keras_bert.files.decode_text` on its own (a file
up to 4 MiB is one block), so the 1% share of invalid UTF-8 bytes it tolerates is counted per block.
"""
from __future__ import annotations

import concurrent.futures
import dataclasses
import os
from collections.abc import Iterator, Sequence

import numpy as np
import tensorflow as tf
import tqdm

from keras_bert.files import MAX_LINE_BYTES, DataFileError, decode_text
from keras_bert.tokenization.tokenizer import BertTokenizer

_TOKENIZE_BATCH = 4096
# Tracing the tokenizer (a tf.function) costs about a second and then tokenizes twice as fast as eager ops:
# it pays off from about this many lines.
_EAGER_TOKENIZE_LINES = 50_000
# Files are read and checked this many bytes at a time (then cut after their last whole line): a block and its
# lines take about 5 times as much memory.
_READ_BYTES = 1 << 22


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
      as `read_documents`.
    """
    return [[line for lines in read_documents(path) for line in lines] for path in input_files]


def read_documents(path: str, max_documents: int | None = None) -> Iterator[list[str]]:
    """Streams the stripped lines of one text file, at most `max_documents` documents at a time.

    Args:
      path: a text file (any `tf.io.gfile` path); one sentence per line, a blank line between documents.
      max_documents: documents (runs of non-blank lines) per yielded list; None: the whole file at once.

    Yields:
      Lists of lines, blank separators included, cut after a document's blank line; none without a document.

    Raises:
      FileNotFoundError / OSError naming the file that is missing or unreadable; `DataFileError` naming the
      file and line when it is not text (`keras_bert.files.decode_text`: NUL bytes, much invalid UTF-8, a line
      over 1 MiB), where the reference would make instances of garbage.
    """
    lines: list[str] = []
    documents, in_document = 0, False
    for line in _stripped_lines(path):
        lines.append(line)
        if line:
            in_document = True
        elif in_document:
            documents, in_document = documents + 1, False
            if documents == max_documents:
                yield lines
                lines, documents = [], 0
    if documents or in_document:
        yield lines


def _stripped_lines(path: str) -> Iterator[str]:
    """The lines of `path`, read `_READ_BYTES` at a time; errors as `read_documents` describes."""
    try:
        with tf.io.gfile.GFile(path, "rb") as reader:
            pending, line_number = b"", 0
            while block := reader.read(_READ_BYTES):
                pending += block
                end = pending.rfind(b"\n") + 1
                if not end:  # no whole line yet: an error once it is too long to be one
                    if len(pending) > MAX_LINE_BYTES:
                        _decoded(path, pending, line_number)
                    continue
                # Split on "\n" only, as iterating a binary GFile does; str.strip then drops "\r" and spaces.
                lines = _decoded(path, pending[:end], line_number).split("\n")[:-1]
                pending = pending[end:]
                line_number += len(lines)
                yield from (line.strip() for line in lines)
            yield _decoded(path, pending, line_number).strip()
    except tf.errors.NotFoundError as error:
        raise FileNotFoundError(f"input file not found: {path}") from error
    except (tf.errors.OpError, OSError) as error:
        raise OSError(f"cannot read input file {path}: {error}") from error


def _decoded(path: str, data: bytes, lines_before: int) -> str:
    """`decode_text` of a block of `path` that starts after `lines_before` lines; its errors name the file's line."""
    try:
        return decode_text(path, data)
    except DataFileError as error:
        if not lines_before or error.line is None:
            raise
        message = str(error)[len(f"{error.path}, line {error.line}: "):]
        raise DataFileError(path, error.line + lines_before, message) from None


class LineTokenizer:
    """Lines of text → flat word-piece arrays with our `BertTokenizer`, in batches on threads.

    A call with fewer than `trace_from_lines` lines runs eagerly, split over the threads. Larger calls run a
    tf.function, traced once per `LineTokenizer` and shared by the threads and by later calls, in batches of
    `_TOKENIZE_BATCH` lines. Both give the same ids.

    Args:
      tokenizer: from `load_tokenizer`.
      num_threads: threads per call (default: all cores); eager and traced TensorFlow ops release the GIL.
      trace_from_lines: the size of call from which the traced function runs.
    """

    def __init__(self, tokenizer: BertTokenizer, num_threads: int | None = None,
                 trace_from_lines: int = _EAGER_TOKENIZE_LINES):
        def tokenize(texts):
            pieces = tokenizer(texts)
            words = pieces.values
            starts = tf.scatter_nd(words.row_starts()[:, None], tf.ones_like(words.row_starts(), tf.bool),
                                   tf.shape(words.values, out_type=tf.int64))
            return words.values, starts, pieces.merge_dims(1, 2).row_lengths()

        self._eager = tokenize
        self._traced = tf.function(tokenize, input_signature=[tf.TensorSpec([None], tf.string)])
        self._num_threads = max(1, num_threads or os.cpu_count() or 1)
        self._trace_from_lines = trace_from_lines

    def __call__(self, lines: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Tokenizes lines → (ids int32 [tokens], word_starts bool [tokens], tokens per line int64 [lines])."""
        if not lines:
            return np.zeros([0], np.int32), np.zeros([0], bool), np.zeros([0], np.int64)
        traced = len(lines) >= self._trace_from_lines
        tokenize = self._traced if traced else self._eager
        batch = _TOKENIZE_BATCH if traced else -(-len(lines) // self._num_threads)
        firsts = range(0, len(lines), batch)
        with concurrent.futures.ThreadPoolExecutor(self._num_threads) as pool:
            parts = list(tqdm.tqdm(
                pool.map(lambda first: [t.numpy() for t in tokenize(tf.constant(lines[first:first + batch]))], firsts),
                total=len(firsts), unit="batch", desc="tokenizing", leave=False, disable=len(firsts) < 16))
        return tuple(np.concatenate([part[k] for part in parts]) for k in range(3))


def tokenize_corpus(corpus: list[list[str]], tokenizer: LineTokenizer) -> TokenizedCorpus:
    """Lines per file (from `read_corpus`, or a part of a file from `read_documents`) → `TokenizedCorpus`,
    empty documents removed."""
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
    ids, word_starts, lengths = tokenizer(texts)
    keep = lengths > 0  # A line without tokens is neither a segment nor a document boundary.
    lengths = lengths[keep]
    documents = np.asarray(document_of_line, np.int64)[keep]
    segment_offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    is_first_segment = documents != np.concatenate([[-1], documents[:-1]])  # documents are numbered from 1
    document_offsets = np.append(np.flatnonzero(is_first_segment), len(documents)).astype(np.int64)
    return TokenizedCorpus(ids, word_starts, segment_offsets, document_offsets)


def tokenize_files(input_files: Sequence[str], tokenizer: BertTokenizer,
                   num_threads: int | None = None) -> TokenizedCorpus:
    """`read_corpus` then `tokenize_corpus`, on `num_threads` threads (default: all cores).

    Raises:
      FileNotFoundError / OSError naming a missing or unreadable file; ValueError naming the files when
      they hold no token at all.
    """
    corpus = tokenize_corpus(read_corpus(input_files), LineTokenizer(tokenizer, num_threads))
    if corpus.num_documents == 0:
        raise ValueError(f"no tokens in the input files {', '.join(input_files)}")
    return corpus
