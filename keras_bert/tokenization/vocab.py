"""Reading a BERT vocabulary as google-research/bert does, with checks that name the file.

One token per line, stripped, id = line number; a missing file, non-UTF-8 text, a token on more than one line, or
a vocabulary lacking [UNK], [CLS] or [SEP] is an error naming the file. `check_vocab_matches_config` checks a
vocabulary against the word embeddings of a BERT config.
"""
from __future__ import annotations

import collections
import logging
import os
import pathlib

from keras_bert.config import ConfigLike, as_bert_config

logger = logging.getLogger(__name__)

REQUIRED_TOKENS = ("[UNK]", "[CLS]", "[SEP]")
_DUPLICATES_LISTED = 5


def load_vocab(vocab_file: str | os.PathLike) -> list[str]:
    """Reads a vocabulary as the reference does: one token per line, stripped; id = line number.

    Blank lines (also lines of only whitespace such as U+2028, as in Google's Chinese vocabulary) keep their ids
    and never match any text, as in the reference; there may be several.

    Raises FileNotFoundError / ValueError naming the file if it is missing, not UTF-8, lacks [UNK], [CLS] or
    [SEP], or holds a token on more than one line (the reference would silently use the last line's id).
    """
    path = pathlib.Path(vocab_file)
    if not path.is_file():
        raise FileNotFoundError(f"vocabulary file not found: {path}")
    try:
        with open(path, encoding="utf-8", newline="") as reader:
            tokens = [line.strip() for line in _reference_lines(reader.read())]
    except UnicodeDecodeError as error:
        raise ValueError(f"vocabulary file {path} is not UTF-8 text ({error})") from None
    _check_no_duplicates(tokens, path)
    missing = [t for t in REQUIRED_TOKENS if t not in tokens]
    if missing:
        raise ValueError(f"vocabulary file {path} lacks the required token(s) {', '.join(missing)}")
    return tokens


def _check_no_duplicates(tokens: list[str], path: pathlib.Path) -> None:
    """A token on two lines has two ids: the reference keeps the last, so the earlier ones are dead embedding rows
    and a vocabulary edited by hand (or concatenated) silently changes meaning. Blank lines are exempt."""
    lines = collections.defaultdict(list)
    for line_number, token in enumerate(tokens, start=1):
        if token:
            lines[token].append(line_number)
    duplicates = [(token, numbers) for token, numbers in lines.items() if len(numbers) > 1]
    if duplicates:
        listed = "; ".join(f"{token!r} on lines {', '.join(map(str, numbers))}"
                           for token, numbers in duplicates[:_DUPLICATES_LISTED])
        more = f" and {len(duplicates) - _DUPLICATES_LISTED} more" if len(duplicates) > _DUPLICATES_LISTED else ""
        raise ValueError(f"vocabulary file {path} has {len(duplicates)} duplicate token(s): {listed}{more}; "
                         "each token must be on one line only")


def check_vocab_matches_config(vocab_file: str | os.PathLike, config: ConfigLike,
                               config_file: str | os.PathLike | None = None) -> None:
    """Checks that the vocabulary fits the word embeddings of `config` (a BertConfig, its dict or the path of a
    bert_config.json; `config_file` names it in messages, by default its path).

    More tokens than `vocab_size` is a ValueError naming both files and numbers: their ids have no embedding row,
    and would fail mid-run (or, under XLA, read a wrong row). Fewer tokens is a warning: it works (a `vocab_size`
    may be padded), but it is also what pairing the wrong vocabulary with a checkpoint looks like.
    """
    if config_file is None and isinstance(config, (str, os.PathLike)):
        config_file = config
    where = os.fspath(config_file) if config_file is not None else "the BERT config"
    vocab_size, rows = len(load_vocab(vocab_file)), as_bert_config(config).vocab_size
    if vocab_size > rows:
        raise ValueError(
            f"vocabulary file {os.fspath(vocab_file)} has {vocab_size} tokens but vocab_size in {where} is "
            f"{rows}: ids {rows} to {vocab_size - 1} have no word embedding; use the vocabulary the "
            "checkpoint was trained with")
    if vocab_size < rows:
        logger.warning("vocabulary file %s has %d tokens but vocab_size in %s is %d: embedding rows %d to %d are "
                       "never used; check that this is the vocabulary the checkpoint was trained with",
                       os.fspath(vocab_file), vocab_size, where, rows, vocab_size, rows - 1)


def _reference_lines(text: str) -> list[str]:
    """Splits like the reference's `GFile.readline()` loop: on "\\n" only, keeping an unterminated tail."""
    lines = text.split("\n")
    return lines[:-1] if lines[-1] == "" else lines
