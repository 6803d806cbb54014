"""Test corpora and oracles shared by the tokenization, packing, preprocessing-export and vocabulary tests:
the reference tokenizer, a seeded adversarial corpus, Chinese lines, and a fast ragged → lists helper."""
import random

import tensorflow as tf
from official.nlp.tools import tokenization as reference

from keras_bert.tokenization.vocab import load_vocab


def reference_tokenizer(vocab_file, lower_case: bool) -> reference.FullTokenizer:
    tokenizer = reference.FullTokenizer(str(vocab_file), do_lower_case=lower_case)
    tokenizer.wordpiece_tokenizer.max_input_chars_per_word = 200  # google-research/bert's value.
    return tokenizer


def ragged_lists(ragged: tf.RaggedTensor) -> list:
    """Nested Python lists of an eager RaggedTensor (much faster than `to_list` on tens of thousands of values)."""
    values = ragged.flat_values.numpy().tolist()
    for splits in reversed(ragged.nested_row_splits):
        bounds = splits.numpy().tolist()
        values = [values[begin:end] for begin, end in zip(bounds[:-1], bounds[1:])]
    return values


def chinese_corpus(vocab_file, count: int = 400, seed: int = 0) -> list[str]:
    """Varied Chinese lines from the vocabulary's CJK characters, mixed with Latin, digits and punctuation."""
    vocab = load_vocab(vocab_file)
    hanzi = [t for t in vocab if len(t) == 1 and 0x4E00 <= ord(t) <= 0x9FFF]
    words = [t for t in vocab if t.isascii() and t.isalpha() and not t.startswith("##")]
    punctuation = list("，。！？、：；“”（）《》【】…—·") + [" ", "\u3000", "\u00a0"]
    mixed = ["BERT", "TensorFlow", "iPhone12", "Ｅｘｃｅｌ", "Über", "2019年", "3.5%", "😀", "\u200b", "ＡＢＣ１２３"]
    rng = random.Random(seed)
    lines = []
    for _ in range(count):
        parts = []
        for _ in range(rng.randint(1, 40)):
            r = rng.random()
            pool = hanzi if r < 0.6 else words if r < 0.7 else punctuation if r < 0.85 else mixed if r < 0.93 else None
            parts.append(rng.choice(pool) if pool else str(rng.randint(0, 10 ** rng.randint(1, 8))))
        lines.append("".join(parts))
    return lines


_POOLS = {
    "ascii": [chr(c) for c in range(32, 127)],
    "accented": list("àáâãäåæçèéêëìíîïñòóôõöøùúûüýÿÀÁÂÃÄÅÇÈÉÊËÌÍÎÏÑÒÓÔÕÖØÙÚÛÜÝĀāĂăĄąĆćČčĎďĒēĘęĚěĞğİıŁłŃńŇňŌō"
                     "ŐőŒœŘřŚśŞşŠšŢţŤťŪūŮůŰűŸŹźŻżŽžǅǈǋǲẞǄǆŉǰ"),
    "combining": [chr(c) for c in [*range(0x300, 0x370), 0x1AB0, 0x1DC0, 0x20D0, 0x20E3, 0xFE20, 0x0591, 0x05B0,
                                   0x0610, 0x093C, 0x0E31, 0x302A, 0x3099]],
    "fullwidth": [chr(c) for c in [*range(0xFF01, 0xFF5F), *range(0xFF61, 0xFFA0)]],
    "cjk": [chr(c) for c in (0x4E00, 0x4E2D, 0x6587, 0x9FFF, 0x3400, 0x4DBF, 0x20000, 0x2A6DF, 0x2A700, 0x2B73F,
                             0x2B740, 0x2B820, 0x2CEAF, 0xF900, 0xFAFF, 0x2F800, 0x2FA1F, 0x3042, 0x30AB, 0xAC00,
                             0x3001, 0x3002, 0xFF0C, 0x31C0, 0x2E80, 0x3005)],
    "emoji": ["😀", "👍🏽", "👨\u200d👩\u200d👧", "🇫🇷", "❤\ufe0f", "🀄", "🎉", "\U0001F9D1\u200d\U0001F4BB"],
    "control": ["\x00", "\x01", "\x07", "\x1b", "\x7f", "\x85", "\x9f", "\u200b", "\u200c", "\u200d", "\u200e",
                "\u200f", "\u2060", "\ufeff", "\ufffd", "\u00ad", "\u061c", "\U000E0001", "\U000E0041", "\u180e"],
    "space": [" ", "\t", "\n", "\r", "\u00a0", "\u1680", "\u2000", "\u2007", "\u200a", "\u2028", "\u2029",
              "\u202f", "\u205f", "\u3000", "\x0b", "\x0c", "\x1c", "\x1f"],
    "greek": [*"ΣΑΒΓΔΟΥΕσςΐΰϐϑϕϖϰϱϲϴϵΆΈΉ", "ΌΣ", "ΑΣ.", "Α\u0301Σ", "A'Σ", "AΣ'", "Σ\u0308", "ΟΔΟΣ"],
    "letters": ["ß", "ẞ", "ﬁ", "ﬂ", "ﬀ", "ﬃ", "ﬆ", "İ", "K", "Ω", "Å", "ℌ", "①", "²", "½", "™", "ｶ", "㌀", "Ⅻ",
                "\u2c2f", "\ua7c0", "\ua7d0", "\U00010570", "ꭰ", "Ꭰ", "\U0001e900", "\u10a0", "\u1c90",
                "\U0001d400", "абвЁЖ", "אבג", "وحخ", "अआक", "งจฉ", "აბგ"],
    "punctuation": list("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~¡¿«»‐–—‘’“”„†‡•…‰‹›※、。〈〉《》「」【】〜・！？，．：；"
                        "¨´¸˜$€£¥¢©®°±×÷§¶"),
    "literal": ["[MASK]", "[CLS]", "[SEP]", "[UNK]", "[PAD]", "##ing", "##", "un##aff", "http://x.y/z?a=b&c",
                "3.14159", "don't", "naïve", "café"],
}
_INVALID_UTF8 = [b"\xff", b"abc\xffdef", b"\xc3", b"caf\xc3", b"\xc3(", b"\xe4\xb8", b"\xe4\xb8A", b"\xed\xa0\x80x",
                 b"\xc0\x80", b"\xc1\xbf", b"\xf4\x90\x80\x80", b"\xf8\x88\x80\x80\x80", b"\x80\x80hello", b"\xe2\x82",
                 b"\xe2\x82\xacok", b"\xf0\x9f\x98", b"a\xf0\x9f\x98 b", b"\xfe\xfe", b"\xe0\x80\x80", b"[MA\xffSK]"]


def _long_words() -> list[str]:
    """Words at the reference's 200-character limit, in characters of 1-4 UTF-8 bytes and ones that
    lower-case/decompose into more or fewer code points."""
    words = []
    for n in (199, 200, 201):
        for unit in ("a", "é", "日", "😀", "É", "ﬃ", "e\u0301", "İ"):
            word = unit * n
            words += [word, f"x {word} y", f"{word}!", word[:n]]
        words.append("un" + "aff" * ((n - 2) // 3) + "a" * ((n - 2) % 3))
    return words


def adversarial_corpus(count: int = 4000, seed: int = 0) -> list[bytes]:
    """Seeded random mixes of the pools above with odd separators, long words and invalid UTF-8."""
    rng = random.Random(seed)
    names = list(_POOLS)

    def word() -> str:
        home = rng.choice(names)
        return "".join(rng.choice(_POOLS[home if rng.random() < 0.7 else rng.choice(names)])
                       for _ in range(rng.choice([1, 1, 2, 3, 5, 8])))

    def line() -> str:
        return "".join(word() + (" " if rng.random() < 0.7 else rng.choice(_POOLS["space"]))
                       for _ in range(rng.randint(0, 12)))

    texts = [line().encode("utf-8") for _ in range(count)]
    texts += [w.encode("utf-8") for w in _long_words()] + _INVALID_UTF8 + [b"", b" ", b"\t\n\r", "\u3000".encode()]
    for _ in range(300):  # A random byte >= 0x80 dropped somewhere into valid text.
        text = line().encode("utf-8")
        at = rng.randrange(len(text) + 1)
        texts.append(text[:at] + bytes([rng.randrange(0x80, 0x100)]) + text[at:])
    for _ in range(1000):  # Random code points from the whole range (surrogates encoded, then dropped).
        code_points = [rng.randrange(0x110000) if rng.random() < 0.5 else rng.randrange(0x3000) for _ in range(20)]
        texts.append("".join(map(chr, code_points)).encode("utf-8", "surrogatepass"))
    for _ in range(300):  # Random bytes.
        texts.append(bytes(rng.randrange(256) for _ in range(rng.randint(0, 30))))
    return texts
