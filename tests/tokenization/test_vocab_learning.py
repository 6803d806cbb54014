"""WordPiece vocabulary learning: the vocabulary is normalized exactly as the reference BasicTokenizer
normalizes text (checked with the reference itself), loads in BertTokenizer, covers its corpus, and the
command works from the shell."""
import subprocess
import sys

import pytest
import tensorflow as tf
from official.nlp.tools import tokenization as reference

from keras_bert.tokenization.tokenizer import BertTokenizer
from keras_bert.tokenization.vocab import load_vocab
from keras_bert.tokenization.vocab_learning import RESERVED_TOKENS, learn_wordpiece_vocab, write_vocab
from support.corpora import ragged_lists
from support.programs import REPO_ROOT

# Words whose reference normalization differs from TF-Text's NFKC case folding, frequent enough to be learned.
TRICKY = "Café ÉCOLE Straße ﬁnance ﬂow Ｆｕｌｌ ΟΔΟΣ naïve Ångström İstanbul 北京欢迎你 [MASK] résumé"


@pytest.fixture(scope="module")
def corpus(shared_data, tmp_path_factory):
    """CoLA train + the sample pretraining text (~0.5 MB), with the tricky words on 40 lines, in two files."""
    folder = tmp_path_factory.mktemp("vocab_corpus")
    cola = [line.split("\t")[0] for line in
            (shared_data / "glue" / "CoLA" / "train.tsv").read_text(encoding="utf-8").splitlines()]
    sample = (shared_data / "pretraining" / "sample_text.txt").read_text(encoding="utf-8")
    (folder / "part-0.txt").write_text("\n".join(cola[:4000]) + "\n" + sample, encoding="utf-8")
    (folder / "part-1.txt").write_text("\n".join(cola[4000:] + [TRICKY] * 40) + "\n", encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def uncased(corpus):
    return learn_wordpiece_vocab(str(corpus / "part-*.txt"), 1500, lower_case=True)


def _lines(corpus) -> list[str]:
    return [line for f in sorted(corpus.glob("part-*.txt")) for line in f.read_text(encoding="utf-8").splitlines()]


def _assert_fixed_points_of_reference_normalization(learned: list[str], lower_case: bool):
    """Every learned piece is a word the reference BasicTokenizer leaves exactly as it is."""
    oracle = reference.BasicTokenizer(do_lower_case=lower_case)
    pieces = [t.removeprefix("##") for t in learned]
    changed = [p for p in pieces if oracle.tokenize(p) != [p]]
    assert not changed, f"pieces the reference would normalize or split: {changed[:10]}"


def test_uncased_vocab_has_reserved_tokens_first_and_reference_normalization(uncased):
    assert uncased[:5] == list(RESERVED_TOKENS)
    assert 0.9 * 1500 <= len(uncased) <= 1500 and len(set(uncased)) == len(uncased)
    _assert_fixed_points_of_reference_normalization(uncased[5:], lower_case=True)
    vocab = set(uncased)
    # The reference keeps ß, ligatures and fullwidth letters (TF-Text's NFKC folding would give ss, fi, f).
    assert {"cafe", "ecole", "ß", "ﬁ", "ｆ", "ς", "北", "mask", "[", "]"} <= vocab
    assert not {"ss", "Café", "é", "É", "Ｆ", "Σ"} & vocab


def test_uncased_vocab_covers_its_corpus_in_bert_tokenizer(uncased, corpus, tmp_path):
    write_vocab(uncased, tmp_path / "vocab.txt")
    assert load_vocab(tmp_path / "vocab.txt") == uncased
    tokenizer = BertTokenizer(tmp_path / "vocab.txt", lower_case=True)
    ids = [i for row in ragged_lists(tokenizer(tf.constant(_lines(corpus))).merge_dims(1, 2)) for i in row]
    unknown = ids.count(uncased.index("[UNK]"))
    assert len(ids) > 100_000 and unknown / len(ids) < 1e-4, f"{unknown} [UNK] of {len(ids)} pieces"
    words = sum(len(r) for r in ragged_lists(tokenizer(tf.constant(_lines(corpus)))))
    assert len(ids) < 1.6 * words  # Mostly whole words (characters alone would take ~4 pieces a word).


def test_cased_vocab_keeps_case_and_accents(corpus):
    cased = learn_wordpiece_vocab([str(corpus / "part-1.txt")], 1200, lower_case=False,
                                  reserved_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "[unused0]"])
    assert cased[:6] == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "[unused0]"] and len(cased) <= 1200
    _assert_fixed_points_of_reference_normalization(cased[6:], lower_case=False)
    assert {"É", "é", "Ｆ", "Σ", "İ"} <= set(cased)


def test_command_writes_a_vocab_with_progress(corpus, shared_data, tmp_path):
    output = tmp_path / "out" / "vocab.txt"
    run = subprocess.run(
        [sys.executable, "pretraining/learn_vocab.py",
         f"--input_file={corpus}/part-1.*,{shared_data}/pretraining/sample_text.txt",
         f"--output_file={output}", "--vocab_size=800", "--do_lower_case=false",
         "--reserved_tokens=[PAD],[UNK],[CLS],[SEP],[MASK]"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    tokens = load_vocab(output)
    assert tokens[:5] == list(RESERVED_TOKENS) and 700 <= len(tokens) <= 800 and "É" in tokens
    assert "counting words" in run.stderr and "100%" in run.stderr and f"wrote {len(tokens)} tokens" in run.stderr


def test_command_as_module_names_a_missing_input(tmp_path):
    run = subprocess.run(
        [sys.executable, "-m", "pretraining.learn_vocab", f"--input_file={tmp_path}/nothing_here*.txt",
         f"--output_file={tmp_path}/vocab.txt", "--vocab_size=100"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode != 0 and "nothing_here*.txt" in run.stderr
    assert not (tmp_path / "vocab.txt").exists()


def test_bad_input_is_an_error_naming_it(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("\n \n\u200b\n")
    with pytest.raises(ValueError, match="no words found in the input files .*empty.txt"):
        learn_wordpiece_vocab([str(empty)], 100, True)
    with pytest.raises(FileNotFoundError, match="missing.txt"):
        learn_wordpiece_vocab([str(tmp_path / "missing.txt")], 100, True)
    with pytest.raises(ValueError, match=r"reserved_tokens lacks \[CLS\]"):
        learn_wordpiece_vocab([str(empty)], 100, True, reserved_tokens=["[PAD]", "[UNK]", "[SEP]"])
    with pytest.raises(ValueError, match="vocab_size 5 leaves no room"):
        learn_wordpiece_vocab([str(empty)], 5, True)
    with pytest.raises(ValueError, match="line breaks"):
        write_vocab(["[UNK]", "a\nb"], tmp_path / "v.txt")
