"""keras_bert.data.pretraining.instances: packing of spans against hand-written rows, the reference's pairing
rules checked span by span on a small corpus, and the same spans from forked workers as from one process."""
import numpy as np
import pytest
import tensorflow as tf

from keras_bert.data.pretraining import instances
from keras_bert.data.pretraining.corpus import TokenizedCorpus
from keras_bert.data.pretraining.instances import PretrainingDataOptions, create_instance_spans

CLS, SEP, PAD, MASK = 101, 102, 0, 103
SPECIAL = {"start_of_sequence_id": CLS, "end_of_segment_id": SEP, "padding_id": PAD, "mask_id": MASK,
           "vocab_size": 1000}


def test_pack_instances_against_hand_written_rows():
    ids = tf.constant(np.arange(500, 520), tf.int32)  # the piece at index i is 500 + i
    word_starts = tf.constant([i % 3 != 1 for i in range(20)])  # pieces 1, 4, 7, ... continue a word
    spans = tf.constant([[2, 3, 7, 2, 1],   # a = pieces 2..4, b = pieces 7..8
                         [10, 1, 11, 5, 0]], tf.int64)
    packed = instances.pack_instances(spans, ids, word_starts, 10, SPECIAL)
    np.testing.assert_array_equal(packed["input_word_ids"], [[CLS, 502, 503, 504, SEP, 507, 508, SEP, PAD, PAD],
                                                             [CLS, 510, SEP, 511, 512, 513, 514, 515, SEP, PAD]])
    np.testing.assert_array_equal(packed["input_mask"], [[1, 1, 1, 1, 1, 1, 1, 1, 0, 0],
                                                         [1, 1, 1, 1, 1, 1, 1, 1, 1, 0]])
    np.testing.assert_array_equal(packed["input_type_ids"], [[0, 0, 0, 0, 0, 1, 1, 1, 0, 0],
                                                             [0, 0, 0, 1, 1, 1, 1, 1, 1, 0]])
    np.testing.assert_array_equal(packed["candidates"], [[0, 1, 1, 1, 0, 1, 1, 0, 0, 0],
                                                         [0, 1, 0, 1, 1, 1, 1, 1, 0, 0]])
    np.testing.assert_array_equal(packed["word_starts"], [[0, 1, 1, 0, 0, 0, 1, 0, 0, 0],
                                                          [0, 0, 0, 1, 1, 0, 1, 1, 0, 0]])
    assert packed["input_word_ids"].dtype == packed["input_mask"].dtype == packed["input_type_ids"].dtype == tf.int32


def test_masked_instances_only_change_selected_pieces_and_carry_the_label():
    ids = tf.constant(np.arange(500, 540), tf.int32)
    word_starts = tf.ones([40], tf.bool)
    spans = tf.constant([[0, 6, 20, 4, 0], [8, 3, 30, 9, 1]], tf.int64)
    options = PretrainingDataOptions(max_seq_length=16, max_predictions_per_seq=3, masked_lm_prob=0.15)
    out = instances.masked_instances(spans, ids, word_starts, options, SPECIAL, tf.constant([1, 2], tf.int64))
    packed = instances.pack_instances(spans, ids, word_starts, 16, SPECIAL)
    np.testing.assert_array_equal(out["next_sentence_labels"], [[0], [1]])
    np.testing.assert_array_equal(out["input_mask"], packed["input_mask"])
    np.testing.assert_array_equal(out["input_type_ids"], packed["input_type_ids"])
    # round(13 * 0.15) = 2 and round(15 * 0.15) = 2 predictions, at real pieces, labelled with the packed id.
    weights = out["masked_lm_weights"].numpy()
    np.testing.assert_array_equal(weights, [[1, 1, 0], [1, 1, 0]])
    positions = out["masked_lm_positions"].numpy()
    original = packed["input_word_ids"].numpy()
    for row in range(2):
        chosen = positions[row, :2]
        assert packed["candidates"].numpy()[row, chosen].all()
        np.testing.assert_array_equal(out["masked_lm_ids"].numpy()[row, :2], original[row, chosen])
        unchanged = np.ones(16, bool)
        unchanged[chosen] = False
        np.testing.assert_array_equal(out["input_word_ids"].numpy()[row, unchanged], original[row, unchanged])


def _corpus(segment_lengths_per_document):
    """A corpus whose piece i has id i; segments and documents of the given lengths."""
    lengths = [n for document in segment_lengths_per_document for n in document]
    segment_offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    document_offsets = np.concatenate([[0], np.cumsum([len(d) for d in segment_lengths_per_document])])
    return TokenizedCorpus(np.arange(segment_offsets[-1], dtype=np.int32), np.ones(segment_offsets[-1], bool),
                           segment_offsets, document_offsets.astype(np.int64))


def _segment_and_document(corpus, token):
    segment = int(np.searchsorted(corpus.segment_offsets, token, side="right")) - 1
    return segment, int(np.searchsorted(corpus.document_offsets, segment, side="right")) - 1


def test_spans_follow_the_reference_pairing_rules():
    rng = np.random.default_rng(0)
    documents = [list(rng.integers(1, 12, size=rng.integers(1, 9))) for _ in range(60)]
    corpus = _corpus(documents)
    options = PretrainingDataOptions(max_seq_length=24, dupe_factor=3, short_seq_prob=0.3, random_seed=5)
    spans = create_instance_spans(corpus, options)
    assert spans.shape[1] == len(instances.SPAN_FIELDS) and len(spans) > 200
    budget = options.max_seq_length - 3
    for a_start, a_length, b_start, b_length, is_random_next in spans:
        assert a_length >= 1 and b_length >= 1 and a_length + b_length <= budget
        a_document = _segment_and_document(corpus, a_start)[1]
        assert _segment_and_document(corpus, a_start + a_length - 1)[1] == a_document  # a stays in its document
        b_document = _segment_and_document(corpus, b_start)[1]
        assert _segment_and_document(corpus, b_start + b_length - 1)[1] == b_document
        if is_random_next:
            assert b_document != a_document
        else:  # the actual continuation: same document, after a
            assert b_document == a_document and b_start >= a_start + a_length
    single = [d for d, segments in enumerate(documents) if len(segments) == 1]
    firsts = [_segment_and_document(corpus, row[0])[1] for row in spans]
    assert all(row[4] == 1 for row, d in zip(spans, firsts) if d in single)  # always a random next
    assert 0.4 < spans[:, 4].mean() < 0.8


def test_untruncated_spans_are_whole_segments():
    documents = [[3, 4, 2, 5], [6, 2, 2], [4], [3, 3, 3, 3, 3]]
    corpus = _corpus(documents)
    options = PretrainingDataOptions(max_seq_length=64, dupe_factor=4, short_seq_prob=0.0)
    spans = create_instance_spans(corpus, options)
    boundaries = set(corpus.segment_offsets.tolist())
    for a_start, a_length, b_start, b_length, is_random_next in spans:
        # Nothing needs truncating, so a and b start and end at segment boundaries.
        assert {a_start, a_start + a_length, b_start, b_start + b_length} <= boundaries
        if not is_random_next:
            assert b_start == a_start + a_length


def test_passes_are_seeded_by_number_and_workers_give_the_same_spans(monkeypatch):
    rng = np.random.default_rng(1)
    corpus = _corpus([list(rng.integers(1, 30, size=rng.integers(1, 6))) for _ in range(40)])
    options = PretrainingDataOptions(max_seq_length=32, dupe_factor=3)
    one_process = create_instance_spans(corpus, options)
    # Each pass number draws alike wherever it is asked for: dynamic masking asks for one pass per epoch.
    per_pass = [create_instance_spans(corpus, options, passes=[p]) for p in range(3)]
    np.testing.assert_array_equal(np.concatenate(per_pass), one_process)
    assert not np.array_equal(create_instance_spans(corpus, options, passes=[0]),
                              create_instance_spans(corpus, options, passes=[1]))
    # Small work units and no size threshold, so this corpus goes through forked workers.
    monkeypatch.setattr(instances, "_DOCUMENTS_PER_TASK", 7)
    monkeypatch.setattr(instances, "_MIN_DOCUMENT_PASSES_FOR_WORKERS", 0)
    small_units = create_instance_spans(corpus, options)
    np.testing.assert_array_equal(create_instance_spans(corpus, options, num_workers=3), small_units)


@pytest.mark.parametrize("field,value", [("max_seq_length", 4), ("max_predictions_per_seq", 0),
                                         ("masked_lm_prob", 1.5), ("masked_lm_prob", 0.0), ("short_seq_prob", -0.1),
                                         ("dupe_factor", 0), ("dupe_factor", -2), ("random_seed", -1)])
def test_bad_options_are_errors_naming_the_flag(field, value):
    with pytest.raises(ValueError, match=f"--{field} must"):
        PretrainingDataOptions(**{field: value})
