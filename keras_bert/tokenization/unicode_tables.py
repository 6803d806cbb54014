"""The reference BasicTokenizer's character rules, tabulated per code point for TF ops.

google-research/bert decides everything from Python's `unicodedata` (Unicode 14.0 on Python 3.11):
which characters are dropped, which are whitespace, punctuation or CJK, and how uncased text is
lower-cased (`str.lower`, not case folding), decomposed (NFD) and stripped of marks (Mn). Hugging Face's
options choose which of those steps run (`strip_accents`: NFD + strip Mn with or without lower-casing;
`tokenize_chinese_chars`: whether CJK characters are words of their own); the rules stay Python's. Instead of
re-deriving these rules from ICU or RE2 (whose Unicode tables lag Python's), we tabulate Python's own
answers once per process and look them up in the graph (a gather, or `tf.searchsorted` above U+FFFF).
The tables become graph constants, so an exported SavedModel carries them and needs no Python at
serving time.

Layout: code points are grouped into runs of equal properties. `run_starts` (int32 [R], sorted,
starting at 0) are the first code points of the runs; `run_props` (int32 [R]) hold the property bits
below plus the canonical combining class in bits 8..15; `run_expansion` (int32 [R]) is -1 where a
character maps to itself, else a row of the ragged `expansion_values`/`expansion_splits` holding the
code points of the character's normalized form (`NFD(char.lower())` by default; `char.lower()` without accent
stripping, `NFD(char)` with it but without lower-casing), and `expansion_props` (int32 [V]) the
property bits of each of those code points. `bmp_runs` (int16 [65536]) is the run of
every code point below U+10000, so the common case is one gather instead of a binary search.
"""
from __future__ import annotations

import dataclasses
import functools
import unicodedata

import numpy as np

# Property bits of `run_props`.
DROP = 1  # NUL, U+FFFD, Cc/Cf other than \t \n \r: removed before anything else.
SPACE = 2  # Separates words: the reference's \t \n \r, Zs, and anything `str.split()` splits on.
CJK = 4  # The reference's CJK ideograph ranges: one word per character.
PUNCT = 8  # ASCII 33-47, 58-64, 91-96, 123-126 and every Unicode P* category: one word each.
MARK = 16  # Category Mn: removed after NFD when lower-casing.
CASED = 32  # Unicode "Cased" as Python's `str.lower` sees it (Greek final sigma context).
CASE_IGNORABLE = 64  # Unicode "Case_Ignorable" as Python's `str.lower` sees it.
CCC_SHIFT = 8  # Canonical combining class, 0..254, for NFD's canonical reordering.

CAPITAL_SIGMA = 0x3A3
SMALL_FINAL_SIGMA = 0x3C2
MAX_CODE_POINT = 0x10FFFF
BMP_SIZE = 0x10000  # Code points below U+10000 (the Basic Multilingual Plane).

_CJK_RANGES = (
    (0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F),
    (0x2B740, 0x2B81F), (0x2B820, 0x2CEAF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F),
)  # The reference's `_is_chinese_char`, verbatim.


@dataclasses.dataclass(frozen=True)
class CharTables:
    """Run-length tables of the reference's per-character rules (see the module docstring)."""

    lower_case: bool
    strip_accents: bool
    run_starts: np.ndarray
    bmp_runs: np.ndarray
    run_props: np.ndarray
    run_expansion: np.ndarray
    expansion_values: np.ndarray
    expansion_splits: np.ndarray
    expansion_props: np.ndarray


def _is_reference_punctuation(cp: int, category: str) -> bool:
    return 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126 or category[0] == "P"


def _lowers_to_final_sigma(text: str) -> bool:
    return text.lower()[-1] == chr(SMALL_FINAL_SIGMA)


def _case_context_bits(char: str) -> int:
    """Probes Python's `str.lower` for the Cased / Case_Ignorable properties it uses.

    `unicodedata` does not expose them; Python's Final_Sigma rule does, through three probes:
    "A" + c + "Σ" is final iff c is ignorable or cased; c + "Σ" iff c is cased and not ignorable;
    "AΣ" + c iff c is ignorable or not cased.
    """
    sigma = chr(CAPITAL_SIGMA)
    ignorable_or_cased = _lowers_to_final_sigma("A" + char + sigma)
    cased_not_ignorable = _lowers_to_final_sigma(char + sigma)
    ignorable_or_uncased = ("A" + sigma + char).lower()[1] == chr(SMALL_FINAL_SIGMA)
    if ignorable_or_cased and ignorable_or_uncased and not cased_not_ignorable:
        return CASE_IGNORABLE
    return CASED if cased_not_ignorable else 0


def resolve_strip_accents(lower_case: bool, strip_accents: bool | None) -> bool:
    """Whether NFD + strip Mn runs: `strip_accents`, or when None, `lower_case` (the reference and Hugging Face)."""
    return bool(lower_case) if strip_accents is None else bool(strip_accents)


def _normalize(char: str, lower_case: bool, strip_accents: bool) -> str:
    """The per-character normalization before marks are dropped: lower-case, then NFD when stripping accents."""
    text = char.lower() if lower_case else char
    return unicodedata.normalize("NFD", text) if strip_accents else text


@functools.lru_cache(maxsize=8)
def build_char_tables(lower_case: bool, strip_accents: bool | None = None,
                      tokenize_chinese_chars: bool = True) -> CharTables:
    """Tabulates the character rules from this Python's `unicodedata` (~1-2 s, cached).

    Args:
      lower_case: `str.lower` each word (the reference's `do_lower_case`).
      strip_accents: NFD and drop category Mn; None follows `lower_case` (the reference's behaviour).
      tokenize_chinese_chars: the reference's CJK ideographs are words of their own; False keeps them in words.
    """
    strip = resolve_strip_accents(lower_case, strip_accents)
    props = np.zeros(MAX_CODE_POINT + 1, np.int32)
    expansion = np.full(MAX_CODE_POINT + 1, -1, np.int32)
    expansion_values: list[int] = []
    expansion_splits = [0]
    if tokenize_chinese_chars:
        for low, high in _CJK_RANGES:
            props[low:high + 1] |= CJK
    for cp in range(MAX_CODE_POINT + 1):
        char = chr(cp)
        category = unicodedata.category(char)
        if category in ("Cn", "Co", "Cs"):
            continue  # Unassigned, private use, surrogates: no rule applies to them.
        bits = 0
        if cp in (0, 0xFFFD) or (category in ("Cc", "Cf") and char not in "\t\n\r"):
            bits |= DROP
        elif char.isspace() or category == "Zs":
            bits |= SPACE
        if _is_reference_punctuation(cp, category):
            bits |= PUNCT
        if strip:
            if category == "Mn":
                bits |= MARK
            bits |= unicodedata.combining(char) << CCC_SHIFT
        if lower_case and not bits & (SPACE | DROP) and not props[cp] & CJK:
            bits |= _case_context_bits(char)  # Words end at spaces and CJK characters.
        normalized = _normalize(char, lower_case, strip)
        if normalized != char:
            expansion[cp] = len(expansion_splits) - 1
            expansion_values.extend(ord(c) for c in normalized)
            expansion_splits.append(len(expansion_values))
        props[cp] |= bits
    changes = np.flatnonzero((np.diff(props) != 0) | (np.diff(expansion) != 0)) + 1
    run_starts = np.concatenate([[0], changes]).astype(np.int32)
    bmp = np.arange(BMP_SIZE)
    expansion_values = np.asarray(expansion_values, np.int32)
    return CharTables(
        lower_case=bool(lower_case),
        strip_accents=strip,
        run_starts=run_starts,
        bmp_runs=(np.searchsorted(run_starts, bmp, side="right") - 1).astype(np.int16),
        run_props=props[run_starts],
        run_expansion=expansion[run_starts],
        expansion_values=expansion_values,
        expansion_splits=np.asarray(expansion_splits, np.int64),
        expansion_props=props[expansion_values],
    )


# Classes of `fast_path_candidates`: how a character acts in the reference's BasicTokenizer.
SPACE_CLASS = "space"  # Separates words.
PUNCT_CLASS = "punct"  # A word of its own: its normalized form, a punctuation character.
WORD_CLASS = "word"  # Part of a word: its normalized form, no punctuation or space, no more bytes than its own.
ASCII_WORD_CLASS = "ascii_word"  # The same, normalized to ASCII letters and digits only.


def fast_path_candidates(tables: CharTables) -> dict[int, tuple[str, str]]:
    """Characters below U+10000 that the reference's BasicTokenizer handles on their own, as code point → (class,
    normalized form): the candidates `fast_path` asks TF-Text about.

    Each normalizes to exactly one character (so a word piece's offsets are those of whole source characters) of
    combining class 0 (so no NFD, ours or TF-Text's, can reorder it); a word character's normalized form has no more
    bytes than its own.
    Left out: dropped (control, format) and CJK characters, unassigned and private-use code points, capital sigma
    (its lower case depends on the next character), marks that are stripped, and anything expanding.
    """
    candidates = {}
    for cp in range(0x9, BMP_SIZE):
        run = tables.bmp_runs[cp]
        props = int(tables.run_props[run])
        if props & (DROP | CJK) or cp == CAPITAL_SIGMA or unicodedata.category(chr(cp)) in ("Cn", "Co", "Cs"):
            continue
        if props & SPACE:
            candidates[cp] = (SPACE_CLASS, " ")
            continue
        row = int(tables.run_expansion[run])
        if row < 0:
            normalized = [(cp, props)]
        else:
            begin, end = tables.expansion_splits[row], tables.expansion_splits[row + 1]
            normalized = [(int(v), int(p)) for v, p in zip(tables.expansion_values[begin:end],
                                                           tables.expansion_props[begin:end])]
        normalized = [(v, p) for v, p in normalized if not (tables.strip_accents and p & MARK)]
        if len(normalized) != 1 or normalized[0][1] & (SPACE | DROP) or unicodedata.combining(chr(normalized[0][0])):
            continue
        (value, value_props), = normalized
        text = chr(value)
        if value_props & PUNCT:
            candidates[cp] = (PUNCT_CLASS, text)
        elif len(text.encode("utf-8")) <= len(chr(cp).encode("utf-8")):
            candidates[cp] = (ASCII_WORD_CLASS if text.isascii() and text.isalnum() else WORD_CLASS, text)
    return candidates
