"""Reading a BERT vocabulary as google-research/bert does, with checks that name the file.

One token per line, stripped, id = line number; a missing file, non-UTF-8 text, or a vocabulary lacking [UNK],
[CLS] or [SEP] is an error naming the file.
"""
from __future__ import annotations

import os
import pathlib

REQUIRED_TOKENS = ("[UNK]", "[CLS]", "[SEP]")


def load_vocab(vocab_file: str | os.PathLike) -> list[str]:
    """Reads a vocabulary as the reference does: one token per line, stripped; id = line number.

    Raises FileNotFoundError / ValueError naming the file if it is missing, not UTF-8, or lacks [UNK],
    [CLS] or [SEP].
    """
    path = pathlib.Path(vocab_file)
    if not path.is_file():
        raise FileNotFoundError(f"vocabulary file not found: {path}")
    try:
        with open(path, encoding="utf-8", newline="") as reader:
            tokens = [line.strip() for line in _reference_lines(reader.read())]
    except UnicodeDecodeError as error:
        raise ValueError(f"vocabulary file {path} is not UTF-8 text ({error})") from None
    missing = [t for t in REQUIRED_TOKENS if t not in tokens]
    if missing:
        raise ValueError(f"vocabulary file {path} lacks the required token(s) {', '.join(missing)}")
    return tokens


def _reference_lines(text: str) -> list[str]:
    """Splits like the reference's `GFile.readline()` loop: on "\\n" only, keeping an unterminated tail."""
    lines = text.split("\n")
    return lines[:-1] if lines[-1] == "" else lines
