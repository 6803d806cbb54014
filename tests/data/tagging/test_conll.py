"""CoNLL tagging data: reading, first-piece labels (against Model Garden's tagging_data_lib), writing, metrics."""
import collections
import logging

import numpy as np
import pytest
import tensorflow as tf
from official.nlp.data import tagging_data_lib
from official.nlp.tools import tokenization

from keras_bert.data.tagging import conll
from keras_bert.files import DataFileError

CONLL_TEXT = """-DOCSTART- -X- -X- O

EU NNP B-NP B-ORG
rejects VBZ B-VP O
German JJ B-NP B-MISC
call NN I-NP O
to TO B-VP O
boycott VB I-VP O
British JJ B-NP B-MISC
lamb NN I-NP O
. . O O

Peter NNP B-NP B-PER
Blackburn NNP I-NP I-PER


-DOCSTART- -X- -X- O

Jürgen NNP B-NP B-PER
Müller-Lüdenscheidt NNP I-NP I-PER
visited VBD B-VP O
Zürich NNP B-NP B-LOC
on IN B-PP O
1996-08-22 CD B-NP O
"""

LABELS = ["O", "B-LOC", "B-MISC", "B-ORG", "B-PER", "I-PER"]


class FullTokenizerAdapter:
    """The reference tokenizer behind keras_bert's `tokenize_words` interface."""

    def __init__(self, vocab_file):
        self.full = tokenization.FullTokenizer(str(vocab_file), do_lower_case=True)
        self.full.wordpiece_tokenizer.max_input_chars_per_word = 200  # google-research/bert's limit

    def tokenize_words(self, texts):
        return [self.full.tokenize(text) for text in texts]

    def convert_tokens_to_ids(self, tokens):
        return self.full.convert_tokens_to_ids(tokens)


@pytest.fixture(scope="module")
def tokenizer(uncased_vocab):
    return FullTokenizerAdapter(uncased_vocab)


@pytest.fixture()
def conll_file(tmp_path):
    path = tmp_path / "train.txt"
    path.write_text(CONLL_TEXT, encoding="utf-8")
    return path


def test_read_conll(conll_file):
    sentences = conll.read_conll(conll_file)
    assert [s.words for s in sentences] == [
        ("EU", "rejects", "German", "call", "to", "boycott", "British", "lamb", "."),
        ("Peter", "Blackburn"),
        ("Jürgen", "Müller-Lüdenscheidt", "visited", "Zürich", "on", "1996-08-22")]
    assert sentences[0].labels == ("B-ORG", "O", "B-MISC", "O", "O", "O", "B-MISC", "O", "O")
    assert sentences[2].labels == ("B-PER", "I-PER", "O", "B-LOC", "O", "O")
    assert sentences[1].lines == (13, 14) and sentences[2].lines[0] == 19
    assert conll.collect_labels(sentences) == LABELS


def _model_garden_feature(words, label_ids, tokenizer, seq_length):
    """Model Garden's tagging features for one sentence (-1 marks pieces without a label)."""
    example = tagging_data_lib.InputExample(sentence_id=0, words=list(words), label_ids=list(label_ids))
    pieces = tagging_data_lib._tokenize_example(example, seq_length, tokenizer.full)
    assert len(pieces) == 1, "sentence must fit in one feature"
    record = tagging_data_lib._convert_single_example(pieces[0], seq_length, tokenizer.full)
    return {name: np.array(record.features.feature[name].int64_list.value)
            for name in ("input_ids", "input_mask", "segment_ids", "label_ids")}


def test_features_match_model_garden(conll_file, tokenizer):
    sentences = conll.read_conll(conll_file)
    features = conll.convert_sentences_to_features(sentences, tokenizer, LABELS, seq_length=24)
    for sentence, feature in zip(sentences, features):
        expected = _model_garden_feature(sentence.words, [LABELS.index(x) for x in sentence.labels], tokenizer, 24)
        np.testing.assert_array_equal(feature.input_word_ids, expected["input_ids"])
        np.testing.assert_array_equal(feature.input_mask, expected["input_mask"])
        np.testing.assert_array_equal(feature.input_type_ids, expected["segment_ids"])
        np.testing.assert_array_equal(feature.label_ids, np.where(expected["label_ids"] < 0, -100,
                                                                  expected["label_ids"]))
        assert len(feature.word_positions) == len(sentence.words)
        assert feature.input_word_ids.dtype == np.int32
    # "Müller-Lüdenscheidt" is several pieces: only the first carries I-PER.
    third = features[2]
    assert list(third.label_ids[:4]) == [-100, LABELS.index("B-PER"), LABELS.index("I-PER"), -100]


def test_truncation_drops_words_and_predicts_outside(conll_file, tokenizer, tmp_path, caplog):
    sentences = conll.read_conll(conll_file)
    with caplog.at_level(logging.WARNING, logger="keras_bert.data.tagging.conll"):
        features = conll.convert_sentences_to_features(sentences, tokenizer, LABELS, seq_length=8)
    # Sentence 1: 9 one-piece words, 6 fit; sentence 3: jurgen | muller - lu ##den ##sche ##idt | ... cut.
    assert list(features[0].word_positions) == [1, 2, 3, 4, 5, 6]
    assert tokenizer.full.convert_ids_to_tokens(features[0].input_word_ids.tolist()) == [
        "[CLS]", "eu", "rejects", "german", "call", "to", "boycott", "[SEP]"]
    assert list(features[2].word_positions) == [1, 2]
    assert "2 sentences longer than 6 word pieces were truncated; 7 words dropped" in caplog.text

    # Predict the gold label id at every position; cut words come back as "O".
    ids = np.stack([np.where(f.label_ids < 0, 0, f.label_ids) for f in features])
    predictions = conll.predicted_labels(sentences, features, ids, LABELS)
    assert predictions[0] == ["B-ORG", "O", "B-MISC", "O", "O", "O", "O", "O", "O"]
    assert predictions[2] == ["B-PER", "I-PER", "O", "O", "O", "O"]
    out = tmp_path / "pred.txt"
    conll.write_conll_predictions(out, sentences, predictions)
    written = out.read_text(encoding="utf-8").split("\n")
    assert written[:3] == ["EU B-ORG B-ORG", "rejects O O", "German B-MISC B-MISC"]
    assert written[6] == "British B-MISC O" and written[9] == ""
    assert written[10:13] == ["Peter B-PER B-PER", "Blackburn I-PER I-PER", ""]
    assert written[16] == "Zürich B-LOC O"
    # Gold has 6 entities; British (MISC) and Zürich (LOC) are missed: P = 4/4, R = 4/6.
    gold = [list(s.labels) for s in sentences]
    metrics = conll.tagging_metrics(gold, predictions)
    assert metrics["precision"] == pytest.approx(1.0)
    assert metrics["recall"] == pytest.approx(4 / 6)
    assert metrics["f1"] == pytest.approx(0.8)
    assert metrics["accuracy"] == pytest.approx(15 / 17)


def test_tagging_metrics_hand_computed():
    gold = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "O"]]
    pred = [["B-PER", "I-PER", "O", "O"], ["B-ORG", "B-LOC"]]
    # Entities: gold {PER, LOC, ORG}; predicted {PER, ORG, LOC@(1,1)}: 2 correct of 3 and 3.
    metrics = conll.tagging_metrics(gold, pred)
    assert metrics == pytest.approx({"precision": 2 / 3, "recall": 2 / 3, "f1": 2 / 3, "accuracy": 4 / 6})
    # A chunk whose boundary is wrong does not count (conlleval rules).
    assert conll.tagging_metrics([["B-PER", "I-PER"]], [["B-PER", "O"]])["f1"] == 0.0


def test_tagging_dataset(conll_file, tokenizer):
    features = conll.convert_sentences_to_features(conll.read_conll(conll_file), tokenizer, LABELS, 16)
    inputs, labels = next(iter(conll.tagging_dataset(features).batch(8)))
    assert set(inputs) == {"input_word_ids", "input_mask", "input_type_ids"}
    np.testing.assert_array_equal(inputs["input_word_ids"].numpy(), np.stack([f.input_word_ids for f in features]))
    np.testing.assert_array_equal(labels.numpy(), np.stack([f.label_ids for f in features]))
    assert labels.dtype == tf.int32 and labels.shape == (3, 16)
    only_inputs = next(iter(conll.tagging_dataset(features, with_labels=False).batch(8)))
    assert isinstance(only_inputs, collections.abc.Mapping)


@pytest.mark.parametrize("text,message", [
    ("EU B-ORG\nrejects\n", r"bad\.txt, line 2: expected a token and a label"),
    ("", r"bad\.txt: no tokens"),
    ("-DOCSTART- O\n\n", r"bad\.txt: no tokens"),
])
def test_bad_files(tmp_path, text, message):
    path = tmp_path / "bad.txt"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DataFileError, match=message):
        conll.read_conll(path)


def test_unknown_label_names_file_and_line(conll_file, tokenizer):
    sentences = conll.read_conll(conll_file)
    with pytest.raises(DataFileError, match=r"train\.txt, line 22: label 'B-LOC' is not one of"):
        conll.convert_sentences_to_features(sentences, tokenizer, [x for x in LABELS if x != "B-LOC"], 16)
