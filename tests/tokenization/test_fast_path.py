"""BertTokenizer's fast path (TF-Text's FastBertTokenizer on rows where it equals the reference): the routing and its
exactness at the boundaries — word limits in characters vs bytes (100/101/200/201), accents, control characters,
CJK, invalid UTF-8 — against the exact path (itself pinned to the reference by test_tokenizer.py) and the reference;
every character the fast path accepts, in context, for each tokenizer setting; offsets; mixed batches in the graph.
"""
import pytest
import tensorflow as tf

from keras_bert.tokenization import fast_path
from keras_bert.tokenization.tokenizer import BertTokenizer
from support.corpora import ragged_lists, reference_tokenizer

# (lower_case, strip_accents, tokenize_chinese_chars, max_chars_per_word): the reference's casings, then Hugging
# Face's options away from them.
SETTINGS = [(True, None, True, 200), (False, None, True, 200), (True, False, True, 100), (False, True, True, 100),
            (True, True, False, 100)]

# Rows at the routing boundaries, with where each must go for the reference's settings (uncased, 200 characters).
BOUNDARY_ROWS = {
    "x" * 200: True, "x" * 201: True, "y " + "x" * 200 + " z": True, "x" * 199 + "é": True, "é" * 201: True,
    "É" * 200 + " a": True,  # "é" and "É" normalize to ASCII: bytes = characters after normalization.
    "æ" * 100: True, "æ" * 101: False,  # "æ" stays 2 bytes: fast only while the row has ≤ 200 bytes.
    "café, NAÏVE résumé!": True, "a\u00a0b\u3000c": True, "“quoted” ‘x’ — y": True,
    "a\x01b": False, "tab\there\r\nline": True, "a\x7fb": False, "a\u200bb": False, "x\u0301": False,
    "日本語": False, "ΟΔΟΣ": False, "ὀδός": False, "ὀδοί": True, "😀": False, "…": False,
    b"ab\xffc": False, b"caf\xc3": False,
    "[MASK] don't ##ing": True, "": True, " \t ": True,
}


def ids_and_offsets(tokenizer, texts, exact: bool) -> tuple[list, ...]:
    texts = tf.constant(texts)
    if exact:
        return tuple(map(ragged_lists, tokenizer._exact_tokenize_with_offsets(texts)))
    return tuple(map(ragged_lists, tokenizer.tokenize_with_offsets(texts)))


@pytest.fixture(scope="module")
def tokenizers(uncased_vocab):
    return {s: BertTokenizer(uncased_vocab, s[0], strip_accents=s[1], tokenize_chinese_chars=s[2],
                             max_chars_per_word=s[3]) for s in SETTINGS}


def test_boundary_rows_route_as_expected_and_match_reference(tokenizers, uncased_vocab):
    tokenizer = tokenizers[SETTINGS[0]]
    texts = list(BOUNDARY_ROWS)
    assert tokenizer._fast_path.rows(tf.constant(texts)).numpy().tolist() == list(BOUNDARY_ROWS.values())
    oracle = reference_tokenizer(uncased_vocab, True)
    expected = [oracle.convert_tokens_to_ids(oracle.tokenize(t.decode("utf-8", "ignore") if isinstance(t, bytes)
                                                             else t)) for t in texts]
    assert ragged_lists(tokenizer(tf.constant(texts)).merge_dims(1, 2)) == expected
    assert expected[1] == [100] and expected[0] != [100]  # 201 characters: one [UNK]; 200: word pieces.


@pytest.mark.parametrize("settings", SETTINGS, ids=str)
def test_word_limits_in_characters_not_bytes(tokenizers, settings):
    """Words just under, at and over the limit, in 1-byte and 2-byte characters, fast and exact alike."""
    limit = settings[3]
    texts = [unit * n + tail for unit in ("a", "é", "É", "æ", "ß", "д") for n in (limit - 1, limit, limit + 1)
             for tail in ("", " b", ".")]
    tokenizer = tokenizers[settings]
    assert ids_and_offsets(tokenizer, texts, exact=False) == ids_and_offsets(tokenizer, texts, exact=True)
    assert tokenizer._fast_path.rows(tf.constant(["a" * (limit + 1)])).numpy().tolist() == [True]


@pytest.mark.parametrize("settings", SETTINGS, ids=str)
def test_every_fast_character_in_context_matches_exact_path(tokenizers, settings):
    """Each character the fast path accepts inside a word, first in a row, after a space, doubled and before a full
    stop: ids and offsets equal the exact path's; and every such row is routed fast."""
    tokenizer = tokenizers[settings]
    chars = [chr(cp) for cp in sorted(fast_path.fast_characters(*settings[:3]))]
    assert len(chars) > 600
    texts = [template.format(c) for c in chars for template in ("a{}b", "{0} {0}{0}.")]
    assert all(tokenizer._fast_path.rows(tf.constant(texts)).numpy())
    assert ids_and_offsets(tokenizer, texts, exact=False) == ids_and_offsets(tokenizer, texts, exact=True)


def test_characters_tf_text_treats_differently_are_not_fast():
    """Some candidates fail TF-Text's check and so stay on the exact path (the check has teeth)."""
    accepted = fast_path.fast_characters(True, None, True)
    assert ord("é") in accepted and ord("\u00a0") in accepted
    assert ord("…") not in accepted  # TF-Text's normalizer expands it to "...".
    assert ord("ς") not in accepted  # TF-Text's normalizer makes it "σ".
    lower_only = fast_path.fast_characters(True, False, True)
    assert ord("é") not in lower_only  # TF-Text cannot lower-case without stripping accents.


def test_mixed_batches_in_the_graph_keep_row_order(tokenizers):
    tokenizer = tokenizers[SETTINGS[0]]
    texts = list(BOUNDARY_ROWS)
    graph = tf.function(tokenizer.tokenize_with_offsets, input_signature=[tf.TensorSpec([None], tf.string)])
    expected = ids_and_offsets(tokenizer, texts, exact=True)
    for batch in (texts, texts[::-1], [t for t, fast in BOUNDARY_ROWS.items() if fast],
                  [t for t, fast in BOUNDARY_ROWS.items() if not fast], []):
        got = tuple(map(ragged_lists, graph(tf.constant(batch, tf.string))))
        assert got == ids_and_offsets(tokenizer, batch, exact=True) if batch else got == ([], [], [])
    assert tuple(map(ragged_lists, graph(tf.constant(texts)))) == expected


def test_tokenize_pieces_is_tokenize_without_the_word_level(tokenizers):
    tokenizer = tokenizers[SETTINGS[0]]
    graph = tf.function(tokenizer.tokenize_pieces, input_signature=[tf.TensorSpec([None], tf.string)])
    for batch in (list(BOUNDARY_ROWS), [t for t, fast in BOUNDARY_ROWS.items() if fast], [b"\xff", "x"], []):
        expected = ragged_lists(tokenizer._exact_tokenize(tf.constant(batch, tf.string)).merge_dims(1, 2))
        assert ragged_lists(graph(tf.constant(batch, tf.string))) == expected
        assert ragged_lists(tokenizer.tokenize_pieces(tf.constant(batch, tf.string))) == expected
