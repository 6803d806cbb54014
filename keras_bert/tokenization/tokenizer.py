"""`BertTokenizer`: strings → WordPiece ids as a Keras 3 layer on TF-Text ops, id-for-id equal to google-research/bert.

Defined behaviour on bad input: bytes that are not valid UTF-8 are dropped, exactly as the
reference's `bytes.decode("utf-8", "ignore")` drops them (a truncated sequence, a stray continuation
byte, an overlong form or an encoded surrogate disappears; the valid text around it stays); an empty,
all-whitespace or all-control-character string has no words. A word of more than 200 characters (after
normalization) becomes one `[UNK]`, as in google-research/bert. The literal text `[MASK]` (or `[CLS]`,
...) is not special: it splits into `[`, `mask`, `]`.

Character rules are tabulated from the running Python's `unicodedata` (3.11: Unicode 14.0), so the
ids equal the reference run on the same Python.
"""
from __future__ import annotations

import os

import keras
import tensorflow as tf
import tensorflow_text as tf_text

from keras_bert.tokenization import basic_tokenizer, unicode_tables
from keras_bert.tokenization.vocab import load_vocab

MAX_CHARS_PER_WORD = 200  # google-research/bert's WordpieceTokenizer.max_input_chars_per_word.
_MAX_BYTES_PER_WORD = 4 * MAX_CHARS_PER_WORD  # TF-Text counts bytes; no word within the limit exceeds it.
_TOO_LONG_WORD = "x" * (_MAX_BYTES_PER_WORD + 1)  # Stands in for a word over the limit: becomes [UNK].


def _matchable_vocab(tokens: list[str]) -> list[str]:
    """The vocabulary as FastWordpieceTokenizer should see it, ids unchanged.

    The reference can never emit "" or a bare "##" (e.g. lines holding only U+2028 in Google's Chinese
    vocabulary). Such entries are replaced by placeholders that no word can match, since they contain
    punctuation. (`load_vocab` refuses any other token on two lines.)
    """
    return [token if token not in ("", "##") else f"[keras_bert unreachable {i}]" for i, token in enumerate(tokens)]


class BertTokenizer(keras.layers.Layer):
    """Strings → WordPiece ids, exactly as google-research/bert's FullTokenizer.

    Call: string [batch] → int32 RaggedTensor [batch, (words), (pieces)].

    Args:
        vocab_file: path of the vocabulary (one token per line).
        lower_case: the reference's `do_lower_case` (str.lower, NFD, strip Mn).

    Example:
    >>> tokenizer = BertTokenizer("../shared/data/vocab/uncased_vocab.txt", lower_case=True)
    >>> tokenizer(tf.constant(["Hello, tokenizers!"])).to_list()
    [[[7592], [1010], [19204, 17629, 2015], [999]]]
    """

    def __init__(self, vocab_file: str | os.PathLike, lower_case: bool, **kwargs):
        super().__init__(**kwargs)
        self._convert_input_args = False
        self._allow_non_tensor_positional_args = True
        self.vocab_file = str(vocab_file)
        self.lower_case = bool(lower_case)
        self.vocab = load_vocab(vocab_file)
        self._char_tables = basic_tokenizer.TableTensors(unicode_tables.build_char_tables(self.lower_case))
        self._wordpiece = tf_text.FastWordpieceTokenizer(
            _matchable_vocab(self.vocab),
            suffix_indicator="##",
            max_bytes_per_word=_MAX_BYTES_PER_WORD,
            token_out_type=tf.int32,
            unknown_token="[UNK]",
            no_pretokenization=True,
        )

    def get_special_tokens_dict(self) -> dict[str, int]:
        """Python ints: vocab_size, start_of_sequence_id ([CLS]), end_of_segment_id ([SEP]),
        padding_id ([PAD], else 0 as the reference pads with 0) and mask_id ([MASK], if present)."""
        ids = {token: i for i, token in enumerate(self.vocab)}
        special = {
            "vocab_size": len(self.vocab),
            "start_of_sequence_id": ids["[CLS]"],
            "end_of_segment_id": ids["[SEP]"],
            "padding_id": ids.get("[PAD]", 0),
        }
        if "[MASK]" in ids:
            special["mask_id"] = ids["[MASK]"]
        return special

    def _words(self, texts) -> basic_tokenizer.BasicTokens:
        texts = tf.convert_to_tensor(texts, tf.string)
        if texts.shape.rank != 1:
            raise ValueError(f"BertTokenizer expects strings of shape [batch], got shape {texts.shape}")
        return basic_tokenizer.basic_tokenize(texts, self._char_tables, self.lower_case)

    def _wordpiece_input(self, words: basic_tokenizer.BasicTokens) -> tuple[tf.Tensor, tf.Tensor]:
        too_long = words.word_char_counts > MAX_CHARS_PER_WORD
        return tf.where(too_long, _TOO_LONG_WORD, words.words), too_long

    def _nest(self, texts, pieces: tf.RaggedTensor, words: basic_tokenizer.BasicTokens) -> tf.RaggedTensor:
        batch = tf.shape(texts, out_type=tf.int64)[0]
        return tf.RaggedTensor.from_value_rowids(pieces, words.word_rows, nrows=batch)

    def call(self, texts) -> tf.RaggedTensor:
        """string [batch] → int32 RaggedTensor [batch, (words), (pieces)]."""
        words = self._words(texts)
        wordpiece_input, _ = self._wordpiece_input(words)
        return self._nest(texts, self._wordpiece.tokenize(wordpiece_input), words)

    def tokenize(self, texts) -> tf.RaggedTensor:
        """Same as calling the layer."""
        return self(texts)

    def tokenize_with_offsets(self, texts) -> tuple[tf.RaggedTensor, tf.RaggedTensor, tf.RaggedTensor]:
        """string [batch] → (ids int32, begins int64, ends int64), each [batch, (words), (pieces)].

        Offsets are byte positions in the original string: a piece spans from the first byte of the
        input character its first code point came from to the end of the one its last came from.
        """
        words = self._words(texts)
        wordpiece_input, too_long = self._wordpiece_input(words)
        pieces, local_begins, local_ends = self._wordpiece.tokenize_with_offsets(wordpiece_input)
        piece_words = pieces.value_rowids()
        word_start = tf.gather(words.word_normalized_starts, piece_words)
        starts = words.char_normalized_starts
        def char_at(normalized_position):  # The code point covering a byte of the normalized words.
            return tf.maximum(tf.searchsorted(starts, normalized_position, side="right", out_type=tf.int64) - 1, 0)

        first_char = char_at(word_start + local_begins.flat_values)
        last_char = char_at(word_start + local_ends.flat_values - 1)
        whole_word = tf.gather(too_long, piece_words)  # An over-long word's [UNK] spans the whole word.
        begins = tf.where(whole_word, tf.gather(words.word_begins, piece_words),
                          tf.gather(words.char_begins, first_char))
        ends = tf.where(whole_word, tf.gather(words.word_ends, piece_words), tf.gather(words.char_ends, last_char))
        return tuple(
            self._nest(texts, pieces.with_flat_values(values), words) for values in (pieces.flat_values, begins, ends)
        )

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(vocab_file=self.vocab_file, lower_case=self.lower_case)
        return config
