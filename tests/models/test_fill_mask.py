"""`FillMask` against the reference masked-LM formulas in numpy (Google-format and Hugging Face BertForMaskedLM
checkpoints), a tiny pretrainer trained here until it fills a planted pattern, and every bad input."""
import json

import keras
import numpy as np
import pytest
import tensorflow as tf
from safetensors.numpy import load_file

from keras_bert.models.fill_mask import FillMask
from keras_bert.models.pretrainer import BertPretrainer
from keras_bert.tokenization.preprocessor import BertPreprocessor
from support.configs import tiny_config
from support.fill_mask_oracle import assert_top_k, encode, filled_text, huggingface_names, mask_probabilities
from support.google_checkpoints import random_reference_arrays, write_reference_checkpoint
from support.huggingface_folders import small_vocab, write_huggingface_folder

VOCAB_SIZE = 1000
SEQ_LENGTH = 16
TOP_K = 4
TEXTS = ["the dog [MASK] loudly at night .", "[MASK] is a [MASK] word", "x[MASK]y"]
BOOSTED = "##s"  # its output bias is raised, so that a ## piece is the first candidate of every mask


def _vocab(folder):
    path = folder / "vocab.txt"
    path.write_text("\n".join(small_vocab(VOCAB_SIZE)) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def google_release(tmp_path_factory):
    """An `uncased_*` release folder with random weights (spread out: initializer_range 0.5) and the MLM head."""
    folder = tmp_path_factory.mktemp("release") / "uncased_L-2_H-32_A-2"
    config = tiny_config(VOCAB_SIZE, initializer_range=0.5)
    arrays = random_reference_arrays(config, seed=3)
    folder.mkdir()
    vocab = _vocab(folder)
    arrays["cls/predictions/output_bias"][small_vocab(VOCAB_SIZE).index(BOOSTED)] += 20.0
    write_reference_checkpoint(folder, arrays, config)
    return folder, vocab, arrays


def _check_against_oracle(results, weights, config, vocab_file, lower_case=True):
    vocab = vocab_file.read_text(encoding="utf-8").splitlines()
    mask_id = vocab.index("[MASK]")
    for text, result in zip(TEXTS, results):
        ids = encode(vocab_file, text, lower_case, SEQ_LENGTH)
        probabilities = mask_probabilities(weights, config, ids, mask_id)
        assert result.text == text and result.num_masks == text.count("[MASK]") == len(result.masks)
        for index, (mask, expected) in enumerate(zip(result.masks, probabilities)):
            assert mask.index == index and ids[mask.position] == mask_id
            assert_top_k(mask.token_ids, mask.scores, expected)
            assert mask.tokens == [vocab[i] for i in mask.token_ids]
            assert mask.filled == [filled_text(text, index, token) for token in mask.tokens]


def test_google_checkpoint_matches_numpy_reference(google_release):
    folder, vocab, arrays = google_release
    fill_mask = FillMask.from_pretrained(folder, seq_length=SEQ_LENGTH)  # vocab.txt and casing from the folder
    results = fill_mask(TEXTS, top_k=TOP_K, batch_size=2)
    config = {"num_hidden_layers": 2, "num_attention_heads": 2, "hidden_act": "gelu_new", "layer_norm_eps": 1e-12}
    _check_against_oracle(results, huggingface_names(arrays), config, vocab)
    first = results[0].masks[0]
    assert first.tokens[0] == BOOSTED and first.filled[0] == "the dogs loudly at night ."
    assert results[2].masks[0].filled[0] == "xsy"  # no whitespace before the mask: the piece just joins


def test_huggingface_masked_lm_folder_matches_numpy_reference(tmp_path):
    folder = write_huggingface_folder(tmp_path / "mlm", {"vocab_size": VOCAB_SIZE}, "BertForMaskedLM", seed=5)
    results = FillMask.from_pretrained(folder, seq_length=SEQ_LENGTH)(TEXTS, top_k=TOP_K)
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    _check_against_oracle(results, load_file(folder / "model.safetensors"), config, folder / "vocab.txt")


def test_checkpoints_without_the_mlm_head_are_refused(tmp_path):
    config = tiny_config(VOCAB_SIZE)
    google = tmp_path / "uncased_L-2_H-32_A-2"
    write_reference_checkpoint(google, random_reference_arrays(config, head=None), config)
    _vocab(google)
    with pytest.raises(ValueError, match=r"cls/predictions/output_bias.*|missing.*cls/predictions"):
        FillMask.from_pretrained(google)
    hf = write_huggingface_folder(tmp_path / "bert", {"vocab_size": VOCAB_SIZE}, "BertModel")
    with pytest.raises(ValueError, match=r"cls\.predictions\.bias"):
        FillMask.from_pretrained(hf)


def test_casing_must_match_the_checkpoint(google_release, tmp_path):
    folder, _, _ = google_release
    with pytest.raises(ValueError, match="do_lower_case"):
        FillMask.from_pretrained(folder, do_lower_case=False)
    hf = write_huggingface_folder(tmp_path / "mlm", {"vocab_size": VOCAB_SIZE}, "BertForMaskedLM")
    with pytest.raises(ValueError, match="do_lower_case=False but .* says do_lower_case=True"):
        FillMask.from_pretrained(hf, do_lower_case=False)


def test_bad_input_is_a_clear_error(google_release):
    folder, _, _ = google_release
    fill_mask = FillMask.from_pretrained(folder, seq_length=SEQ_LENGTH, max_predictions=2)
    cases = [
        (["ok [MASK]", "no mask here"], r"texts\[1\] has no \[MASK\] to predict: 'no mask here'"),
        (["", "ok [MASK]"], r"texts\[0\] is empty"),
        (["[MASK] [MASK] [MASK]"], r"texts\[0\] has 3 \[MASK\] tokens, more than max_predictions 2"),
        (["ok [MASK] \udcff"], r"texts\[0\] cannot be encoded as UTF-8"),
    ]
    for texts, message in cases:
        with pytest.raises(ValueError, match=message):
            fill_mask(texts)
    with pytest.raises(ValueError, match="top_k must be an int from 1 to the vocabulary size 1000"):
        fill_mask("ok [MASK]", top_k=0)
    with pytest.raises(TypeError, match="BertPretrainer"):
        FillMask(keras.Sequential(), fill_mask.packer)


def test_truncated_masks_and_invalid_utf8_are_reported(google_release, caplog):
    folder, _, _ = google_release
    fill_mask = FillMask.from_pretrained(folder, seq_length=8)
    long_text = "a b c d [MASK] e f g [MASK]"  # the second mask lies beyond 6 pieces
    results = fill_mask([long_text, b"caf\xc3\xa9 \xff[MASK]"], top_k=2)
    assert results[0].num_masks == 2 and len(results[0].masks) == 1 and results[0].masks[0].position == 5
    assert "texts[0]: 1 of its 2 [MASK] tokens lie beyond seq_length 8" in caplog.text
    assert results[1].text == "café [MASK]"
    assert results[1].masks[0].filled == [f"café {token}" if not token.startswith("##") else f"café{token[2:]}"
                                          for token in results[1].masks[0].tokens]


# A planted pattern: each country's capital after "the capital of <country> is".
CAPITALS = {"france": "paris", "japan": "tokyo", "italy": "rome", "spain": "madrid", "egypt": "cairo"}


def test_trained_pretrainer_fills_the_planted_pattern(tmp_path):
    words = ["the", "capital", "of", "is", ".", *CAPITALS, *CAPITALS.values()]
    vocab_file = tmp_path / "vocab.txt"
    vocab_file.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *words]) + "\n", encoding="utf-8")
    keras.utils.set_random_seed(1)
    pretrainer = BertPretrainer(tiny_config(len(words) + 5, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0))
    preprocessor = BertPreprocessor(vocab_file, lower_case=True, seq_length=10)
    # Training inputs made without the masked-text packer: the answer's position is masked by hand.
    sentences = [f"the capital of {country} is {capital} ." for country, capital in CAPITALS.items()]
    ids = preprocessor(tf.constant(sentences))["input_word_ids"].numpy()
    answers = np.array([[preprocessor.tokenizer.vocab.index(c)] for c in CAPITALS.values()], np.int32)
    positions = np.argmax(ids == answers, axis=1)[:, None].astype(np.int32)
    masked = ids.copy()
    masked[np.arange(len(ids)), positions[:, 0]] = preprocessor.tokenizer.vocab.index("[MASK]")
    inputs = {"input_word_ids": masked, "input_mask": (ids > 0).astype(np.int32),
              "input_type_ids": np.zeros_like(ids), "masked_lm_positions": positions}
    labels = {"masked_lm_ids": answers, "masked_lm_weights": np.ones(answers.shape, np.float32),
              "next_sentence_labels": np.zeros((len(ids), 1), np.int32)}
    pretrainer.compile(optimizer=keras.optimizers.Adam(3e-3))
    steps = 300
    repeated = [{k: np.tile(v, (steps, 1)) for k, v in d.items()} for d in (inputs, labels)]
    pretrainer.fit(*repeated, batch_size=len(ids), epochs=1, verbose=0)
    fill_mask = FillMask(pretrainer, preprocessor)
    results = fill_mask([f"The capital of {country.title()} is [MASK]." for country in CAPITALS], top_k=2)
    assert [result.masks[0].tokens[0] for result in results] == list(CAPITALS.values())
    assert results[0].masks[0].filled[0] == "The capital of France is paris."
    assert all(result.masks[0].scores[0] > 0.9 for result in results)
