"""`MaskedTextPacker` against Hugging Face's Rust `tokenizers` (which matches the literal `[MASK]` as its special
token): ids, mask positions, truncation and the mask counts; and its bad-input behaviour."""
import numpy as np
import pytest
import tensorflow as tf
from tokenizers import BertWordPieceTokenizer

from keras_bert.tokenization.masked_text import MaskedTextPacker

SEQ_LENGTH = 12
MASK_ID = 103  # [MASK] in the uncased vocabulary
TEXTS = [
    "Hello [MASK]!",
    "[MASK][MASK]x[MASK]y",
    "the woman went to the store and then bought a [MASK] of shoes .",  # its mask lies beyond 12 pieces
    "play[MASK] games [MASK]",
    "café [MASK]. naïve",
    "a [mask] b [MASK]",  # lower-case [mask] is ordinary text
    "[MASK]",
    "one two three four five six seven eight nine [MASK] ten",  # the mask is the last piece kept
]


@pytest.fixture(scope="module")
def packer(uncased_vocab):
    return MaskedTextPacker(uncased_vocab, lower_case=True, seq_length=SEQ_LENGTH, max_predictions=2)


@pytest.fixture(scope="module")
def hf_tokenizer(uncased_vocab):
    tokenizer = BertWordPieceTokenizer(str(uncased_vocab), lowercase=True)
    tokenizer.enable_truncation(max_length=SEQ_LENGTH)
    return tokenizer


def test_ids_and_positions_match_hf_tokenizers(packer, hf_tokenizer):
    features = {k: v.numpy() for k, v in packer(tf.constant(TEXTS)).items()}
    for row, text in enumerate(TEXTS):
        expected = hf_tokenizer.encode(text).ids
        assert features["input_word_ids"][row].tolist() == expected + [0] * (SEQ_LENGTH - len(expected)), text
        assert features["input_mask"][row].tolist() == [1] * len(expected) + [0] * (SEQ_LENGTH - len(expected))
        assert not features["input_type_ids"][row].any()
        masks = [i for i, token in enumerate(expected) if token == MASK_ID]
        predicted = masks[:2]
        count = features["num_predictions"][row]
        assert features["masked_lm_positions"][row, :count].tolist() == predicted, text
        assert not features["masked_lm_positions"][row, count:].any()
        assert features["num_masks"][row] == text.count("[MASK]"), text
        # The masks HF's truncation dropped are counted as truncated.
        hf_tokenizer.no_truncation()
        all_masks = [i for i, token in enumerate(hf_tokenizer.encode(text).ids) if token == MASK_ID]
        hf_tokenizer.enable_truncation(max_length=SEQ_LENGTH)
        assert len(all_masks) == text.count("[MASK]")
        assert features["num_truncated"][row] == len(all_masks) - len(masks), text
    assert features["masked_lm_positions"].shape == (len(TEXTS), 2)


def test_truncated_mask_is_reported(packer):
    features = packer(tf.constant(["the woman went to the store and then bought a [MASK] of shoes ."]))
    assert features["num_masks"].numpy().tolist() == [1]
    assert features["num_truncated"].numpy().tolist() == [1]
    assert features["num_predictions"].numpy().tolist() == [0]
    assert features["masked_lm_positions"].shape == (1, 0)


def test_no_mask_empty_and_invalid_utf8(packer):
    texts = ["no mask here", "", b"caf\xc3\xa9 \xff[MASK]\xfe x", b"[MA\xffSK]"]
    features = {k: v.numpy() for k, v in packer(tf.constant(texts)).items()}
    assert features["num_masks"].tolist() == [0, 0, 1, 0]
    assert features["num_predictions"].tolist() == [0, 0, 1, 0]
    # Invalid bytes are dropped as the tokenizer drops them: "café [MASK] x"; a broken mask token is text.
    assert features["input_word_ids"][2, :5].tolist() == [101, 7668, MASK_ID, 1060, 102]
    assert features["input_word_ids"][1, :3].tolist() == [101, 102, 0]
    assert features["input_word_ids"][3, :5].tolist() == [101, 1031, 7308, 1033, 102]  # [ mask ]


def test_empty_batch(packer):
    features = packer(tf.constant([], tf.string))
    assert features["input_word_ids"].shape == (0, SEQ_LENGTH)
    assert features["masked_lm_positions"].shape == (0, 0)


def test_bad_construction(uncased_vocab, tmp_path):
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("[PAD]\n[UNK]\n[CLS]\n[SEP]\nhello\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"mask token '\[MASK\]' is not in the vocabulary .*vocab.txt"):
        MaskedTextPacker(vocab, lower_case=True)
    with pytest.raises(ValueError, match="max_predictions"):
        MaskedTextPacker(uncased_vocab, lower_case=True, max_predictions=0)


def test_custom_mask_token_and_config_round_trip(uncased_vocab):
    packer = MaskedTextPacker(uncased_vocab, lower_case=True, seq_length=8, mask_token="[UNK]")
    features = packer(tf.constant(["go [UNK] now"]))
    assert features["input_word_ids"].numpy()[0, :5].tolist() == [101, 2175, 100, 2085, 102]
    clone = MaskedTextPacker.from_config(packer.get_config())
    np.testing.assert_array_equal(clone(tf.constant(["go [UNK] now"]))["input_word_ids"], features["input_word_ids"])
