"""BertTokenizer against the reference tokenizer (tf-models-official's FullTokenizer with the reference's
max_input_chars_per_word=200), id for id, on every sentence of the shared corpora, Chinese text and a seeded
adversarial corpus; offsets, special tokens, vocabulary errors and empty input."""
import csv

import pytest
import tensorflow as tf
import tensorflow_text as tf_text
from official.nlp.tools import tokenization as reference

from keras_bert.tokenization.tokenizer import BertTokenizer
from support.corpora import adversarial_corpus, chinese_corpus, ragged_lists, reference_tokenizer

BATCH = 8192


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


@pytest.mark.parametrize("lower_case", [True, False])
def test_chinese_text_with_chinese_vocab_matches_reference(chinese_vocab, lower_case):
    lines = chinese_corpus(chinese_vocab)
    assert sum(0x4E00 <= ord(c) <= 0x9FFF for line in lines for c in line) > 5000
    assert_same_ids(lines, chinese_vocab, lower_case, "Chinese")


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
    assert begins.shape.rank == 3
    assert ends.nested_row_splits[1].numpy().tolist() == ids.nested_row_splits[1].numpy().tolist()
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
            assert [_normalize(s, lower_case) for s in spans] == [p.removeprefix("##") for p in pieces], \
                (text, pieces, spans)
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


def test_duplicate_vocab_tokens_are_an_error_naming_token_and_lines(tmp_path):
    """The reference silently maps a duplicated token to its last line; here it is an error."""
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("[PAD]\n[UNK]\n[CLS]\n[SEP]\nhello\n\n##\nworld\nhello \n##s\n\u2028\n[SEP]\nhello\n")
    with pytest.raises(ValueError, match=r"vocabulary file .*vocab\.txt has 2 duplicate token\(s\): "
                                         r"'\[SEP\]' on lines 4, 12; 'hello' on lines 5, 9, 13; "
                                         "each token must be on one line only"):
        BertTokenizer(vocab, True)


def test_blank_vocab_lines_keep_reference_ids(tmp_path):
    """Blank lines (also several, and lines of only U+2028) and a bare "##" keep their ids and never match,
    as in the reference."""
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("[PAD]\n[UNK]\n[CLS]\n[SEP]\nhello\n\n##\nworld\n\n##s\n\u2028\n")
    oracle = reference_tokenizer(vocab, True)
    texts = ["hello worlds", "hello \u2028 ## x", "HELLO"]
    expected = [oracle.convert_tokens_to_ids(oracle.tokenize(t)) for t in texts]
    assert expected[0] == [4, 7, 9]
    assert our_ids(BertTokenizer(vocab, True), texts) == expected


def test_real_vocabularies_load(uncased_vocab, chinese_vocab):
    assert BertTokenizer(uncased_vocab, True).get_special_tokens_dict()["vocab_size"] == 30522
    assert BertTokenizer(chinese_vocab, True).get_special_tokens_dict()["vocab_size"] == 21128


def test_get_config_round_trip(uncased_vocab):
    tokenizer = BertTokenizer(uncased_vocab, False, name="tok")
    clone = BertTokenizer.from_config(tokenizer.get_config())
    assert (clone.vocab_file, clone.lower_case, clone.name) == (str(uncased_vocab), False, "tok")
    text = tf.constant(["Hello World"])
    assert clone(text).to_list() == tokenizer(text).to_list() != BertTokenizer(uncased_vocab, True)(text).to_list()
