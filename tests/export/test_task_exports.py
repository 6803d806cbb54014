"""Pieces of the task exports checked without writing a SavedModel: the in-graph SQuAD windows, max-context
flags and SQuAD 2.0 answers against the reference's (`keras_bert.data.squad`), byte → character offsets against
Python, the exporters' errors, and the upstream workaround they rely on."""
import json

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_bert
from keras_bert import upstream_workarounds
from keras_bert.data.squad import features as squad
from keras_bert.data.squad.examples import read_squad_examples
from keras_bert.data.squad.postprocess import RawResult, postprocess_predictions
from keras_bert.export.classifier import export_classifier
from keras_bert.export.encoder import export_encoder
from keras_bert.export.export_module import char_offsets
from keras_bert.export.squad import _SquadModule, export_squad
from keras_bert.tokenization.preprocessor import BertPreprocessor
from keras_bert.training.outputs import SquadSettings
from support.serving_helpers import SQUAD_SEQ_LENGTH, SQUAD_SETTINGS, serving_config


@pytest.fixture(scope="module")
def preprocessor(uncased_vocab):
    return BertPreprocessor(uncased_vocab, True, seq_length=24)


@pytest.fixture(scope="module")
def squad_module(preprocessor):
    settings = SquadSettings(doc_stride=5, max_query_length=6, max_answer_length=4, n_best_size=5)
    return _SquadModule(keras_bert.BertSpanLabeler(serving_config()), preprocessor, settings)


def test_windows_and_max_context_equal_the_reference(squad_module):
    rng = np.random.default_rng(0)
    query_lengths = [0, 1, 3, 6, 2, 5, 4, 1]
    context_lengths = [0, 1, 7, 15, 16, 40, 77, 18]
    question = tf.ragged.constant([list(rng.integers(5, 99, n)) for n in query_lengths], dtype=tf.int32)
    context = tf.ragged.constant([list(rng.integers(5, 99, n)) for n in context_lengths], dtype=tf.int32)
    example, start, length, window_query, window_context = squad_module._windows(question, context)
    max_context = squad_module._max_context(example, start, length, context.row_lengths()).to_list()
    for index, (q, c) in enumerate(zip(query_lengths, context_lengths)):
        rows = np.flatnonzero(example.numpy() == index)
        spans = squad._doc_spans(c, 24 - 3 - q, 5) or [(0, 0)]  # the reference has no window for an empty context
        assert [(start.numpy()[r], length.numpy()[r]) for r in rows] == spans, (q, c)
        best = squad._max_context_span(spans, c)
        for span_index, row in enumerate(rows):
            span_start, span_length = spans[span_index]
            assert max_context[row] == [best[p] == span_index for p in range(span_start, span_start + span_length)]
            expected_context = context[index][span_start:span_start + span_length]
            assert window_context[row].numpy().tolist() == expected_context.numpy().tolist()
            assert window_query[row].numpy().tolist() == question[index].numpy().tolist()


def test_char_offsets_equal_python_string_indexes():
    texts = ["naïve café", "東京 😀 ok", "", "plain"]
    encoded = [t.encode("utf-8") for t in texts]
    byte_offsets = [[0, e.index(b" ") if b" " in e else 0, len(e)] for e in encoded]
    got = char_offsets(tf.constant(encoded), tf.constant(byte_offsets, tf.int64)).numpy()
    for e, offsets, chars in zip(encoded, byte_offsets, got):
        assert chars.tolist() == [len(e[:o].decode("utf-8")) for o in offsets]
    invalid = char_offsets(tf.constant([b"a\xffb"]), tf.constant([[2, 3]], tf.int64)).numpy()
    assert invalid.tolist() == [[2, 3]]  # the invalid byte counts as one character (U+FFFD)
    assert char_offsets(tf.constant([], tf.string), tf.zeros([0, 2], tf.int64)).shape == (0, 2)


def test_export_errors_name_what_is_wrong(preprocessor, tmp_path):
    classifier = keras_bert.BertClassifier(serving_config(), 3)
    with pytest.raises(ValueError, match=r"3 outputs but 2 labels were given: \['a', 'b'\]"):
        export_classifier(classifier, preprocessor, ["a", "b"], tmp_path / "x")
    with pytest.raises(ValueError, match=r"max_seq_length \(24\) must exceed max_query_length \+ 3 \(24\)"):
        export_squad(keras_bert.BertSpanLabeler(serving_config()), preprocessor, tmp_path / "y",
                     SquadSettings(max_query_length=21))
    with pytest.raises(TypeError, match="needs a BertEncoder or BertPretrainer, got BertClassifier"):
        export_encoder(classifier, preprocessor.tokenizer.vocab_file, True, tmp_path / "z")


def test_searchsorted_workaround_is_needed_and_works():
    empty_rows, values = tf.zeros([0, 0], tf.int64), tf.zeros([0, 2], tf.int64)
    with pytest.raises(tf.errors.InvalidArgumentError, match="Leading dim_size of both tensors must match"):
        tf.searchsorted(empty_rows, values)
    assert upstream_workarounds.searchsorted_rows(empty_rows, values).shape == (0, 2)
    sequence = tf.constant([[0, 2, 5], [1, 1, 9]], tf.int64)
    probe = tf.constant([[0, 3, 6], [1, 9, 10]], tf.int64)
    for side in ("left", "right"):
        np.testing.assert_array_equal(upstream_workarounds.searchsorted_rows(sequence, probe, side=side),
                                      tf.searchsorted(sequence, probe, side=side, out_type=tf.int64))


def test_squad_2_null_answers_equal_the_reference(tmp_path, shared_data, uncased_vocab):
    """SQuAD 2.0 selection in the graph (traced here, not saved) against `keras_bert.data.squad.features`'s."""
    from keras_bert.tokenization.piece_tokenizer import PieceTokenizer

    text = (shared_data / "pretraining" / "sample_text.txt").read_text(encoding="utf-8")
    paragraphs = [p.replace("\n", " ") for p in text.split("\n\n") if p.strip()]
    questions = [f"what is {word}?" for word in ("rain", "the star", "this", "it", "recorded", "a cabin")]
    pairs = [(questions[i % len(questions)], paragraphs[i % len(paragraphs)]) for i in range(12)]
    path = tmp_path / "squad2.json"
    path.write_text(json.dumps({"data": [{"paragraphs": [{"context": c, "qas": [{"id": str(i), "question": q}]}]}
                                         for i, (q, c) in enumerate(pairs)]}), encoding="utf-8")
    examples = read_squad_examples(path, is_training=False, version_2_with_negative=True)
    tokenizer = PieceTokenizer(uncased_vocab, True)
    seq, stride = SQUAD_SEQ_LENGTH, SQUAD_SETTINGS.doc_stride
    query, answer_length = SQUAD_SETTINGS.max_query_length, SQUAD_SETTINGS.max_answer_length
    features = squad.convert_examples_to_features(examples, tokenizer, seq, stride, query, is_training=False)
    keras.utils.set_random_seed(5)
    model = keras_bert.BertSpanLabeler(serving_config())
    logits = model({"input_word_ids": np.stack([f.input_word_ids for f in features]).astype(np.int32),
                    "input_mask": np.stack([f.input_mask for f in features]).astype(np.int32),
                    "input_type_ids": np.stack([f.input_type_ids for f in features]).astype(np.int32)})
    results = [RawResult(f.unique_id, s, e) for f, s, e in
               zip(features, logits["start_logits"].numpy(), logits["end_logits"].numpy())]
    _, _, null_odds = postprocess_predictions(examples, features, results, tokenizer, 20, answer_length,
                                              version_2_with_negative=True)
    threshold = float(np.median(list(null_odds.values())))
    predictions, _, _ = postprocess_predictions(examples, features, results, tokenizer, 20, answer_length,
                                                version_2_with_negative=True, null_score_diff_threshold=threshold)
    settings = SquadSettings(stride, query, answer_length, n_best_size=20, version_2_with_negative=True,
                             null_score_diff_threshold=threshold)
    module = _SquadModule(model, BertPreprocessor(uncased_vocab, True, seq), settings)
    got = module.answer(tf.constant([q for q, _ in pairs]), tf.constant([c for _, c in pairs]))
    np.testing.assert_allclose(got["null_score_diff"], [null_odds[str(i)] for i in range(len(pairs))], atol=1e-4)
    assert [a.decode() for a in got["answer"].numpy()] == [predictions[str(i)] for i in range(len(pairs))]
    assert "" in predictions.values() and set(predictions.values()) != {""}
