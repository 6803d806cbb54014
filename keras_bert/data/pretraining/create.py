"""google-research/bert's `create_pretraining_data`: raw text → masked-LM + next-sentence records.

The steps: read and tokenize the text (`corpus`), pair segments into instance spans for `dupe_factor`
passes (`instances`), shuffle them, pack and mask them in batches and write them (`records`). Output is
deterministic given `random_seed`, whatever the number of workers. All cores are used: tokenizing and masking
run on threads (TensorFlow ops release the GIL), pairing large corpora on forked processes.

Two ways to run, with the same record format and statistics:

* Whole corpus (the default): every document of every file in memory at once, as the reference does; random
  next sentences come from the whole corpus, instances are shuffled over it and go round-robin over the output
  files.
* Streaming (`max_documents_in_memory`, or `output_files` a folder or `*` pattern: one output per input file):
  each input file is read in chunks of at most `max_documents_in_memory` documents (default for a folder or
  pattern: the whole file), and a chunk is generated exactly like a whole corpus of its own, with the seed
  `shard_seed(random_seed, file name, chunk index)`. Random next sentences come from the chunk's documents and
  instances are shuffled within the chunk — what the reference does per file when a corpus is sharded by hand.
  Memory is bounded by the flag: `num_workers` chunks are generated at a time on threads, while the next is
  read and finished ones are written in input order. A file's records depend only on its content, its name
  (not its folder), the flags and the seed, so input shard i → output shard i runs on any machine and gives
  the records of a single run over all shards.
"""
from __future__ import annotations

import collections
import concurrent.futures
import ctypes
import dataclasses
import hashlib
import os
import sys
from collections.abc import Callable, Iterator, Sequence

import numpy as np
import tensorflow as tf
import tqdm

from keras_bert.data.pretraining import records
from keras_bert.data.pretraining.corpus import (
    LineTokenizer,
    TokenizedCorpus,
    load_tokenizer,
    read_documents,
    tokenize_corpus,
    tokenize_files,
)
from keras_bert.data.pretraining.instances import PretrainingDataOptions, create_instance_spans, masked_instances
from keras_bert.data.pretraining.outputs import OutputPlan, OutputWriter, plan_outputs
from keras_bert.files import expand_file_patterns

_INSTANCE_BATCH = 4096
# glibc's malloc_trim where the C library has one (Linux), else None.
_MALLOC_TRIM = getattr(ctypes.CDLL(None), "malloc_trim", None) if sys.platform.startswith("linux") else None
# Tracing the packing, masking and encoding graph (a tf.function) costs about a second and then runs batches
# three times as fast as eager ops: the whole-corpus run traces it from this many batches on.
_TRACE_FROM_BATCHES = 10

Encoder = Callable[[tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor], tf.Tensor]


@dataclasses.dataclass
class PretrainingDataSummary:
    """What `create_pretraining_data` did, for logs and tests.

    Attributes:
      num_input_files: text files read.
      num_documents: non-empty documents.
      num_single_segment_documents: documents of one segment (always paired with a random next, as in the
        reference).
      num_segments: non-empty lines.
      num_segments_longer_than_max: lines of more than `max_seq_length - 3` tokens (always truncated).
      num_instances: records written.
      output_files: the record files.
    """

    num_input_files: int
    num_documents: int = 0
    num_single_segment_documents: int = 0
    num_segments: int = 0
    num_segments_longer_than_max: int = 0
    num_instances: int = 0
    output_files: list[str] = dataclasses.field(default_factory=list)

    def count(self, corpus: TokenizedCorpus, options: PretrainingDataOptions) -> None:
        """Adds the documents and segments of `corpus`."""
        segments_per_document = np.diff(corpus.document_offsets)
        self.num_documents += corpus.num_documents
        self.num_single_segment_documents += int(np.sum(segments_per_document == 1))
        self.num_segments += len(corpus.segment_offsets) - 1
        self.num_segments_longer_than_max += int(np.sum(np.diff(corpus.segment_offsets) > options.max_seq_length - 3))


def create_pretraining_data(
    input_patterns: str | Sequence[str],
    output_files: str | Sequence[str],
    vocab_file: str,
    do_lower_case: bool = True,
    options: PretrainingDataOptions | None = None,
    num_workers: int | None = None,
    max_documents_in_memory: int | None = None,
) -> PretrainingDataSummary:
    """Runs the whole generator: text files → reference pretraining TFRecords.

    Args:
      input_patterns: comma-separated globs or a list of globs of text files (one sentence per line, a
        blank line between documents).
      output_files: comma-separated paths or a list: instances go round-robin over them (shards). Or one folder
        (an existing one, or a path ending in "/") or a pattern with one `*`: one output per input file, named
        `<folder>/<input name without extension>.tfrecord` or the pattern with `*` replaced by that name.
      vocab_file: WordPiece vocabulary (with `[MASK]`); do_lower_case: the reference flag.
      options: instance-shaping flags (default: the reference's defaults).
      num_workers: threads for tokenizing and masking (streaming: chunks generated at a time), processes for
        pairing large whole corpora (default: all cores).
      max_documents_in_memory: stream each input file in chunks of at most this many documents (see the
        module docstring); None: the whole corpus at once, or with one output per input, each whole file.

    Returns:
      A `PretrainingDataSummary`.

    Raises:
      FileNotFoundError / OSError naming a glob that matches nothing, a missing, unreadable or directory input
      or a missing vocabulary; `DataFileError` naming a file that is not text; ValueError naming the output
      files when one is empty or a directory or two inputs would share an output, naming `num_workers` or
      `max_documents_in_memory` below 1, naming two inputs of the same name when streaming (the name seeds a
      file's records), or naming the input files when they hold no token. Nothing is written over an existing
      output unless its records are complete (`records.PretrainingRecordWriter`).
    """
    options = options or PretrainingDataOptions()
    if num_workers is not None and num_workers < 1:
        raise ValueError(f"--num_workers must be >= 1, got {num_workers}")
    if max_documents_in_memory is not None and max_documents_in_memory < 1:
        raise ValueError(f"--max_documents_in_memory must be >= 1, got {max_documents_in_memory}")
    input_files = expand_file_patterns(input_patterns)
    for path in input_files:
        if tf.io.gfile.isdir(path):
            raise OSError(f"cannot read input file {path}: it is a directory")
    plan = plan_outputs(output_files, input_files)
    streaming = plan.per_input or max_documents_in_memory is not None
    if streaming:
        _check_unique_names(input_files)
    tokenizer, special = load_tokenizer(vocab_file, do_lower_case)
    num_workers = num_workers or os.cpu_count() or 1
    summary = PretrainingDataSummary(num_input_files=len(input_files), output_files=plan.files)
    if streaming:
        _stream(input_files, plan, tokenizer, special, options, num_workers, max_documents_in_memory, summary)
    else:
        _whole_corpus(input_files, plan, tokenizer, special, options, num_workers, summary)
    return summary


def shard_seed(random_seed: int, name: str, chunk_index: int) -> int:
    """The seed of chunk `chunk_index` of the input file named `name` (no folder), in [0, 2**63)."""
    digest = hashlib.sha256(f"{random_seed}/{name}/{chunk_index}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


def _check_unique_names(input_files: Sequence[str]) -> None:
    """ValueError naming two input files of the same name: their chunks would get the same seeds."""
    seen: dict[str, str] = {}
    for path in input_files:
        name = os.path.basename(path)
        if name in seen:
            raise ValueError(f"--input_file: {seen[name]} and {path} have the same file name {name!r}, which seeds "
                             "a file's records when streaming; rename one, or run each folder on its own")
        seen[name] = path


def _whole_corpus(input_files: list[str], plan: OutputPlan, tokenizer, special: dict[str, int],
                  options: PretrainingDataOptions, num_workers: int, summary: PretrainingDataSummary) -> None:
    """Every document in memory at once, as the reference; instances round-robin over `plan.files`."""
    corpus = tokenize_files(input_files, tokenizer, num_workers)
    summary.count(corpus, options)
    spans = _shuffled_spans(corpus, options, options.random_seed, num_workers)
    encode = _instance_encoder(options, special, traced=len(spans) >= _TRACE_FROM_BATCHES * _INSTANCE_BATCH)
    with (records.PretrainingRecordWriter(plan.files) as writer,
          tqdm.tqdm(total=len(spans), unit="instance", desc="writing") as progress):
        for serialized in _serialized_instances(spans, corpus, options.random_seed, encode, num_workers):
            writer.write(serialized)
            progress.update(int(serialized.shape[0]))
    summary.num_instances = writer.num_written


@dataclasses.dataclass
class _Chunk:
    """Documents of one input file, generated as a corpus of their own."""

    file_index: int
    seed: int
    lines: list[str]
    corpus: TokenizedCorpus | None = None
    serialized: list[tf.Tensor] = dataclasses.field(default_factory=list)


def _stream(input_files: list[str], plan: OutputPlan, tokenizer, special: dict[str, int],
            options: PretrainingDataOptions, num_workers: int, max_documents: int | None,
            summary: PretrainingDataSummary) -> None:
    """Chunks of at most `max_documents` documents per file, `num_workers` generated at a time, written in order:
    round-robin over `plan.files`, or input file i → `plan.files[i]`."""
    line_tokenizer = LineTokenizer(tokenizer, num_threads=1, trace_from_lines=0)
    encode = _instance_encoder(options, special, traced=True)

    def chunks() -> Iterator[_Chunk]:
        for file_index, path in enumerate(input_files):
            name = os.path.basename(path)
            for chunk_index, lines in enumerate(read_documents(path, max_documents)):
                yield _Chunk(file_index, shard_seed(options.random_seed, name, chunk_index), lines)

    def generate(chunk: _Chunk) -> _Chunk:
        chunk.corpus = tokenize_corpus([chunk.lines], line_tokenizer)
        chunk.lines = []
        if chunk.corpus.num_documents:
            spans = _shuffled_spans(chunk.corpus, options, chunk.seed, num_workers=1)
            chunk.serialized = list(_serialized_instances(spans, chunk.corpus, chunk.seed, encode))
        return chunk

    with OutputWriter(plan) as writer, tqdm.tqdm(unit="instance", desc="writing") as progress:
        for chunk in _in_order(generate, chunks(), num_workers):
            summary.count(chunk.corpus, options)
            for serialized in chunk.serialized:
                writer.write(chunk.file_index, serialized)
                progress.update(int(serialized.shape[0]))
            chunk.corpus, chunk.serialized = None, []  # not held while the next chunks are read and generated
            _return_freed_memory()
        if summary.num_documents == 0:
            raise ValueError(f"no tokens in the input files {', '.join(input_files)}")
    summary.num_instances = writer.num_written


def _return_freed_memory() -> None:
    """Hands memory freed by finished chunks back to the system (glibc): without it, freed blocks scattered over
    the allocator's per-thread arenas let the process grow with every chunk (+11% from 10 to 100 MB, +3% with)."""
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)


def _in_order(function: Callable[[_Chunk], _Chunk], chunks: Iterator[_Chunk], num_workers: int) -> Iterator[_Chunk]:
    """`function` of each chunk on `num_workers` threads, in order; at most `num_workers` chunks are pending
    while the next is read, so memory stays bounded."""
    with concurrent.futures.ThreadPoolExecutor(num_workers) as pool:
        pending: collections.deque = collections.deque()
        for chunk in chunks:
            pending.append(pool.submit(function, chunk))
            if len(pending) >= num_workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def _shuffled_spans(corpus: TokenizedCorpus, options: PretrainingDataOptions, seed: int,
                    num_workers: int) -> np.ndarray:
    """The instance spans of every pass over `corpus`, drawn with `seed` and shuffled with it."""
    spans = create_instance_spans(corpus, dataclasses.replace(options, random_seed=seed), num_workers)
    return spans[np.random.default_rng(seed).permutation(len(spans))]


def _instance_encoder(options: PretrainingDataOptions, special: dict[str, int], traced: bool) -> Encoder:
    """(spans, ids, word_starts, seed) → serialized examples: `masked_instances` then `records.encode_examples`,
    eager or as one tf.function (same records)."""

    def encode(spans: tf.Tensor, ids: tf.Tensor, word_starts: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
        return records.encode_examples(masked_instances(spans, ids, word_starts, options, special, seed))

    if not traced:
        return encode
    return tf.function(encode, input_signature=[
        tf.TensorSpec([None, 5], tf.int64), tf.TensorSpec([None], tf.int32), tf.TensorSpec([None], tf.bool),
        tf.TensorSpec([2], tf.int64)])


def _serialized_instances(spans: np.ndarray, corpus: TokenizedCorpus, seed: int, encode: Encoder,
                          num_threads: int = 1) -> Iterator[tf.Tensor]:
    """Serialized `tf.train.Example` batches (string [<= _INSTANCE_BATCH]) in span order.

    `num_threads` batches at a time: TensorFlow ops release the GIL, so threads use all cores. Batch `i` is
    masked with the seed `(seed, i)`.
    """
    ids = tf.constant(corpus.ids)
    word_starts = tf.constant(corpus.word_starts)

    def batch_at(batch_index: int) -> tf.Tensor:
        first = batch_index * _INSTANCE_BATCH
        return encode(tf.constant(spans[first:first + _INSTANCE_BATCH]), ids, word_starts,
                      tf.constant([seed, batch_index], tf.int64))

    num_batches = -(-len(spans) // _INSTANCE_BATCH)
    if num_threads == 1:
        yield from map(batch_at, range(num_batches))
        return
    with concurrent.futures.ThreadPoolExecutor(num_threads) as pool:
        pending: collections.deque = collections.deque()
        for batch_index in range(num_batches):
            pending.append(pool.submit(batch_at, batch_index))
            if len(pending) >= 2 * num_threads:  # a bounded window keeps memory flat
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
