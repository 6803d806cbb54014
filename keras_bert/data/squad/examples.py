"""SQuAD 1.1/2.0 json → `SquadExample`s, as google-research/bert `run_squad.py` reads them.

The context is split into whitespace words with the reference's `char_to_word_offset`; a training answer's
character offsets become word positions. Departure, where the reference would crash: answers whose offsets fall
outside their context are skipped and counted like the reference's "Could not find answer" skips.
"""
from __future__ import annotations

import dataclasses
import json
import logging
import os

from keras_bert.files import DataFileError

logger = logging.getLogger(__name__)


@dataclasses.dataclass
class SquadExample:
    """A question on a whitespace-split context; positions index `doc_tokens` (-1 for 2.0 impossible)."""

    qas_id: str
    question_text: str
    doc_tokens: list[str]
    orig_answer_text: str | None = None
    start_position: int | None = None
    end_position: int | None = None
    is_impossible: bool = False


def _is_whitespace(c: str) -> bool:
    return c in " \t\r\n" or ord(c) == 0x202F


def _split_context(text: str) -> tuple[list[str], list[int]]:
    """Whitespace words of `text` and, per character, the index of its word (the reference's loop)."""
    doc_tokens: list[str] = []
    char_to_word_offset = []
    prev_is_whitespace = True
    for c in text:
        if _is_whitespace(c):
            prev_is_whitespace = True
        else:
            if prev_is_whitespace:
                doc_tokens.append(c)
            else:
                doc_tokens[-1] += c
            prev_is_whitespace = False
        char_to_word_offset.append(len(doc_tokens) - 1)
    return doc_tokens, char_to_word_offset


def _require(record: dict, key: str, path: str, where: str):
    if not isinstance(record, dict) or key not in record:
        raise DataFileError(path, None, f"{where}: missing key {key!r}")
    return record[key]


def read_squad_examples(input_file: str | os.PathLike, is_training: bool,
                        version_2_with_negative: bool = False) -> list[SquadExample]:
    """Reads a SQuAD json file into examples.

    In training, answers whose text cannot be found at their offset ("Could not find answer", as the
    reference) or whose offsets fall outside the context are skipped, each logged, with a count at the end.
    A training question without exactly one answer (and not impossible) is an error.
    """
    path = os.fspath(input_file)
    with open(path, encoding="utf-8") as f:
        try:
            data = json.load(f)
        except json.JSONDecodeError as e:
            raise DataFileError(path, e.lineno, f"invalid JSON ({e.msg})") from None
    examples = []
    not_found = outside = 0
    for article_index, article in enumerate(_require(data, "data", path, "top level")):
        for paragraph_index, paragraph in enumerate(_require(article, "paragraphs", path, f"article {article_index}")):
            where = f"article {article_index}, paragraph {paragraph_index}"
            doc_tokens, char_to_word_offset = _split_context(_require(paragraph, "context", path, where))
            for qa in _require(paragraph, "qas", path, where):
                qas_id = _require(qa, "id", path, f"{where}, question")
                question = f"question {qas_id!r}"
                example = SquadExample(qas_id, _require(qa, "question", path, question), doc_tokens)
                if is_training:
                    if version_2_with_negative:
                        example.is_impossible = bool(_require(qa, "is_impossible", path, question))
                    if example.is_impossible:
                        example.start_position, example.end_position, example.orig_answer_text = -1, -1, ""
                    else:
                        answers = _require(qa, "answers", path, question)
                        if len(answers) != 1:
                            raise DataFileError(path, None, f"{question}: for training, each question should "
                                                f"have exactly 1 answer, got {len(answers)}")
                        text = _require(answers[0], "text", path, question)
                        offset = _require(answers[0], "answer_start", path, question)
                        if (not isinstance(offset, int) or not text or offset < 0
                                or offset + len(text) > len(char_to_word_offset)
                                or char_to_word_offset[offset] < 0):
                            logger.warning("Answer offset outside its context: %s, answer_start %r, text %r",
                                           question, offset, text)
                            outside += 1
                            continue
                        start = char_to_word_offset[offset]
                        end = char_to_word_offset[offset + len(text) - 1]
                        actual_text = " ".join(doc_tokens[start:end + 1])
                        cleaned_answer_text = " ".join(text.split())
                        if actual_text.find(cleaned_answer_text) == -1:
                            logger.warning("Could not find answer: '%s' vs. '%s'", actual_text, cleaned_answer_text)
                            not_found += 1
                            continue
                        example.orig_answer_text, example.start_position, example.end_position = text, start, end
                examples.append(example)
    if not_found or outside:
        logger.warning("%s: skipped %d training questions: %d 'Could not find answer', %d answer offsets outside "
                       "their context; kept %d", path, not_found + outside, not_found, outside, len(examples))
    return examples
