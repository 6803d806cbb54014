"""The tokenizer of a Hugging Face BERT folder: its settings read from `tokenizer_config.json` (or `tokenizer.json`)
and `vocab.txt`, and those files written for a model we save.

Which file decides, as transformers (5.x `AutoTokenizer`) does:

* `tokenizer_config.json` present: its `do_lower_case`, `strip_accents` and `tokenize_chinese_chars`, with
  `BertTokenizer`'s defaults (True, None, True) for those it lacks; the WordPiece word limit is 100 characters.
  transformers rebuilds the normalizer from these, so a `tokenizer.json` beside it does not count; where its
  `BertNormalizer` disagrees a warning names both files.
* only `tokenizer.json`: its `BertNormalizer` (`lowercase`, `strip_accents`, `handle_chinese_chars`) and its
  WordPiece `max_input_chars_per_word`.
* neither: `BertTokenizer`'s defaults (lower-casing), with a warning that the folder does not say.

A setting we cannot reproduce is an error naming the file and field: a `tokenizer_class` that is not a BERT WordPiece
tokenizer (RoBERTa's BPE, ALBERT's SentencePiece, ...), special tokens other than BERT's `[UNK]` `[SEP]` `[PAD]`
`[CLS]` `[MASK]`, `do_basic_tokenize: false`, `never_split`, another normalizer, pre-tokenizer, model or
post-processor in `tokenizer.json`, and wrong JSON types. A word limit above 200 characters is refused too
(`BertTokenizer`'s bound). So is a folder that contradicts itself: a declared special token missing from `vocab.txt`
(or at another id), or a `tokenizer.json` vocabulary that is not `vocab.txt`'s.

Differences that remain with Hugging Face's Rust tokenizer, whatever the settings (pinned one by one in
tests/tokenization/test_huggingface.py): the literal text "[MASK]" (any special token) is not special here, as in the
reference (HF matches it as the token); and where the Rust library's Unicode rules differ from Python's `unicodedata`
(no Greek final sigma when lower-casing, private-use characters dropped, CJK Extension E partly not split, and its
older or newer tables), we keep the reference's rules, which Google's checkpoints were trained with.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import pathlib
import shutil
import tempfile

from keras_bert.files import read_json
from keras_bert.tokenization.tokenizer import MAX_CHARS_PER_WORD
from keras_bert.tokenization.vocab import load_vocab

logger = logging.getLogger(__name__)

VOCAB_FILE = "vocab.txt"
CONFIG_FILE = "tokenizer_config.json"
TOKENIZER_FILE = "tokenizer.json"
HUGGINGFACE_MAX_CHARS_PER_WORD = 100  # transformers' and tokenizers' WordPiece `max_input_chars_per_word`.

# transformers' BERT WordPiece tokenizers: `BertTokenizer`'s normalization and WordPiece, same defaults.
BERT_TOKENIZER_CLASSES = frozenset(
    name + suffix
    for name in ("Bert", "DistilBert", "Electra", "MobileBert", "SqueezeBert", "ConvBert", "LayoutLM", "Lxmert")
    for suffix in ("Tokenizer", "TokenizerFast"))
SPECIAL_TOKENS = {"unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]", "cls_token": "[CLS]",
                  "mask_token": "[MASK]"}  # The names `BertTokenizer` and `BertPackInputs` use.


@dataclasses.dataclass(frozen=True)
class TokenizerSettings:
    """How a Hugging Face folder's text is tokenized.

    Attributes:
      vocab_file: str, the folder's `vocab.txt`.
      do_lower_case: lower-case words.
      strip_accents: NFD and strip Mn; None follows `do_lower_case`.
      tokenize_chinese_chars: CJK ideographs are words of their own.
      max_chars_per_word: a longer word is one [UNK] (100 in Hugging Face's tokenizers).
    """

    vocab_file: str
    do_lower_case: bool = True
    strip_accents: bool | None = None
    tokenize_chinese_chars: bool = True
    max_chars_per_word: int = HUGGINGFACE_MAX_CHARS_PER_WORD

    def tokenizer_options(self) -> dict:
        """The keyword options of `BertTokenizer` / `BertPreprocessor` / `PieceTokenizer` beyond vocabulary and case."""
        return {"strip_accents": self.strip_accents, "tokenize_chinese_chars": self.tokenize_chinese_chars,
                "max_chars_per_word": self.max_chars_per_word}


_TYPE_NAMES = {bool: "true/false", int: "an integer", str: "a string", dict: "an object", list: "a list"}


def _field(settings: dict, key: str, types: tuple, path: pathlib.Path, default=None, where: str = ""):
    """settings[key] (or `default` when absent) if of one of `types` (None: JSON null), else a ValueError naming
    the file and field (`where` + key)."""
    if key not in settings:
        return default
    value = settings[key]
    if not any(value is None if t is None else isinstance(value, t) and not (t is int and isinstance(value, bool))
               for t in types):
        names = " or ".join("null" if t is None else _TYPE_NAMES[t] for t in types)
        raise ValueError(f"{path}: field {where}{key} must be {names}, got {value!r}")
    return value


# Declared special tokens: {where declared: (token, its declared id or None)}.
Declared = dict[str, tuple[str, "int | None"]]


def _settings_from_config(config: dict, path: pathlib.Path) -> tuple[Declared, dict]:
    """(declared special tokens, settings) of a tokenizer_config.json."""
    tokenizer_class = _field(config, "tokenizer_class", (str, None), path)
    if tokenizer_class is not None and tokenizer_class not in BERT_TOKENIZER_CLASSES:
        raise ValueError(f"{path}: tokenizer_class {tokenizer_class!r} is not a BERT WordPiece tokenizer "
                         f"(supported: {', '.join(sorted(BERT_TOKENIZER_CLASSES))})")
    if _field(config, "do_basic_tokenize", (bool,), path, default=True) is False:
        raise ValueError(f"{path}: do_basic_tokenize false (WordPiece on raw whitespace-split text) is not supported")
    if _field(config, "never_split", (list, None), path):
        raise ValueError(f"{path}: never_split is not supported (BertTokenizer splits every word)")
    declared = {}
    for key, expected in SPECIAL_TOKENS.items():  # BertTokenizer's by default; null drops one.
        token = _field(config, key, (str, dict, None), path, default=expected)
        if isinstance(token, dict):  # A serialized AddedToken.
            token = _field(token, "content", (str,), path, where=f"{key}.")
        if token is not None and token != expected:
            raise ValueError(f"{path}: {key} is {token!r}, but BERT tokenization here uses {expected!r}")
        if token is not None:
            declared[f"{path}: {key}"] = (token, None)
    return declared, {
        "do_lower_case": _field(config, "do_lower_case", (bool,), path, default=True),
        "strip_accents": _field(config, "strip_accents", (bool, None), path),
        "tokenize_chinese_chars": _field(config, "tokenize_chinese_chars", (bool,), path, default=True)}


def _component(tokenizer: dict, key: str, expected_type: str, path: pathlib.Path) -> dict:
    """tokenizer[key], which must be an object of `"type": expected_type`."""
    component = _field(tokenizer, key, (dict, None), path)
    kind = component.get("type") if component else None
    if kind != expected_type:
        raise ValueError(f"{path}: {key}.type is {kind!r}; BERT tokenization needs {expected_type!r}")
    return component


_ENDS = ("[CLS]", "[SEP]")
_SINGLE_TEMPLATE = [("[CLS]", 0), ("A", 0), ("[SEP]", 0)]
_PAIR_TEMPLATE = [*_SINGLE_TEMPLATE, ("B", 1), ("[SEP]", 1)]


def _check_post_processor(tokenizer: dict, path: pathlib.Path) -> None:
    """The post-processor must pack as `BertPackInputs`: [CLS] A [SEP] (B [SEP]), type ids 0 then 1."""
    processor = _field(tokenizer, "post_processor", (dict, None), path) or {}

    def pieces(template) -> list:  # [(name, type id)] of a TemplateProcessing template.
        return [(spec.get("id"), spec.get("type_id")) for piece in template or [] for spec in piece.values()]

    kind = processor.get("type")
    bert = (kind == "BertProcessing" and (processor.get("cls", [None])[0], processor.get("sep", [None])[0]) == _ENDS
            or kind == "TemplateProcessing" and (pieces(processor.get("single")), pieces(processor.get("pair")))
            == (_SINGLE_TEMPLATE, _PAIR_TEMPLATE))
    if bert:
        return
    raise ValueError(f"{path}: post_processor {json.dumps(processor)[:200]} does not pack as BERT's "
                     "[CLS] A [SEP] (B [SEP]) with type ids 0 then 1")


def _settings_from_tokenizer_file(tokenizer: dict, path: pathlib.Path) -> tuple[Declared, dict]:
    """(declared special tokens, settings) of a `tokenizers` file: BertNormalizer, BertPreTokenizer, WordPiece
    and BERT's post-processor, or a ValueError naming the field that is not."""
    normalizer = _component(tokenizer, "normalizer", "BertNormalizer", path)
    if _field(normalizer, "clean_text", (bool,), path, default=True, where="normalizer.") is False:
        raise ValueError(f"{path}: normalizer.clean_text false (control characters kept) is not supported")
    _component(tokenizer, "pre_tokenizer", "BertPreTokenizer", path)
    model = _component(tokenizer, "model", "WordPiece", path)
    for key, expected in (("continuing_subword_prefix", "##"), ("unk_token", "[UNK]")):
        if _field(model, key, (str,), path, default=expected, where="model.") != expected:
            raise ValueError(f"{path}: model.{key} must be {expected!r}, got {model[key]!r}")
    max_chars = _field(model, "max_input_chars_per_word", (int,), path, default=HUGGINGFACE_MAX_CHARS_PER_WORD,
                       where="model.")
    if not 1 <= max_chars <= MAX_CHARS_PER_WORD:
        raise ValueError(f"{path}: model.max_input_chars_per_word {max_chars} is outside 1..{MAX_CHARS_PER_WORD}, "
                         "the limits BertTokenizer supports")
    _check_post_processor(tokenizer, path)
    declared = {}
    for i, added in enumerate(_field(tokenizer, "added_tokens", (list,), path, default=[])):
        where = f"added_tokens[{i}]."
        if not isinstance(added, dict):
            raise ValueError(f"{path}: field {where[:-1]} must be an object, got {added!r}")
        if _field(added, "special", (bool,), path, default=False, where=where):
            declared[f"{path}: {where[:-1]}"] = (_field(added, "content", (str,), path, where=where),
                                                _field(added, "id", (int,), path, where=where))
    return declared, {
        "do_lower_case": _field(normalizer, "lowercase", (bool,), path, default=True, where="normalizer."),
        "strip_accents": _field(normalizer, "strip_accents", (bool, None), path, where="normalizer."),
        "tokenize_chinese_chars": _field(normalizer, "handle_chinese_chars", (bool,), path, default=True,
                                         where="normalizer."),
        "max_chars_per_word": max_chars}


def _ignored_normalizer(tokenizer: dict) -> dict | None:
    """The BertNormalizer settings of a tokenizer.json that transformers rebuilds from tokenizer_config.json."""
    normalizer = tokenizer.get("normalizer")
    if not isinstance(normalizer, dict) or normalizer.get("type") != "BertNormalizer":
        return None
    return {"do_lower_case": normalizer.get("lowercase", True), "strip_accents": normalizer.get("strip_accents"),
            "tokenize_chinese_chars": normalizer.get("handle_chinese_chars", True)}


def _check_vocab(vocab: list[str], vocab_file: pathlib.Path, declared: Declared,
                 tokenizer: dict | None, tokenizer_path: pathlib.Path) -> None:
    """Each declared special token is in the vocabulary (at its declared id), and a tokenizer.json's WordPiece
    vocabulary is vocab.txt's (fast tokenizers read that one)."""
    ids = {token: i for i, token in enumerate(vocab)}
    for where, (token, token_id) in declared.items():
        if token not in ids:
            raise ValueError(f"{where} {token!r} is not in the vocabulary {vocab_file}")
        if token_id is not None and ids[token] != token_id:
            raise ValueError(f"{where} gives {token!r} the id {token_id}, but it is on line {ids[token] + 1} "
                             f"(id {ids[token]}) of {vocab_file}")
    model = (tokenizer or {}).get("model")
    if not isinstance(model, dict) or model.get("type") != "WordPiece" or not isinstance(model.get("vocab"), dict):
        return
    theirs = model["vocab"]  # Lines hold stripped tokens here; HF may keep surrounding spaces (U+2028 lines).
    differ = [f"{token!r}: id {i} there" for token, i in theirs.items()
              if not (isinstance(i, int) and 0 <= i < len(vocab) and vocab[i] == token.strip())]
    keys = {token.strip() for token in theirs}
    differ += [f"{token!r}: line {i + 1} here only" for i, token in enumerate(vocab) if token and token not in keys]
    if differ:
        raise ValueError(f"the model.vocab of {tokenizer_path} is not {vocab_file} ({len(differ)} differences, "
                         f"e.g. {'; '.join(differ[:3])})")


def _vocab_file_from_tokenizer_file(tokenizer: dict, tokenizer_path: pathlib.Path) -> pathlib.Path:
    """transformers 5 saves no `vocab.txt`, only `tokenizer.json`: its WordPiece vocabulary, one token per line in
    id order, written once to a file named by the content's hash in the temporary folder (the graph ops and
    exports read vocabularies from files)."""
    model = tokenizer.get("model")
    vocab = model.get("vocab") if isinstance(model, dict) and model.get("type") == "WordPiece" else None
    if not isinstance(vocab, dict):
        raise ValueError(f"{tokenizer_path}: model is not a WordPiece vocabulary, and there is no {VOCAB_FILE}")
    if sorted(vocab.values()) != list(range(len(vocab))):
        raise ValueError(f"{tokenizer_path}: model.vocab ids are not 0..{len(vocab) - 1}")
    broken = [token for token in vocab if "\n" in token or "\r" in token]
    if broken:
        raise ValueError(f"{tokenizer_path}: model.vocab tokens hold line breaks ({broken[:3]}), so they cannot "
                         f"be written as a {VOCAB_FILE}")
    text = "".join(token + "\n" for token, _ in sorted(vocab.items(), key=lambda item: item[1]))
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:20]
    path = pathlib.Path(tempfile.gettempdir()) / "keras_bert_vocab" / f"{digest}.txt"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.partial")
        partial.write_text(text, encoding="utf-8")
        partial.replace(path)  # atomic: concurrent readers see a whole file or none
    logger.info("%s has no %s; using the vocabulary of %s, written to %s", tokenizer_path.parent, VOCAB_FILE,
                tokenizer_path.name, path)
    return path


def read_tokenizer_settings(folder: str | os.PathLike) -> TokenizerSettings:
    """The tokenizer settings of a Hugging Face BERT folder (see the module docstring for which file decides).

    Args:
      folder: holds `vocab.txt`, and `tokenizer_config.json` and/or `tokenizer.json`.

    A folder without `vocab.txt` (transformers 5 writes none) uses `tokenizer.json`'s WordPiece vocabulary.
    Raises FileNotFoundError naming a missing folder or vocabulary; ValueError naming the file and field of a
    setting that is not BERT's WordPiece tokenization or has the wrong type, of a special token missing from the
    vocabulary, or a vocabulary `load_vocab` refuses.
    """
    folder = pathlib.Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"Hugging Face tokenizer folder not found: {folder}")
    config_path, tokenizer_path = folder / CONFIG_FILE, folder / TOKENIZER_FILE
    tokenizer = read_json(tokenizer_path) if tokenizer_path.is_file() else None
    if config_path.is_file():
        declared, settings = _settings_from_config(read_json(config_path), config_path)
        ignored = _ignored_normalizer(tokenizer or {})
        if ignored is not None and ignored != settings:
            logger.warning("%s sets %s but the normalizer of %s says %s; using %s, as transformers does",
                           config_path, settings, tokenizer_path, ignored, config_path.name)
    elif tokenizer is not None:
        declared, settings = _settings_from_tokenizer_file(tokenizer, tokenizer_path)
    else:
        logger.warning("%s has neither %s nor %s: lower-casing, as Hugging Face's BertTokenizer does by default",
                       folder, CONFIG_FILE, TOKENIZER_FILE)
        declared = {f"{folder}: BertTokenizer's default {key}": (token, None) for key, token in SPECIAL_TOKENS.items()}
        settings = {}
    vocab_file = folder / VOCAB_FILE
    if not vocab_file.is_file():
        if tokenizer is None:
            raise FileNotFoundError(f"{folder} has no {VOCAB_FILE} (nor {TOKENIZER_FILE}): a BERT WordPiece "
                                    "vocabulary is needed")
        vocab_file = _vocab_file_from_tokenizer_file(tokenizer, tokenizer_path)
    _check_vocab(load_vocab(vocab_file), vocab_file, declared, tokenizer, tokenizer_path)
    return TokenizerSettings(vocab_file=str(vocab_file), **settings)


def write_tokenizer_files(folder: str | os.PathLike, vocab_file: str | os.PathLike, do_lower_case: bool,
                          strip_accents: bool | None = None, tokenize_chinese_chars: bool = True,
                          model_max_length: int | None = None) -> None:
    """Writes `vocab.txt` (a copy of `vocab_file`) and a `tokenizer_config.json` that transformers' `AutoTokenizer`
    and `BertTokenizer` read back with the settings given (and HF's word limit of 100 characters).

    Args:
      folder: created if needed; existing files of these names are replaced.
      vocab_file: the vocabulary the model was trained with (checked as `load_vocab` does).
      do_lower_case: the model's casing.
      strip_accents, tokenize_chinese_chars: as `BertTokenizer`'s (the defaults are the reference's).
      model_max_length: the longest input the model takes (its `max_position_embeddings`), or None to leave it out.
    """
    folder = pathlib.Path(folder)
    load_vocab(vocab_file)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / VOCAB_FILE
    if not (target.exists() and target.samefile(vocab_file)):
        shutil.copyfile(vocab_file, target)
    config = {"tokenizer_class": "BertTokenizer", "do_lower_case": bool(do_lower_case),
              "strip_accents": None if strip_accents is None else bool(strip_accents),
              "tokenize_chinese_chars": bool(tokenize_chinese_chars), **SPECIAL_TOKENS}
    if model_max_length is not None:
        config["model_max_length"] = int(model_max_length)
    (folder / CONFIG_FILE).write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
