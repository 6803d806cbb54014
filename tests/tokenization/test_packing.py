"""The one packing rule (`keras_bert.tokenization.packing`) against the reference packing of google-research/bert's
run_classifier.convert_single_example and `_truncate_seq_pair` (transcribed in `support.reference_packing`), and
against hand-computed layouts; the host-Python packer against the TF path on the same inputs."""
import random

import numpy as np
import pytest
import tensorflow as tf

import keras_bert
from keras_bert.tokenization.packing import (
    BertPackInputs,
    pack_layout,
    pack_tokens_py,
    packed_word_ids,
    truncated_pair_lengths,
    truncated_pair_lengths_py,
)
from support.corpora import reference_tokenizer
from support.reference_packing import (
    CLS,
    SEP,
    SPECIAL,
    assert_packed_equal,
    random_segments,
    reference_batch,
    reference_pack,
    reference_truncate_seq_pair,
)


def _ragged(segments: list[list[int]], ragged_rank: int, rng) -> tf.RaggedTensor:
    """Rank 1: [batch, (pieces)]; rank 2: the same pieces grouped into random words [batch, (words), (pieces)]."""
    if ragged_rank == 1:
        return tf.ragged.constant(segments, dtype=tf.int32, ragged_rank=1, row_splits_dtype=tf.int64)
    rows = []
    for pieces in segments:
        words, at = [], 0
        while at < len(pieces):
            size = rng.randint(1, 3)
            words.append(pieces[at:at + size])
            at += size
        rows.append(words)
    return tf.ragged.constant(rows, dtype=tf.int32, ragged_rank=2, inner_shape=(), row_splits_dtype=tf.int64)


@pytest.mark.parametrize("ragged_rank", [1, 2])
@pytest.mark.parametrize("pairs", [False, True])
def test_packing_equals_reference_over_random_lengths(pairs, ragged_rank):
    rng = random.Random(ragged_rank * 2 + pairs)
    for seq_length in (3, 4, 5, 8, 16, 33, 128):
        segments_a = random_segments(rng, 300, 2 * seq_length)
        segments_b = random_segments(rng, 300, 2 * seq_length) if pairs else None
        packer = BertPackInputs(seq_length, SPECIAL)
        inputs = [_ragged(segments_a, ragged_rank, rng)] + ([_ragged(segments_b, ragged_rank, rng)] if pairs else [])
        got = packer(inputs if pairs or rng.random() < 0.5 else inputs[0])
        assert_packed_equal(got, reference_batch(segments_a, segments_b, seq_length), f"seq_length={seq_length}")


def test_truncated_pair_lengths_tf_and_py_equal_the_reference_pop_loop():
    """On every pair of lengths up to 11 and every budget up to 13: ties, cuts on one side and on both."""
    lengths = [(a, b) for a in range(0, 12) for b in range(0, 12)]
    for budget in range(0, 14):
        keep_a, keep_b = truncated_pair_lengths(tf.constant([a for a, _ in lengths], tf.int64),
                                                tf.constant([b for _, b in lengths], tf.int64), budget)
        assert keep_a.dtype == keep_b.dtype == tf.int64
        for (a, b), got_a, got_b in zip(lengths, keep_a.numpy(), keep_b.numpy()):
            tokens_a, tokens_b = list(range(a)), list(range(b))
            reference_truncate_seq_pair(tokens_a, tokens_b, budget)
            expected = (len(tokens_a), len(tokens_b))
            assert (got_a, got_b) == expected, (a, b, budget)
            assert truncated_pair_lengths_py(a, b, budget) == expected, (a, b, budget)


def test_seq_length_override_and_tf_function():
    rng = random.Random(7)
    segments_a, segments_b = random_segments(rng, 50, 40), random_segments(rng, 50, 40)
    packer = BertPackInputs(128, SPECIAL)
    pack = tf.function(lambda a, b, n: packer([a, b], seq_length=n))
    for seq_length in (9, 20, 64):
        got = pack(_ragged(segments_a, 1, rng), _ragged(segments_b, 1, rng), tf.constant(seq_length))
        assert_packed_equal(got, reference_batch(segments_a, segments_b, seq_length), f"override {seq_length}")


def test_pack_layout_by_hand():
    """Kept lengths (2, 1), (0, 0) and (0, 3) in 7 positions; and a single segment of 3 and of 0 in 5."""
    layout = pack_layout([tf.constant([2, 0, 0], tf.int64), tf.constant([1, 0, 3], tf.int64)], 7)
    assert layout.segment.dtype == layout.offset.dtype == tf.int64 and layout.is_separator.dtype == tf.bool
    assert layout.input_mask.dtype == layout.input_type_ids.dtype == tf.int32
    #       [CLS] a0  a1 [SEP] b0 [SEP] pad      [CLS][SEP][SEP] pad ...      [CLS][SEP] b0  b1  b2 [SEP] pad
    assert layout.segment.numpy().tolist() == [[-1, 0, 0, -1, 1, -1, -1], [-1, -1, -1, -1, -1, -1, -1],
                                               [-1, -1, 1, 1, 1, -1, -1]]
    assert layout.offset.numpy().tolist() == [[0, 0, 1, 0, 0, 0, 0], [0] * 7, [0, 0, 0, 1, 2, 0, 0]]
    assert layout.is_separator.numpy().astype(int).tolist() == [[0, 0, 0, 1, 0, 1, 0], [0, 1, 1, 0, 0, 0, 0],
                                                                 [0, 1, 0, 0, 0, 1, 0]]
    assert layout.input_mask.numpy().tolist() == [[1, 1, 1, 1, 1, 1, 0], [1, 1, 1, 0, 0, 0, 0],
                                                  [1, 1, 1, 1, 1, 1, 0]]
    assert layout.input_type_ids.numpy().tolist() == [[0, 0, 0, 0, 1, 1, 0], [0, 0, 1, 0, 0, 0, 0],
                                                      [0, 0, 1, 1, 1, 1, 0]]
    single = pack_layout([tf.constant([3, 0], tf.int64)], tf.constant(5))
    assert single.segment.numpy().tolist() == [[-1, 0, 0, 0, -1], [-1, -1, -1, -1, -1]]
    assert single.offset.numpy().tolist() == [[0, 0, 1, 2, 0], [0] * 5]
    assert single.is_separator.numpy().astype(int).tolist() == [[0, 0, 0, 0, 1], [0, 1, 0, 0, 0]]
    assert single.input_mask.numpy().tolist() == [[1, 1, 1, 1, 1], [1, 1, 0, 0, 0]]
    assert single.input_type_ids.numpy().tolist() == [[0] * 5, [0] * 5]
    with pytest.raises(ValueError, match="1 or 2 segments, got 3"):
        pack_layout([tf.constant([1], tf.int64)] * 3, 8)


def test_packed_word_ids_fill_specials_and_padding_and_ignore_other_pieces():
    layout = pack_layout([tf.constant([2, 1], tf.int64), tf.constant([1, 0], tf.int64)], 7)
    pieces = tf.constant([[90, 11, 12, 93, 21, 95, 96], [90, 11, 92, 93, 94, 95, 96]], tf.int64)
    special = {"start_of_sequence_id": 5, "end_of_segment_id": 6, "padding_id": 7}
    ids = packed_word_ids(layout, pieces, special)
    assert ids.dtype == tf.int32
    assert ids.numpy().tolist() == [[5, 11, 12, 6, 21, 6, 7], [5, 11, 6, 6, 7, 7, 7]]
    without_padding_id = packed_word_ids(layout, pieces, {"start_of_sequence_id": 5, "end_of_segment_id": 6})
    assert without_padding_id.numpy().tolist() == [[5, 11, 12, 6, 21, 6, 0], [5, 11, 6, 6, 0, 0, 0]]


def test_pack_tokens_py_equals_the_reference_and_the_tf_path():
    """Unpadded host packing = the reference's tokens and segment ids = the TF layout, on the same segments."""
    rng = random.Random(3)
    seq_length = 24
    for pairs in (False, True):
        segments_a = random_segments(rng, 200, 12)
        segments_b = random_segments(rng, 200, 9) if pairs else None
        tf_packed = BertPackInputs(seq_length, SPECIAL)(
            [tf.ragged.constant(segments_a, tf.int32, ragged_rank=1)]
            + ([tf.ragged.constant(segments_b, tf.int32, ragged_rank=1)] if pairs else []))
        for row, tokens_a in enumerate(segments_a):
            tokens_b = segments_b[row] if pairs else None
            ids, type_ids = pack_tokens_py(tokens_a, tokens_b, CLS, SEP)
            expected = reference_pack(tokens_a, tokens_b, seq_length)  # Nothing is truncated at 24.
            assert ids == expected["input_word_ids"][:len(ids)] and type_ids == expected["input_type_ids"][:len(ids)]
            assert sum(expected["input_mask"]) == len(ids)
            for key, values in (("input_word_ids", ids), ("input_type_ids", type_ids)):
                assert tf_packed[key][row].numpy().tolist() == values + [0] * (seq_length - len(ids)), (key, row)
    tokens, type_ids = pack_tokens_py(["how", "?"], ["it", "is"], "[CLS]", "[SEP]")
    assert (tokens, type_ids) == (["[CLS]", "how", "?", "[SEP]", "it", "is", "[SEP]"], [0, 0, 0, 0, 1, 1, 1])
    assert pack_tokens_py([], None, "[CLS]", "[SEP]") == (["[CLS]", "[SEP]"], [0, 0])


def test_public_layers_pack_strings_like_the_reference(uncased_vocab):
    """`keras_bert.BertTokenizer` then `keras_bert.BertPackInputs` (the public path) give the reference's inputs."""
    texts_a, texts_b = ["Hello there, General Kenobi!", "", "naïve café"], ["You are a bold one.", "x", ""]
    oracle = reference_tokenizer(uncased_vocab, True)
    ids_a, ids_b = ([oracle.convert_tokens_to_ids(oracle.tokenize(t)) for t in texts] for texts in (texts_a, texts_b))
    tokenizer = keras_bert.BertTokenizer(uncased_vocab, True)
    packer = keras_bert.BertPackInputs(10, tokenizer.get_special_tokens_dict())
    got = packer([tokenizer(tf.constant(texts_a)), tokenizer(tf.constant(texts_b))])
    assert_packed_equal(got, reference_batch(ids_a, ids_b, 10), "public layers")


def test_bad_packer_arguments_are_errors():
    with pytest.raises(ValueError, match="seq_length must be at least 3"):
        BertPackInputs(2, SPECIAL)
    with pytest.raises(ValueError, match="end_of_segment_id"):
        BertPackInputs(8, {"start_of_sequence_id": 1})
    segment = tf.ragged.constant([[1, 2]], dtype=tf.int32)
    with pytest.raises(ValueError, match="1 or 2 segments, got 3"):
        BertPackInputs(8, SPECIAL)([segment] * 3)
    with pytest.raises(TypeError, match="RaggedTensor"):
        BertPackInputs(8, SPECIAL)(tf.constant([[1, 2]]))


def test_get_config_round_trip_gives_the_same_ids():
    packer = BertPackInputs(16, dict(SPECIAL, padding_id=3), name="pack")
    clone = BertPackInputs.from_config(packer.get_config())
    assert clone.get_config() == packer.get_config() and clone.name == "pack"
    segments = [tf.ragged.constant([[7, 8, 9], []], tf.int32), tf.ragged.constant([[4] * 20, [5]], tf.int32)]
    for key, value in packer(segments).items():
        np.testing.assert_array_equal(clone(segments)[key].numpy(), value.numpy())
    assert clone(segments)["input_word_ids"].numpy().tolist()[1] == [CLS, SEP, 5, SEP] + [3] * 12
