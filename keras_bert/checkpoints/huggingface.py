"""Hugging Face BERT folders ⇄ keras_bert models, both directions, with transformers' tensor names.

`load_huggingface_checkpoint` reads a local folder (`config.json` + weights, see `huggingface_files`)
into any keras_bert model; `save_huggingface_checkpoint` writes a model back as transformers 5 writes a
`BertModel`, `BertForPreTraining`, `BertForSequenceClassification`, `BertForQuestionAnswering` or
`BertForTokenClassification`, so `transformers.AutoModelFor….from_pretrained(folder)` reads it.

Names are derived from the Google layout (`checkpoints.google`), which transformers' own converter
mirrors: `bert/encoder/layer_3/attention/self/query/kernel` is `bert.encoder.layer.3.attention.self.query.weight`,
transposed ([out, in]); embeddings are not transposed; LayerNorm `gamma`/`beta` are `weight`/`bias` (old
folders still say `gamma`/`beta`). Heads are renamed by each model's `huggingface_checkpoint_heads`
({head layer name: transformers prefix}). A bare `BertModel` has no `bert.` prefix; models with heads do.

Config: transformers' `hidden_act: "gelu"` is the exact erf GELU, our `"gelu_exact"`; Google's `"gelu"` (ours)
is the tanh form, transformers' `"gelu_new"`. Loading is as strict as for Google checkpoints: every missing
tensor, shape conflict and unknown tensor is listed in one error, and nothing loads partially.
"""
from __future__ import annotations

import dataclasses
import json
import logging
import os
import re
from typing import Any

import numpy as np

from keras_bert.checkpoints import google
from keras_bert.checkpoints.huggingface_files import read_weights, weights_file, write_safetensors
from keras_bert.checkpoints.weight_entries import WeightEntry, assign_arrays, file_arrays
from keras_bert.config import BertConfig, ConfigLike, as_bert_config
from keras_bert.files import read_json
from keras_bert.tokenization.huggingface import write_tokenizer_files
from keras_bert.tokenization.vocab import load_vocab

logger = logging.getLogger(__name__)

CONFIG_FILE = "config.json"
ENCODER_PREFIX = "bert."
# transformers' names of its hidden_act values that keras_bert computes, both ways.
_ACTIVATIONS_IN = {"gelu": "gelu_exact", "gelu_new": "gelu", "gelu_pytorch_tanh": "gelu", "relu": "relu",
                   "tanh": "tanh"}
_ACTIVATIONS_OUT = {"gelu_exact": "gelu", "gelu": "gelu_new", "relu": "relu", "tanh": "tanh"}
# Head tensors of the BERT classes transformers defines: another class's head is dropped, not an error.
_KNOWN_HEADS = ("cls.predictions.", "cls.seq_relationship.", "classifier.", "qa_outputs.")
_IGNORED = ("bert.embeddings.position_ids",)  # a buffer (0, 1, 2, ...), not a weight


def is_huggingface_folder(path: str | os.PathLike) -> bool:
    """Whether `path` is a folder holding `config.json` and a Hugging Face weights file."""
    return (os.path.isdir(path) and os.path.isfile(os.path.join(path, CONFIG_FILE))
            and weights_file(path) is not None)


def read_huggingface_values(folder: str | os.PathLike) -> dict[str, Any]:
    """The folder's `config.json`, checked to describe a BERT that keras_bert computes exactly.

    Raises ValueError naming the file and field for another model type (RoBERTa, ELECTRA, DistilBERT,
    ALBERT, ...), a relative `position_embedding_type`, a decoder or cross-attention BERT, or a
    `hidden_act` keras_bert does not have.
    """
    path = os.path.join(os.fspath(folder), CONFIG_FILE)
    values = read_json(path)
    model_type = values.get("model_type", "bert")
    if model_type != "bert":
        raise ValueError(f"{path}: model_type {model_type!r} is not BERT; keras_bert loads model_type 'bert' only")
    position = values.get("position_embedding_type", "absolute")
    if position != "absolute":
        raise ValueError(f"{path}: position_embedding_type {position!r} is not supported (only 'absolute', "
                         "the learnt position table of the original BERT)")
    for field in ("is_decoder", "add_cross_attention"):
        if values.get(field):
            raise ValueError(f"{path}: {field} is true: keras_bert is the bidirectional BERT encoder")
    act = values.get("hidden_act", "gelu")
    if act not in _ACTIVATIONS_IN:
        raise ValueError(f"{path}: hidden_act {act!r} is not one of {sorted(_ACTIVATIONS_IN)}")
    return values


def read_huggingface_config(folder: str | os.PathLike) -> BertConfig:
    """The `BertConfig` of a Hugging Face folder (see `read_huggingface_values` for what is refused)."""
    values = read_huggingface_values(folder)
    fields = {**values, "hidden_act": _ACTIVATIONS_IN[values.get("hidden_act", "gelu")]}
    return BertConfig.from_dict(fields, source=os.path.join(os.fspath(folder), CONFIG_FILE))


def huggingface_labels(folder: str | os.PathLike) -> list[str] | None:
    """The folder's `id2label` names in id order, or None when its config.json has no `id2label`."""
    path = os.path.join(os.fspath(folder), CONFIG_FILE)
    id2label = read_json(path).get("id2label")
    if id2label is None:
        return None
    try:
        by_id = {int(key): str(label) for key, label in id2label.items()}
    except (AttributeError, ValueError):
        raise ValueError(f"{path}: id2label must map integer ids to names, got {id2label!r}") from None
    if sorted(by_id) != list(range(len(by_id))):
        raise ValueError(f"{path}: id2label ids must be 0..{len(by_id) - 1}, got {sorted(by_id)}")
    return [by_id[i] for i in range(len(by_id))]


def _name_from_google(google_name: str) -> tuple[str, bool]:
    """(transformers name, transposed) of a Google variable name below its head prefix."""
    parts = [re.sub(r"^layer_(\d+)$", r"layer.\1", part) for part in google_name.split("/")]
    last = parts[-1]
    if last.endswith("_embeddings"):
        parts.append("weight")
    else:
        parts[-1] = {"kernel": "weight", "gamma": "weight", "beta": "bias", "output_weights": "weight",
                     "output_bias": "bias"}.get(last, last)
    return ".".join(parts), last == "kernel"


def _entry_from_google(entry: WeightEntry, name: str, transposed: bool, required: bool) -> WeightEntry:
    if not transposed:
        return dataclasses.replace(entry, name=name, required=required)
    return dataclasses.replace(entry, name=name, required=required,
                               to_keras=lambda a, e=entry: e.to_keras(np.transpose(a)),
                               to_file=lambda a, e=entry: np.transpose(e.to_file(a)))


def model_entries(model) -> list[WeightEntry]:
    """Every transformers tensor of a keras_bert model, encoder names under `bert.`.

    The pooler is optional: transformers' masked-LM class has none, and a model built from such a folder
    starts its pooler from the initializer (with a logged warning). Models whose transformers class has no
    pooler (`huggingface_has_pooler` False: QA, tagging) neither read nor write theirs; it is unused there.
    """
    heads = getattr(model, "huggingface_checkpoint_heads", None) or {}
    has_pooler = getattr(model, "huggingface_has_pooler", True)
    google_names = model.google_checkpoint_names
    entries = []
    for entry in google.model_entries(model):
        if entry.group in heads:
            name, transposed = _name_from_google(entry.name[len(google_names[entry.group]):])
            entries.append(_entry_from_google(entry, heads[entry.group] + name, transposed, entry.required))
        elif entry.group != "pooler" or has_pooler:
            name, transposed = _name_from_google(entry.name)
            entries.append(_entry_from_google(entry, name, transposed, entry.required and entry.group != "pooler"))
    return entries


def _canonical_names(arrays: dict[str, np.ndarray], source: str) -> dict[str, np.ndarray]:
    """The file's tensors under the names `model_entries` uses: `bert.` added to a bare BertModel's names,
    old LayerNorm `gamma`/`beta` as `weight`/`bias`, the masked-LM decoder folded into the tied embeddings."""
    has_prefix = any(name.startswith(ENCODER_PREFIX) for name in arrays)
    renamed = {}
    for name, array in arrays.items():
        if not has_prefix and name.startswith(("embeddings.", "encoder.", "pooler.")):
            name = ENCODER_PREFIX + name
        name = re.sub(r"LayerNorm\.gamma$", "LayerNorm.weight", re.sub(r"LayerNorm\.beta$", "LayerNorm.bias", name))
        renamed[name] = array
    decoder_bias = renamed.pop("cls.predictions.decoder.bias", None)
    if decoder_bias is not None:
        bias = renamed.setdefault("cls.predictions.bias", decoder_bias)
        if not np.array_equal(bias, decoder_bias):
            raise ValueError(f"{source}: cls.predictions.bias and cls.predictions.decoder.bias differ; "
                             "transformers ties them")
    decoder = renamed.pop("cls.predictions.decoder.weight", None)
    table = renamed.get(ENCODER_PREFIX + "embeddings.word_embeddings.weight")
    if decoder is not None and (table is None or not np.array_equal(decoder, table)):
        raise ValueError(f"{source}: cls.predictions.decoder.weight is not the word-embedding table; BERT ties "
                         "its masked-LM output to the word embeddings and keras_bert has no untied decoder")
    for name in _IGNORED:
        renamed.pop(name, None)
    return renamed


def load_huggingface_checkpoint(model_class, path: str | os.PathLike, config: ConfigLike | None = None,
                                required_heads: tuple[str, ...] = (), **model_kwargs: Any):
    """Builds `model_class(config, **model_kwargs)` from a local Hugging Face folder and loads its weights.

    Args:
        model_class: a keras_bert model class (`BertEncoder`, `BertPretrainer`, `BertClassifier`, ...).
        path: the folder (`config.json`, a weights file; downloading from the Hub is the caller's job).
        config: a `BertConfig`, its dict or a bert_config.json path; by default the folder's config.json.
        required_heads: head layers that must be in the folder (see `weight_entries.assign_arrays`).
        **model_kwargs: further constructor arguments. A classifier's `num_classes` (a tagger's `num_labels`)
            defaults to the number of labels in config.json (`id2label`, else `num_labels`, else 2).

    A task class on a folder without its head (e.g. a `BertModel`) starts that head fresh, with a logged
    warning; tensors of another class's head (`cls.*`, `classifier.*`, `qa_outputs.*`) are left out, logged.
    Raises FileNotFoundError for missing files and ValueError listing every missing tensor, shape conflict
    and unknown tensor; nothing is loaded unless everything checks out.
    """
    folder = os.fspath(path)
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"Hugging Face folder not found: {folder}")
    values = read_huggingface_values(folder)
    bert_config = read_huggingface_config(folder) if config is None else as_bert_config(config)
    label_argument = getattr(model_class, "huggingface_labels_argument", None)
    if label_argument and label_argument not in model_kwargs:
        labels = huggingface_labels(folder)
        model_kwargs[label_argument] = len(labels) if labels else int(values.get("num_labels", 2))
    model = model_class(bert_config, **model_kwargs)
    assign_huggingface_arrays(model, read_weights(folder), folder, required_heads)
    return model


def assign_huggingface_arrays(model, arrays: dict[str, np.ndarray], source: str,
                              required_heads: tuple[str, ...] = ()) -> None:
    """Loads {transformers name: array} into an existing keras_bert model (see `load_huggingface_checkpoint`)."""
    arrays = _canonical_names(arrays, source)
    entries = model_entries(model)
    if not any(entry.name in arrays for entry in entries if entry.required):
        sample = ", ".join(sorted(arrays)[:5]) or "no tensors"
        raise ValueError(f"{source} holds no BERT encoder tensors (found {sample})")
    known = {entry.name for entry in entries}
    unknown = [name for name in arrays if name not in known]
    droppable = _KNOWN_HEADS if getattr(model, "huggingface_has_pooler", True) else (*_KNOWN_HEADS, "bert.pooler.")
    dropped = [name for name in unknown if name.startswith(droppable)]
    if dropped:
        logger.info("%s: %s has no place for these tensors of another task's head, left out: %s",
                    source, model.name, ", ".join(sorted(dropped)))
    assign_arrays(model, entries, arrays, source, [n for n in unknown if n not in dropped],
                  required_heads=required_heads)


def huggingface_checkpoint_arrays(model) -> dict[str, np.ndarray]:
    """The model's weights as {transformers name: array}, named as transformers saves the model's class."""
    arrays = file_arrays(model_entries(model))
    if getattr(model, "huggingface_checkpoint_heads", None) is None:  # a bare encoder: transformers' BertModel
        return {name.removeprefix(ENCODER_PREFIX): array for name, array in arrays.items()}
    return arrays


def huggingface_config(model, labels: list[str] | None = None, pad_token_id: int = 0) -> dict[str, Any]:
    """The config.json transformers reads for the model: BERT's fields, the class in `architectures`, and
    for classifiers and taggers `id2label`/`label2id` (`labels`, else LABEL_0, LABEL_1, ...)."""
    config = model.bert_config
    values = {key: value for key, value in config.to_dict().items() if key != "hidden_act"}
    values.update(architectures=[model.huggingface_architecture], model_type="bert",
                  hidden_act=_ACTIVATIONS_OUT[config.hidden_act], position_embedding_type="absolute",
                  pad_token_id=pad_token_id, tie_word_embeddings=True, dtype="float32")
    label_argument = getattr(model, "huggingface_labels_argument", None)
    if label_argument:
        count = getattr(model, label_argument)
        labels = list(labels) if labels is not None else [f"LABEL_{i}" for i in range(count)]
        if len(labels) != count:
            raise ValueError(f"{len(labels)} labels given for a model with {label_argument}={count}")
        values.update(id2label={str(i): label for i, label in enumerate(labels)},
                      label2id={label: i for i, label in enumerate(labels)})
        if count == 1 and label_argument == "num_classes":
            values["problem_type"] = "regression"
    return values


def save_huggingface_checkpoint(model, folder: str | os.PathLike, vocab_file: str | os.PathLike | None = None,
                                do_lower_case: bool | None = None, labels: list[str] | None = None,
                                strip_accents: bool | None = None, tokenize_chinese_chars: bool = True) -> str:
    """Writes the model as a Hugging Face folder: `config.json`, `model.safetensors` and, with `vocab_file`
    and `do_lower_case`, `vocab.txt` and `tokenizer_config.json`. Returns the folder.

    Args:
        model: a keras_bert model (saved as the transformers class in its `huggingface_architecture`).
        folder: created if needed; files of the same names are replaced.
        vocab_file, do_lower_case: the tokenizer the model was trained with; both or neither.
        labels: the names of a classifier's classes or a tagger's tags, in id order (`id2label`).
        strip_accents, tokenize_chinese_chars: the tokenizer's other settings (see `BertTokenizer`), for a
            model that came from a Hugging Face folder that set them.
    """
    folder = os.fspath(folder)
    if (vocab_file is None) != (do_lower_case is None):
        raise ValueError("pass both vocab_file and do_lower_case (for the tokenizer files), or neither")
    tokens = load_vocab(vocab_file) if vocab_file is not None else []
    pad_token_id = tokens.index("[PAD]") if "[PAD]" in tokens else 0
    values = huggingface_config(model, labels, pad_token_id)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, CONFIG_FILE), "w", encoding="utf-8") as f:
        json.dump(values, f, indent=2, sort_keys=True)
        f.write("\n")
    write_safetensors(huggingface_checkpoint_arrays(model), folder)
    if vocab_file is not None:
        write_tokenizer_files(folder, vocab_file, do_lower_case, strip_accents, tokenize_chinese_chars,
                              model_max_length=model.bert_config.max_position_embeddings)
    return folder

