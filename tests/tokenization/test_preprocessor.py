"""BertPreprocessor (strings → encoder inputs) against the reference tokenizer and the reference packing of
google-research/bert's run_classifier.convert_single_example (`support.reference_packing`); the casing rules of
Google's release folders against the reference's `validate_case_matches_checkpoint` cases."""
import numpy as np
import pytest
import tensorflow as tf

from keras_bert.tokenization.preprocessor import BertPreprocessor, check_case_matches_checkpoint
from support.corpora import reference_tokenizer
from support.reference_packing import CLS, SEP, assert_packed_equal, reference_batch


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
        assert_packed_equal(preprocessor(tf.constant(texts_a)), reference_batch(ids_a, None, seq_length), "single")
        got = preprocessor([tf.constant(texts_a), tf.constant(texts_b)])
        assert_packed_equal(got, reference_batch(ids_a, ids_b, seq_length), "pairs")
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


def test_get_config_round_trip(uncased_vocab):
    preprocessor = BertPreprocessor(uncased_vocab, False, seq_length=12)
    clone = BertPreprocessor.from_config(preprocessor.get_config())
    text = tf.constant(["Hello there"])
    assert clone(text)["input_word_ids"].numpy().tolist() == preprocessor(text)["input_word_ids"].numpy().tolist()
    assert (clone.tokenizer.lower_case, clone.packer.seq_length) == (False, 12)


def test_preprocessor_inside_dataset_map(uncased_vocab):
    """The host-side input pipeline: the layer runs in tf.data's graph and gives the eager result."""
    preprocessor = BertPreprocessor(uncased_vocab, True, seq_length=12)
    texts = ["Hello there!", "", "naïve café", "a much longer sentence that will be truncated at twelve pieces"]
    pairs = tf.data.Dataset.from_tensor_slices((texts, texts[::-1])).batch(3).map(lambda a, b: preprocessor([a, b]))
    got = {key: np.concatenate([batch[key].numpy() for batch in pairs]) for key in ("input_word_ids", "input_mask")}
    expected = preprocessor([tf.constant(texts), tf.constant(texts[::-1])])
    for key, value in got.items():
        np.testing.assert_array_equal(value, expected[key].numpy())


@pytest.mark.parametrize("checkpoint, lower_case_ok", [
    ("models/uncased_L-12_H-768_A-12/bert_model.ckpt", True),
    ("models/wwm_uncased_L-24_H-1024_A-16", True),
    ("uncased_L-2_H-128_A-2/bert_model.ckpt", True),
    ("chinese_L-12_H-768_A-12/bert_model.ckpt", True),
    ("multilingual_L-12_H-768_A-12/bert_model.ckpt", True),
    ("cased_L-12_H-768_A-12/bert_model.ckpt", False),
    ("multi_cased_L-12_H-768_A-12/bert_model.ckpt", False),
    ("wwm_cased_L-24_H-1024_A-16/bert_model.ckpt", False),
])
def test_case_must_match_a_google_release_checkpoint(checkpoint, lower_case_ok):
    check_case_matches_checkpoint(lower_case_ok, checkpoint)
    with pytest.raises(ValueError, match=f"--do_lower_case={not lower_case_ok} but --init_checkpoint"):
        check_case_matches_checkpoint(not lower_case_ok, checkpoint)


def test_case_is_not_checked_outside_google_release_folders():
    for checkpoint in (None, "", "out/my_model/bert_model.ckpt", "pretrained_cased_model/model.ckpt"):
        check_case_matches_checkpoint(True, checkpoint)
        check_case_matches_checkpoint(False, checkpoint)
