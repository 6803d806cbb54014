"""`BertTokenizer`'s fast path: TF-Text's fused FastBertTokenizer on the rows where it provably equals the reference.

The reference's BasicTokenizer as TF ops costs several times TF-Text's fused normalize + split + WordPiece op, and
almost all of that is per-character table work that ordinary text does not need. Both pipelines are the same three
steps: normalize each character on its own, split the normalized text into words at whitespace and punctuation,
WordPiece each word (an over-long word is one [UNK]). They can only differ where a character is normalized or
classified differently, or where a rule looks beyond one character. So a row takes the fast path only if every
character is one of `unicode_tables.fast_path_candidates` (no context rule: no final sigma, no mark that NFD
could reorder, no CJK split, nothing dropped) that TF-Text, asked about each when the layer is built, normalizes to
the same text and classifies alike: a separator, a punctuation word, or part of a word.

Word limit: the reference counts a normalized word's characters, TF-Text its bytes (`max_bytes_per_word` is set to
`max_chars_per_word`). Where a row's normalized words are ASCII the two counts are equal. A row with word characters
whose normalized form is not ASCII (e.g. "æ") is fast only if it has at most `max_chars_per_word` bytes: such a
character normalizes to no more bytes than its own, so no word of the row is over the limit in either count.

Every other row (control characters, CJK, unassigned code points, characters above U+FFFF, invalid UTF-8, ...)
takes the exact path. Routing is two RE2 full matches per row, in the graph, run alongside the fast tokenizer.
"""
from __future__ import annotations

import functools

import tensorflow as tf
import tensorflow_text as tf_text

from keras_bert.tokenization import unicode_tables as ut


def _char_class(code_points) -> str:
    """An RE2 character class matching exactly `code_points` (merged into ranges)."""
    ranges = []
    for cp in sorted(code_points):
        if ranges and ranges[-1][1] == cp - 1:
            ranges[-1][1] = cp
        else:
            ranges.append([cp, cp])
    return "[" + "".join(f"\\x{{{a:x}}}" if a == b else f"\\x{{{a:x}}}-\\x{{{b:x}}}" for a, b in ranges) + "]"


@functools.lru_cache(maxsize=8)
def fast_characters(lower_case: bool, strip_accents: bool | None,
                    tokenize_chinese_chars: bool) -> dict[int, tuple[str, str]]:
    """The `unicode_tables.fast_path_candidates` that TF-Text normalizes to the same text and splits alike, for these
    tokenizer settings: code point → (class, normalized form). Cached; do not modify.
    """
    candidates = ut.fast_path_candidates(ut.build_char_tables(lower_case, strip_accents, tokenize_chinese_chars))
    code_points = sorted(candidates)
    with tf.init_scope():
        chars = tf.constant([chr(cp).encode("utf-8") for cp in code_points])
        normalized = tf_text.FastBertNormalizer(lower_case_nfd_strip_accents=lower_case).normalize(chars).numpy()
        # Every probed word is one [UNK] (the vocabulary needs a token, which no probe is): pieces count words.
        counter = tf_text.FastBertTokenizer(["[UNK]", "qqqqqqqq"], lower_case_nfd_strip_accents=lower_case)
        words = counter.tokenize(tf.strings.join(["a", chars, "b"])).row_lengths().numpy()
        alone = counter.tokenize(chars).row_lengths().numpy()
    expected_words = {ut.SPACE_CLASS: (2, 0), ut.PUNCT_CLASS: (3, 1)}  # Else part of a word: (1, 1).
    agreeing = {}
    for cp, theirs, count, count_alone in zip(code_points, normalized, words, alone):
        kind, ours = candidates[cp]
        if (count, count_alone) == expected_words.get(kind, (1, 1)) and (
                kind == ut.SPACE_CLASS or theirs == ours.encode("utf-8")):
            agreeing[cp] = candidates[cp]
    return agreeing


class FastPath:
    """TF-Text's FastBertTokenizer and the rule that says which rows it may tokenize (see the module docstring).

    Args:
        vocab: the vocabulary as FastWordpieceTokenizer should see it (`tokenizer._matchable_vocab`).
        lower_case, strip_accents, tokenize_chinese_chars, max_chars_per_word: the `BertTokenizer`'s settings.
    """

    def __init__(self, vocab: list[str], lower_case: bool, strip_accents: bool | None, tokenize_chinese_chars: bool,
                 max_chars_per_word: int):
        agreeing = fast_characters(lower_case, strip_accents, tokenize_chinese_chars)
        # Characters that never make a word longer than the limit in TF-Text's bytes: separators, punctuation (a
        # word of its own, within the limit unless the limit is under its bytes) and ASCII letters and digits.
        any_length = [cp for cp, (kind, normalized) in agreeing.items() if kind == ut.ASCII_WORD_CLASS
                      or kind == ut.SPACE_CLASS
                      or (kind == ut.PUNCT_CLASS and len(normalized.encode("utf-8")) <= max_chars_per_word)]
        self.any_length_pattern = _char_class(any_length) + "*"
        self.pattern = _char_class(agreeing) + "*"
        self.max_chars_per_word = max_chars_per_word
        with tf.init_scope():  # Built once, eagerly; the graph captures the models as constants.
            # TF-Text lower-cases, decomposes and strips accents together or not at all; a character on which that
            # differs from the tokenizer's settings has failed `fast_characters`.
            self._tokenizer = tf_text.FastBertTokenizer(
                vocab, suffix_indicator="##", max_bytes_per_word=max_chars_per_word, token_out_type=tf.int32,
                unknown_token="[UNK]", lower_case_nfd_strip_accents=lower_case)
            # A piece starts a word unless it is a suffix piece: words hold no punctuation, so never "##".
            self._starts_word = tf.constant([not token.startswith("##") for token in vocab])

    @tf.autograph.experimental.do_not_convert
    def rows(self, texts: tf.Tensor) -> tf.Tensor:
        """Which rows the fast path tokenizes: string [batch] → bool [batch]."""
        any_length = tf.strings.regex_full_match(texts, self.any_length_pattern)

        def short_or_any_length():
            short = tf.strings.length(texts) <= self.max_chars_per_word
            return any_length | (short & tf.strings.regex_full_match(texts, self.pattern))

        # The second match (a much larger character class) only where some row needs it.
        return tf.cond(tf.reduce_all(any_length), lambda: any_length, short_or_any_length)

    def _nest(self, pieces: tf.RaggedTensor, *values: tf.RaggedTensor) -> tuple[tf.RaggedTensor, ...]:
        """[batch, (pieces)] tensors (alike in shape) → [batch, (words), (pieces)], words starting at non-suffix ids."""
        word_starts = tf.where(tf.gather(self._starts_word, pieces.flat_values))[:, 0]
        word_splits = tf.searchsorted(word_starts, pieces.row_splits, out_type=tf.int64)  # Words before each row.
        return tuple(
            tf.RaggedTensor.from_row_splits(
                tf.RaggedTensor.from_row_starts(v.flat_values, word_starts, validate=False), word_splits,
                validate=False)
            for v in (pieces, *values))

    @tf.autograph.experimental.do_not_convert
    def tokenize_pieces(self, texts: tf.Tensor) -> tf.RaggedTensor:
        """string [batch] of fast rows → int32 [batch, (pieces)]."""
        return self._tokenizer.tokenize(texts)

    @tf.autograph.experimental.do_not_convert
    def tokenize(self, texts: tf.Tensor) -> tf.RaggedTensor:
        """string [batch] of fast rows → int32 [batch, (words), (pieces)]."""
        return self._nest(self._tokenizer.tokenize(texts))[0]

    @tf.autograph.experimental.do_not_convert
    def tokenize_with_offsets(self, texts: tf.Tensor) -> tuple[tf.RaggedTensor, tf.RaggedTensor, tf.RaggedTensor]:
        """string [batch] of fast rows → (ids int32, begins int64, ends int64), each [batch, (words), (pieces)].

        On fast rows nothing is dropped and each character normalizes on its own, so TF-Text's offsets (the source
        byte of a piece's first normalized byte; the source byte after its last) are the exact path's.
        """
        return self._nest(*self._tokenizer.tokenize_with_offsets(texts))


@tf.autograph.experimental.do_not_convert  # No Python control flow on tensors: skip autograph's tracing cost.
def route(texts: tf.Tensor, fast: tf.Tensor, fast_fn, exact_fn) -> tuple[tf.RaggedTensor, ...]:
    """`fast_fn`'s result on the rows where `fast` is True, `exact_fn`'s on the others, in row order.

    `fast_fn` runs on every row, speculatively: it needs nothing from the routing, so the two run side by side
    (TF-Text's op takes any string; the rows it would get wrong are simply not taken from it). `exact_fn` runs only
    when a batch has some row for it, which ordinary text rarely has.

    Args:
        texts: string [batch]; fast: bool [batch].
        fast_fn, exact_fn: string [n] → a tuple of RaggedTensors [n, ...], alike in structure.
    """
    speculative = fast_fn(texts)

    def mixed():
        exact = tf.logical_not(fast)
        # Row i is row i of the fast results, or row n + (its rank among the exact rows) of [fast; exact] results.
        rank = tf.cumsum(tf.cast(exact, tf.int64), exclusive=True)
        order = tf.where(fast, tf.range(tf.size(fast, out_type=tf.int64)), tf.size(fast, out_type=tf.int64) + rank)
        parts = zip(speculative, exact_fn(tf.gather(texts, tf.where(exact)[:, 0])))
        return tuple(tf.gather(tf.concat([f, e], axis=0), order) for f, e in parts)

    return tf.cond(tf.reduce_all(fast), lambda: speculative, mixed)
