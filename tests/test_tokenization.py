"""BertTokenizer against the reference tokenizer (tf-models-official's FullTokenizer with the reference's
max_input_chars_per_word=200), id for id, on every sentence of the shared corpora, Chinese text and a seeded
adversarial corpus; offsets, special tokens, vocabulary errors and empty input."""
import csv
import random

import pytest
import tensorflow as tf
import tensorflow_text as tf_text
from official.nlp.tools import tokenization as reference

from keras_bert import tokenization
from keras_bert.tokenization import BertTokenizer, load_vocab

BATCH = 8192


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


def our_ids(tokenizer: BertTokenizer, texts) -> list[list[int]]:
    ids = []
    for start in range(0, len(texts), BATCH):
        ids.extend(ragged_lists(tokenizer(tf.constant(texts[start:start + BATCH])).merge_dims(1, 2)))
    return ids


def assert_same_ids(texts, vocab_file, lower_case: bool, corpus: str) -> int:
    """Asserts 0 mismatches against the reference; returns the number of pieces compared."""
    oracle = reference_tokenizer(vocab_file, lower_case)
    expected = [oracle.convert_tokens_to_ids(oracle.tokenize(text)) for text in texts]
    got = our_ids(BertTokenizer(vocab_file, lower_case), texts)
    assert len(got) == len(expected)
    mismatches = [i for i, (e, g) in enumerate(zip(expected, got)) if e != g]
    report = "\n".join(
        f"  row {i}: {texts[i]!r:.200}\n    reference {oracle.convert_ids_to_tokens(expected[i])[:30]}"
        f"\n    ours      {oracle.convert_ids_to_tokens(got[i])[:30]}" for i in mismatches[:5])
    assert not mismatches, f"{corpus} lower_case={lower_case}: {len(mismatches)} of {len(texts)} rows differ\n{report}"
    return sum(len(e) for e in expected)


def _tsv_column(path, column: int, header: bool) -> list[str]:
    with open(path, encoding="utf-8", newline="") as f:
        rows = [row for row in csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE) if row]
    return [row[column] for row in rows[1 if header else 0:]]


@pytest.fixture(scope="module")
def english_corpus(shared_data) -> list[str]:
    glue = shared_data / "glue"
    texts = (_tsv_column(glue / "SST-2" / "train.tsv", 1, True) + _tsv_column(glue / "SST-2" / "dev.tsv", 1, True)
             + _tsv_column(glue / "CoLA" / "train.tsv", 0, False) + _tsv_column(glue / "CoLA" / "dev.tsv", 0, False))
    assert len(texts) == 67349 + 872 + 8551 + 516
    sample = (shared_data / "pretraining" / "sample_text.txt").read_text(encoding="utf-8").splitlines()
    return texts + sample


@pytest.mark.parametrize("lower_case", [True, False])
def test_every_glue_and_sample_text_sentence_matches_reference(english_corpus, uncased_vocab, lower_case):
    pieces = assert_same_ids(english_corpus, uncased_vocab, lower_case, "SST-2+CoLA+sample_text")
    assert pieces > 800_000


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


@pytest.mark.parametrize("lower_case", [True, False])
def test_chinese_text_with_chinese_vocab_matches_reference(chinese_vocab, lower_case):
    lines = chinese_corpus(chinese_vocab)
    assert sum(0x4E00 <= ord(c) <= 0x9FFF for line in lines for c in line) > 5000
    assert_same_ids(lines, chinese_vocab, lower_case, "Chinese")


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


@pytest.fixture(scope="module")
def adversarial():
    return adversarial_corpus()


@pytest.mark.parametrize("lower_case", [True, False])
def test_adversarial_corpus_matches_reference(adversarial, uncased_vocab, lower_case):
    assert_same_ids(adversarial, uncased_vocab, lower_case, "adversarial")


def test_adversarial_corpus_catches_tf_text_bert_tokenizer(adversarial, uncased_vocab):
    """The corpus has teeth: TF-Text's own BertTokenizer (NFKC case folding) fails it."""
    oracle = reference_tokenizer(uncased_vocab, True)
    texts = [t for t in adversarial if t.decode("utf-8", "ignore").isprintable()][:2000]
    theirs = tf_text.BertTokenizer(str(uncased_vocab), lower_case=True, token_out_type=tf.int32)
    got = ragged_lists(theirs.tokenize(tf.constant(texts)).merge_dims(1, 2))
    differ = sum(oracle.convert_tokens_to_ids(oracle.tokenize(t)) != g for t, g in zip(texts, got))
    assert differ > 50


def test_sensitive_characters_each_match_reference(uncased_vocab):
    """One row per tricky character (readable failures): final sigma, ß, ligatures, fullwidth, İ, marks."""
    texts = ["ΟΔΟΣ ΟΔΟΣ. ΣΑ Σ AΣ' A'Σ", "Straße STRASSE ẞ", "ﬁnance ﬂow ﬃ", "Ｈｅｌｌｏ，ｗｏｒｌｄ！", "İstanbul ıi",
             "e\u0301te\u0301 résumé", "[MASK] the [CLS]", "a\u200bb c\u00add", "x\u2028y\u3000z\u00a0w", "Ⅻ ② ³ ½"]
    for lower_case in (True, False):
        assert_same_ids(texts, uncased_vocab, lower_case, "sensitive characters")


def _normalize(text: str, lower_case: bool) -> str:
    """The reference's per-character normalization (clean, lower, NFD, strip Mn), spaces removed."""
    oracle = reference.BasicTokenizer(do_lower_case=lower_case)
    return "".join(oracle.tokenize(text))


@pytest.mark.parametrize("lower_case", [True, False])
def test_offsets_map_pieces_back_to_their_text(english_corpus, uncased_vocab, lower_case):
    texts = english_corpus[:500] + [
        "Héllo, naïve café-owners! Ça va? ÉCOLE Über", "日本語のテキスト and 中文，混合 text。", "unaffable résumés",
        "ENTRÉE → crème brûlée", "x" * 201 + " ok " + "é" * 199, "  leading\tand trailing  "]
    tokenizer = BertTokenizer(uncased_vocab, lower_case)
    oracle = reference_tokenizer(uncased_vocab, lower_case)
    ids, begins, ends = tokenizer.tokenize_with_offsets(tf.constant(texts))
    assert ids.dtype == tf.int32 and begins.dtype == tf.int64 and ends.dtype == tf.int64
    assert ragged_lists(ids) == ragged_lists(tokenizer(tf.constant(texts)))
    assert begins.shape.rank == 3 and ends.nested_row_splits[1].numpy().tolist() == ids.nested_row_splits[1].numpy().tolist()
    for text, row_ids, row_begins, row_ends in zip(texts, *map(ragged_lists, (ids, begins, ends))):
        raw = text.encode("utf-8")
        reference_words = oracle.basic_tokenizer.tokenize(text)
        assert len(row_ids) == len(reference_words), text
        for word, word_ids, word_begins, word_ends in zip(reference_words, row_ids, row_begins, row_ends):
            spans = [raw[b:e].decode("utf-8") for b, e in zip(word_begins, word_ends)]
            pieces = oracle.convert_ids_to_tokens(word_ids)
            if pieces == ["[UNK]"]:
                assert _normalize(spans[0], lower_case) == word, (text, word, spans)
                continue
            assert [_normalize(s, lower_case) for s in spans] == [p.removeprefix("##") for p in pieces], (text, pieces, spans)
            assert word_begins == sorted(word_begins) and all(b < e for b, e in zip(word_begins, word_ends))


def test_special_tokens_dict(uncased_vocab, chinese_vocab):
    special = BertTokenizer(uncased_vocab, True).get_special_tokens_dict()
    assert special == {"vocab_size": 30522, "start_of_sequence_id": 101, "end_of_segment_id": 102,
                       "padding_id": 0, "mask_id": 103}
    lines = chinese_vocab.read_text(encoding="utf-8").split("\n")
    special = BertTokenizer(chinese_vocab, True).get_special_tokens_dict()
    assert special == {"vocab_size": 21128, "start_of_sequence_id": lines.index("[CLS]"),
                       "end_of_segment_id": lines.index("[SEP]"), "padding_id": lines.index("[PAD]"),
                       "mask_id": lines.index("[MASK]")}


def test_empty_and_blank_strings_have_no_words(uncased_vocab):
    tokenizer = BertTokenizer(uncased_vocab, True)
    ids = tokenizer(tf.constant(["", " \t\n", "\u200b\x00", "a"]))
    assert ids.to_list() == [[], [], [], [[1037]]]
    assert tokenizer(tf.constant([], tf.string)).to_list() == []


def test_missing_vocab_file_is_an_error_naming_it(tmp_path):
    missing = tmp_path / "no_such_vocab.txt"
    with pytest.raises(FileNotFoundError, match="no_such_vocab.txt"):
        BertTokenizer(missing, True)


@pytest.mark.parametrize("absent", ["[UNK]", "[CLS]", "[SEP]"])
def test_vocab_lacking_required_token_is_an_error_naming_file_and_token(tmp_path, absent):
    vocab = tmp_path / "small_vocab.txt"
    vocab.write_text("\n".join(t for t in ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "hello"] if t != absent) + "\n")
    with pytest.raises(ValueError, match=rf"small_vocab\.txt.*\{absent[:-1]}\]"):
        BertTokenizer(vocab, True)


def test_vocab_that_is_not_utf8_is_an_error_naming_it(tmp_path):
    vocab = tmp_path / "latin1_vocab.txt"
    vocab.write_bytes("[PAD]\n[UNK]\n[CLS]\n[SEP]\ncaf\u00e9\n".encode("latin-1"))
    with pytest.raises(ValueError, match="latin1_vocab.txt is not UTF-8"):
        BertTokenizer(vocab, True)


def test_rank_other_than_one_is_an_error(uncased_vocab):
    with pytest.raises(ValueError, match=r"shape \[batch\]"):
        BertTokenizer(uncased_vocab, True)(tf.constant([["a"]]))


def test_duplicate_and_blank_vocab_lines_keep_reference_ids(tmp_path):
    """The reference maps a duplicated token to its last line and never emits a blank token."""
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("[PAD]\n[UNK]\n[CLS]\n[SEP]\nhello\n\n##\nworld\nhello\n##s\n\u2028\n")
    oracle = reference_tokenizer(vocab, True)
    texts = ["hello worlds", "hello \u2028 ## x", "HELLO"]
    expected = [oracle.convert_tokens_to_ids(oracle.tokenize(t)) for t in texts]
    assert expected[0] == [8, 7, 9]
    assert our_ids(BertTokenizer(vocab, True), texts) == expected


def test_get_config_round_trip(uncased_vocab):
    tokenizer = BertTokenizer(uncased_vocab, False, name="tok")
    clone = BertTokenizer.from_config(tokenizer.get_config())
    assert (clone.vocab_file, clone.lower_case, clone.name) == (str(uncased_vocab), False, "tok")
    text = tf.constant(["Hello World"])
    assert clone(text).to_list() == tokenizer(text).to_list() != BertTokenizer(uncased_vocab, True)(text).to_list()



@pytest.mark.parametrize("checkpoint, lower_case_ok", [
    ("models/uncased_L-12_H-768_A-12/bert_model.ckpt", True),
    ("models/wwm_uncased_L-24_H-1024_A-16", True),
    ("uncased_L-2_H-128_A-2/bert_model.ckpt", True),
    ("chinese_L-12_H-768_A-12/bert_model.ckpt", True),
    ("multilingual_L-12_H-768_A-12/bert_model.ckpt", True),
    ("cased_L-12_H-768_A-12/bert_model.ckpt", False),
    ("multi_cased_L-12_H-768_A-12/bert_model.ckpt", False),
    ("wwm_cased_L-24_H-1024_A-16/bert_model.ckpt", False),
])
def test_case_must_match_a_google_release_checkpoint(checkpoint, lower_case_ok):
    tokenization.check_case_matches_checkpoint(lower_case_ok, checkpoint)
    with pytest.raises(ValueError, match=f"--do_lower_case={not lower_case_ok} but --init_checkpoint"):
        tokenization.check_case_matches_checkpoint(not lower_case_ok, checkpoint)


def test_case_is_not_checked_outside_google_release_folders():
    for checkpoint in (None, "", "out/my_model/bert_model.ckpt", "pretrained_cased_model/model.ckpt"):
        tokenization.check_case_matches_checkpoint(True, checkpoint)
        tokenization.check_case_matches_checkpoint(False, checkpoint)
