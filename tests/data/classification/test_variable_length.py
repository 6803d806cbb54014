"""Variable-length batches (each cut to its longest row) give the fixed-length path's outputs, on real SST-2
sentences of mixed length through the real preprocessor; `fixed_length` gives static shapes (TPUs); length
buckets group rows of similar length into full batches.

Oracle: the same model on the same examples padded to `seq_length` (the reference's fixed padding).
"""
import numpy as np
import pytest
import tensorflow as tf

from keras_bert.data.classification import glue
from keras_bert.data.classification.dataset import BUCKET_BOUNDARIES, classification_dataset
from keras_bert.models.classifier import BertClassifier
from keras_bert.models.encoder import ENCODER_INPUTS
from keras_bert.tokenization.preprocessor import BertPreprocessor
from keras_bert.training import task_runner
from support.configs import tiny_config

SEQ = 64


@pytest.fixture(scope="module")
def preprocessor(uncased_vocab):
    return BertPreprocessor(uncased_vocab, True, SEQ)


@pytest.fixture(scope="module")
def dev_examples(shared_data):
    return glue.TASKS["sst-2"].get_dev_examples(shared_data / "glue" / "SST-2")[:64]


def _pairs(examples):
    """Each sentence with the first words of another: pairs of mixed length that fit SEQ untruncated, mostly."""
    return [glue.InputExample(ex.guid, ex.text_a, " ".join(examples[-1 - i].text_a.split()[:i % 9 + 1]), ex.label)
            for i, ex in enumerate(examples)]


@pytest.mark.parametrize("pairs", [False, True], ids=["single", "pairs"])
def test_classifier_outputs_equal_the_fixed_length_path(preprocessor, dev_examples, pairs):
    examples = _pairs(dev_examples) if pairs else dev_examples
    model = BertClassifier(tiny_config(hidden_dropout_prob=0.0), num_classes=3)
    specs = {name: tf.TensorSpec([None, None], tf.int32) for name in ENCODER_INPUTS}
    forward = tf.function(lambda inputs: {**model.encoder(inputs), **model(inputs)}, input_signature=[specs])
    fixed, variable = ([features for features, _ in classification_dataset(
        examples, preprocessor, ["0", "1"], batch_size=16, fixed_length=fixed)] for fixed in (True, False))
    widths = [features["input_word_ids"].shape[1] for features in variable]
    assert widths == [int(features["input_mask"].numpy().sum(axis=1).max()) for features in fixed]
    assert min(widths) < SEQ and {features["input_word_ids"].shape[1] for features in fixed} == {SEQ}
    for want, got in zip(map(forward, fixed), map(forward, variable)):
        np.testing.assert_allclose(got["logits"], want["logits"], atol=1e-5)
        # The head starts near 0 (std 0.02): the pooled outputs, of order 1, say more.
        assert np.abs(want["pooled_output"]).max() > 0.1  # not a vacuous comparison of zeros
        np.testing.assert_allclose(got["pooled_output"], want["pooled_output"], atol=1e-5)
        real = got["sequence_output"].shape[1]
        np.testing.assert_allclose(got["sequence_output"], want["sequence_output"][:, :real], atol=1e-5)


def test_fixed_length_gives_static_shapes_for_tpus(preprocessor, dev_examples):
    """drop_remainder + fixed_length: every dimension is known when a TPU train step is traced; the default
    leaves the length dimension open."""
    fixed = classification_dataset(dev_examples, preprocessor, ["0", "1"], batch_size=8, shuffle=True, seed=0,
                                   drop_remainder=True, repeat=True, fixed_length=True)
    for spec in tf.nest.flatten(fixed.element_spec):
        assert spec.shape.is_fully_defined(), fixed.element_spec
    variable = classification_dataset(dev_examples, preprocessor, ["0", "1"], batch_size=8, drop_remainder=True)
    assert variable.element_spec[0]["input_word_ids"].shape.as_list() == [8, None]
    assert task_runner.uses_fixed_length_batches(False, "tpu")
    assert task_runner.uses_fixed_length_batches(True, "default")
    assert not task_runner.uses_fixed_length_batches(False, "default")
    with pytest.raises(ValueError, match="--bucket_by_length needs variable-length batches, but --strategy=tpu"):
        task_runner.uses_fixed_length_batches(False, "tpu", bucket_by_length=True)


def test_length_buckets_hold_rows_of_similar_length(preprocessor, dev_examples):
    dataset = classification_dataset(dev_examples, preprocessor, ["0", "1"], batch_size=4, shuffle=True, seed=3,
                                     drop_remainder=True, repeat=True, bucket_by_length=True)
    bounds = [0, *BUCKET_BOUNDARIES, np.inf]
    by_text = {}
    for ex in dev_examples:  # the packed length of each example, as the fixed path packs it
        features = preprocessor(tf.constant([ex.text_a]))
        by_text[features["input_word_ids"].numpy()[0].tobytes()] = int(features["input_mask"].numpy().sum())
    widths = set()
    for features, labels in dataset.take(60):
        mask = features["input_mask"].numpy()
        lengths = mask.sum(axis=1)
        assert mask.shape == (4, lengths.max()) and labels.shape == (4,)
        buckets = {np.searchsorted(bounds, length) for length in lengths}
        assert len(buckets) == 1, lengths  # one bucket per batch
        ids = np.pad(features["input_word_ids"].numpy(), [(0, 0), (0, SEQ - mask.shape[1])])
        assert [by_text[row.tobytes()] for row in ids] == lengths.tolist()  # real rows, cut but intact
        widths.add(mask.shape[1])
    assert len(widths) > 3


@pytest.mark.parametrize("kwargs,message", [
    ({"bucket_by_length": True}, "needs repeat=True"),
    ({"bucket_by_length": True, "repeat": True, "fixed_length": True}, "needs repeat=True and variable-length"),
])
def test_bucketing_is_for_training_only(preprocessor, dev_examples, kwargs, message):
    with pytest.raises(ValueError, match=message):
        classification_dataset(dev_examples, preprocessor, ["0", "1"], **kwargs)
    unlabelled = [glue.InputExample(ex.guid, ex.text_a) for ex in dev_examples]
    with pytest.raises(ValueError, match="the examples need labels"):
        classification_dataset(unlabelled, preprocessor, bucket_by_length=True, repeat=True)
