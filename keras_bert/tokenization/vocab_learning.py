"""Learns a WordPiece vocabulary from text files for `BertTokenizer`.

Words come from OUR reference BasicTokenizer (`basic_tokenizer.basic_tokenize`: cleaning, CJK split,
and with `lower_case` the reference's lower-casing, NFD and mark stripping), so the vocabulary holds
exactly the strings `BertTokenizer` will look up. TF-Text's `bert_vocab_from_dataset` then counts
them and runs its WordPiece learner. (Its own BasicTokenizer runs again on our words with
normalization off; it only splits at whitespace, punctuation and CJK, which our words are already
split at, so it leaves them whole. Its `lower_case` would case-fold with NFKC, unlike the
reference, which is why we normalize first.)

The learner keeps every character seen (as `c` and `##c`, up to 1000 distinct characters), ignores
words over 50 characters, and searches a count threshold that gives a vocabulary of at most
`vocab_size` tokens and at least 95% of it; where the search overshoots, the least frequent
multi-character pieces are dropped. The result has at most `vocab_size` tokens, possibly a few % fewer.
"""
from __future__ import annotations

import os
import pathlib
from collections.abc import Sequence

import tensorflow as tf
import tqdm
from tensorflow_text.tools.wordpiece_vocab import bert_vocab_from_dataset

from keras_bert.files import expand_file_patterns
from keras_bert.tokenization import basic_tokenizer, unicode_tables

RESERVED_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
_LINES_PER_BATCH = 4096


def _word_batches(input_files: Sequence[str], lower_case: bool, show_progress: bool) -> tf.data.Dataset:
    """Text lines → batches of normalized words, string [words], read with a progress bar."""
    tables = unicode_tables.build_char_tables(lower_case)
    words = (tf.data.TextLineDataset(list(input_files))
             .batch(_LINES_PER_BATCH)
             .map(lambda lines: _normalized_words(lines, tables))
             .prefetch(2))
    total_bytes = sum(tf.io.gfile.stat(f).length for f in input_files)

    def generate():
        with tqdm.tqdm(total=total_bytes, unit="B", unit_scale=True, desc="counting words",
                       disable=not show_progress) as progress:
            for batch, size in words:
                progress.update(int(size))
                yield batch
        if show_progress:
            tqdm.tqdm.write("learning the WordPiece vocabulary (a search over count thresholds) ...")

    return tf.data.Dataset.from_generator(generate, output_signature=tf.TensorSpec([None], tf.string))


def _normalized_words(lines: tf.Tensor, tables: unicode_tables.CharTables):
    """string [lines] → (normalized words string [W], approximate bytes read int64 scalar)."""
    size = tf.reduce_sum(tf.strings.length(lines, unit="BYTE") + 1)
    return basic_tokenizer.basic_tokenize(lines, tables).words, tf.cast(size, tf.int64)


def learn_wordpiece_vocab(input_files: Sequence[str] | str, vocab_size: int, lower_case: bool,
                          reserved_tokens: Sequence[str] = RESERVED_TOKENS, show_progress: bool = False,
                          **learn_params) -> list[str]:
    """Learns a WordPiece vocabulary from plain-text files.

    Args:
      input_files: file paths, globs, or one comma-separated string of globs.
      vocab_size: the most tokens wanted (reserved tokens included).
      lower_case: normalize as `BertTokenizer(lower_case=True)` does (the reference's do_lower_case).
      reserved_tokens: first in the vocabulary, in this order; must include [UNK], [CLS], [SEP].
      show_progress: a tqdm bar over the bytes read.
      learn_params: passed to TF-Text's `wordpiece_tokenizer_learner_lib.learn` (e.g. `lower_thresh`,
        `max_unique_chars`).

    Returns:
      The tokens, id = position: reserved tokens, single characters (sorted), then pieces by count.
    """
    reserved = list(reserved_tokens)
    missing = [t for t in ("[UNK]", "[CLS]", "[SEP]") if t not in reserved]
    if missing:
        raise ValueError(f"reserved_tokens lacks {', '.join(missing)} (BertTokenizer requires them)")
    if vocab_size <= len(reserved):
        raise ValueError(f"vocab_size {vocab_size} leaves no room after {len(reserved)} reserved tokens")
    files = expand_file_patterns(input_files)
    for path in files:
        if tf.io.gfile.isdir(path):
            raise IsADirectoryError(f"input path is a directory, not a text file: {path}")
    words = _word_batches(files, lower_case, show_progress)
    try:
        vocab = bert_vocab_from_dataset.bert_vocab_from_dataset(words, vocab_size, reserved, learn_params=learn_params)
    except StopIteration:  # TF-Text's count_words on an empty corpus.
        vocab = reserved
    if len(vocab) <= len(reserved):
        raise ValueError(f"no words found in the input files {', '.join(files)}")
    return _at_most(vocab, vocab_size, reserved)


def _at_most(vocab: list[str], vocab_size: int, reserved: list[str]) -> list[str]:
    """Drops the least frequent multi-character pieces when the learner overshoots `vocab_size`.

    Reserved and single-character tokens (`c`, `##c`) stay, so every word stays coverable.
    """
    if len(vocab) <= vocab_size:
        return vocab
    essential = {t for t in vocab if t in reserved or len(t.removeprefix("##")) == 1}
    if len(essential) > vocab_size:
        raise ValueError(f"vocab_size {vocab_size} is below the {len(essential)} reserved and single-character "
                         "tokens the corpus needs; raise vocab_size or pass a smaller max_unique_chars")
    pieces = [t for t in vocab if t not in essential]  # By decreasing count, as the learner orders them.
    kept = essential | set(pieces[:vocab_size - len(essential)])
    return [t for t in vocab if t in kept]


def write_vocab(tokens: Sequence[str], path: str | os.PathLike) -> None:
    """Writes one token per line (UTF-8), the format `load_vocab` and the reference read."""
    bad = [i for i, t in enumerate(tokens) if not t or t != t.strip() or "\n" in t or "\r" in t]
    if bad:
        raise ValueError(f"tokens {bad[:5]} of the vocabulary for {path} are empty or contain line breaks/edge spaces")
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{t}\n" for t in tokens), encoding="utf-8")
