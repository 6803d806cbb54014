"""Word pieces as Python strings from the TF-Text `BertTokenizer`, for the host-side SQuAD and CoNLL features.

`PieceTokenizer` implements the `SquadTokenizer` / `WordPieceTokenizer` interfaces of `keras_bert.data.squad.features`
and `keras_bert.data.tagging.conll`: `tokenize_words` (the reference `FullTokenizer.tokenize` of each text, batched
through one TF-Text call), `convert_tokens_to_ids`, and `basic_tokenize` (the reference `BasicTokenizer`).
"""
from __future__ import annotations

import functools
import os
from collections.abc import Sequence

import tensorflow as tf

from keras_bert.tokenization import basic_tokenizer, unicode_tables
from keras_bert.tokenization.tokenizer import BertTokenizer


class PieceTokenizer:
    """The reference tokenizer's string API over `keras_bert.tokenization.tokenizer.BertTokenizer`.

    Args:
      vocab_file: one token per line (id = line number).
      do_lower_case: the reference's flag.
      options: Hugging Face's options of `BertTokenizer` (`strip_accents`, `tokenize_chinese_chars`,
        `max_chars_per_word`); the defaults are the reference's.
    """

    def __init__(self, vocab_file: str | os.PathLike, do_lower_case: bool, **options):
        self.tokenizer = BertTokenizer(vocab_file, do_lower_case, **options)
        self.vocab = self.tokenizer.vocab
        self._ids = {token: i for i, token in enumerate(self.vocab)}  # Unique but for blank lines, never looked up.
        tables = unicode_tables.build_char_tables(
            self.tokenizer.lower_case, self.tokenizer.strip_accents, self.tokenizer.tokenize_chinese_chars)
        self._pieces = tf.function(
            self.tokenizer.tokenize_pieces,
            input_signature=[tf.TensorSpec([None], tf.string)])

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
        def words(texts):  # string [batch] → string [batch, (words)]
            basic = basic_tokenizer.basic_tokenize(texts, tables)
            return tf.RaggedTensor.from_value_rowids(basic.words, basic.word_rows,
                                                     nrows=tf.shape(texts, out_type=tf.int64)[0])

        self._words = words
        # SQuAD post-processing asks for the same original spans again and again (n-best candidates).
        self.basic_tokenize = functools.lru_cache(maxsize=1 << 16)(self._basic_tokenize)

    def tokenize_words(self, texts: Sequence[str]) -> list[list[str]]:
        """Word pieces of each text: list (len = len(texts)) of lists of vocabulary strings."""
        if not texts:
            return []
        ids = self._pieces(tf.constant(list(texts), tf.string)).to_list()
        return [[self.vocab[i] for i in row] for row in ids]

    def convert_tokens_to_ids(self, tokens: Sequence[str]) -> list[int]:
        """Vocabulary ids; a token outside the vocabulary is a KeyError naming it (as the reference)."""
        try:
            return [self._ids[token] for token in tokens]
        except KeyError as error:
            raise KeyError(f"token {error.args[0]!r} is not in the vocabulary {self.tokenizer.vocab_file}") from None

    def _basic_tokenize(self, text: str) -> tuple[str, ...]:
        """The reference `BasicTokenizer(do_lower_case).tokenize(text)`: the words (str); cached as
        `basic_tokenize`."""
        words = self._words(tf.constant([text], tf.string))[0].numpy()
        return tuple(w.decode("utf-8") for w in words)
