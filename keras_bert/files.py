"""Input files of the data readers: glob patterns expanded, and line-numbered reading of tsv, csv and jsonl
files with errors that name the file and line."""
from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterator, Sequence
from typing import Any

import tensorflow as tf


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
