"""`GenericTask`: classification or regression on users' own csv, tsv or jsonl files with named columns.

`data_dir` holds `train`, `dev` and `test` files, each as exactly one of `{split}.csv`, `{split}.tsv` or
`{split}.jsonl`. csv files use standard quoting; tsv files are split on tabs with no quoting (as GLUE);
both need a header row naming the columns. jsonl files hold one JSON object per line, keyed by column.
"""
from __future__ import annotations

import math
import os
from collections.abc import Iterator, Sequence
from typing import Any

from keras_bert.data.classification.glue import InputExample
from keras_bert.files import DataFileError, read_csv_rows, read_jsonl_records, read_tsv_rows

_EXTENSIONS = (".csv", ".tsv", ".jsonl")


class GenericTask:
    """A task over named columns.

    Args:
      text_a_column: column of the first text.
      label_column: column of the label (class name, or number for regression). Test files may omit it.
      text_b_column: column of the second text of a pair task, or None.
      label_list: the class names in label-id order. None: the sorted distinct labels of the training file,
        known once `get_train_examples` has run. Ignored for regression.
      is_regression: labels are float scores.
    """

    def __init__(self, text_a_column: str, label_column: str, text_b_column: str | None = None,
                 label_list: Sequence[str] | None = None, is_regression: bool = False):
        self.text_a_column = text_a_column
        self.text_b_column = text_b_column
        self.label_column = label_column
        self.is_regression = is_regression
        self._labels = None if label_list is None else tuple(str(label) for label in label_list)
        self.name = "generic"

    def get_labels(self) -> list[str]:
        """The class names, index = label id; empty for regression."""
        if self.is_regression:
            return []
        if self._labels is None:
            raise ValueError("GenericTask labels are not known yet: pass label_list, or call "
                             "get_train_examples first to take them from the training file")
        return list(self._labels)

    def train_path(self, data_dir: str | os.PathLike) -> str:
        """The training file in `data_dir`."""
        return _split_file(data_dir, "train")

    def get_train_examples(self, data_dir: str | os.PathLike) -> list[InputExample]:
        path = self.train_path(data_dir)
        infer = self._labels is None and not self.is_regression
        examples = self._read(path, "train", require_label=True, check_labels=not infer)
        if infer:
            self._labels = tuple(sorted({ex.label for ex in examples}))
        return examples

    def get_dev_examples(self, data_dir: str | os.PathLike) -> list[InputExample]:
        return self._read(_split_file(data_dir, "dev"), "dev", require_label=True, check_labels=True)

    def get_test_examples(self, data_dir: str | os.PathLike) -> list[InputExample]:
        """Test rows; their labels are read when the label column is there, else None."""
        return self._read(_split_file(data_dir, "test"), "test", require_label=False, check_labels=True)

    def _read(self, path: str, set_type: str, require_label: bool, check_labels: bool) -> list[InputExample]:
        columns = [self.text_a_column] + ([self.text_b_column] if self.text_b_column else [])
        labels = self.get_labels() if check_labels and not self.is_regression else None
        examples = []
        for line_number, record, has_label in self._records(path, columns, require_label):
            texts = []
            for column in columns:
                value = record[column]
                if not isinstance(value, str):
                    raise DataFileError(path, line_number, f"column {column!r} is not a string: {value!r}")
                texts.append(value)
            label = self._label(path, line_number, record[self.label_column], labels) if has_label else None
            examples.append(InputExample(f"{set_type}-{line_number - 1}", texts[0],
                                         texts[1] if len(texts) > 1 else None, label))
        if not examples:
            raise DataFileError(path, None, "no examples")
        return examples

    def _records(self, path: str, columns: list[str], require_label: bool
                 ) -> Iterator[tuple[int, dict[str, Any], bool]]:
        """Yields (line, record, whether it has a label), checking that the needed columns exist."""
        if path.endswith(".jsonl"):
            for line_number, record in read_jsonl_records(path):
                has_label = self.label_column in record
                missing = [c for c in columns if c not in record]
                missing += [self.label_column] if require_label and not has_label else []
                if missing:
                    raise DataFileError(path, line_number, f"missing key(s) {missing}")
                yield line_number, record, has_label
            return
        rows = read_csv_rows(path) if path.endswith(".csv") else read_tsv_rows(path)
        header_line, header = next(rows, (None, None))
        if header is None:
            raise DataFileError(path, None, "file is empty")
        has_label = self.label_column in header
        missing = [c for c in columns if c not in header] + ([self.label_column] if require_label and
                                                              not has_label else [])
        if missing:
            raise DataFileError(path, header_line, f"header {header} lacks column(s) {missing}")
        for line_number, fields in rows:
            if len(fields) != len(header):
                raise DataFileError(path, line_number, f"expected {len(header)} columns as the header, "
                                    f"got {len(fields)}")
            yield line_number, dict(zip(header, fields)), has_label

    def _label(self, path: str, line_number: int, value: Any, labels: list[str] | None) -> str | float:
        if self.is_regression:
            if isinstance(value, bool):
                raise DataFileError(path, line_number, f"regression label {value!r} is not a number")
            try:
                score = float(value)
            except (TypeError, ValueError):
                raise DataFileError(path, line_number, f"regression label {value!r} is not a number") from None
            if not math.isfinite(score):  # one NaN score makes every weight NaN
                raise DataFileError(path, line_number, f"regression label {value!r} is not a finite number")
            return score
        if not isinstance(value, (str, int)) or isinstance(value, bool):
            raise DataFileError(path, line_number, f"label {value!r} is not a string or integer")
        label = str(value)
        if labels is not None and label not in labels:
            raise DataFileError(path, line_number, f"label {label!r} is not one of {labels}")
        return label


def _split_file(data_dir: str | os.PathLike, split: str) -> str:
    """The one `{split}.csv|tsv|jsonl` in `data_dir`."""
    found = [os.path.join(data_dir, split + ext) for ext in _EXTENSIONS
             if os.path.isfile(os.path.join(data_dir, split + ext))]
    if len(found) != 1:
        names = ", ".join(split + ext for ext in _EXTENSIONS)
        problem = "none" if not found else f"several ({found})"
        raise FileNotFoundError(f"{os.fspath(data_dir)}: expected exactly one of {names}, found {problem}")
    return found[0]
