"""The reference BasicTokenizer (clean, CJK split, lower/NFD/strip marks, punctuation split) as TF ops.

Which of lower-casing, accent stripping and the CJK split run is decided when the tables are built
(`unicode_tables.build_char_tables`, with Hugging Face's `strip_accents` and `tokenize_chinese_chars`).

Input strings are decoded as UTF-8 with invalid bytes dropped (`errors="ignore"`, like the
reference's `convert_to_unicode`). Every surviving code point keeps the byte span of the input
character it came from, so word pieces can be mapped back to byte offsets of the original string.
All per-character decisions come from `unicode_tables.build_char_tables` (Python's own tables).
"""
from __future__ import annotations

import typing

import tensorflow as tf

from keras_bert.tokenization import unicode_tables as ut


class BasicTokens(typing.NamedTuple):
    """Words of a batch, flat. W words, C code points (in word order, spaces removed).

    words: string [W], UTF-8 of the normalized word.
    word_rows: int64 [W], the batch row of each word.
    word_char_counts: int64 [W], code points per normalized word.
    word_begins, word_ends: int64 [W], byte span of the word in the original string.
    char_begins, char_ends: int64 [C], byte span of each code point's source character.
    char_normalized_starts: int64 [C], byte position of each code point in the concatenation of
        all normalized words; word_normalized_starts: int64 [W], the same for each word's start.
    """

    words: tf.Tensor
    word_rows: tf.Tensor
    word_char_counts: tf.Tensor
    word_begins: tf.Tensor
    word_ends: tf.Tensor
    char_begins: tf.Tensor
    char_ends: tf.Tensor
    char_normalized_starts: tf.Tensor
    word_normalized_starts: tf.Tensor


def utf8_lengths(code_points: tf.Tensor) -> tf.Tensor:
    """Bytes of each code point in UTF-8: int32 [N] → int64 [N]."""
    cps = tf.cast(code_points, tf.int64)
    return 1 + tf.cast(cps >= 0x80, tf.int64) + tf.cast(cps >= 0x800, tf.int64) + tf.cast(cps >= 0x10000, tf.int64)


def _shift_right(values: tf.Tensor, first) -> tf.Tensor:
    """values[i - 1] at position i, `first` at position 0: [N] → [N]."""
    return tf.concat([tf.fill([1], tf.constant(first, values.dtype)), values[:-1]], axis=0)


def row_ids(row_splits: tf.Tensor, size) -> tf.Tensor:
    """The row of each of `size` values from int64 row splits [R + 1] → int64 [size].

    Same as `RaggedTensor.value_rowids()`, by counting row starts with a segment sum and a cumsum
    (linear, and cheaper than the `tf.repeat` that ragged uses).
    """
    starts = tf.math.unsorted_segment_sum(tf.ones_like(row_splits[1:-1]), row_splits[1:-1], size + 1)
    return tf.cumsum(starts)[:size]


def _keep(mask: tf.Tensor, *values: tf.Tensor) -> tuple[tf.Tensor, ...]:
    """`tf.boolean_mask` of several [N] tensors by one bool [N] mask, finding the kept positions once."""
    kept = tf.where(mask)[:, 0]
    return tuple(tf.gather(v, kept) for v in values)


class TableTensors:
    """The char tables as tensors. Built once outside any graph (`tf.init_scope`), they are captured by
    every function that tokenizes, so a SavedModel stores them once rather than once per signature."""

    def __init__(self, tables: ut.CharTables):
        with tf.init_scope():
            self._create(tables)

    def _create(self, tables: ut.CharTables) -> None:
        self.lower_case = tables.lower_case
        self.strip_accents = tables.strip_accents
        self.run_starts = tf.constant(tables.run_starts)
        self.bmp_runs = tf.constant(tables.bmp_runs)
        self.run_props = tf.constant(tables.run_props)
        self.run_expansion = tf.constant(tables.run_expansion)
        self.expansion_values = tf.constant(tables.expansion_values)
        self.expansion_splits = tf.constant(tables.expansion_splits)
        self.expansion_props = tf.constant(tables.expansion_props)

    def runs(self, code_points: tf.Tensor) -> tf.Tensor:
        """Run index of each code point: int32 [N] → int32 [N]. A gather below U+10000, else a binary search."""
        bmp = tf.cast(tf.gather(self.bmp_runs, tf.minimum(code_points, ut.BMP_SIZE - 1)), tf.int32)
        astral = tf.where(code_points >= ut.BMP_SIZE)
        astral_runs = tf.searchsorted(self.run_starts, tf.gather_nd(code_points, astral), side="right",
                                      out_type=tf.int32) - 1
        return tf.tensor_scatter_nd_update(bmp, astral, astral_runs)


def _final_sigma(cps: tf.Tensor, rows: tf.Tensor, props: tf.Tensor) -> tf.Tensor:
    """Python's `str.lower` Final_Sigma context: which capital sigmas become U+03C2. → bool [N].

    Final when the nearest non-case-ignorable character before it (in the same word) is cased and
    the nearest after it is absent or not cased. Spaces and CJK characters are neither, so they end
    the context exactly as the reference's word split does.
    """
    count = tf.size(cps, out_type=tf.int64)
    not_ignorable = tf.equal(props & ut.CASE_IGNORABLE, 0)
    cased = tf.concat([tf.not_equal(props & ut.CASED, 0), [False]], axis=0)
    rows_ext = tf.concat([rows, [-1]], axis=0)
    positions = tf.concat([tf.where(not_ignorable)[:, 0], [count]], axis=0)
    seen_through = tf.cumsum(tf.cast(not_ignorable, tf.int64))
    seen_before = seen_through - tf.cast(not_ignorable, tf.int64)
    previous = tf.gather(positions, tf.maximum(seen_before - 1, 0))
    following = tf.gather(positions, seen_through)
    previous_cased = (seen_before > 0) & tf.equal(tf.gather(rows_ext, previous), rows) & tf.gather(cased, previous)
    following_cased = tf.equal(tf.gather(rows_ext, following), rows) & tf.gather(cased, following)
    return tf.equal(cps, ut.CAPITAL_SIGMA) & previous_cased & ~following_cased


def _expand(cps: tf.Tensor, props: tf.Tensor, expansion: tf.Tensor,
            tables: TableTensors) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """Replaces each code point by its `NFD(lower(c))` row (-1: itself).

    cps, props: int32 [N]; expansion: int32 [N] → (code points int32 [M], their props int32 [M],
    source position int64 [M]).
    """
    splits = tables.expansion_splits
    safe = tf.maximum(expansion, 0)
    lengths = tf.where(expansion >= 0, tf.gather(splits, safe + 1) - tf.gather(splits, safe), 1)
    first_out = tf.cumsum(lengths, exclusive=True)
    source = row_ids(tf.concat([first_out, tf.reduce_sum(lengths, keepdims=True)], 0), tf.reduce_sum(lengths))
    within = tf.range(tf.size(source, out_type=tf.int64)) - tf.gather(first_out, source)
    source_expansion = tf.gather(expansion, source)
    value_index = tf.gather(splits, tf.maximum(source_expansion, 0)) + within
    value_index = tf.minimum(value_index, tf.size(tables.expansion_values, tf.int64) - 1)
    expanded = source_expansion >= 0
    return (tf.where(expanded, tf.gather(tables.expansion_values, value_index), tf.gather(cps, source)),
            tf.where(expanded, tf.gather(tables.expansion_props, value_index), tf.gather(props, source)),
            source)


def _canonical_order(ccc: tf.Tensor, starts_row: tf.Tensor, *values: tf.Tensor) -> tuple[tf.Tensor, ...]:
    """NFD's canonical reordering: a stable sort of each run of non-starters by combining class.

    ccc: int32 [M]; starts_row: bool [M]; values: [M] tensors, returned reordered (unchanged unless
    some run is out of order, which is rare).
    """
    starter = tf.equal(ccc, 0) | starts_row
    out_of_order = (ccc[1:] < ccc[:-1]) & ~starter[1:]

    def sort_runs():
        group = tf.cumsum(tf.cast(starter, tf.int64))
        order = tf.argsort(group * 256 + tf.cast(ccc, tf.int64), stable=True)
        return tuple(tf.gather(v, order) for v in values)

    return tf.cond(tf.reduce_any(out_of_order), sort_runs, lambda: tuple(tf.identity(v) for v in values))


def basic_tokenize(texts: tf.Tensor, tables: ut.CharTables | TableTensors) -> BasicTokens:
    """The reference BasicTokenizer on a batch: string [B] → `BasicTokens`.

    `tables` from `unicode_tables.build_char_tables(...)`, or those as `TableTensors`; they say whether to
    lower-case and strip accents.
    """
    t = tables if isinstance(tables, TableTensors) else TableTensors(tables)
    decoded, char_starts = tf.strings.unicode_decode_with_offsets(texts, "UTF-8", errors="ignore")
    cps = decoded.flat_values
    rows = row_ids(decoded.row_splits, tf.size(cps, out_type=tf.int64))
    begins = char_starts.flat_values
    ends = begins + utf8_lengths(cps)
    runs = t.runs(cps)
    props = tf.gather(t.run_props, runs)
    kept = tf.equal(props & ut.DROP, 0)
    cps, rows, begins, ends, runs, props = _keep(kept, cps, rows, begins, ends, runs, props)
    source_props = props
    if t.lower_case or t.strip_accents:
        expansion = tf.gather(t.run_expansion, runs)
        if t.lower_case:
            final = tf.cond(tf.reduce_any(tf.equal(cps, ut.CAPITAL_SIGMA)),  # Rare: skip the context scan.
                            lambda: _final_sigma(cps, rows, props), lambda: tf.zeros_like(cps, tf.bool))
            cps = tf.where(final, ut.SMALL_FINAL_SIGMA, cps)  # Same property bits as the capital it replaces.
            expansion = tf.where(final, -1, expansion)
        cps, props, source = _expand(cps, props, expansion, t)
        if t.strip_accents:
            ccc = tf.bitwise.right_shift(props, ut.CCC_SHIFT) & 255
            source_rows = tf.gather(rows, source)
            new_row = tf.not_equal(source_rows, _shift_right(source_rows, -1))
            cps, source, props = _canonical_order(ccc, new_row, cps, source, props)
            cps, source, props = _keep(tf.equal(props & ut.MARK, 0), cps, source, props)
        rows, begins, ends, source_props = (tf.gather(x, source) for x in (rows, begins, ends, source_props))
    else:
        source = tf.range(tf.size(cps, out_type=tf.int64))
    return _split_words(cps, source, props, source_props, rows, begins, ends)


def _split_words(cps, source, props, source_props, rows, begins, ends) -> BasicTokens:
    """Splits normalized code points into words at spaces, punctuation and CJK source characters."""
    space = tf.not_equal(props & ut.SPACE, 0)
    punct = tf.not_equal(props & ut.PUNCT, 0)
    cjk = tf.not_equal(source_props & ut.CJK, 0)
    new_source = tf.not_equal(source, _shift_right(source, -1))
    starts_word = (
        tf.not_equal(rows, _shift_right(rows, -1))
        | _shift_right(space, True)
        | punct
        | _shift_right(punct, True)
        | (new_source & (cjk | _shift_right(cjk, True)))
    )
    in_word = ~space
    cps, rows, begins, ends, starts_word = _keep(in_word, cps, rows, begins, ends, starts_word)
    word_ids = tf.cumsum(tf.cast(starts_word, tf.int64)) - 1
    word_count = tf.reduce_sum(tf.cast(starts_word, tf.int64))
    chars = tf.RaggedTensor.from_value_rowids(cps, word_ids, nrows=word_count)
    char_normalized_starts = tf.cumsum(utf8_lengths(cps), exclusive=True)
    word_rows, word_normalized_starts = _keep(starts_word, rows, char_normalized_starts)
    return BasicTokens(
        words=tf.strings.unicode_encode(chars, "UTF-8"),
        word_rows=word_rows,
        word_char_counts=chars.row_lengths(),
        word_begins=tf.math.unsorted_segment_min(begins, word_ids, word_count),
        word_ends=tf.math.unsorted_segment_max(ends, word_ids, word_count),
        char_begins=begins,
        char_ends=ends,
        char_normalized_starts=char_normalized_starts,
        word_normalized_starts=word_normalized_starts,
    )
