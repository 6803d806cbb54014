"""Google TF1 BERT checkpoints ⇄ Keras weights, both directions, with the reference's variable names.

`load_google_checkpoint` reads a release folder (`bert_config.json`, `bert_model.ckpt.*`) or a
checkpoint prefix into any keras_bert model; `save_google_checkpoint` writes a model back under the
same names, so Google's tools (and Model Garden's TF1 converter) read what we train.
Encoder variables must match exactly; a mismatch lists every missing variable and shape conflict.

This module maps each kind of *layer* (embeddings, transformer block, pooler, heads) to the reference's
variable names under a prefix; each model declares the prefix of each of its layers in
`google_checkpoint_names`, so models depend on checkpoint formats and never the other way round.
`checkpoints.huggingface` derives transformers' names from these (as transformers' own converter does).
"""
from __future__ import annotations

import dataclasses
import functools
import os
import re
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from keras_bert.checkpoints.weight_entries import WeightEntry, assign_arrays, file_arrays
from keras_bert.config import ConfigLike, as_bert_config
from keras_bert.layers.embeddings import BertEmbeddings
from keras_bert.layers.heads import DenseLogitsHead, MaskedLMHead
from keras_bert.layers.pooler import Pooler
from keras_bert.layers.transformer_block import TransformerBlock

CONFIG_FILE = "bert_config.json"
# Names written by the reference's optimizer, fp16 loss scaling or Estimator: never model weights.
_IGNORED_SUFFIXES = ("/adam_m", "/adam_v", "/Adam", "/Adam_1")
_IGNORED_NAMES = ("global_step", "good_steps", "loss_scale", "current_loss_scale")


def _dense(scope: str, dense, required: bool = True) -> list[WeightEntry]:
    return [WeightEntry(f"{scope}/kernel", dense.kernel, required=required),
            WeightEntry(f"{scope}/bias", dense.bias, required=required)]


def _layer_norm(scope: str, norm, required: bool = True) -> list[WeightEntry]:
    return [WeightEntry(f"{scope}/gamma", norm.gamma, required=required),
            WeightEntry(f"{scope}/beta", norm.beta, required=required)]


def _transposed_dense(prefix: str, dense, required: bool = False) -> list[WeightEntry]:
    """The reference's `output_weights` [outputs, hidden] (a transposed Dense kernel) and `output_bias`."""
    return [WeightEntry(f"{prefix}output_weights", dense.kernel, np.transpose, np.transpose, required),
            WeightEntry(f"{prefix}output_bias", dense.bias, required=required)]


def _attention_projection(scope: str, einsum_dense) -> list[WeightEntry]:
    """query/key/value: Google [hidden, hidden] and [hidden] ⇄ Keras [hidden, heads, size], [heads, size]."""
    kernel, bias = einsum_dense.kernel, einsum_dense.bias
    return [
        WeightEntry(f"{scope}/kernel", kernel, lambda a: a.reshape(kernel.shape),
               lambda a: a.reshape(a.shape[0], -1)),
        WeightEntry(f"{scope}/bias", bias, lambda a: a.reshape(bias.shape), lambda a: a.reshape(-1)),
    ]


@functools.singledispatch
def layer_entries(layer, prefix: str) -> list[WeightEntry]:
    """The Google variables of one layer of a keras_bert model, named `prefix` + the reference's names
    for that kind of layer (`prefix` comes from the model's `google_checkpoint_names`).

    Encoder layers are required; task heads are optional (`required=False`): a pretrained checkpoint
    has no fine-tuning head, a fine-tuned one no pretraining heads.
    """
    raise TypeError(f"no Google checkpoint layout for {type(layer).__name__}")


@layer_entries.register(keras.Model)
def _nested_model_entries(model: keras.Model, prefix: str) -> list[WeightEntry]:
    """A model inside a model (the encoder of a task model): its own names, after `prefix`."""
    return [dataclasses.replace(entry, name=prefix + entry.name) for entry in model_entries(model)]


@layer_entries.register(BertEmbeddings)
def _embeddings_entries(embeddings: BertEmbeddings, prefix: str) -> list[WeightEntry]:
    return [
        WeightEntry(f"{prefix}word_embeddings", embeddings.word_embeddings.embeddings),
        WeightEntry(f"{prefix}token_type_embeddings", embeddings.token_type_embeddings.embeddings),
        WeightEntry(f"{prefix}position_embeddings", embeddings.position_embeddings),
        *_layer_norm(f"{prefix}LayerNorm", embeddings.layer_norm),
    ]


@layer_entries.register(TransformerBlock)
def _transformer_block_entries(block: TransformerBlock, prefix: str) -> list[WeightEntry]:
    attention = block.attention
    output = attention.output_dense
    return [
        *_attention_projection(f"{prefix}attention/self/query", attention.query_dense),
        *_attention_projection(f"{prefix}attention/self/key", attention.key_dense),
        *_attention_projection(f"{prefix}attention/self/value", attention.value_dense),
        WeightEntry(f"{prefix}attention/output/dense/kernel", output.kernel,
               lambda a, s=tuple(output.kernel.shape): a.reshape(s), lambda a: a.reshape(-1, a.shape[-1])),
        WeightEntry(f"{prefix}attention/output/dense/bias", output.bias),
        *_layer_norm(f"{prefix}attention/output/LayerNorm", block.attention_layer_norm),
        *_dense(f"{prefix}intermediate/dense", block.intermediate),
        *_dense(f"{prefix}output/dense", block.output_dense),
        *_layer_norm(f"{prefix}output/LayerNorm", block.output_layer_norm),
    ]


@layer_entries.register(Pooler)
def _pooler_entries(pooler: Pooler, prefix: str) -> list[WeightEntry]:
    return _dense(f"{prefix}dense", pooler.dense)


@layer_entries.register(MaskedLMHead)
def _masked_lm_head_entries(head: MaskedLMHead, prefix: str) -> list[WeightEntry]:
    """Transform dense and LayerNorm, and the output bias; its table is the tied word embeddings."""
    return [*_dense(f"{prefix}transform/dense", head.transform, required=False),
            *_layer_norm(f"{prefix}transform/LayerNorm", head.layer_norm, required=False),
            WeightEntry(f"{prefix}output_bias", head.output_bias, required=False)]


@layer_entries.register(DenseLogitsHead)
def _dense_logits_head_entries(head: DenseLogitsHead, prefix: str) -> list[WeightEntry]:
    return _transposed_dense(prefix, head.dense)


def model_entries(model) -> list[WeightEntry]:
    """Every Google variable of a keras_bert model, in the order of its `google_checkpoint_names`:
    {layer name: prefix of that layer's Google variable names}, declared by each model class
    (e.g. `{"embeddings": "bert/embeddings/", ...}` for `BertEncoder`, `{"span": "cls/squad/"}` among
    `BertSpanLabeler`'s)."""
    names = getattr(model, "google_checkpoint_names", None)
    if names is None:
        raise TypeError(f"no Google checkpoint layout for {type(model).__name__}")
    return [dataclasses.replace(entry, group=entry.group or layer_name) for layer_name, prefix in names.items()
            for entry in layer_entries(model.get_layer(layer_name), prefix)]


# A checkpoint's files: `<prefix>.index` and its data shards `<prefix>.data-00000-of-00001`, ...
_CHECKPOINT_FILE = re.compile(r"^(?P<prefix>.+)\.(index|data-\d{5}-of-\d{5})$")


def resolve_checkpoint(path: str | os.PathLike) -> tuple[str, str]:
    """Returns (checkpoint prefix, folder) for a release folder, a checkpoint prefix, or one of its files.

    In a folder: `bert_model.ckpt` or `model.ckpt`, else the latest of its `checkpoint` file, else its only
    `*.index`. Raises FileNotFoundError naming the path when none of these is there.
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        return _checkpoint_in_folder(path), path
    file_of_checkpoint = _CHECKPOINT_FILE.match(path)
    if file_of_checkpoint and os.path.isfile(path):
        path = file_of_checkpoint["prefix"]
    if os.path.isfile(path + ".index"):
        return path, os.path.dirname(path) or "."
    raise FileNotFoundError(f"BERT checkpoint not found: {path} (expected a release folder or a "
                            f"checkpoint prefix with {path}.index beside it)")


def _checkpoint_in_folder(folder: str) -> str:
    for candidate in ("bert_model.ckpt", "model.ckpt"):
        if os.path.isfile(os.path.join(folder, candidate + ".index")):
            return os.path.join(folder, candidate)
    latest = tf.train.latest_checkpoint(folder)
    if latest:
        return latest
    indexes = sorted(name for name in os.listdir(folder) if name.endswith(".index"))
    if len(indexes) == 1:
        return os.path.join(folder, indexes[0][: -len(".index")])
    if indexes:
        raise FileNotFoundError(f"folder {folder} holds several checkpoints ({', '.join(indexes)}) and no "
                                "bert_model.ckpt.index or 'checkpoint' file: pass the prefix of one")
    raise FileNotFoundError(f"no TF1 checkpoint (bert_model.ckpt.index) found in folder {folder}")


def _is_model_variable(name: str) -> bool:
    return not (name in _IGNORED_NAMES or name.endswith(_IGNORED_SUFFIXES))


def read_checkpoint_arrays(prefix: str) -> dict[str, np.ndarray]:
    """All model variables of a TF1 checkpoint (optimizer slots and step counters left out).

    Raises ValueError naming the prefix when its index cannot be read, or a variable cannot be read from
    its data files (a shard cut short by an interrupted copy or download, a checksum mismatch, a missing shard).
    """
    try:
        reader = tf.train.load_checkpoint(prefix)
    except (tf.errors.OpError, ValueError) as error:
        raise ValueError(f"cannot read checkpoint {prefix}: {error}") from None
    return {name: _read_variable(reader, prefix, name) for name in reader.get_variable_to_shape_map()
            if _is_model_variable(name)}


def _read_variable(reader, prefix: str, name: str) -> np.ndarray:
    try:
        return reader.get_tensor(name)
    except (tf.errors.OpError, IndexError, ValueError) as error:  # a short shard raises IndexError
        raise ValueError(f"checkpoint {prefix} is truncated or corrupt: variable {name} cannot be read from "
                         f"its data files {prefix}.data-* ({error})") from None


def load_google_checkpoint(model_class, path: str | os.PathLike, config: ConfigLike | None = None,
                           required_heads: tuple[str, ...] = (), **model_kwargs: Any):
    """Builds `model_class(config, **model_kwargs)` and loads a Google checkpoint into it.

    `path`: a release folder or checkpoint prefix; `config`: a `BertConfig`, its dict or the path of a
    `bert_config.json`, by default the `bert_config.json` in the folder; `required_heads`: head layers that
    must be in the checkpoint (see `weight_entries.assign_arrays`). Raises FileNotFoundError for
    missing files and ValueError listing every missing variable, shape conflict and unused `bert/`
    variable; nothing is loaded unless everything checks out.
    """
    prefix, folder = resolve_checkpoint(path)
    if config is None:
        config = os.path.join(folder, CONFIG_FILE)
        if not os.path.exists(config):
            raise FileNotFoundError(f"{CONFIG_FILE} not found beside checkpoint {prefix}; pass config=")
    model = model_class(as_bert_config(config), **model_kwargs)
    assign_checkpoint(model, prefix, required_heads)
    return model


def assign_checkpoint(model, prefix: str, required_heads: tuple[str, ...] = ()) -> None:
    """Loads the checkpoint at `prefix` into an existing keras_bert model (see `load_google_checkpoint`)."""
    arrays = read_checkpoint_arrays(prefix)
    if not any(name.startswith("bert/") for name in arrays):
        sample = ", ".join(sorted(arrays)[:5]) or "no variables"
        raise ValueError(f"{prefix} is not a BERT checkpoint: it has no bert/ variables (found {sample})")
    entries = model_entries(model)
    known = {entry.name for entry in entries}
    unused = [name for name in arrays if name.startswith("bert/") and name not in known]
    assign_arrays(model, entries, arrays, prefix, unused, noun="variables", required_heads=required_heads)


def google_checkpoint_arrays(model) -> dict[str, np.ndarray]:
    """The model's weights as {Google variable name: array in the reference layout}."""
    return file_arrays(model_entries(model))


def save_google_checkpoint(model, path: str | os.PathLike) -> str:
    """Writes the model under the reference's variable names as a TF1 (V2-format) checkpoint.

    `path`: a checkpoint prefix (e.g. `out/bert_model.ckpt`), or an existing folder, in which case
    `bert_model.ckpt` is written there. `bert_config.json` is written beside it. Returns the prefix.
    """
    path = os.fspath(path)
    prefix = os.path.join(path, "bert_model.ckpt") if os.path.isdir(path) else path
    os.makedirs(os.path.dirname(prefix) or ".", exist_ok=True)
    arrays = google_checkpoint_arrays(model)
    names = sorted(arrays)
    tf.raw_ops.SaveV2(prefix=prefix, tensor_names=names, shape_and_slices=[""] * len(names),
                      tensors=[tf.convert_to_tensor(arrays[n]) for n in names])
    config = model.bert_config
    config.to_json_file(os.path.join(os.path.dirname(prefix) or ".", CONFIG_FILE))
    return prefix
