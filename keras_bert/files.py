"""Input files of the data readers: glob patterns expanded, line-numbered reading of tsv, csv and jsonl
files with errors that name the file and line, and the check that lenient text readers make."""
from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import tensorflow as tf

# A text read leniently (invalid UTF-8 dropped, as the reference reads pretraining corpora) may hold a few
# stray bytes; more than this share of the file means a binary file or another encoding.
MAX_INVALID_UTF8_SHARE = 0.01
# Text is one sentence per line: a line this long means a binary file or text without line breaks.
MAX_LINE_BYTES = 1 << 20


class DataFileError(ValueError):
    """Bad content in a data file; the message names the file and the 1-based line."""

    def __init__(self, path: str | os.PathLike, line: int | None, message: str):
        where = f"{os.fspath(path)}, line {line}" if line is not None else os.fspath(path)
        super().__init__(f"{where}: {message}")
        self.path = os.fspath(path)
        self.line = line


def expand_file_patterns(file_patterns: str | Sequence[str]) -> list[str]:
    """Comma-separated globs (or a list of globs; any `tf.io.gfile` path, e.g. gs://) → the files each
    matches, sorted per glob.

    Raises:
      FileNotFoundError naming a glob that matches nothing, or when no glob is given.
    """
    patterns = file_patterns.split(",") if isinstance(file_patterns, str) else list(file_patterns)
    files: list[str] = []
    for pattern in (os.fspath(p).strip() for p in patterns):
        if not pattern:
            continue
        matched = sorted(tf.io.gfile.glob(pattern))
        if not matched:
            raise FileNotFoundError(f"no file matches input pattern {pattern!r}")
        files.extend(matched)
    if not files:
        raise FileNotFoundError(f"no input files given (patterns: {file_patterns!r})")
    return files


def name_files(files: Sequence[str], most: int = 5) -> str:
    """The first `most` file names, comma-separated, and how many more there are: for error messages."""
    names = ", ".join(files[:most])
    return names if len(files) <= most else f"{names} and {len(files) - most} more"


def read_lines(path: str | os.PathLike) -> Iterator[tuple[int, str]]:
    """Yields (1-based line number, text without the line ending); a UTF-8 BOM is dropped."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"data file not found: {os.fspath(path)}")
    with open(path, "rb") as f:
        for line_number, raw in enumerate(f, start=1):
            try:
                text = raw.decode("utf-8-sig" if line_number == 1 else "utf-8")
            except UnicodeDecodeError as e:
                raise DataFileError(path, line_number, f"not valid UTF-8 ({e.reason} at byte {e.start})") from None
            yield line_number, text.rstrip("\r\n")


def decode_text(path: str | os.PathLike, data: bytes) -> str:
    """The bytes of text file `path` decoded as UTF-8 with invalid bytes dropped (the reference's
    `errors="ignore"`), once they are known to be text.

    Raises:
      DataFileError naming the file and the first line at fault: a NUL byte, more than 1% of the bytes not
      UTF-8 (`MAX_INVALID_UTF8_SHARE`), or a line longer than 1 MiB (`MAX_LINE_BYTES`).
    """
    if (nul := data.find(b"\0")) >= 0:
        raise DataFileError(path, _line_at(data, nul), "a NUL byte: a binary file (or UTF-16), not UTF-8 text")
    _check_line_lengths(path, data)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        text = data.decode("utf-8", "ignore")
        invalid = len(data) - len(text.encode("utf-8"))
        if invalid > MAX_INVALID_UTF8_SHARE * len(data):
            raise DataFileError(
                path, _line_at(data, error.start),
                f"{invalid} of {len(data)} bytes are not UTF-8, the first on this line: a binary file or another "
                f"encoding, not UTF-8 text (up to {MAX_INVALID_UTF8_SHARE:.0%} of stray bytes are dropped)",
            ) from None
        return text


def _check_line_lengths(path: str | os.PathLike, data: bytes) -> None:
    """DataFileError naming the first line longer than `MAX_LINE_BYTES`."""
    if len(data) <= MAX_LINE_BYTES:
        return
    line_ends = np.flatnonzero(np.frombuffer(data, np.uint8) == ord("\n"))
    lengths = np.diff(line_ends, prepend=-1, append=len(data)) - 1  # without the line break
    if (long_lines := np.flatnonzero(lengths > MAX_LINE_BYTES)).size:
        raise DataFileError(path, int(long_lines[0]) + 1,
                            f"a line of {int(lengths[long_lines[0]])} bytes without a line break: a binary file "
                            f"or text not split into lines (at most {MAX_LINE_BYTES} bytes a line)")


def _line_at(data: bytes, offset: int) -> int:
    """The 1-based line number of byte `offset`."""
    return data.count(b"\n", 0, offset) + 1


def read_tsv_rows(path: str | os.PathLike) -> Iterator[tuple[int, list[str]]]:
    """Yields (line number, fields) of a tab-separated file, skipping blank lines.

    Fields are split on tabs only, with no quoting, as the reference reads GLUE (`quotechar=None`), so
    quotes inside sentences stay literal.
    """
    for line_number, text in read_lines(path):
        if text.strip():
            yield line_number, text.split("\t")


def read_csv_rows(path: str | os.PathLike) -> Iterator[tuple[int, list[str]]]:
    """Yields (line number where the record starts, fields) of an RFC-4180 csv file, skipping blank rows."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"data file not found: {os.fspath(path)}")
    with open(path, encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f)
        start_line = 1
        try:
            for fields in reader:
                if any(field.strip() for field in fields):
                    yield start_line, fields
                start_line = reader.line_num + 1
        except (csv.Error, UnicodeDecodeError) as e:
            raise DataFileError(path, start_line, f"unreadable csv record ({e})") from None


def read_jsonl_records(path: str | os.PathLike) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yields (line number, object) of a JSON-lines file, skipping blank lines."""
    for line_number, text in read_lines(path):
        if not text.strip():
            continue
        try:
            record = json.loads(text)
        except json.JSONDecodeError as e:
            raise DataFileError(path, line_number, f"invalid JSON ({e.msg})") from None
        if not isinstance(record, dict):
            raise DataFileError(path, line_number, f"expected a JSON object, got {type(record).__name__}")
        yield line_number, record


def read_json(path: str | os.PathLike, expected: type = dict) -> Any:
    """The JSON value of a file, of the `expected` type (an object by default).

    Raises FileNotFoundError naming a missing file, ValueError naming the file when it is not UTF-8 JSON or holds
    another type of value.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{os.path.basename(path)} not found: {path}")
    try:
        with open(path, encoding="utf-8") as f:
            value = json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{path}: not valid JSON ({error})") from None
    if not isinstance(value, expected):
        kind = {dict: "object", list: "list"}.get(expected, expected.__name__)
        raise ValueError(f"{path}: expected a JSON {kind}, got {type(value).__name__}")
    return value
