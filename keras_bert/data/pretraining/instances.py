"""google-research/bert's `create_pretraining_data`: raw text → masked-LM + next-sentence records.

Input: text files with one sentence per line and a blank line between documents. The algorithm is
the reference's, step for step, on token spans instead of token lists:

1. Every line is stripped and tokenized (our TF-Text `BertTokenizer`: up to 200k lines in one
   eager call, larger corpora in parallel batches through `tf.data`). A blank line ends a
   document, so does the end of a file (the reference lets a document run on into the next
   file). A line with no tokens is dropped; empty documents are dropped.
2. For each of `dupe_factor` passes and each document: a target length (`max_seq_length - 3`, or
   with probability `short_seq_prob` a uniform length in [2, max]); segments are gathered until the
   target is reached; `a_end` is drawn uniformly; B is the actual continuation, or with
   probability 0.5 (always, for a chunk of one segment) a run of segments from a random other
   document, and the unused segments are "put back"; the pair is truncated to
   `max_seq_length - 3` by dropping tokens of the longer side from the front or the back at random.
3. Masked-LM predictions come from `keras_bert.data.pretraining.masking` (the reference's rules; whole-word
   masking optional) and instances are shuffled and written round-robin over the output files.

Randomness differs from the reference's single `random.Random` stream (results are not
bit-identical) but follows the same distributions; output is deterministic given `random_seed`,
whatever the number of workers. All cores are used: tokenizing and masking run on `num_workers`
threads (eager TensorFlow ops release the GIL); pairing splits documents into fixed work units,
each with its own seed, spread over `num_workers` processes on large corpora.

Bad input: a glob matching nothing, a missing or unreadable file (names the file), a missing
vocabulary (names it), a corpus without any token (error). Single-segment documents (always a
random next, as in the reference) and lines longer than `max_seq_length - 3` tokens (always
truncated) are counted in the returned summary.
"""

from __future__ import annotations

import collections
import concurrent.futures
import dataclasses
import multiprocessing
import os
import random
from collections.abc import Iterator, Sequence

import numpy as np
import tensorflow as tf
import tqdm

from keras_bert.data.pretraining import masking
from keras_bert.data.pretraining import records as pretraining_records
from keras_bert.tokenization.tokenizer import BertTokenizer

_TOKENIZE_BATCH = 4096
# Up to this many lines are tokenized eagerly in one call: tracing the tokenizer for tf.data costs
# about a second, more than tokenizing a few hundred thousand lines. Larger corpora go through a
# parallel tf.data map over all cores.
_EAGER_TOKENIZE_LINES = 200_000
_INSTANCE_BATCH = 4096
_DOCUMENTS_PER_TASK = 2048
# Below this many document passes, forking worker processes costs more than it saves.
_MIN_DOCUMENT_PASSES_FOR_WORKERS = 100_000


@dataclasses.dataclass(frozen=True)
class PretrainingDataOptions:
    """The reference flags that shape instances (names as in `create_pretraining_data.py`)."""

    max_seq_length: int = 128
    max_predictions_per_seq: int = 20
    masked_lm_prob: float = 0.15
    short_seq_prob: float = 0.1
    dupe_factor: int = 10
    do_whole_word_mask: bool = False
    random_seed: int = 12345

    def __post_init__(self):
        if self.max_seq_length < 5:
            raise ValueError(f"max_seq_length must be >= 5 ([CLS] a [SEP] b [SEP]), got {self.max_seq_length}")
        if self.max_predictions_per_seq < 1:
            raise ValueError(f"max_predictions_per_seq must be >= 1, got {self.max_predictions_per_seq}")
        if not 0.0 <= self.masked_lm_prob <= 1.0:
            raise ValueError(f"masked_lm_prob must lie in [0, 1], got {self.masked_lm_prob}")
        if not 0.0 <= self.short_seq_prob <= 1.0:
            raise ValueError(f"short_seq_prob must lie in [0, 1], got {self.short_seq_prob}")
        if self.dupe_factor < 1:
            raise ValueError(f"dupe_factor must be >= 1, got {self.dupe_factor}")


@dataclasses.dataclass
class TokenizedCorpus:
    """All documents as flat arrays; segments (lines) of a document are contiguous.

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


@dataclasses.dataclass
class PretrainingDataSummary:
    """What `create_pretraining_data` did, for logs and tests."""

    num_input_files: int
    num_documents: int
    num_single_segment_documents: int
    num_segments: int
    num_segments_longer_than_max: int
    num_instances: int
    output_files: list[str]


def read_corpus(input_files: Sequence[str]) -> list[list[str]]:
    """Lines of each file, decoded as UTF-8 with bad bytes dropped and stripped, like the reference.

    Raises:
      FileNotFoundError / OSError naming the file that is missing or unreadable.
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
        corpus.append([line.strip() for line in data.decode("utf-8", "ignore").split("\n")])
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


def tokenize_corpus(corpus: list[list[str]], tokenizer: BertTokenizer,
                    num_threads: int | None = None) -> TokenizedCorpus:
    """Lines per file (from `read_corpus`) → `TokenizedCorpus`, empty documents removed.
    `num_threads` defaults to the number of cores."""
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
    is_first_segment = np.concatenate([[True], documents[1:] != documents[:-1]]) if len(documents) else np.zeros(0, bool)
    document_offsets = np.append(np.flatnonzero(is_first_segment), len(documents)).astype(np.int64)
    return TokenizedCorpus(ids, word_starts, segment_offsets, document_offsets)


def _kept_lengths(length_a: int, length_b: int, budget: int) -> tuple[int, int]:
    """Lengths the reference's `truncate_seq_pair` keeps (pops from the longer side, `b` on ties)."""
    if length_a + length_b <= budget:
        return length_a, length_b
    if length_a > length_b:
        keep_b = min(length_b, budget // 2)
        return budget - keep_b, keep_b
    keep_a = min(length_a, budget - budget // 2)
    return keep_a, budget - keep_a


def _front_drops(rng: random.Random, drops: int) -> int:
    """How many of `drops` single-token truncations hit the front: Binomial(drops, 0.5), as the
    reference's per-token coin flips."""
    return rng.getrandbits(drops).bit_count() if drops else 0


# Set by `create_instance_spans` before work units run, inherited by forked workers (never pickled).
_WORK: dict = {}


def _document_spans(corpus: TokenizedCorpus, options: PretrainingDataOptions, document: int,
                    rng: random.Random, spans: list) -> None:
    """Appends (a_start, a_length, b_start, b_length, is_random_next) of one document's instances."""
    segment_offsets, document_offsets = corpus.segment_offsets, corpus.document_offsets
    num_documents = len(document_offsets) - 1
    first, end = int(document_offsets[document]), int(document_offsets[document + 1])
    max_num_tokens = options.max_seq_length - 3
    target = max_num_tokens
    if rng.random() < options.short_seq_prob:
        target = rng.randint(2, max_num_tokens)
    chunk_start = first
    i = first
    while i < end:
        if i == end - 1 or int(segment_offsets[i + 1] - segment_offsets[chunk_start]) >= target:
            chunk_segments = i - chunk_start + 1
            a_end = rng.randint(1, chunk_segments - 1) if chunk_segments >= 2 else 1
            a_start = int(segment_offsets[chunk_start])
            a_length = int(segment_offsets[chunk_start + a_end]) - a_start
            if chunk_segments == 1 or rng.random() < 0.5:
                is_random_next = 1
                target_b_length = target - a_length
                for _ in range(10):
                    other = rng.randint(0, num_documents - 1)
                    if other != document:
                        break
                other_first, other_end = int(document_offsets[other]), int(document_offsets[other + 1])
                b_first = rng.randint(other_first, other_end - 1)
                b_last = b_first
                while b_last < other_end - 1 and segment_offsets[b_last + 1] - segment_offsets[b_first] < target_b_length:
                    b_last += 1
                b_start = int(segment_offsets[b_first])
                b_length = int(segment_offsets[b_last + 1]) - b_start
                i -= chunk_segments - a_end  # Put the unused segments back.
            else:
                is_random_next = 0
                b_start = a_start + a_length
                b_length = int(segment_offsets[i + 1]) - b_start
            keep_a, keep_b = _kept_lengths(a_length, b_length, max_num_tokens)
            a_start += _front_drops(rng, a_length - keep_a)
            b_start += _front_drops(rng, b_length - keep_b)
            spans.append((a_start, keep_a, b_start, keep_b, is_random_next))
            chunk_start = i + 1
        i += 1


def _unit_spans(corpus: TokenizedCorpus, options: PretrainingDataOptions, unit: tuple[int, int, int]) -> np.ndarray:
    """Instances of documents [first, end) in dupe pass `dupe` → int64 [n, 5] spans."""
    dupe, first, end = unit
    rng = random.Random(f"{options.random_seed}/{dupe}/{first}")
    spans: list = []
    for document in range(first, end):
        _document_spans(corpus, options, document, rng, spans)
    return np.asarray(spans, np.int64).reshape(-1, 5)


def _work_unit_spans(unit: tuple[int, int, int]) -> np.ndarray:
    """`_unit_spans` in a forked worker, on the corpus it inherited through `_WORK`."""
    return _unit_spans(_WORK["corpus"], _WORK["options"], unit)


def create_instance_spans(corpus: TokenizedCorpus, options: PretrainingDataOptions, num_workers: int = 1,
                          passes: Sequence[int] | None = None) -> np.ndarray:
    """Instances of the given passes over the corpus as int64 [n, 5] spans, in the reference's order.

    A span row is `(a_start, a_length, b_start, b_length, is_random_next)` into `corpus.ids`.
    `passes` defaults to `range(dupe_factor)`; each pass number seeds its own draws, so dynamic
    masking asks for pass `epoch` to get new pairs every epoch.
    """
    passes = range(options.dupe_factor) if passes is None else passes
    units = [(dupe, first, min(first + _DOCUMENTS_PER_TASK, corpus.num_documents))
             for dupe in passes
             for first in range(0, corpus.num_documents, _DOCUMENTS_PER_TASK)]
    progress = dict(total=len(units), unit="unit", desc="creating instances", leave=False, disable=len(units) < 2)
    document_passes = corpus.num_documents * len(passes)
    if (num_workers > 1 and len(units) > 1 and document_passes >= _MIN_DOCUMENT_PASSES_FOR_WORKERS
            and "fork" in multiprocessing.get_all_start_methods()):
        _WORK.update(corpus=corpus, options=options)
        try:
            # Workers run pure Python/NumPy on the inherited `_WORK`; no TensorFlow in the children.
            with multiprocessing.get_context("fork").Pool(min(num_workers, len(units))) as pool:
                parts = list(tqdm.tqdm(pool.imap(_work_unit_spans, units), **progress))
        finally:
            _WORK.clear()
    else:
        parts = [_unit_spans(corpus, options, unit) for unit in tqdm.tqdm(units, **progress)]
    return np.concatenate(parts) if parts else np.zeros([0, 5], np.int64)


def pack_instances(spans: tf.Tensor, ids: tf.Tensor, word_starts: tf.Tensor, seq_length: int,
                   special: dict[str, int]) -> dict[str, tf.Tensor]:
    """Spans int64 [batch, 5] → `[CLS] a [SEP] b [SEP] [PAD]...` int32 [batch, seq_length] plus
    `input_mask`, `segment_ids`, `word_starts` (bool) and `candidates` (bool, the a and b tokens)."""
    a_start, a_length, b_start, b_length = (spans[:, k:k + 1] for k in range(4))
    position = tf.range(seq_length, dtype=tf.int64)[None, :]
    in_a = (position >= 1) & (position <= a_length)
    b_first = a_length + 2
    in_b = (position >= b_first) & (position < b_first + b_length)
    is_sep = (position == a_length + 1) | (position == b_first + b_length)
    source = tf.where(in_a, a_start + position - 1, tf.where(in_b, b_start + position - b_first, 0))
    candidates = in_a | in_b
    token_ids = tf.where(candidates, tf.gather(ids, source), special["padding_id"])
    token_ids = tf.where(is_sep, special["end_of_segment_id"], token_ids)
    token_ids = tf.where(position == 0, special["start_of_sequence_id"], token_ids)
    input_mask = position <= b_first + b_length
    return {
        "input_ids": tf.cast(token_ids, tf.int32),
        "input_mask": tf.cast(input_mask, tf.int32),
        "segment_ids": tf.cast((position >= b_first) & input_mask, tf.int32),
        "word_starts": candidates & tf.gather(word_starts, source),
        "candidates": candidates,
    }


def masked_instances(spans: tf.Tensor, ids: tf.Tensor, word_starts: tf.Tensor, options: PretrainingDataOptions,
                     special: dict[str, int], seed: tf.Tensor) -> dict[str, tf.Tensor]:
    """Packs and masks a batch of instance spans into the reference's record features.

    `spans`: int64 [batch, 5] from `create_instance_spans`; `ids`, `word_starts`: the corpus's flat
    arrays; `seed`: int64 [2], the stateless masking seed. Returns int32 `input_ids`, `input_mask`,
    `segment_ids` [batch, max_seq_length], `masked_lm_positions`, `masked_lm_ids` and float32
    `masked_lm_weights` [batch, max_predictions_per_seq], int64 `next_sentence_labels` [batch, 1].
    Shared by the offline records and dynamic masking, so both mask alike.
    """
    packed = pack_instances(spans, ids, word_starts, options.max_seq_length, special)
    word_ids = masking.candidate_word_ids(packed["word_starts"], packed["candidates"], options.do_whole_word_mask)
    masked = masking.mask_sequences(
        packed["input_ids"], packed["input_mask"], word_ids, seed,
        max_predictions_per_seq=options.max_predictions_per_seq,
        masked_lm_prob=options.masked_lm_prob,
        vocab_size=special["vocab_size"],
        mask_id=special["mask_id"],
    )
    return {
        "input_ids": masked["input_word_ids"],
        "input_mask": packed["input_mask"],
        "segment_ids": packed["segment_ids"],
        "masked_lm_positions": masked["masked_lm_positions"],
        "masked_lm_ids": masked["masked_lm_ids"],
        "masked_lm_weights": masked["masked_lm_weights"],
        "next_sentence_labels": spans[:, 4:5],
    }


def _serialized_instances(spans: np.ndarray, corpus: TokenizedCorpus, options: PretrainingDataOptions,
                          special: dict[str, int], num_threads: int = 1) -> Iterator[tf.Tensor]:
    """Serialized `tf.train.Example` batches (string [<= _INSTANCE_BATCH]) in span order.

    Runs eagerly (a tf.data trace of this graph costs more than it saves), `num_threads` batches
    at a time: eager TensorFlow ops release the GIL, so threads use all cores.
    """
    ids = tf.constant(corpus.ids)
    word_starts = tf.constant(corpus.word_starts)

    def instance_batch(batch_index, batch_spans):
        seed = tf.stack([tf.constant(options.random_seed, tf.int64), batch_index])
        return pretraining_records.encode_examples(
            masked_instances(batch_spans, ids, word_starts, options, special, seed))

    def batch_at(batch_index: int) -> tf.Tensor:
        first = batch_index * _INSTANCE_BATCH
        return instance_batch(tf.constant(batch_index, tf.int64), tf.constant(spans[first:first + _INSTANCE_BATCH]))

    num_batches = -(-len(spans) // _INSTANCE_BATCH)
    with concurrent.futures.ThreadPoolExecutor(max(1, num_threads)) as pool:
        pending: collections.deque = collections.deque()
        for batch_index in range(num_batches):
            pending.append(pool.submit(batch_at, batch_index))
            if len(pending) >= 2 * num_threads:  # a bounded window keeps memory flat
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def load_tokenizer(vocab_file: str, do_lower_case: bool) -> tuple[BertTokenizer, dict[str, int]]:
    """Our `BertTokenizer` and its special ids; the vocabulary must hold `[MASK]`."""
    if not tf.io.gfile.exists(vocab_file):
        raise FileNotFoundError(f"vocab_file not found: {vocab_file}")
    tokenizer = BertTokenizer(vocab_file, lower_case=do_lower_case)
    special = tokenizer.get_special_tokens_dict()
    if "mask_id" not in special:
        raise ValueError(f"vocab_file {vocab_file} has no [MASK] token")
    return tokenizer, special


def create_pretraining_data(
    input_patterns: str | Sequence[str],
    output_files: str | Sequence[str],
    vocab_file: str,
    do_lower_case: bool = True,
    options: PretrainingDataOptions = PretrainingDataOptions(),
    num_workers: int | None = None,
) -> PretrainingDataSummary:
    """Runs the whole generator: text files → reference pretraining TFRecords.

    Args:
      input_patterns: comma-separated globs or a list of globs of text files.
      output_files: comma-separated paths or a list; instances go round-robin over them (shards).
      vocab_file: WordPiece vocabulary; do_lower_case: the reference flag.
      options: instance-shaping flags.
      num_workers: threads for tokenizing and masking, processes for pairing large corpora
        (default: all cores).

    Returns:
      A `PretrainingDataSummary`.
    """
    input_files = pretraining_records.expand_file_patterns(input_patterns)
    outputs = [f.strip() for f in output_files.split(",")] if isinstance(output_files, str) else list(output_files)
    tokenizer, special = load_tokenizer(vocab_file, do_lower_case)
    num_workers = num_workers or os.cpu_count() or 1
    corpus = tokenize_corpus(read_corpus(input_files), tokenizer, num_workers)
    if corpus.num_documents == 0:
        raise ValueError(f"no tokens in the input files {', '.join(input_files)}")
    spans = create_instance_spans(corpus, options, num_workers)
    spans = spans[np.random.default_rng(options.random_seed).permutation(len(spans))]
    with pretraining_records.PretrainingRecordWriter(outputs) as writer:
        with tqdm.tqdm(total=len(spans), unit="instance", desc="writing") as progress:
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


def record_statistics(file_patterns: str | Sequence[str], seq_length: int, max_predictions_per_seq: int) -> dict:
    """Statistics of pretraining records, to compare generators.

    Returns a dict: `num_instances`, `mean_masked_share` (mean over instances of masked tokens /
    tokens incl. [CLS] and [SEP]s), `random_next_share` and `mean_num_tokens`.
    """
    files = pretraining_records.expand_file_patterns(file_patterns)
    spec = pretraining_records.feature_spec(seq_length, max_predictions_per_seq)
    masked, tokens, random_next = [np.zeros(0)], [np.zeros(0)], [np.zeros(0)]
    for records in tf.data.TFRecordDataset(files).batch(4096):
        parsed = tf.io.parse_example(records, spec)
        masked.append(tf.reduce_sum(parsed["masked_lm_weights"], axis=1).numpy())
        tokens.append(tf.reduce_sum(parsed["input_mask"], axis=1).numpy())
        random_next.append(parsed["next_sentence_labels"][:, 0].numpy())
    masked_counts, token_counts = np.concatenate(masked), np.concatenate(tokens)
    if not len(token_counts):
        raise ValueError(f"no records in {', '.join(files)}")
    return {
        "num_instances": int(len(token_counts)),
        "mean_masked_share": float(np.mean(masked_counts / token_counts)),
        "random_next_share": float(np.mean(np.concatenate(random_next))),
        "mean_num_tokens": float(np.mean(token_counts)),
    }
