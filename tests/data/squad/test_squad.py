"""SQuAD reading, features and post-processing against tf-models-official's copy of the reference rules.

Oracle: `official.nlp.data.squad_lib` (google-research/bert run_squad.py's algorithm) with
`official.nlp.tools.tokenization.FullTokenizer` set to the reference's 200-character word limit; scoring
with `official.nlp.tools.squad_evaluate_v1_1` / `squad_evaluate_v2_0` against hand-computed EM/F1.
"""
import json
import logging
import os

import numpy as np
import pytest
from official.nlp.data import squad_lib
from official.nlp.tools import squad_evaluate_v1_1, squad_evaluate_v2_0

from keras_bert.data.squad.examples import SquadExample, read_squad_examples
from keras_bert.data.squad.features import convert_examples_to_features, squad_dataset
from keras_bert.data.squad.postprocess import RawResult, get_final_text, postprocess_predictions, write_predictions
from keras_bert.files import DataFileError
from support.squad_fixtures import UNICODE_CONTEXT, WINDOWS, FullTokenizerAdapter, reference_tokenizer, squad_json


@pytest.fixture(scope="module")
def adapters(uncased_vocab):
    return {lower: (FullTokenizerAdapter(uncased_vocab, lower), reference_tokenizer(uncased_vocab, lower))
            for lower in (True, False)}


def _write(tmp_path, name, data):
    path = tmp_path / name
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return str(path)


def _example_fields(ex):
    return (ex.qas_id, ex.question_text, ex.doc_tokens, ex.orig_answer_text, ex.start_position,
            ex.end_position, ex.is_impossible)


@pytest.mark.parametrize("version_2", [False, True])
@pytest.mark.parametrize("is_training", [True, False])
def test_read_examples_match_reference(tmp_path, caplog, version_2, is_training):
    path = _write(tmp_path, "train.json", squad_json(version_2))
    with caplog.at_level(logging.WARNING, logger="keras_bert.data.squad.examples"):
        ours = read_squad_examples(path, is_training, version_2)
    theirs = squad_lib.read_squad_examples(path, is_training, version_2)
    assert [_example_fields(e) for e in ours] == [_example_fields(e) for e in theirs]
    if is_training:
        assert "wrong-year" not in [e.qas_id for e in ours]
        assert "Could not find answer: '1896,' vs. '1900'" in caplog.text
        assert "skipped 1 training questions: 1 'Could not find answer', 0 answer offsets" in caplog.text
    else:
        assert "wrong-year" in [e.qas_id for e in ours]


def test_offsets_outside_context_are_skipped_and_counted(tmp_path, caplog):
    data = squad_json(False)
    qas = data["data"][1]["paragraphs"][0]["qas"]
    qas.append({"id": "past-end", "question": "?", "answers": [{"text": "Prag", "answer_start": 10_000}]})
    qas.append({"id": "negative", "question": "?", "answers": [{"text": "Prag", "answer_start": -3}]})
    qas.append({"id": "overrun", "question": "?", "answers": [{"text": "$1,200.50! and more",
                                                               "answer_start": UNICODE_CONTEXT.index("$1,200")}]})
    with caplog.at_level(logging.WARNING, logger="keras_bert.data.squad.examples"):
        examples = read_squad_examples(_write(tmp_path, "t.json", data), True)
    ids = [e.qas_id for e in examples]
    assert not {"past-end", "negative", "overrun", "wrong-year"} & set(ids)
    assert len(ids) == 9
    assert "skipped 4 training questions: 1 'Could not find answer', 3 answer offsets outside" in caplog.text


def test_bad_squad_files_name_file_and_question(tmp_path):
    data = squad_json(True)
    del data["data"][0]["paragraphs"][0]["qas"][1]["is_impossible"]
    path = _write(tmp_path, "v2.json", data)
    with pytest.raises(DataFileError, match=r"v2\.json.*question 'designer-years': missing key 'is_impossible'"):
        read_squad_examples(path, True, version_2_with_negative=True)
    data = squad_json(False)
    data["data"][1]["paragraphs"][0]["qas"][0]["answers"].append({"text": "Dvořák", "answer_start": 22})
    with pytest.raises(DataFileError, match=r"question 'dvorak'.*exactly 1 answer, got 2"):
        read_squad_examples(_write(tmp_path, "two.json", data), True)
    broken = tmp_path / "broken.json"
    broken.write_text('{"data": [', encoding="utf-8")
    with pytest.raises(DataFileError, match=r"broken\.json, line 1: invalid JSON"):
        read_squad_examples(str(broken), False)


def _reference_features(examples, tokenizer, is_training, **kwargs):
    features = []
    output_fn = features.append if is_training else (lambda f, is_padding: features.append(f))
    squad_lib.convert_examples_to_features(examples, tokenizer, is_training=is_training, output_fn=output_fn,
                                           batch_size=None if is_training else 1, **kwargs)
    return features


@pytest.mark.parametrize("version_2", [False, True])
@pytest.mark.parametrize("is_training", [True, False])
@pytest.mark.parametrize("lower", [True, False])
def test_features_match_reference(tmp_path, adapters, version_2, is_training, lower):
    path = _write(tmp_path, "d.json", squad_json(version_2))
    ours_tok, ref_tok = adapters[lower]
    examples = read_squad_examples(path, is_training, version_2)
    ours = convert_examples_to_features(examples, ours_tok, is_training=is_training, **WINDOWS)
    theirs = _reference_features(squad_lib.read_squad_examples(path, is_training, version_2), ref_tok,
                                 is_training, **WINDOWS)
    assert len(ours) == len(theirs) > 2 * len(examples)  # several windows per long context
    for a, b in zip(ours, theirs):
        assert (a.unique_id, a.example_index, a.doc_span_index) == (b.unique_id, b.example_index, b.doc_span_index)
        assert a.tokens == b.tokens
        assert a.token_to_orig_map == b.token_to_orig_map
        assert a.token_is_max_context == b.token_is_max_context
        np.testing.assert_array_equal(a.input_word_ids, b.input_ids)
        np.testing.assert_array_equal(a.input_mask, b.input_mask)
        np.testing.assert_array_equal(a.input_type_ids, b.segment_ids)
        if is_training:
            assert (a.start_position, a.end_position) == (b.start_position, b.end_position)
            # google-research/bert flags the example's impossibility (tf-models: "window lacks the answer").
            assert a.is_impossible == examples[a.example_index].is_impossible
    if is_training:
        debate = [f for f in ours if examples[f.example_index].qas_id == "debate"]
        inside = [f for f in debate if f.start_position > 0]
        assert 0 < len(inside) < len(debate)  # windows that cut the answer get position 0
        for f in inside:
            answer = " ".join(f.tokens[f.start_position:f.end_position + 1]).replace(" ##", "")
            assert answer.startswith("budgets , roads") and answer.endswith("agreed")


def test_squad_dataset(tmp_path, adapters):
    path = _write(tmp_path, "d.json", squad_json(True))
    tok = adapters[True][0]
    train = convert_examples_to_features(read_squad_examples(path, True, True), tok, is_training=True, **WINDOWS)
    element = next(iter(squad_dataset(train, is_training=True).batch(len(train))))
    assert set(element) == {"input_word_ids", "input_mask", "input_type_ids", "start_positions", "end_positions",
                            "is_impossible"}
    np.testing.assert_array_equal(element["input_word_ids"].numpy(), np.stack([f.input_word_ids for f in train]))
    np.testing.assert_array_equal(element["input_type_ids"].numpy(), np.stack([f.input_type_ids for f in train]))
    np.testing.assert_array_equal(element["start_positions"].numpy(), [f.start_position for f in train])
    np.testing.assert_array_equal(element["is_impossible"].numpy(), [f.is_impossible for f in train])
    assert element["input_mask"].dtype.name == "int32" and element["input_word_ids"].shape == (len(train), 64)
    predict = convert_examples_to_features(read_squad_examples(path, False, True), tok, is_training=False, **WINDOWS)
    element = next(iter(squad_dataset(predict, is_training=False).batch(len(predict))))
    assert set(element) == {"input_word_ids", "input_mask", "input_type_ids", "unique_ids"}
    np.testing.assert_array_equal(element["unique_ids"].numpy(), [f.unique_id for f in predict])


def _random_results(features, seed):
    """Logits with strong, varied peaks so that many candidate spans compete, including the null slot."""
    rng = np.random.default_rng(seed)
    results = []
    for f in features:
        start, end = rng.normal(size=64) * 2.0, rng.normal(size=64) * 2.0
        peaks = rng.integers(0, int(f.input_mask.sum()), size=3)
        start[peaks] += 4.0
        end[np.minimum(peaks + rng.integers(0, 4, size=3), 63)] += 4.0
        results.append(RawResult(f.unique_id, [float(x) for x in start], [float(x) for x in end]))
    return results


@pytest.mark.parametrize("version_2", [False, True])
@pytest.mark.parametrize("lower", [True, False])
def test_postprocessing_matches_reference(tmp_path, adapters, version_2, lower):
    path = _write(tmp_path, "d.json", squad_json(version_2))
    ours_tok, ref_tok = adapters[lower]
    examples = read_squad_examples(path, False, version_2)
    features = convert_examples_to_features(examples, ours_tok, is_training=False, **WINDOWS)
    ref_examples = squad_lib.read_squad_examples(path, False, version_2)
    ref_features = _reference_features(ref_examples, ref_tok, False, **WINDOWS)
    null_answers = 0
    for seed in range(3):
        results = _random_results(features, seed)
        thresholds = [0.0]
        if version_2:  # also thresholds that turn some and all answers into "" (null-score difference)
            null_odds = postprocess_predictions(examples, features, results, ours_tok, version_2_with_negative=True)[2]
            thresholds += [float(np.median(list(null_odds.values()))), min(null_odds.values()) - 1.0]
        for threshold in thresholds:
            kwargs = dict(n_best_size=7, max_answer_length=12, version_2_with_negative=version_2,
                          null_score_diff_threshold=threshold)
            ours = postprocess_predictions(examples, features, results, ours_tok, **kwargs)
            theirs = squad_lib.postprocess_output(ref_examples, ref_features, results, do_lower_case=lower,
                                                  **kwargs)
            assert ours[0] == dict(theirs[0])
            assert json.dumps(ours[1]) == json.dumps(theirs[1])
            assert ours[2] == dict(theirs[2])
            null_answers += list(ours[0].values()).count("")
    assert (null_answers > 0) == version_2


GET_FINAL_TEXT_CASES = [
    ("steve smith", "Steve Smith's"),
    ("1895", "(1895-1943)."),
    ("antonin dvorak", "Antonín Dvořák"),
    ("aus der neuen welt", "„Aus der Neuen Welt“"),
    ("北 京", "北京大学"),
    ("$ 1 , 200 . 50", "$1,200.50!"),
    ("jurgen muller", "Jürgen Müller-Straße"),
    ("not there", "Something else"),
    ("Steve", "Steve Smith's"),
]


@pytest.mark.parametrize("lower", [True, False])
def test_get_final_text_matches_reference(adapters, lower):
    for pred_text, orig_text in GET_FINAL_TEXT_CASES:
        expected = squad_lib.get_final_text(pred_text, orig_text, lower)
        assert get_final_text(pred_text, orig_text, adapters[lower][0]) == expected, (pred_text, orig_text)
    assert get_final_text("steve smith", "Steve Smith's", adapters[True][0]) == "Steve Smith"
    assert get_final_text("antonin dvorak", "Antonín Dvořák,", adapters[True][0]) == "Antonín Dvořák"


def _peak_results(features, wanted):
    """Logits peaking at the window span whose pieces spell `wanted[example_index]` (None: at the null slot)."""
    results = []
    for f in features:
        start, end = np.zeros(64), np.zeros(64)
        target = wanted[f.example_index]
        if target is None:
            start[0] = end[0] = 10.0
        else:
            pieces = target.split()
            for i in range(len(f.tokens) - len(pieces) + 1):
                if f.tokens[i:i + len(pieces)] == pieces and f.token_is_max_context.get(i, False):
                    start[i] = end[i + len(pieces) - 1] = 10.0
        results.append(RawResult(f.unique_id, start.tolist(), end.tolist()))
    return results


def test_written_predictions_score_as_expected(tmp_path, adapters):
    tok = adapters[True][0]
    context = "The quick red fox jumped over the lazy dog in Zürich, Switzerland."
    dataset = [{"title": "t", "paragraphs": [{"context": context, "qas": [
        {"id": "q1", "question": "Where?", "answers": [{"text": "Zürich", "answer_start": context.index("Zürich")}]},
        {"id": "q2", "question": "Who jumped?", "answers": [{"text": "the quick red fox", "answer_start": 0}]},
        {"id": "q3", "question": "Over what?", "answers": [{"text": "the lazy dog", "answer_start": 31}]},
        {"id": "q4", "question": "Which country?", "answers": [], "is_impossible": True},
    ]}]}]
    path = _write(tmp_path, "dev.json", {"version": "2.0", "data": dataset})
    examples = read_squad_examples(path, False, True)
    features = convert_examples_to_features(examples, tok, is_training=False, **WINDOWS)
    # q1 exact; q2 "red fox jumped" vs "quick red fox": F1 = 2*(2/3)(2/3)/(4/3) = 2/3; q3 answered "" (null
    # logits win); q4 answered "switzerland" though it has no answer.
    results = _peak_results(features, ["zurich", "red fox jumped", None, "switzerland"])
    out = tmp_path / "out"
    predictions, nbest, null_odds = postprocess_predictions(examples, features, results, tok, n_best_size=5,
                                                            max_answer_length=10, version_2_with_negative=True)
    paths = write_predictions(out, predictions, nbest, null_odds)
    assert sorted(os.path.basename(path) for path in paths.values()) == [
        "nbest_predictions.json", "null_odds.json", "predictions.json"]
    assert predictions == {"q1": "Zürich", "q2": "red fox jumped", "q3": "", "q4": "Switzerland"}
    written = json.loads((out / "predictions.json").read_text(encoding="utf-8"))
    assert written == predictions
    nbest = json.loads((out / "nbest_predictions.json").read_text(encoding="utf-8"))
    assert nbest["q1"][0]["text"] == "Zürich" and abs(sum(e["probability"] for e in nbest["q1"]) - 1) < 1e-9
    null_odds = json.loads((out / "null_odds.json").read_text(encoding="utf-8"))
    assert null_odds["q3"] > 0 > null_odds["q1"]

    v2 = squad_evaluate_v2_0.evaluate(dataset, written, null_odds)
    assert v2["exact"] == pytest.approx(100 * 1 / 4)
    assert v2["f1"] == pytest.approx(100 * (1 + 2 / 3) / 4)
    assert v2["HasAns_exact"] == pytest.approx(100 / 3) and v2["NoAns_exact"] == 0.0
    v1_dataset = [{"paragraphs": [{"qas": dataset[0]["paragraphs"][0]["qas"][:3]}]}]
    v1 = squad_evaluate_v1_1.evaluate(v1_dataset, {k: written[k] for k in ("q1", "q2", "q3")})
    assert v1 == pytest.approx({"exact_match": 1 / 3, "final_f1": (1 + 2 / 3) / 3})


def test_bad_arguments(adapters):
    with pytest.raises(ValueError, match="max_seq_length"):
        convert_examples_to_features([], adapters[True][0], 16, 8, 13, False)
    example = SquadExample("x", "q", ["a"])
    features = convert_examples_to_features([example], adapters[True][0], 32, 8, 8, False)
    with pytest.raises(ValueError, match="no model result for feature unique_id 1000000000"):
        postprocess_predictions([example], features, [], adapters[True][0])
