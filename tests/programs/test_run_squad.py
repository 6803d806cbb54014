"""run_squad end to end on hand-built SQuAD 1.1 / 2.0 files with long contexts (several windows per question),
scored by tf-models-official's official evaluation; the programs' TF-Text tokenizer against the reference rules
(tf-models-official's squad_lib with FullTokenizer), including an answer that crosses a window boundary."""
import json

import keras
import numpy as np
import pytest
from official.nlp.data import squad_lib
from official.nlp.tools import squad_evaluate_v1_1, squad_evaluate_v2_0

from finetuning.run_squad import run_squad
from keras_bert.checkpoints.google import read_checkpoint_arrays
from keras_bert.data.squad import features as squad
from keras_bert.data.squad.examples import read_squad_examples
from keras_bert.data.squad.postprocess import RawResult, postprocess_predictions
from keras_bert.tokenization.piece_tokenizer import PieceTokenizer
from support.configs import tiny_config
from support.google_checkpoints import reference_variable_shapes, write_random_release
from support.programs import run_program
from support.squad_fixtures import WINDOWS, FullTokenizerAdapter, squad_json

TINY = tiny_config(hidden_size=64, intermediate_size=128)
FLAGS = dict(max_seq_length=64, doc_stride=16, max_query_length=12)


def _write(path, data):
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return str(path)


def _question_ids(data):
    return [qa["id"] for article in data["data"] for p in article["paragraphs"] for qa in p["qas"]]


@pytest.mark.parametrize("lower", [True, False])
def test_program_tokenizer_gives_reference_features_and_answers(tmp_path, uncased_vocab, lower):
    path = _write(tmp_path / "d.json", squad_json(True))
    ours_tok = PieceTokenizer(uncased_vocab, lower)
    ref_tok = FullTokenizerAdapter(uncased_vocab, lower)
    examples = read_squad_examples(path, False, True)
    ours = squad.convert_examples_to_features(examples, ours_tok, is_training=False, **WINDOWS)
    ref_examples = squad_lib.read_squad_examples(path, False, True)
    theirs = []
    squad_lib.convert_examples_to_features(ref_examples, ref_tok.full, is_training=False, batch_size=1,
                                           output_fn=lambda f, is_padding: theirs.append(f), **WINDOWS)
    assert len(ours) == len(theirs) > 2 * len(examples)
    for a, b in zip(ours, theirs):
        assert a.tokens == b.tokens and a.token_to_orig_map == b.token_to_orig_map
        assert a.token_is_max_context == b.token_is_max_context
        np.testing.assert_array_equal(a.input_word_ids, b.input_ids)

    # Logits peak on the "debate" answer only in the windows that hold it whole; others cut it (it crosses
    # window boundaries). The impossible questions peak on the null slot; everything else is flat.
    debate = [i for i, e in enumerate(examples) if e.qas_id == "debate"][0]
    answer = [e for e in read_squad_examples(path, True, True) if e.qas_id == "debate"][0]
    in_answer = {f.unique_id: sorted(p for p, word in f.token_to_orig_map.items()
                                     if answer.start_position <= word <= answer.end_position)
                 for f in ours if f.example_index == debate}
    answer_pieces = max(len(positions) for positions in in_answer.values())
    whole = [uid for uid, positions in in_answer.items() if len(positions) == answer_pieces]
    cut = [uid for uid, positions in in_answer.items() if 0 < len(positions) < answer_pieces]
    assert whole and cut
    results = []
    for f in ours:
        start, end = np.zeros(64), np.zeros(64)
        if f.unique_id in whole:
            start[in_answer[f.unique_id][0]] = end[in_answer[f.unique_id][-1]] = 8.0
        elif examples[f.example_index].qas_id.startswith("no-answer"):
            start[0] = end[0] = 8.0
        results.append(RawResult(f.unique_id, start.tolist(), end.tolist()))
    kwargs = dict(n_best_size=5, max_answer_length=30, version_2_with_negative=True, null_score_diff_threshold=0.0)
    predictions, nbest, null_odds = postprocess_predictions(examples, ours, results, ours_tok, **kwargs)
    ref = squad_lib.postprocess_output(ref_examples, theirs, results, do_lower_case=lower, **kwargs)
    assert predictions == dict(ref[0]) and json.dumps(nbest) == json.dumps(ref[1]) and null_odds == dict(ref[2])
    assert predictions["debate"] == "budgets, roads, schools and the harbour they agreed"
    assert predictions["no-answer-1"] == predictions["no-answer-2"] == ""


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    folder = tmp_path_factory.mktemp("release")
    write_random_release(folder, TINY, seed=7, head="pretraining")
    return folder


def test_squad_v1_end_to_end_with_official_evaluation(tmp_path, uncased_vocab, release):
    data = squad_json(False)
    train_file = _write(tmp_path / "train-v1.1.json", data)
    out = tmp_path / "out"
    result = run_squad(vocab_file=str(uncased_vocab), bert_config_file=str(release / "bert_config.json"),
                       init_checkpoint=str(release / "bert_model.ckpt"), output_dir=str(out), train_file=train_file,
                       predict_file=train_file, do_train=True, do_predict=True, train_batch_size=8,
                       learning_rate=1e-3, num_train_epochs=100.0, seed=0, **FLAGS)
    for name in ("predictions.json", "nbest_predictions.json", "eval_results.txt", "bert_config.json",
                 "bert_model.ckpt.index", "model.keras", "vocab.txt", "task_info.json"):
        assert (out / name).is_file(), name
    assert not (out / "null_odds.json").exists()
    predictions = json.loads((out / "predictions.json").read_text(encoding="utf-8"))
    assert list(predictions) == _question_ids(data)  # every question, the skipped training one included
    nbest = json.loads((out / "nbest_predictions.json").read_text(encoding="utf-8"))
    assert all(abs(sum(e["probability"] for e in entries) - 1) < 1e-6 for entries in nbest.values())

    official = squad_evaluate_v1_1.evaluate(data["data"], predictions)
    results = dict(line.split(" = ") for line in (out / "eval_results.txt").read_text().splitlines())
    assert float(results["exact_match"]) == pytest.approx(100 * official["exact_match"])
    assert float(results["f1"]) == pytest.approx(100 * official["final_f1"])
    # 9 trainable questions memorised by a tiny model in 112 steps: most answers come back (measured F1 80).
    assert result["eval"]["f1"] > 50.0, (result["eval"], predictions)

    info = json.loads((out / "task_info.json").read_text())
    assert info == {"task": "squad", "task_name": "squad1.1", "do_lower_case": True, "max_seq_length": 64,
                    "labels": [], "is_regression": False, "pair_input": False,
                    "squad": {"doc_stride": 16, "max_query_length": 12, "max_answer_length": 30, "n_best_size": 20,
                              "version_2_with_negative": False, "null_score_diff_threshold": 0.0},
                    "tokenizer_options": {}}
    saved = read_checkpoint_arrays(str(out / "bert_model.ckpt"))
    assert {n: tuple(a.shape) for n, a in saved.items()} == reference_variable_shapes(TINY, head="squad")

    # model.keras is the trained model: the same start/end logits on every window of the predict file.
    examples = read_squad_examples(train_file, False, False)
    features = squad.convert_examples_to_features(examples, PieceTokenizer(uncased_vocab, True), is_training=False,
                                                  **FLAGS)
    inputs = squad.squad_dataset(features, is_training=False).map(
        lambda f: {k: f[k] for k in ("input_word_ids", "input_mask", "input_type_ids")}).batch(len(features))
    trained = result["model"].predict(inputs, verbose=0)
    reloaded = keras.saving.load_model(out / "model.keras").predict(inputs, verbose=0)
    assert trained["start_logits"].shape == (len(features), 64)
    for name in ("start_logits", "end_logits"):
        np.testing.assert_allclose(reloaded[name], trained[name], atol=1e-5, err_msg=name)


def test_squad_v2_program_predicts_from_fine_tuned_checkpoint(tmp_path, uncased_vocab, release):
    data = squad_json(True)
    predict_file = _write(tmp_path / "dev-v2.0.json", data)
    # A fine-tuned checkpoint: the release plus a random cls/squad head.
    fine_tuned = tmp_path / "fine_tuned"
    write_random_release(fine_tuned, TINY, seed=8, head="squad")
    out = tmp_path / "out"
    run = run_program("finetuning/run_squad", [
        f"--vocab_file={uncased_vocab}", f"--bert_config_file={fine_tuned / 'bert_config.json'}",
        f"--init_checkpoint={fine_tuned}", f"--predict_file={predict_file}", "--do_predict",
        "--version_2_with_negative", "--null_score_diff_threshold=-1.5", f"--output_dir={out}",
        "--max_seq_length=64", "--doc_stride=16", "--max_query_length=12", "--n_best_size=4"], module=True)
    assert run.returncode == 0, run.stderr[-3000:]
    predictions = json.loads((out / "predictions.json").read_text(encoding="utf-8"))
    null_odds = json.loads((out / "null_odds.json").read_text(encoding="utf-8"))
    nbest = json.loads((out / "nbest_predictions.json").read_text(encoding="utf-8"))
    assert list(predictions) == list(null_odds) == list(nbest) == _question_ids(data)
    for qid, answer in predictions.items():  # the threshold rule of the reference
        best_non_null = next((e["text"] for e in nbest[qid] if e["text"]), "")
        assert answer == ("" if null_odds[qid] > -1.5 else best_non_null)
    official = squad_evaluate_v2_0.evaluate(data["data"], predictions, null_odds)
    results = dict(line.split(" = ") for line in (out / "eval_results.txt").read_text().splitlines())
    assert set(results) == set(official)
    for key, value in official.items():
        assert float(results[key]) == pytest.approx(value)
    assert not (out / "model.keras").exists()  # nothing trained, nothing re-saved


def test_bad_input(tmp_path, uncased_vocab, release):
    kwargs = dict(vocab_file=str(uncased_vocab), bert_config_file=str(release / "bert_config.json"),
                  output_dir=str(tmp_path / "o"), **FLAGS)
    with pytest.raises(ValueError, match="`train_file` must be specified"):
        run_squad(do_train=True, **kwargs)
    with pytest.raises(ValueError, match=r"max_seq_length \(64\) must be greater than max_query_length \(62\)"):
        run_squad(do_train=True, train_file="x.json", **kwargs | {"max_query_length": 62})
    data = squad_json(True)
    del data["data"][0]["paragraphs"][0]["qas"][0]["is_impossible"]
    with pytest.raises(ValueError, match=r"train\.json.*question 'bridge-mayor': missing key 'is_impossible'"):
        run_squad(do_train=True, train_file=_write(tmp_path / "train.json", data), version_2_with_negative=True,
                  **kwargs)
    # Predicting without training needs a model fine-tuned for SQuAD, not a pretrained one with a random head.
    predict_file = _write(tmp_path / "dev.json", squad_json(False))
    with pytest.raises(ValueError, match=r"--init_checkpoint .*bert_model\.ckpt has no task head "
                                         r"\(cls/squad/output_weights, cls/squad/output_bias\)"):
        run_squad(do_predict=True, predict_file=predict_file, init_checkpoint=str(release), **kwargs)
    with pytest.raises(ValueError, match=r"--doc_stride must be >= 1, got 0"):
        run_squad(do_train=True, train_file="x.json", **kwargs | {"doc_stride": 0})
