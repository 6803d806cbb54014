"""Learns a WordPiece vocabulary (vocab.txt) from text files, for `BertTokenizer` and the pretraining scripts.

Words are split and normalized exactly as `BertTokenizer` will (the reference BasicTokenizer), then
TF-Text's `bert_vocab_from_dataset` learns the pieces; see `keras_bert.tokenization.vocab_learning`.

  python pretraining/learn_vocab.py --input_file='corpus/*.txt,more.txt' --output_file=vocab.txt \
    --vocab_size=8000 --do_lower_case=True --reserved_tokens='[PAD],[UNK],[CLS],[SEP],[MASK]'
"""
from __future__ import annotations

import logging

from keras_bert import cli
from keras_bert.tokenization import vocab_learning

logger = logging.getLogger(__name__)


@cli.checks_arguments
def learn_vocab(input_file: str, output_file: str, vocab_size: int = 30522, do_lower_case: bool = True,
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
    cli.define_flags(learn_vocab, {
        "input_file": "Input raw text file (or comma-separated list of files/globs).",
        "output_file": "The vocabulary file to write, one token per line.",
        "vocab_size": "The most tokens in the vocabulary, reserved tokens included.",
        "do_lower_case": "Lower-case and strip accents as the uncased models do.",
        "reserved_tokens": "Comma-separated tokens placed first (must include [UNK], [CLS], [SEP]).",
    })


def main() -> None:
    """The `bert-learn-vocab` command (`python pretraining/learn_vocab.py`)."""
    cli.run_program(learn_vocab, _define_flags)


if __name__ == "__main__":
    main()
