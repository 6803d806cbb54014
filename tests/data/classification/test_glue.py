"""GLUE/XNLI readers on the real SST-2 and CoLA files (both layouts), every task's original layout, the
error cases naming file and line, and the task names."""
import csv

import pytest

from keras_bert.data.classification import glue
from keras_bert.files import DataFileError


def _plain_rows(path):
    """An independent parse of a shared GLUE file: csv with tab delimiter and no quoting."""
    with open(path, encoding="utf-8", newline="") as f:
        return [row for row in csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE) if row]


def _write(path, lines):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")


def test_real_sst2_simplified_layout(shared_data):
    data_dir = shared_data / "glue" / "SST-2"
    task = glue.get_task("SST-2")
    for split, read in (("train", task.get_train_examples), ("dev", task.get_dev_examples)):
        rows = _plain_rows(data_dir / f"{split}.tsv")
        examples = read(data_dir)
        assert rows[0][0] == "label"
        assert [(ex.text_a, ex.label) for ex in examples] == [(r[1], r[0]) for r in rows[1:]]
        assert all(ex.text_b is None for ex in examples)
    assert len(task.get_train_examples(data_dir)) == 67349 and len(examples) == 872
    assert examples[0] == glue.InputExample("dev-1", "one long string of cliches .", None, "0")
    assert task.get_labels() == ["0", "1"] and not task.is_regression


def test_real_cola_simplified_layout(shared_data):
    data_dir = shared_data / "glue" / "CoLA"
    task = glue.TASKS["cola"]
    train, dev = task.get_train_examples(data_dir), task.get_dev_examples(data_dir)
    assert (len(train), len(dev)) == (8551, 516)
    rows = _plain_rows(data_dir / "train.tsv")
    assert [(ex.text_a, ex.label) for ex in train] == [(r[0], r[1]) for r in rows]
    assert train[0].guid == "train-0" and train[0].label == "1"
    assert sum(ex.label == "0" for ex in train) == 2528


def test_original_layouts_from_real_rows(shared_data, tmp_path):
    """The same real rows in GLUE's original layouts read to the same examples."""
    cola_rows = _plain_rows(shared_data / "glue" / "CoLA" / "dev.tsv")
    _write(tmp_path / "CoLA" / "dev.tsv", [f"gj04\t{label}\t{'' if label == '1' else '*'}\t{text}"
                                           for text, label in cola_rows])
    _write(tmp_path / "CoLA" / "test.tsv", ["index\tsentence"] + [f"{i}\t{t}" for i, (t, _) in enumerate(cola_rows)])
    cola = glue.TASKS["cola"]
    assert [(e.text_a, e.label) for e in cola.get_dev_examples(tmp_path / "CoLA")] == \
        [(text, label) for text, label in cola_rows]
    test = cola.get_test_examples(tmp_path / "CoLA")
    assert [e.text_a for e in test] == [t for t, _ in cola_rows] and {e.label for e in test} == {None}

    sst_rows = _plain_rows(shared_data / "glue" / "SST-2" / "dev.tsv")[1:]
    _write(tmp_path / "SST-2" / "dev.tsv", ["sentence\tlabel"] + [f"{text}\t{label}" for label, text in sst_rows])
    _write(tmp_path / "SST-2" / "test.tsv", ["index\tsentence"] + [f"{i}\t{t}" for i, (_, t) in enumerate(sst_rows)])
    sst = glue.TASKS["sst2"]
    assert [(e.text_a, e.label) for e in sst.get_dev_examples(tmp_path / "SST-2")] == \
        [(text, label) for label, text in sst_rows]
    assert [e.text_a for e in sst.get_test_examples(tmp_path / "SST-2")] == [t for _, t in sst_rows]
    # A labelled test file (the train/dev layout) keeps its labels.
    _write(tmp_path / "SST-2" / "test.tsv", ["label\tsentence", "1\tgood .", "0\tbad ."])
    assert [e.label for e in sst.get_test_examples(tmp_path / "SST-2")] == ["1", "0"]


MNLI_COLUMNS = ["index", "promptID", "pairID", "genre", "sentence1_binary_parse", "sentence2_binary_parse",
                "sentence1_parse", "sentence2_parse", "sentence1", "sentence2"]


def _mnli_row(i, premise, hypothesis, *labels):
    return "\t".join([str(i), "31193", f"{i}n", "government", "( ( x ) )", "( y )", "(ROOT x)", "(ROOT y)",
                      premise, hypothesis, *labels])


@pytest.mark.parametrize("task_name,files,expected", [
    ("mrpc", {"train.tsv": ["Quality\t#1 ID\t#2 ID\t#1 String\t#2 String",
                            "1\t702876\t702977\tAmrozi accused his brother .\tReferring to him , Amrozi accused ."],
              "test.tsv": ["index\t#1 ID\t#2 ID\t#1 String\t#2 String", "0\t1089874\t1089925\tPCCW 's chief\tCurrent"]},
     [("train", "Amrozi accused his brother .", "Referring to him , Amrozi accused .", "1"),
      ("test", "PCCW 's chief", "Current", None)]),
    ("sts-b", {"train.tsv": ["index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2\tscore",
                             "0\tmain-captions\tMSRvid\t2012test\t0001\tnone\tnone\tA plane is taking off.\t"
                             "An air plane is taking off.\t5.000"],
               "test.tsv": ["index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2",
                            "0\tmain-captions\tMSRvid\t2012test\t0024\tnone\tnone\tA girl\tA boy"]},
     [("train", "A plane is taking off.", "An air plane is taking off.", 5.0), ("test", "A girl", "A boy", None)]),
    ("qqp", {"dev.tsv": ["id\tqid1\tqid2\tquestion1\tquestion2\tis_duplicate", "201359\t303345\t303346\t"
                         "Why are \"quotes\" here?\tWhy not?\t0"],
             "test.tsv": ["id\tquestion1\tquestion2", "0\tWould you?\tCould you?"]},
     [("dev", 'Why are "quotes" here?', "Why not?", "0"), ("test", "Would you?", "Could you?", None)]),
    ("mnli", {"train.tsv": ["\t".join(MNLI_COLUMNS + ["label1", "gold_label"]),
                            _mnli_row(0, "Conceptually cream", "Product and geography", "neutral", "neutral")],
              "dev_matched.tsv": ["\t".join(MNLI_COLUMNS + ["label1", "label2", "label3", "label4", "label5",
                                                           "gold_label"]),
                                  _mnli_row(1, "The new rights", "Everyone", "neutral", "entailment", "neutral",
                                            "neutral", "neutral", "neutral")],
              "test_matched.tsv": ["\t".join(MNLI_COLUMNS), _mnli_row(2, "Hierbas", "Hierbas is a name")]},
     [("train", "Conceptually cream", "Product and geography", "neutral"),
      ("dev", "The new rights", "Everyone", "neutral"), ("test", "Hierbas", "Hierbas is a name", None)]),
    ("mnli-mm", {"dev_mismatched.tsv": ["\t".join(MNLI_COLUMNS + ["label1", "gold_label"]),
                                        _mnli_row(3, "Your contribution", "Mismatched", "contradiction",
                                                  "contradiction")],
                 "test_mismatched.tsv": ["\t".join(MNLI_COLUMNS), _mnli_row(4, "What", "Who")]},
     [("dev", "Your contribution", "Mismatched", "contradiction"), ("test", "What", "Who", None)]),
    ("qnli", {"dev.tsv": ["index\tquestion\tsentence\tlabel", "0\tWhat came?\tThe Mongols came.\tentailment"]},
     [("dev", "What came?", "The Mongols came.", "entailment")]),
    ("rte", {"train.tsv": ["index\tsentence1\tsentence2\tlabel", "0\tNo weapons\tWeapons found\tnot_entailment"]},
     [("train", "No weapons", "Weapons found", "not_entailment")]),
    ("wnli", {"train.tsv": ["index\tsentence1\tsentence2\tlabel", "0\tI stuck a pin\tThe pin\t1"]},
     [("train", "I stuck a pin", "The pin", "1")]),
])
def test_every_task_in_its_original_layout(tmp_path, task_name, files, expected):
    for name, lines in files.items():
        _write(tmp_path / name, lines)
    task = glue.get_task(task_name)
    readers = {"train": task.get_train_examples, "dev": task.get_dev_examples, "test": task.get_test_examples}
    for split, text_a, text_b, label in expected:
        (example,) = readers[split](tmp_path)
        assert (example.text_a, example.text_b, example.label) == (text_a, text_b, label)
        assert example.guid == f"{split}-1"
    assert task.is_regression == (task_name == "sts-b")


def test_xnli_reads_translated_train_and_filters_language(tmp_path):
    _write(tmp_path / "multinli" / "multinli.train.zh.tsv",
           ["premise\thypo\tlabel", "前提一\t假设一\tcontradictory", "前提二\t假设二\tentailment"])
    header = ("language\tgold_label\tsentence1_binary_parse\tsentence2_binary_parse\tsentence1_parse\t"
              "sentence2_parse\tsentence1\tsentence2\tpromptID\tpairID\tgenre\tlabel1\tlabel2\tlabel3\tlabel4\tlabel5")
    rows = [f"{lang}\t{label}\t\t\t\t\t{a}\t{b}\t1\t1\tfiction\t{label}\t{label}\t{label}\t{label}\t{label}"
            for lang, label, a, b in [("en", "neutral", "It is", "It was"), ("zh", "entailment", "他说", "他讲"),
                                      ("de", "neutral", "Es ist", "Es war")]]
    _write(tmp_path / "xnli.dev.tsv", [header] + rows)
    task = glue.TASKS["xnli"]
    train = task.get_train_examples(tmp_path)
    assert [(e.text_a, e.text_b, e.label) for e in train] == [("前提一", "假设一", "contradiction"),
                                                              ("前提二", "假设二", "entailment")]
    assert [(e.text_a, e.label, e.guid) for e in task.get_dev_examples(tmp_path)] == [("他说", "entailment", "dev-2")]
    assert [e.text_a for e in glue.XnliTask("de").get_dev_examples(tmp_path)] == ["Es ist"]
    with pytest.raises(DataFileError, match=r"xnli\.dev\.tsv: no examples with language == 'fr'"):
        glue.XnliTask("fr").get_dev_examples(tmp_path)


@pytest.mark.parametrize("task_name,lines,message", [
    ("cola", ["gj04\t1\t\tfine .", "gj04\t2\t*\tbad label ."],
     r"dev\.tsv, line 2: label '2' is not one of \['0', '1'\]"),
    ("cola", ["fine .\t1", "missing a column"], r"dev\.tsv, line 2: expected 2 tab-separated columns .*got 1"),
    ("cola", ["a\tb\tc"], r"dev\.tsv, line 1: first row \(3 columns.*is not a known layout; expected one of"),
    ("sst-2", ["sentence\tlabel", "good .\t1", "", "bad .\t0\textra"], r"dev\.tsv, line 4: expected 2 tab"),
    ("sst-2", ["text\tlabel", "good .\t1"], r"dev\.tsv, line 1: first row .*is not a known layout"),
    ("sst-2", ["sentence\tlabel"], r"dev\.tsv: no examples"),
    ("sst-2", [], r"dev\.tsv: file is empty"),
    ("sts-b", ["index\tsentence1\tsentence2\tscore", "0\ta\tb\tfive"], r"dev\.tsv, line 2: regression label 'five'"),
    # One NaN score trains a model of NaNs: non-finite scores are refused like non-numbers.
    ("sts-b", ["index\tsentence1\tsentence2\tscore", "0\ta\tb\t3.2", "1\tc\td\tnan"],
     r"dev\.tsv, line 3: regression label 'nan' is not a finite number"),
    ("sts-b", ["index\tsentence1\tsentence2\tscore", "0\ta\tb\t-inf"],
     r"dev\.tsv, line 2: regression label '-inf' is not a finite number"),
    ("rte", ["index\tsentence1\tsentence2\tlabel", "0\ta\tb\tneutral"], r"line 2: label 'neutral' is not one of"),
])
def test_bad_glue_files_name_file_and_line(tmp_path, task_name, lines, message):
    _write(tmp_path / "dev.tsv", lines)
    with pytest.raises(DataFileError, match=message):
        glue.get_task(task_name).get_dev_examples(tmp_path)


def test_missing_files_and_unknown_tasks(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"train\.tsv"):
        glue.TASKS["mrpc"].get_train_examples(tmp_path)
    with pytest.raises(ValueError, match=r"unknown task_name 'squad'; known: \['cola'"):
        glue.get_task("squad")
    (tmp_path / "dev.tsv").write_bytes("fine .\t1\n\xff\xfe bad bytes\t0\n".encode("latin-1"))
    with pytest.raises(DataFileError, match=r"dev\.tsv, line 2: not valid UTF-8"):
        glue.TASKS["cola"].get_dev_examples(tmp_path)


def test_task_names_and_aliases():
    assert {task.name for task in glue.TASKS.values()} == {"cola", "sst-2", "mrpc", "sts-b", "qqp", "mnli", "mnli-mm",
                                                           "qnli", "rte", "wnli", "xnli"}
    aliases = {"sst2": "sst-2", "stsb": "sts-b", "mnli-m": "mnli", "mnli_matched": "mnli", "mnli_mismatched": "mnli-mm"}
    for alias, name in aliases.items():
        assert glue.get_task(alias) is glue.get_task(name.upper())
        assert glue.get_task(alias.upper()).name == name
    assert len(glue.TASKS) == 11 + len(aliases)
