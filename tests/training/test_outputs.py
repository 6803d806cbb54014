"""keras_bert.training.outputs: the TaskInfo contract (JSON written by the fine-tuning programs, read by the serving
export) round-trips, names the file at fault for a missing or unknown key, refuses an unknown task; and the
reference's eval_results.txt format."""
import json

import pytest

from keras_bert.training.outputs import (
    CLASSIFIER,
    EVAL_RESULTS_FILE,
    SQUAD,
    TAGGER,
    TASK_INFO_FILE,
    SquadSettings,
    TaskInfo,
    write_eval_results,
)

INFOS = [
    TaskInfo(CLASSIFIER, "mrpc", do_lower_case=False, max_seq_length=128, labels=["0", "1"], pair_input=True),
    TaskInfo(CLASSIFIER, "sts-b", do_lower_case=True, max_seq_length=64, is_regression=True, pair_input=True),
    TaskInfo(SQUAD, "squad2.0", do_lower_case=True, max_seq_length=384,
             squad=SquadSettings(doc_stride=64, max_query_length=32, max_answer_length=20, n_best_size=5,
                                 version_2_with_negative=True, null_score_diff_threshold=-1.5)),
    TaskInfo(TAGGER, "ner", do_lower_case=False, max_seq_length=128, labels=["O", "B-PER", "I-PER", "B-Ünï"]),
]


@pytest.mark.parametrize("info", INFOS, ids=lambda info: info.task_name)
def test_round_trip_through_json_and_the_output_folder(info, tmp_path):
    assert TaskInfo.from_json(info.to_json()) == info
    path = info.write(tmp_path)
    assert path == str(tmp_path / TASK_INFO_FILE) == str(tmp_path / "task_info.json")
    assert TaskInfo.read(tmp_path) == info


def test_the_json_holds_every_field_by_name(tmp_path):
    TaskInfo(SQUAD, "squad1.1", do_lower_case=True, max_seq_length=64, squad=SquadSettings(doc_stride=16)).write(
        tmp_path)
    assert json.loads((tmp_path / "task_info.json").read_text(encoding="utf-8")) == {
        "task": "squad", "task_name": "squad1.1", "do_lower_case": True, "max_seq_length": 64, "labels": [],
        "is_regression": False, "pair_input": False,
        "squad": {"doc_stride": 16, "max_query_length": 64, "max_answer_length": 30, "n_best_size": 20,
                  "version_2_with_negative": False, "null_score_diff_threshold": 0.0},
        "tokenizer_options": {}}
    TaskInfo(TAGGER, "ner", do_lower_case=True, max_seq_length=32, labels=["O", "B-Ünï"]).write(tmp_path)
    assert "B-Ünï" in (tmp_path / "task_info.json").read_text(encoding="utf-8")  # UTF-8, not \u escapes


def test_squad_settings_default_to_run_squad_defaults():
    assert TaskInfo(SQUAD, "squad1.1", do_lower_case=True, max_seq_length=384).squad == SquadSettings(
        doc_stride=128, max_query_length=64, max_answer_length=30, n_best_size=20, version_2_with_negative=False,
        null_score_diff_threshold=0.0)


def test_num_outputs_of_each_head():
    assert [info.num_outputs for info in INFOS] == [2, 1, 2, 4]


def test_missing_and_unknown_keys_are_errors_naming_the_file(tmp_path):
    fields = json.loads(INFOS[0].to_json())
    (tmp_path / "task_info.json").write_text(json.dumps({**fields, "colour": "red"}), encoding="utf-8")
    with pytest.raises(ValueError, match=r"task_info\.json has unknown keys \['colour'\]"):
        TaskInfo.read(tmp_path)
    del fields["max_seq_length"], fields["task_name"]
    (tmp_path / "task_info.json").write_text(json.dumps(fields), encoding="utf-8")
    with pytest.raises(ValueError, match=r"task_info\.json lacks the keys \['max_seq_length', 'task_name'\]") as error:
        TaskInfo.read(tmp_path)
    assert str(tmp_path) in str(error.value)
    with pytest.raises(ValueError, match=r"elsewhere\.json lacks the keys"):
        TaskInfo.from_json(json.dumps(fields), source="elsewhere.json")
    (tmp_path / "task_info.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ValueError, match=r"task_info\.json is not valid JSON"):
        TaskInfo.read(tmp_path)
    (tmp_path / "task_info.json").write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(ValueError, match=r"task_info\.json must hold a JSON object"):
        TaskInfo.read(tmp_path)
    with pytest.raises(FileNotFoundError, match=r"nowhere.task_info\.json not found"):
        TaskInfo.read(tmp_path / "nowhere")


def test_bad_task_is_an_error():
    with pytest.raises(ValueError, match=r"unknown task 'regressor'; expected one of \['classifier', 'squad', "
                                         r"'tagger'\]"):
        TaskInfo("regressor", "x", do_lower_case=True, max_seq_length=8, labels=["a"])
    fields = json.loads(INFOS[0].to_json()) | {"task": "regressor"}
    with pytest.raises(ValueError, match=r"source\.json: unknown task 'regressor'"):
        TaskInfo.from_json(json.dumps(fields), source="source.json")
    with pytest.raises(ValueError, match="squad settings given for task 'classifier'"):
        TaskInfo(CLASSIFIER, "x", do_lower_case=True, max_seq_length=8, labels=["a"], squad=SquadSettings())
    with pytest.raises(ValueError, match="a tagger needs its labels"):
        TaskInfo(TAGGER, "ner", do_lower_case=True, max_seq_length=8)
    with pytest.raises(ValueError, match="a classifier needs labels unless it is a regression"):
        TaskInfo(CLASSIFIER, "x", do_lower_case=True, max_seq_length=8)


def test_eval_results_are_sorted_key_value_lines(tmp_path):
    path = tmp_path / EVAL_RESULTS_FILE
    write_eval_results(path, {"loss": 0.25, "eval_accuracy": 0.5, "global_step": 12})
    assert path.name == "eval_results.txt"
    assert path.read_text(encoding="utf-8") == "eval_accuracy = 0.5\nglobal_step = 12\nloss = 0.25\n"
