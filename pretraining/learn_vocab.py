"""Learns a WordPiece vocabulary (vocab.txt) from text files, for `BertTokenizer` and the pretraining scripts.

Words are split and normalized exactly as `BertTokenizer` will (the reference BasicTokenizer), then
TF-Text's `bert_vocab_from_dataset` learns the pieces; see `keras_bert.tokenization.vocab_learning`.

  python pretraining/learn_vocab.py --input_file='corpus/*.txt,more.txt' --output_file=vocab.txt \
    --vocab_size=8000 --do_lower_case=True --reserved_tokens='[PAD],[UNK],[CLS],[SEP],[MASK]'
"""
from __future__ import annotations

import logging
import os
import sys

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from keras_bert import cli as programs
from keras_bert.tokenization import vocab_learning

logger = logging.getLogger(__name__)


def learn_vocab(input_file: str, output_file: str, vocab_size: int, do_lower_case: bool = True,
                reserved_tokens: str = ",".join(vocab_learning.RESERVED_TOKENS),
                show_progress: bool = True) -> list[str]:
    """The program as a Python call, arguments named like the flags; returns the tokens written."""
    reserved = [t.strip() for t in reserved_tokens.split(",") if t.strip()]
    tokens = vocab_learning.learn_wordpiece_vocab(input_file, vocab_size, do_lower_case, reserved,
                                                  show_progress=show_progress)
    vocab_learning.write_vocab(tokens, output_file)
    logger.info("wrote %d tokens (%d asked for) to %s", len(tokens), vocab_size, output_file)
    return tokens


def _define_flags() -> None:
    from absl import flags

    flags.DEFINE_string("input_file", None, "Input raw text file (or comma-separated list of files/globs).")
    flags.DEFINE_string("output_file", None, "The vocabulary file to write, one token per line.")
    flags.DEFINE_integer("vocab_size", 30522, "The most tokens in the vocabulary, reserved tokens included.")
    flags.DEFINE_bool("do_lower_case", True, "Lower-case and strip accents as the uncased models do.")
    flags.DEFINE_string("reserved_tokens", ",".join(vocab_learning.RESERVED_TOKENS),
                        "Comma-separated tokens placed first (must include [UNK], [CLS], [SEP]).")
    flags.mark_flags_as_required(["input_file", "output_file"])


if __name__ == "__main__":
    programs.run_program(learn_vocab, _define_flags)
