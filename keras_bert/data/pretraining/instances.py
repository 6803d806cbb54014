"""Pretraining instances: the reference's next-sentence pairs as token spans, then packed and masked.

Pairing is google-research/bert's `create_instances_from_document`, step for step, on token spans
instead of token lists. For each pass over the corpus and each document: a target length
(`max_seq_length - 3`, or with probability `short_seq_prob` a uniform length in [2, max]); segments are
gathered until the target is reached; `a_end` is drawn uniformly; B is the actual continuation, or with
probability 0.5 (always, for a chunk of one segment) a run of segments from a random other document, and
the unused segments are "put back"; the pair is truncated to `max_seq_length - 3` by dropping tokens of
the longer side from the front or the back at random.

Randomness differs from the reference's single `random.Random` stream (results are not bit-identical)
but follows the same distributions. Documents are split into fixed work units, each with its own seed,
so the spans are the same whatever the number of worker processes (forked on large corpora).

Packing (the library's one rule, `keras_bert.tokenization.packing`) and masking (`masking`) run in
TensorFlow on batches of spans (`masked_instances`), shared by the offline records and dynamic masking so
both pack and mask alike.
"""
from __future__ import annotations

import dataclasses
import multiprocessing
import random
from collections.abc import Sequence

import numpy as np
import tensorflow as tf
import tqdm

from keras_bert.data.pretraining import masking
from keras_bert.data.pretraining.corpus import TokenizedCorpus
from keras_bert.tokenization import packing

_DOCUMENTS_PER_TASK = 2048
# Below this many document passes, forking worker processes costs more than it saves.
_MIN_DOCUMENT_PASSES_FOR_WORKERS = 100_000
SPAN_FIELDS = ("a_start", "a_length", "b_start", "b_length", "is_random_next")


@dataclasses.dataclass(frozen=True)
class PretrainingDataOptions:
    """The reference flags that shape instances (names as in `create_pretraining_data.py`).

    Example:
    >>> PretrainingDataOptions(max_seq_length=64, dupe_factor=1).max_predictions_per_seq
    20
    """

    max_seq_length: int = 128
    max_predictions_per_seq: int = 20
    masked_lm_prob: float = 0.15
    short_seq_prob: float = 0.1
    dupe_factor: int = 10
    do_whole_word_mask: bool = False
    random_seed: int = 12345

    def __post_init__(self):
        """ValueError naming the flag of a value that would fail or make no instances once work has started."""
        if self.max_seq_length < 5:
            raise ValueError(f"--max_seq_length must be >= 5 ([CLS] a [SEP] b [SEP]), got {self.max_seq_length}")
        if self.max_predictions_per_seq < 1:
            raise ValueError(f"--max_predictions_per_seq must be >= 1, got {self.max_predictions_per_seq}")
        if not 0.0 < self.masked_lm_prob <= 1.0:
            raise ValueError(f"--masked_lm_prob must lie in (0, 1], got {self.masked_lm_prob}")
        if not 0.0 <= self.short_seq_prob <= 1.0:
            raise ValueError(f"--short_seq_prob must lie in [0, 1], got {self.short_seq_prob}")
        if self.dupe_factor < 1:
            raise ValueError(f"--dupe_factor must be >= 1, got {self.dupe_factor}")
        if self.random_seed < 0:  # numpy's generators take no negative seed
            raise ValueError(f"--random_seed must be >= 0, got {self.random_seed}")


def _front_drops(rng: random.Random, drops: int) -> int:
    """How many of `drops` single-token truncations hit the front: Binomial(drops, 0.5), as the
    reference's per-token coin flips."""
    return rng.getrandbits(drops).bit_count() if drops else 0


def _document_spans(corpus: TokenizedCorpus, options: PretrainingDataOptions, document: int,
                    rng: random.Random, spans: list) -> None:
    """Appends the `SPAN_FIELDS` rows of one document's instances to `spans`."""
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
                while (b_last < other_end - 1
                       and segment_offsets[b_last + 1] - segment_offsets[b_first] < target_b_length):
                    b_last += 1
                b_start = int(segment_offsets[b_first])
                b_length = int(segment_offsets[b_last + 1]) - b_start
                i -= chunk_segments - a_end  # Put the unused segments back.
            else:
                is_random_next = 0
                b_start = a_start + a_length
                b_length = int(segment_offsets[i + 1]) - b_start
            keep_a, keep_b = packing.truncated_pair_lengths_py(a_length, b_length, max_num_tokens)
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
    return np.asarray(spans, np.int64).reshape(-1, len(SPAN_FIELDS))


# Set by `create_instance_spans` before work units run, inherited by forked workers (never pickled).
_WORK: dict = {}


def _work_unit_spans(unit: tuple[int, int, int]) -> np.ndarray:
    """`_unit_spans` in a forked worker, on the corpus it inherited through `_WORK`."""
    return _unit_spans(_WORK["corpus"], _WORK["options"], unit)


def create_instance_spans(corpus: TokenizedCorpus, options: PretrainingDataOptions, num_workers: int = 1,
                          passes: Sequence[int] | None = None) -> np.ndarray:
    """Instances of the given passes over the corpus as int64 [n, 5] spans, in the reference's order.

    Args:
      corpus: the tokenized documents.
      options: target lengths and `short_seq_prob`; `random_seed` seeds every work unit.
      num_workers: processes for large corpora (forked, so only where "fork" is available).
      passes: pass numbers, default `range(dupe_factor)`; each pass number seeds its own draws, so
        dynamic masking asks for pass `epoch` to get new pairs every epoch.

    Returns:
      int64 [n, 5], a row per instance: `SPAN_FIELDS` (`a_start`, `a_length`, `b_start`, `b_length`,
      `is_random_next`), the starts indexing `corpus.ids`; the lengths are already truncated.
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
    return np.concatenate(parts) if parts else np.zeros([0, len(SPAN_FIELDS)], np.int64)


def pack_instances(spans: tf.Tensor, ids: tf.Tensor, word_starts: tf.Tensor, seq_length: int,
                   special: dict[str, int]) -> dict[str, tf.Tensor]:
    """Packs instance spans as `[CLS] a [SEP] b [SEP] [PAD]...`.

    Args:
      spans: int64 [batch, 5], rows of `create_instance_spans`.
      ids: int32 [tokens], `corpus.ids`; word_starts: bool [tokens], `corpus.word_starts`.
      seq_length: int, the packed length.
      special: `start_of_sequence_id`, `end_of_segment_id`, `padding_id`, as `load_tokenizer` returns.

    Returns:
      dict of [batch, seq_length]: int32 `input_word_ids`, `input_mask`, `input_type_ids`; bool
      `word_starts` (at the first piece of a word of a or b) and `candidates` (at the pieces of a and b).
    """
    a_start, a_length, b_start, b_length = (spans[:, k] for k in range(4))
    layout = packing.pack_layout([a_length, b_length], seq_length)
    candidates = layout.segment >= 0
    segment_start = tf.where(tf.equal(layout.segment, 0), a_start[:, None], b_start[:, None])
    source = tf.where(candidates, segment_start + layout.offset, 0)  # index into the corpus's flat arrays
    return {
        "input_word_ids": packing.packed_word_ids(layout, tf.gather(ids, source), special),
        "input_mask": layout.input_mask,
        "input_type_ids": layout.input_type_ids,
        "word_starts": candidates & tf.gather(word_starts, source),
        "candidates": candidates,
    }


def masked_instances(spans: tf.Tensor, ids: tf.Tensor, word_starts: tf.Tensor, options: PretrainingDataOptions,
                     special: dict[str, int], seed: tf.Tensor) -> dict[str, tf.Tensor]:
    """Packs and masks a batch of instance spans: the features of a pretraining record.

    Args:
      spans: int64 [batch, 5] from `create_instance_spans`.
      ids, word_starts: the corpus's flat arrays (`corpus.ids`, `corpus.word_starts`).
      options: `max_seq_length`, `max_predictions_per_seq`, `masked_lm_prob`, `do_whole_word_mask`.
      special: as `load_tokenizer` returns (`mask_id` and `vocab_size` included).
      seed: int64 [2], the stateless masking seed.

    Returns:
      dict: int32 `input_word_ids` (masked), `input_mask`, `input_type_ids` [batch, max_seq_length]; int32
      `masked_lm_positions`, `masked_lm_ids` and float32 `masked_lm_weights` [batch, max_predictions_per_seq];
      int64 `next_sentence_labels` [batch, 1] (1: b is a random next).
    """
    packed = pack_instances(spans, ids, word_starts, options.max_seq_length, special)
    word_ids = masking.candidate_word_ids(packed["word_starts"], packed["candidates"], options.do_whole_word_mask)
    masked = masking.mask_sequences(
        packed["input_word_ids"], packed["input_mask"], word_ids, seed,
        max_predictions_per_seq=options.max_predictions_per_seq,
        masked_lm_prob=options.masked_lm_prob,
        vocab_size=special["vocab_size"],
        mask_id=special["mask_id"],
    )
    return {
        "input_word_ids": masked["input_word_ids"],
        "input_mask": packed["input_mask"],
        "input_type_ids": packed["input_type_ids"],
        "masked_lm_positions": masked["masked_lm_positions"],
        "masked_lm_ids": masked["masked_lm_ids"],
        "masked_lm_weights": masked["masked_lm_weights"],
        "next_sentence_labels": spans[:, 4:5],
    }
