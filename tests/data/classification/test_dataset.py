"""classification_dataset: real SST-2 examples and hand-made pairs through a real TF preprocessor (code points),
decoded back to the texts and labels that went in, and its errors."""
import numpy as np
import pytest
import tensorflow as tf

from keras_bert.data.classification import glue
from keras_bert.data.classification.dataset import classification_dataset

SEQ = 24


def codepoint_preprocessor(texts):
    """A real TF preprocessor: code points of text_a (type 0) then text_b (type 1), cut/padded to SEQ."""
    parts = texts if isinstance(texts, list) else [texts]
    codes = [tf.strings.unicode_decode(t, "UTF-8") for t in parts]
    types = [tf.ones_like(c) * i for i, c in enumerate(codes)]
    ids = tf.concat(codes, axis=1).to_tensor(shape=[None, SEQ])
    return {"input_word_ids": ids, "input_mask": tf.cast(ids > 0, tf.int32),
            "input_type_ids": tf.concat(types, axis=1).to_tensor(shape=[None, SEQ])}


def _decode(ids):
    return "".join(chr(c) for c in ids if c)


def test_classification_dataset_on_real_sst2(shared_data):
    examples = glue.TASKS["sst-2"].get_dev_examples(shared_data / "glue" / "SST-2")
    labels = {ex.text_a[:SEQ]: int(ex.label) for ex in examples}
    dataset = classification_dataset(examples, codepoint_preprocessor, ["0", "1"], batch_size=32, shuffle=True,
                                     seed=1)
    seen = []
    for features, batch_labels in dataset:
        assert features["input_word_ids"].dtype == tf.int32 and batch_labels.dtype == tf.int32
        for ids, label in zip(features["input_word_ids"].numpy(), batch_labels.numpy()):
            text = _decode(ids)
            assert labels[text] == label
            seen.append(text)
    assert len(seen) == 872 and sorted(seen) == sorted(ex.text_a[:SEQ] for ex in examples)
    assert seen != [ex.text_a[:SEQ] for ex in examples]  # shuffled
    assert [len(b["input_word_ids"]) for b, _ in dataset.as_numpy_iterator()][-2:] == [32, 872 % 32]


def test_classification_dataset_pairs_regression_and_test():
    pairs = [glue.InputExample(f"dev-{i}", f"a{i}", f"bé{i}", float(i) / 2) for i in range(5)]
    features, scores = next(iter(classification_dataset(pairs, codepoint_preprocessor, is_regression=True,
                                                         batch_size=8)))
    assert [_decode(ids) for ids in features["input_word_ids"].numpy()] == [f"a{i}bé{i}" for i in range(5)]
    # Cut to the longest pair (5 code points): padding only where a row is shorter.
    np.testing.assert_array_equal(features["input_type_ids"].numpy()[:2], [[0, 0, 1, 1, 1], [0, 0, 1, 1, 1]])
    assert scores.dtype == tf.float32 and scores.numpy().tolist() == [0.0, 0.5, 1.0, 1.5, 2.0]
    unlabelled = [glue.InputExample("test-1", "x"), glue.InputExample("test-2", "y")]
    only_features = next(iter(classification_dataset(unlabelled, codepoint_preprocessor, batch_size=8)))
    assert [_decode(ids) for ids in only_features["input_word_ids"].numpy()] == ["x", "y"]


@pytest.mark.parametrize("examples,kwargs,message", [
    ([glue.InputExample("a", "x", "y", "0"), glue.InputExample("b", "x", None, "0")], {}, r"'b' has no text_b"),
    ([glue.InputExample("a", "x", None, "0"), glue.InputExample("b", "x", None, None)], {}, r"'b' has no label"),
    ([glue.InputExample("a", "x", None, "2")], {}, r"'a': label '2' is not one of \['0', '1'\]"),
    ([], {}, "no examples"),
])
def test_classification_dataset_errors(examples, kwargs, message):
    with pytest.raises(ValueError, match=message):
        classification_dataset(examples, codepoint_preprocessor, ["0", "1"], **kwargs)
