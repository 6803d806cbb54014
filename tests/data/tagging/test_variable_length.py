"""Tagging batches cut to their longest sentence (`conll.trim_tagging_batch`) keep every label and give the
fixed-length logits on real tokens (oracle: the same model on the batches padded to seq_length)."""
import numpy as np
import pytest
import tensorflow as tf

from keras_bert.data.classification.dataset import batch_by_length
from keras_bert.data.tagging import conll
from keras_bert.models.encoder import ENCODER_INPUTS
from keras_bert.models.token_classifier import BertTokenClassifier
from keras_bert.tokenization.piece_tokenizer import PieceTokenizer
from support.configs import tiny_config

SEQ = 32
WORDS = ["Angela", "Merkel", "visited", "New", "York", "with", "Marie", "Curie", "and", "the", "European", "Union",
         "in", "Zürich", "last", "spring"]


@pytest.fixture(scope="module")
def features(uncased_vocab, tmp_path_factory):
    path = tmp_path_factory.mktemp("conll") / "mixed.txt"
    # Sentences of 1 to 15 words, and one beyond SEQ pieces (truncated): mixed lengths in every batch.
    sentences = [WORDS[i % 7:i % 7 + 1 + i % 9] for i in range(22)] + [WORDS * 3]
    path.write_text("".join("".join(f"{w} {'B-PER' if w[0].isupper() else 'O'}\n" for w in s) + "\n"
                            for s in sentences), encoding="utf-8")
    return conll.convert_sentences_to_features(conll.read_conll(path), PieceTokenizer(uncased_vocab, True),
                                               ["O", "B-PER"], SEQ)


def test_trimmed_batches_keep_every_label(features):
    for (inputs, labels), (full_inputs, full_labels) in zip(
            conll.tagging_dataset(features).batch(8).map(conll.trim_tagging_batch),
            conll.tagging_dataset(features).batch(8)):
        width = int(full_inputs["input_mask"].numpy().sum(axis=1).max())
        assert set(inputs) == set(ENCODER_INPUTS) and labels.shape == (len(labels), width)
        np.testing.assert_array_equal(labels, full_labels[:, :width])
        assert (full_labels.numpy()[:, width:] == conll.IGNORE_LABEL_ID).all()  # only padding was cut
        for name in ENCODER_INPUTS:
            np.testing.assert_array_equal(inputs[name], full_inputs[name][:, :width])
    widths = [inputs["input_mask"].shape[1] for inputs in
              conll.tagging_dataset(features, with_labels=False).batch(8).map(conll.trim_tagging_batch)]
    assert min(widths) < SEQ and max(widths) == SEQ


def test_tagger_logits_equal_the_fixed_length_path(features):
    model = BertTokenClassifier(tiny_config(), num_labels=5)
    specs = {name: tf.TensorSpec([None, None], tf.int32) for name in ENCODER_INPUTS}
    forward = tf.function(lambda inputs: {**model.encoder(inputs), **model(inputs)}, input_signature=[specs])
    fixed = conll.tagging_dataset(features, with_labels=False).batch(8)
    for full, cut in zip(fixed, fixed.map(conll.trim_tagging_batch)):
        want, got = forward(full), forward(cut)
        real = cut["input_mask"].numpy().astype(bool)
        assert np.abs(want["sequence_output"].numpy()).max() > 0.1  # not a vacuous comparison
        for name in ("logits", "sequence_output"):
            np.testing.assert_allclose(got[name].numpy()[real], want[name].numpy()[:, :real.shape[1]][real], atol=1e-5)


def test_length_buckets_of_tagging_rows(features):
    dataset = batch_by_length(conll.tagging_dataset(features).repeat(), 4).map(conll.trim_tagging_batch)
    for inputs, labels in dataset.take(12):
        lengths = inputs["input_mask"].numpy().sum(axis=1)
        assert labels.shape == (4, lengths.max())
        assert lengths.max() - lengths.min() <= 8  # one bucket of BUCKET_BOUNDARIES below 32 pieces
