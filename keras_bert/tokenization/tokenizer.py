"""`BertTokenizer`: strings → WordPiece ids as a Keras 3 layer on TF-Text ops, id-for-id equal to google-research/bert.

Defined behaviour on bad input: bytes that are not valid UTF-8 are dropped, exactly as the
reference's `bytes.decode("utf-8", "ignore")` drops them (a truncated sequence, a stray continuation
byte, an overlong form or an encoded surrogate disappears; the valid text around it stays); an empty,
all-whitespace or all-control-character string has no words. A word of more than 200 characters (after
normalization) becomes one `[UNK]`, as in google-research/bert. The literal text `[MASK]` (or `[CLS]`,
...) is not special: it splits into `[`, `mask`, `]`.

Hugging Face's BERT tokenizer options are arguments with defaults that keep the reference's behaviour:
`strip_accents` (None: strip when lower-casing; False: lower-case only, no NFD; True: NFD and strip Mn also
without lower-casing), `tokenize_chinese_chars` (False: CJK ideographs stay inside words) and
`max_chars_per_word` (Hugging Face's is 100). `tokenization.huggingface` reads them from a model folder.

Character rules are tabulated from the running Python's `unicodedata` (3.11: Unicode 14.0), so the
ids equal the reference run on the same Python.

Speed: a row whose every character TF-Text normalizes and splits as the reference does (checked per character when
the layer is built: ASCII, accented and most other letters, punctuation and spaces below U+10000) goes through
TF-Text's fused FastBertTokenizer, which gives the reference's ids there (`fast_path`); every other row takes the
exact path (the reference BasicTokenizer as TF ops, then FastWordpieceTokenizer). Both are in the graph, and
`tokenize_pieces` skips the word level for callers that only pack.
"""
from __future__ import annotations

import numbers
import os

import keras
import tensorflow as tf
import tensorflow_text as tf_text

from keras_bert.tokenization import basic_tokenizer, fast_path, unicode_tables
from keras_bert.tokenization.vocab import load_vocab

# google-research/bert's WordpieceTokenizer.max_input_chars_per_word; also the largest limit allowed, since exports
# bound the bytes of a word by it (`keras_bert.export.export_module.MAX_CHUNK_BYTES`).
MAX_CHARS_PER_WORD = 200


def _matchable_vocab(tokens: list[str]) -> list[str]:
    """The vocabulary as FastWordpieceTokenizer should see it, ids unchanged.

    The reference can never emit "" or a bare "##" (e.g. lines holding only U+2028 in Google's Chinese
    vocabulary). Such entries are replaced by placeholders that no word can match, since they contain
    punctuation. (`load_vocab` refuses any other token on two lines.)
    """
    return [token if token not in ("", "##") else f"[keras_bert unreachable {i}]" for i, token in enumerate(tokens)]


def check_max_chars_per_word(value) -> int:
    """`value` as an int in 1..MAX_CHARS_PER_WORD; anything else is a ValueError naming `max_chars_per_word`."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not 1 <= value <= MAX_CHARS_PER_WORD:
        raise ValueError(f"max_chars_per_word must be an int from 1 to {MAX_CHARS_PER_WORD}, got {value!r}")
    return int(value)


class BertTokenizer(keras.layers.Layer):
    """Strings → WordPiece ids, exactly as google-research/bert's FullTokenizer.

    Call: string [batch] → int32 RaggedTensor [batch, (words), (pieces)].

    Args:
        vocab_file: path of the vocabulary (one token per line).
        lower_case: the reference's `do_lower_case` (str.lower, NFD, strip Mn).
        strip_accents: NFD and strip Mn; None (default) follows `lower_case`, as the reference and Hugging Face.
        tokenize_chinese_chars: CJK ideographs are words of their own (default True, as the reference).
        max_chars_per_word: a longer word (after normalization) is one [UNK]; 1 to 200, default 200 as the
            reference (Hugging Face's tokenizers use 100).

    Example:
    >>> tokenizer = BertTokenizer("../shared/data/vocab/uncased_vocab.txt", lower_case=True)
    >>> tokenizer(tf.constant(["Hello, tokenizers!"])).to_list()
    [[[7592], [1010], [19204, 17629, 2015], [999]]]
    """

    def __init__(self, vocab_file: str | os.PathLike, lower_case: bool, strip_accents: bool | None = None,
                 tokenize_chinese_chars: bool = True, max_chars_per_word: int = MAX_CHARS_PER_WORD, **kwargs):
        super().__init__(**kwargs)
        self._convert_input_args = False
        self._allow_non_tensor_positional_args = True
        self.vocab_file = str(vocab_file)
        self.lower_case = bool(lower_case)
        self.strip_accents = None if strip_accents is None else bool(strip_accents)
        self.tokenize_chinese_chars = bool(tokenize_chinese_chars)
        self.max_chars_per_word = check_max_chars_per_word(max_chars_per_word)
        self.vocab = load_vocab(vocab_file)
        self._char_tables = basic_tokenizer.TableTensors(unicode_tables.build_char_tables(
            self.lower_case, self.strip_accents, self.tokenize_chinese_chars))
        self._fast_path = fast_path.FastPath(_matchable_vocab(self.vocab), self.lower_case, self.strip_accents,
                                             self.tokenize_chinese_chars, self.max_chars_per_word)
        max_bytes_per_word = 4 * self.max_chars_per_word  # TF-Text counts bytes; no word within the limit exceeds it.
        self._too_long_word = "x" * (max_bytes_per_word + 1)  # Stands in for a word over the limit: becomes [UNK].
        self._wordpiece = tf_text.FastWordpieceTokenizer(
            _matchable_vocab(self.vocab),
            suffix_indicator="##",
            max_bytes_per_word=max_bytes_per_word,
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

    @staticmethod
    def _texts(texts) -> tf.Tensor:
        texts = tf.convert_to_tensor(texts, tf.string)
        if texts.shape.rank != 1:
            raise ValueError(f"BertTokenizer expects strings of shape [batch], got shape {texts.shape}")
        return texts

    def _words(self, texts) -> basic_tokenizer.BasicTokens:
        return basic_tokenizer.basic_tokenize(self._texts(texts), self._char_tables)

    def _wordpiece_input(self, words: basic_tokenizer.BasicTokens) -> tuple[tf.Tensor, tf.Tensor]:
        too_long = words.word_char_counts > self.max_chars_per_word
        return tf.where(too_long, self._too_long_word, words.words), too_long

    def _nest(self, texts, pieces: tf.RaggedTensor, words: basic_tokenizer.BasicTokens) -> tf.RaggedTensor:
        batch = tf.shape(texts, out_type=tf.int64)[0]
        return tf.RaggedTensor.from_value_rowids(pieces, words.word_rows, nrows=batch)

    def call(self, texts) -> tf.RaggedTensor:
        """string [batch] → int32 RaggedTensor [batch, (words), (pieces)]."""
        texts = self._texts(texts)
        return fast_path.route(texts, self._fast_path.rows(texts), lambda t: (self._fast_path.tokenize(t),),
                               lambda t: (self._exact_tokenize(t),))[0]

    def _exact_tokenize(self, texts) -> tf.RaggedTensor:
        words = self._words(texts)
        wordpiece_input, _ = self._wordpiece_input(words)
        return self._nest(texts, self._wordpiece.tokenize(wordpiece_input), words)

    def tokenize(self, texts) -> tf.RaggedTensor:
        """Same as calling the layer."""
        return self(texts)

    def tokenize_pieces(self, texts) -> tf.RaggedTensor:
        """string [batch] → int32 RaggedTensor [batch, (pieces)]: `tokenize(texts).merge_dims(1, 2)`, faster where
        the word level is not needed (packing), since the fast path then skips finding word starts."""
        texts = self._texts(texts)
        return fast_path.route(texts, self._fast_path.rows(texts), lambda t: (self._fast_path.tokenize_pieces(t),),
                               lambda t: (self._exact_tokenize(t).merge_dims(1, 2),))[0]

    def tokenize_with_offsets(self, texts) -> tuple[tf.RaggedTensor, tf.RaggedTensor, tf.RaggedTensor]:
        """string [batch] → (ids int32, begins int64, ends int64), each [batch, (words), (pieces)].

        Offsets are byte positions in the original string: a piece spans from the first byte of the
        input character its first code point came from to the end of the one its last came from.
        """
        texts = self._texts(texts)
        return fast_path.route(texts, self._fast_path.rows(texts), self._fast_path.tokenize_with_offsets,
                               self._exact_tokenize_with_offsets)

    def _exact_tokenize_with_offsets(self, texts) -> tuple[tf.RaggedTensor, tf.RaggedTensor, tf.RaggedTensor]:
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
        config.update(vocab_file=self.vocab_file, lower_case=self.lower_case, strip_accents=self.strip_accents,
                      tokenize_chinese_chars=self.tokenize_chinese_chars, max_chars_per_word=self.max_chars_per_word)
        return config
