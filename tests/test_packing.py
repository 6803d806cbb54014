"""BertPackInputs and BertPreprocessor against the reference packing of google-research/bert's
run_classifier.convert_single_example (`_truncate_seq_pair`, [CLS] a [SEP] b [SEP], zero padding),
written below in plain Python as the oracle."""
import random

import numpy as np
import pytest
import tensorflow as tf

import keras_bert
from keras_bert.tokenization.tokenizer import BertPackInputs, BertPreprocessor, BertTokenizer, truncation_lengths
from support.corpora import reference_tokenizer

CLS, SEP = 101, 102
SPECIAL = {"vocab_size": 30522, "start_of_sequence_id": CLS, "end_of_segment_id": SEP, "padding_id": 0, "mask_id": 103}


def reference_pack(tokens_a: list, tokens_b: list | None, seq_length: int) -> dict[str, list[int]]:
    """google-research/bert run_classifier.convert_single_example, on ids."""
    tokens_a = list(tokens_a)
    tokens_b = None if tokens_b is None else list(tokens_b)
    if tokens_b is not None:
        while len(tokens_a) + len(tokens_b) > seq_length - 3:  # _truncate_seq_pair
            (tokens_a if len(tokens_a) > len(tokens_b) else tokens_b).pop()
    elif len(tokens_a) > seq_length - 2:
        tokens_a = tokens_a[:seq_length - 2]
    ids = [CLS] + tokens_a + [SEP]
    types = [0] * len(ids)
    if tokens_b is not None:
        ids += tokens_b + [SEP]
        types += [1] * (len(tokens_b) + 1)
    mask = [1] * len(ids)
    padding = [0] * (seq_length - len(ids))
    return {"input_word_ids": ids + padding, "input_mask": mask + padding, "input_type_ids": types + padding}


def _random_segments(rng, count: int, max_length: int) -> list[list[int]]:
    return [[rng.randrange(1000, 30000) for _ in range(rng.choice([0, rng.randint(0, max_length)]))]
            for _ in range(count)]


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


def _expected(segments_a, segments_b, seq_length) -> dict[str, np.ndarray]:
    packed = [reference_pack(a, None if segments_b is None else b, seq_length)
              for a, b in zip(segments_a, segments_b or segments_a)]
    return {key: np.array([p[key] for p in packed], np.int32) for key in packed[0]}


def _assert_packed_equal(got, expected, context):
    assert set(got) == set(expected)
    for key in expected:
        assert got[key].dtype == tf.int32, key
        mismatch = np.flatnonzero((got[key].numpy() != expected[key]).any(axis=1))
        assert not mismatch.size, f"{context}: {key} differs in rows {mismatch[:5]}:\n{got[key].numpy()[mismatch[0]]}\n" \
                                  f"{expected[key][mismatch[0]]}"


@pytest.mark.parametrize("ragged_rank", [1, 2])
@pytest.mark.parametrize("pairs", [False, True])
def test_packing_equals_reference_over_random_lengths(pairs, ragged_rank):
    rng = random.Random(ragged_rank * 2 + pairs)
    for seq_length in (3, 4, 5, 8, 16, 33, 128):
        segments_a = _random_segments(rng, 300, 2 * seq_length)
        segments_b = _random_segments(rng, 300, 2 * seq_length) if pairs else None
        packer = BertPackInputs(seq_length, SPECIAL)
        inputs = [_ragged(segments_a, ragged_rank, rng)] + ([_ragged(segments_b, ragged_rank, rng)] if pairs else [])
        got = packer(inputs if pairs or rng.random() < 0.5 else inputs[0])
        _assert_packed_equal(got, _expected(segments_a, segments_b, seq_length), f"seq_length={seq_length}")


def test_truncation_is_exercised_on_ties_and_both_sides():
    """The random lengths above include ties and cuts on both sides; the closed form equals the pop loop."""
    lengths = [(a, b) for a in range(0, 12) for b in range(0, 12)]
    for budget in range(0, 14):
        keep_a, keep_b = truncation_lengths(tf.constant([a for a, _ in lengths], tf.int64),
                                            tf.constant([b for _, b in lengths], tf.int64), budget)
        for (a, b), got_a, got_b in zip(lengths, keep_a.numpy(), keep_b.numpy()):
            ref_a, ref_b = a, b
            while ref_a + ref_b > budget:
                if ref_a > ref_b:
                    ref_a -= 1
                else:
                    ref_b -= 1
            assert (got_a, got_b) == (ref_a, ref_b), (a, b, budget)


def test_seq_length_override_and_tf_function():
    rng = random.Random(7)
    segments_a, segments_b = _random_segments(rng, 50, 40), _random_segments(rng, 50, 40)
    packer = BertPackInputs(128, SPECIAL)
    pack = tf.function(lambda a, b, n: packer([a, b], seq_length=n))
    for seq_length in (9, 20, 64):
        got = pack(_ragged(segments_a, 1, rng), _ragged(segments_b, 1, rng), tf.constant(seq_length))
        _assert_packed_equal(got, _expected(segments_a, segments_b, seq_length), f"override {seq_length}")


def test_preprocessor_equals_reference_tokenize_and_pack(shared_data, uncased_vocab):
    """Strings → the encoder's inputs, for real SST-2 singles and CoLA/SST-2 pairs, with truncation."""
    lines = (shared_data / "glue" / "SST-2" / "dev.tsv").read_text(encoding="utf-8").splitlines()[1:]
    texts_a = [line.split("\t")[1] for line in lines]
    texts_b = texts_a[1:] + texts_a[:1]
    oracle = reference_tokenizer(uncased_vocab, True)
    ids_a = [oracle.convert_tokens_to_ids(oracle.tokenize(t)) for t in texts_a]
    ids_b = ids_a[1:] + ids_a[:1]
    for seq_length in (16, 128):
        preprocessor = BertPreprocessor(uncased_vocab, True, seq_length=seq_length)
        _assert_packed_equal(preprocessor(tf.constant(texts_a)), _expected(ids_a, None, seq_length), "single")
        got = preprocessor([tf.constant(texts_a), tf.constant(texts_b)])
        _assert_packed_equal(got, _expected(ids_a, ids_b, seq_length), "pairs")
        assert got["input_word_ids"].shape == (len(texts_a), seq_length)
    assert sum(len(a) + len(b) > 13 for a, b in zip(ids_a, ids_b)) > 800  # Truncation happened at 16.


def test_empty_strings_pack_to_cls_sep(uncased_vocab):
    packed = BertPreprocessor(uncased_vocab, True, seq_length=6)([tf.constant(["", "a"]), tf.constant(["", ""])])
    assert packed["input_word_ids"].numpy().tolist() == [[CLS, SEP, SEP, 0, 0, 0], [CLS, 1037, SEP, SEP, 0, 0]]
    assert packed["input_mask"].numpy().tolist() == [[1, 1, 1, 0, 0, 0], [1, 1, 1, 1, 0, 0]]
    assert packed["input_type_ids"].numpy().tolist() == [[0, 0, 1, 0, 0, 0], [0, 0, 0, 1, 0, 0]]
    single = BertPreprocessor(uncased_vocab, True, seq_length=4)(tf.constant([""]))
    assert single["input_word_ids"].numpy().tolist() == [[CLS, SEP, 0, 0]]


def test_from_google_release_reads_case_from_folder_name(tmp_path, uncased_vocab):
    vocab = uncased_vocab.read_text(encoding="utf-8")
    cases = {"uncased_L-2_H-128_A-2": True, "cased_L-12_H-768_A-12": False, "multi_cased_L-12_H-768_A-12": False,
             "multilingual_L-12_H-768_A-12": True, "chinese_L-12_H-768_A-12": True,
             "wwm_uncased_L-24_H-1024_A-16": True}
    for name, lower_case in cases.items():
        (tmp_path / name).mkdir()
        (tmp_path / name / "vocab.txt").write_text(vocab, encoding="utf-8")
        preprocessor = BertPreprocessor.from_google_release(tmp_path / name, seq_length=8)
        assert preprocessor.tokenizer.lower_case is lower_case, name
        assert preprocessor.packer.seq_length == 8
    overridden = BertPreprocessor.from_google_release(tmp_path / "cased_L-12_H-768_A-12", lower_case=True)
    assert overridden.tokenizer.lower_case is True
    (tmp_path / "my_model").mkdir()
    with pytest.raises(ValueError, match="my_model"):
        BertPreprocessor.from_google_release(tmp_path / "my_model")
    with pytest.raises(FileNotFoundError, match="vocab.txt"):
        BertPreprocessor.from_google_release(tmp_path / "my_model", lower_case=True)


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


def test_get_config_round_trip(uncased_vocab):
    packer = BertPackInputs(16, SPECIAL, name="pack")
    assert BertPackInputs.from_config(packer.get_config()).get_config() == packer.get_config()
    preprocessor = BertPreprocessor(uncased_vocab, False, seq_length=12)
    clone = BertPreprocessor.from_config(preprocessor.get_config())
    text = tf.constant(["Hello there"])
    assert clone(text)["input_word_ids"].numpy().tolist() == preprocessor(text)["input_word_ids"].numpy().tolist()
    assert (clone.tokenizer.lower_case, clone.packer.seq_length) == (False, 12)


def test_exported_from_the_package():
    assert (keras_bert.BertTokenizer, keras_bert.BertPackInputs, keras_bert.BertPreprocessor) == \
        (BertTokenizer, BertPackInputs, BertPreprocessor)


def test_preprocessor_inside_dataset_map(uncased_vocab):
    """The host-side input pipeline: the layer runs in tf.data's graph and gives the eager result."""
    preprocessor = BertPreprocessor(uncased_vocab, True, seq_length=12)
    texts = ["Hello there!", "", "naïve café", "a much longer sentence that will be truncated at twelve pieces"]
    pairs = tf.data.Dataset.from_tensor_slices((texts, texts[::-1])).batch(3).map(lambda a, b: preprocessor([a, b]))
    got = {key: np.concatenate([batch[key].numpy() for batch in pairs]) for key in ("input_word_ids", "input_mask")}
    expected = preprocessor([tf.constant(texts), tf.constant(texts[::-1])])
    for key, value in got.items():
        np.testing.assert_array_equal(value, expected[key].numpy())
