"""GenericTask: users' csv, tsv and jsonl files with named columns, and its errors naming file and line."""
import json

import pytest

from keras_bert.data.classification.generic import GenericTask
from keras_bert.data.classification.glue import InputExample
from keras_bert.files import DataFileError


def _write(path, lines):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")


def test_generic_task_csv_tsv_jsonl(tmp_path):
    (tmp_path / "train.csv").write_text('review,title,stars\n"Great, really great","A",pos\n'
                                        '"Two\nlines","B",neg\n"ok","C",pos\n', encoding="utf-8")
    _write(tmp_path / "dev.tsv", ["stars\ttitle\treview", "neg\tD\tmeh"])
    _write(tmp_path / "test.jsonl", [json.dumps({"review": "fine", "title": "E"}),
                                     json.dumps({"review": "bad", "title": "F"})])
    task = GenericTask("review", "stars", text_b_column="title")
    with pytest.raises(ValueError, match="labels are not known yet"):
        task.get_labels()
    train = task.get_train_examples(tmp_path)
    assert [(e.text_a, e.text_b, e.label) for e in train] == [("Great, really great", "A", "pos"),
                                                              ("Two\nlines", "B", "neg"), ("ok", "C", "pos")]
    assert [e.guid for e in train] == ["train-1", "train-2", "train-4"]  # line where each record starts
    assert task.get_labels() == ["neg", "pos"]
    assert task.get_dev_examples(tmp_path) == [InputExample("dev-1", "meh", "D", "neg")]
    assert [(e.text_a, e.label) for e in task.get_test_examples(tmp_path)] == [("fine", None), ("bad", None)]

    regression = GenericTask("text", "score", is_regression=True)
    _write(tmp_path / "r" / "train.jsonl", [json.dumps({"text": "a", "score": 3}), json.dumps({"text": "b",
                                                                                              "score": "4.5"})])
    assert [e.label for e in regression.get_train_examples(tmp_path / "r")] == [3.0, 4.5]
    assert regression.get_labels() == []


@pytest.mark.parametrize("files,task,message", [
    ({"train.jsonl": ['{"text": "a", "label": "x"}', '{"text": "b"}']}, GenericTask("text", "label"),
     r"train\.jsonl, line 2: missing key\(s\) \['label'\]"),
    ({"train.tsv": ["text\tlabel", "a\tx"], "dev.tsv": ["text\tlabel", "b\tx", "c\ty"]}, GenericTask("text", "label"),
     r"dev\.tsv, line 3: label 'y' is not one of \['x'\]"),
    ({"train.csv": ["sentence,label", "a,x"]}, GenericTask("text", "label"),
     r"train\.csv, line 1: header \['sentence', 'label'\] lacks column\(s\) \['text'\]"),
    ({"train.csv": ["text,label", "a,x,extra"]}, GenericTask("text", "label"), r"train\.csv, line 2: expected 2"),
    ({"train.jsonl": ['{"text": "a", "label": 1}', '[1, 2]']}, GenericTask("text", "label"),
     r"train\.jsonl, line 2: expected a JSON object"),
    ({"train.jsonl": ['{"text": "a", "label": "1"}', '{"text": "b", "label": "high"}']},
     GenericTask("text", "label", is_regression=True), r"line 2: regression label 'high' is not a number"),
    ({"train.jsonl": ['{"text": "a", "label": 1.5}', '{"text": "b", "label": NaN}']},
     GenericTask("text", "label", is_regression=True), r"train\.jsonl, line 2: regression label nan is not a finite"),
    ({"train.csv": ["text,label", "a,2", "b,Infinity"]}, GenericTask("text", "label", is_regression=True),
     r"train\.csv, line 3: regression label 'Infinity' is not a finite number"),
    ({"train.csv": ["text,label"]}, GenericTask("text", "label"), r"train\.csv: no examples"),
    ({"train.csv": ["text,label", "a,x"], "train.tsv": ["text\tlabel"]}, GenericTask("text", "label"),
     r"expected exactly one of train\.csv, train\.tsv, train\.jsonl, found several"),
    ({}, GenericTask("text", "label"), r"found none"),
])
def test_generic_task_errors(tmp_path, files, task, message):
    for name, lines in files.items():
        _write(tmp_path / name, lines)
    with pytest.raises((DataFileError, FileNotFoundError), match=message):
        task.get_train_examples(tmp_path)
        task.get_dev_examples(tmp_path)
