"""google-research/bert's `create_pretraining_data`: raw text → masked-LM + next-sentence records.

The steps: read and tokenize the text (`corpus`), pair segments into instance spans for `dupe_factor`
passes (`instances`), shuffle them, pack and mask them in batches and write them round-robin over the
output files (`records`). Output is deterministic given `random_seed`, whatever the number of workers.
All cores are used: tokenizing and masking run on threads (eager TensorFlow ops release the GIL), pairing
large corpora on forked processes.
"""
from __future__ import annotations

import collections
import concurrent.futures
import dataclasses
import os
from collections.abc import Iterator, Sequence

import numpy as np
import tensorflow as tf
import tqdm

from keras_bert.data.pretraining import records
from keras_bert.data.pretraining.corpus import TokenizedCorpus, load_tokenizer, tokenize_files
from keras_bert.data.pretraining.instances import PretrainingDataOptions, create_instance_spans, masked_instances
from keras_bert.files import expand_file_patterns

_INSTANCE_BATCH = 4096


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
    num_documents: int
    num_single_segment_documents: int
    num_segments: int
    num_segments_longer_than_max: int
    num_instances: int
    output_files: list[str]


def create_pretraining_data(
    input_patterns: str | Sequence[str],
    output_files: str | Sequence[str],
    vocab_file: str,
    do_lower_case: bool = True,
    options: PretrainingDataOptions | None = None,
    num_workers: int | None = None,
) -> PretrainingDataSummary:
    """Runs the whole generator: text files → reference pretraining TFRecords.

    Args:
      input_patterns: comma-separated globs or a list of globs of text files (one sentence per line, a
        blank line between documents).
      output_files: comma-separated paths or a list; instances go round-robin over them (shards).
      vocab_file: WordPiece vocabulary (with `[MASK]`); do_lower_case: the reference flag.
      options: instance-shaping flags (default: the reference's defaults).
      num_workers: threads for tokenizing and masking, processes for pairing large corpora
        (default: all cores).

    Returns:
      A `PretrainingDataSummary`.

    Raises:
      FileNotFoundError / OSError naming a glob that matches nothing, a missing or unreadable file or a
      missing vocabulary; `DataFileError` naming a file that is not text; ValueError naming the output
      files when one is empty or a directory, naming `num_workers` below 1, or naming the input files when
      they hold no token. Every input check comes before an output file is opened.
    """
    options = options or PretrainingDataOptions()
    if num_workers is not None and num_workers < 1:
        raise ValueError(f"--num_workers must be >= 1, got {num_workers}")
    input_files = expand_file_patterns(input_patterns)
    outputs = _output_files(output_files)
    tokenizer, special = load_tokenizer(vocab_file, do_lower_case)
    num_workers = num_workers or os.cpu_count() or 1
    corpus = tokenize_files(input_files, tokenizer, num_workers)
    spans = create_instance_spans(corpus, options, num_workers)
    spans = spans[np.random.default_rng(options.random_seed).permutation(len(spans))]
    with (records.PretrainingRecordWriter(outputs) as writer,
          tqdm.tqdm(total=len(spans), unit="instance", desc="writing") as progress):
        for serialized in _serialized_instances(spans, corpus, options, special, num_workers):
            writer.write(serialized)
            progress.update(int(serialized.shape[0]))
    segments_per_document = np.diff(corpus.document_offsets)
    return PretrainingDataSummary(
        num_input_files=len(input_files),
        num_documents=corpus.num_documents,
        num_single_segment_documents=int(np.sum(segments_per_document == 1)),
        num_segments=len(corpus.segment_offsets) - 1,
        num_segments_longer_than_max=int(np.sum(np.diff(corpus.segment_offsets) > options.max_seq_length - 3)),
        num_instances=writer.num_written,
        output_files=outputs,
    )


def _output_files(output_files: str | Sequence[str]) -> list[str]:
    """`--output_file` as a list of paths; ValueError naming the flag when a path is empty or a directory."""
    outputs = [f.strip() for f in output_files.split(",")] if isinstance(output_files, str) else list(output_files)
    for path in outputs:
        if not path or tf.io.gfile.isdir(path):
            raise ValueError(f"--output_file {output_files!r}: {path!r} is not a file path")
    return outputs


def _serialized_instances(spans: np.ndarray, corpus: TokenizedCorpus, options: PretrainingDataOptions,
                          special: dict[str, int], num_threads: int = 1) -> Iterator[tf.Tensor]:
    """Serialized `tf.train.Example` batches (string [<= _INSTANCE_BATCH]) in span order.

    Runs eagerly (a tf.data trace of this graph costs more than it saves), `num_threads` batches
    at a time: eager TensorFlow ops release the GIL, so threads use all cores. Batch `i` is masked with
    the seed `(random_seed, i)`.
    """
    ids = tf.constant(corpus.ids)
    word_starts = tf.constant(corpus.word_starts)

    def batch_at(batch_index: int) -> tf.Tensor:
        first = batch_index * _INSTANCE_BATCH
        seed = tf.constant([options.random_seed, batch_index], tf.int64)
        batch_spans = tf.constant(spans[first:first + _INSTANCE_BATCH])
        return records.encode_examples(masked_instances(batch_spans, ids, word_starts, options, special, seed))

    num_batches = -(-len(spans) // _INSTANCE_BATCH)
    with concurrent.futures.ThreadPoolExecutor(max(1, num_threads)) as pool:
        pending: collections.deque = collections.deque()
        for batch_index in range(num_batches):
            pending.append(pool.submit(batch_at, batch_index))
            if len(pending) >= 2 * num_threads:  # a bounded window keeps memory flat
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
