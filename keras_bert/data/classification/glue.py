"""GLUE and XNLI tasks: their names (and aliases), the metrics GLUE reports for each, and readers in the
reference's `DataProcessor` shape for the original and simplified file layouts.

Each task reads `train`, `dev` and `test` files from a `data_dir` into `InputExample`s, as
google-research/bert `run_classifier.py` does. The layout of every file is recognised from its first row:

* a header naming the task's text and label columns (in any order; e.g. SST-2's original
  `sentence<TAB>label` and the simplified `label<TAB>sentence`), or
* for headerless files, the column count (CoLA's original `source, label, mark, sentence` has 4 columns,
  its simplified `sentence, label` 2).

A first row that fits no layout, a row whose column count differs from the layout's, a label outside the
label set, a regression score that is not a finite number and a file without examples raise `DataFileError`
naming the file and the 1-based line. Test files may lack the label column (labels are then `None`, where the
reference put a dummy label); labelled test files are read with their labels.
"""
from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Sequence

from keras_bert.files import DataFileError, read_tsv_rows


@dataclasses.dataclass(frozen=True)
class InputExample:
    """One classification/regression example: `label` is a class name (str), a score (float) or None."""

    guid: str
    text_a: str
    text_b: str | None = None
    label: str | float | None = None


@dataclasses.dataclass(frozen=True)
class Layout:
    """Where a file keeps its texts and label.

    With `num_columns` None the file has a header, and `text_a`, `text_b`, `label` are column names;
    otherwise the file is headerless with exactly `num_columns` columns, and they are column indices.
    """

    name: str
    text_a: str | int
    text_b: str | int | None = None
    label: str | int | None = None
    num_columns: int | None = None

    @property
    def has_header(self) -> bool:
        return self.num_columns is None

    def fields(self) -> tuple[str | int, ...]:
        return tuple(f for f in (self.text_a, self.text_b, self.label) if f is not None)

    def describe(self) -> str:
        if self.has_header:
            return f"{self.name}: header with columns {list(self.fields())}"
        return f"{self.name}: no header, {self.num_columns} columns"


@dataclasses.dataclass(frozen=True)
class _ResolvedLayout:
    layout: Layout
    text_a: int
    text_b: int | None
    label: int | None
    num_columns: int
    first_data_row: int  # 0 when headerless, 1 when row 0 is the header


def _resolve_layout(path: str, line_number: int, first_row: list[str], layouts: Sequence[Layout]) -> _ResolvedLayout:
    """Picks the one layout that fits `first_row`: a matching header wins, then a headerless column count."""
    header_matches = [lay for lay in layouts if lay.has_header and all(f in first_row for f in lay.fields())]
    if header_matches:
        most = max(len(lay.fields()) for lay in header_matches)
        best = [lay for lay in header_matches if len(lay.fields()) == most]
        mappings = {tuple(first_row.index(f) for f in lay.fields()) for lay in best}
        if len(mappings) > 1:
            raise DataFileError(path, line_number, f"header {first_row} fits several layouts: "
                                f"{[lay.describe() for lay in best]}")
        lay = best[0]

        def index(field):
            return None if field is None else first_row.index(field)

        return _ResolvedLayout(lay, index(lay.text_a), index(lay.text_b), index(lay.label), len(first_row), 1)
    headerless = [lay for lay in layouts if not lay.has_header and lay.num_columns == len(first_row)]
    if len(headerless) == 1:
        lay = headerless[0]
        return _ResolvedLayout(lay, lay.text_a, lay.text_b, lay.label, lay.num_columns, 0)
    expected = "; ".join(lay.describe() for lay in layouts)
    problem = "fits several layouts" if headerless else "is not a known layout"
    raise DataFileError(path, line_number, f"first row ({len(first_row)} columns: {first_row[:6]}) {problem}; "
                        f"expected one of: {expected}")


def read_labelled_tsv(path: str | os.PathLike, layouts: Sequence[Layout], set_type: str,
                      labels: Sequence[str] | None, is_regression: bool = False,
                      label_aliases: dict[str, str] | None = None,
                      row_filter: tuple[str, str] | None = None) -> list[InputExample]:
    """Reads a GLUE-style tsv into examples, validating every row.

    Args:
      path: the file.
      layouts: the layouts this file may have (see `Layout`).
      set_type: "train", "dev" or "test", the prefix of each guid (`{set_type}-{row index}` as the reference).
      labels: the label set of a classification task (ignored for regression).
      is_regression: labels are float scores.
      label_aliases: labels renamed on reading (XNLI's "contradictory" → "contradiction").
      row_filter: (column name, value): keep only rows whose column has that value (XNLI's language).
    """
    path = os.fspath(path)
    rows = read_tsv_rows(path)
    first = next(rows, None)
    if first is None:
        raise DataFileError(path, None, "file is empty")
    resolved = _resolve_layout(path, first[0], first[1], layouts)
    filter_index = None
    if row_filter is not None:
        if not resolved.layout.has_header or row_filter[0] not in first[1]:
            raise DataFileError(path, first[0], f"header has no column {row_filter[0]!r}")
        filter_index = first[1].index(row_filter[0])
    data_rows = rows if resolved.first_data_row else _chain_first(first, rows)
    examples = []
    for line_number, fields in data_rows:
        if len(fields) != resolved.num_columns:
            raise DataFileError(path, line_number, f"expected {resolved.num_columns} tab-separated columns "
                                f"({resolved.layout.describe()}), got {len(fields)}")
        if filter_index is not None and fields[filter_index] != row_filter[1]:
            continue
        label = None
        if resolved.label is not None:
            label = _parse_label(path, line_number, fields[resolved.label], labels, is_regression, label_aliases)
        text_b = fields[resolved.text_b] if resolved.text_b is not None else None
        examples.append(InputExample(f"{set_type}-{line_number - 1}", fields[resolved.text_a], text_b, label))
    if not examples:
        kept = f" with {row_filter[0]} == {row_filter[1]!r}" if row_filter else ""
        raise DataFileError(path, None, f"no examples{kept} (layout {resolved.layout.describe()})")
    return examples


def _chain_first(first, rest):
    yield first
    yield from rest


def _parse_label(path: str, line_number: int, raw: str, labels: Sequence[str] | None, is_regression: bool,
                 label_aliases: dict[str, str] | None) -> str | float:
    """Validates one label: a float for regression, else a member of `labels`."""
    if is_regression:
        try:
            score = float(raw)
        except ValueError:
            raise DataFileError(path, line_number, f"regression label {raw!r} is not a number") from None
        if not math.isfinite(score):  # one NaN score makes every weight NaN
            raise DataFileError(path, line_number, f"regression label {raw!r} is not a finite number")
        return score
    label = (label_aliases or {}).get(raw, raw)
    if labels is not None and label not in labels:
        raise DataFileError(path, line_number, f"label {raw!r} is not one of {list(labels)}")
    return label


class GlueTask:
    """A sentence(-pair) classification or regression task read from tsv files in `data_dir`.

    Args:
      name: the reference's lower-case `--task_name`.
      labels: the class names in label-id order; None for a regression task.
      layouts: the layouts (`Layout`) train and dev files may have; test_layouts: those of unlabelled test files.
      metrics: the names of the metrics GLUE reports for the task, in its order (functions of
        `keras_bert.data.classification.metrics`).
      is_regression: labels are float scores.
      train_file, dev_file, test_file: file names inside `data_dir`.

    Example:
    >>> task = GlueTask("cola", ("0", "1"), [Layout("simplified", text_a=0, label=1, num_columns=2)], [],
    ...                 metrics=("matthews_corrcoef", "accuracy"))
    >>> task.get_labels(), task.metrics
    (['0', '1'], ('matthews_corrcoef', 'accuracy'))
    """

    def __init__(self, name: str, labels: Sequence[str] | None, layouts: Sequence[Layout],
                 test_layouts: Sequence[Layout], metrics: Sequence[str] = ("accuracy",), is_regression: bool = False,
                 train_file: str = "train.tsv", dev_file: str = "dev.tsv", test_file: str = "test.tsv"):
        self.name = name
        self.labels = tuple(labels) if labels is not None else None
        self.layouts = tuple(layouts)
        self.test_layouts = tuple(test_layouts)
        self.metrics = tuple(metrics)
        self.is_regression = is_regression
        self.train_file, self.dev_file, self.test_file = train_file, dev_file, test_file

    def get_labels(self) -> list[str]:
        """The class names, index = label id; empty for a regression task."""
        return [] if self.is_regression else list(self.labels)

    def train_path(self, data_dir: str | os.PathLike) -> str:
        """The training file in `data_dir`."""
        return os.path.join(data_dir, self.train_file)

    def get_train_examples(self, data_dir: str | os.PathLike) -> list[InputExample]:
        return self._read(self.train_path(data_dir), "train", self.layouts)

    def get_dev_examples(self, data_dir: str | os.PathLike) -> list[InputExample]:
        return self._read(os.path.join(data_dir, self.dev_file), "dev", self.layouts)

    def get_test_examples(self, data_dir: str | os.PathLike) -> list[InputExample]:
        """Test rows; labelled test files (the train/dev layouts) keep their labels, others get None."""
        return self._read(os.path.join(data_dir, self.test_file), "test", self.test_layouts + self.layouts)

    def _read(self, path: str, set_type: str, layouts: Sequence[Layout]) -> list[InputExample]:
        return read_labelled_tsv(path, layouts, set_type, self.labels, self.is_regression)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"


class XnliTask(GlueTask):
    """XNLI as the reference's `XnliProcessor`: translated MultiNLI for training, xnli.dev/test filtered by language.

    Train: `multinli/multinli.train.{language}.tsv` (`premise, hypo, label`; "contradictory" is read as
    "contradiction"). Dev/test: `xnli.dev.tsv` / `xnli.test.tsv`, rows whose `language` column is `language`.
    """

    def __init__(self, language: str = "zh"):
        nli = ("contradiction", "entailment", "neutral")
        super().__init__("xnli", nli, [Layout("xnli", "sentence1", "sentence2", "gold_label")], [],
                         train_file=os.path.join("multinli", f"multinli.train.{language}.tsv"),
                         dev_file="xnli.dev.tsv", test_file="xnli.test.tsv")
        self.language = language

    def get_train_examples(self, data_dir: str | os.PathLike) -> list[InputExample]:
        return read_labelled_tsv(self.train_path(data_dir),
                                 [Layout("multinli translated", "premise", "hypo", "label")], "train",
                                 self.labels, label_aliases={"contradictory": "contradiction"})

    def _read(self, path: str, set_type: str, layouts: Sequence[Layout]) -> list[InputExample]:
        return read_labelled_tsv(path, layouts, set_type, self.labels, row_filter=("language", self.language))

    def __repr__(self) -> str:
        return f"XnliTask(language={self.language!r})"


def _pair_task(name: str, labels, a: str, b: str, label: str, **kwargs) -> GlueTask:
    return GlueTask(name, labels, [Layout("original", a, b, label)], [Layout("original test", a, b)], **kwargs)


_BINARY = ("0", "1")
_NLI = ("contradiction", "entailment", "neutral")
_ENTAILMENT = ("entailment", "not_entailment")


def _mnli(name: str, split: str) -> GlueTask:
    return _pair_task(name, _NLI, "sentence1", "sentence2", "gold_label",
                      dev_file=f"dev_{split}.tsv", test_file=f"test_{split}.tsv")


_GLUE_TASKS = (
    GlueTask("cola", _BINARY,
             [Layout("original", text_a=3, label=1, num_columns=4),
              Layout("simplified", text_a=0, label=1, num_columns=2)],
             [Layout("original test", "sentence")], metrics=("matthews_corrcoef", "accuracy")),
    GlueTask("sst-2", _BINARY,
             [Layout("sentence/label header", "sentence", label="label"),
              Layout("content/label header", "content", label="label")],
             [Layout("original test", "sentence")]),
    _pair_task("mrpc", _BINARY, "#1 String", "#2 String", "Quality", metrics=("f1", "accuracy")),
    _pair_task("sts-b", None, "sentence1", "sentence2", "score", metrics=("pearson", "spearman"), is_regression=True),
    _pair_task("qqp", _BINARY, "question1", "question2", "is_duplicate", metrics=("accuracy", "f1")),
    _mnli("mnli", "matched"),
    _mnli("mnli-mm", "mismatched"),
    _pair_task("qnli", _ENTAILMENT, "question", "sentence", "label"),
    _pair_task("rte", _ENTAILMENT, "sentence1", "sentence2", "label"),
    _pair_task("wnli", _BINARY, "sentence1", "sentence2", "label"),
    XnliTask("zh"),
)
# Other spellings of task names in common use (e.g. the Hugging Face GLUE configs "sst2", "stsb").
_ALIASES = {"sst2": "sst-2", "stsb": "sts-b", "mnli-m": "mnli", "mnli_matched": "mnli", "mnli_mismatched": "mnli-mm"}

# Every task under its reference `--task_name` and its aliases: the one table of task names.
TASKS: dict[str, GlueTask] = {task.name: task for task in _GLUE_TASKS}
TASKS.update({alias: TASKS[name] for alias, name in _ALIASES.items()})


def get_task(task_name: str) -> GlueTask:
    """The task for a reference `--task_name` (case-insensitive); a clear error for unknown names."""
    key = task_name.lower()
    if key not in TASKS:
        raise ValueError(f"unknown task_name {task_name!r}; known: {sorted(TASKS)}")
    return TASKS[key]
