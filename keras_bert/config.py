"""`BertConfig`: the fields of Google's `bert_config.json`, validated, with the released shapes as presets."""
from __future__ import annotations

import dataclasses
import json
import math
import numbers
import os
from collections.abc import Mapping
from typing import Any

from keras_bert.files import read_json

# Google's configs say "gelu" for the tanh approximation (google-research/bert modeling.gelu).
# "gelu_exact" is the erf form, for configs converted from other ecosystems.
ACTIVATIONS = ("gelu", "gelu_exact", "relu", "tanh")

# (layers, hidden) of the 24 small BERTs (google-research/bert README, "BERT-Tiny" ... "BERT-Base").
SMALL_BERT_LAYERS = (2, 4, 6, 8, 10, 12)
SMALL_BERT_HIDDEN = (128, 256, 512, 768)
_NAMED_SMALL = {"tiny": (2, 128), "mini": (4, 256), "small": (4, 512), "medium": (8, 512)}


@dataclasses.dataclass(frozen=True)
class BertConfig:
    """Hyper-parameters of a BERT encoder, named and defaulted as in google-research/bert (BERT-Base).

    Validated on construction (positive sizes, hidden_size divisible by num_attention_heads, a known
    `hidden_act`, dropout in [0, 1)); `from_json_file` reads a release's `bert_config.json`.

    Example:
    >>> config = BertConfig.preset("tiny")
    >>> config.num_hidden_layers, config.hidden_size, config.head_size
    (2, 128, 64)
    """

    vocab_size: int = 30522
    hidden_size: int = 768
    num_hidden_layers: int = 12
    num_attention_heads: int = 12
    intermediate_size: int = 3072
    hidden_act: str = "gelu"
    hidden_dropout_prob: float = 0.1
    attention_probs_dropout_prob: float = 0.1
    max_position_embeddings: int = 512
    type_vocab_size: int = 2
    initializer_range: float = 0.02
    # Not in Google's configs (modeling.py fixes 1e-12); Hugging Face configs carry it.
    layer_norm_eps: float = 1e-12

    def __post_init__(self) -> None:
        for name in ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads",
                     "intermediate_size", "max_position_embeddings", "type_vocab_size"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"BertConfig.{name} must be a positive integer, got {_described(value)}")
        if self.hidden_size % self.num_attention_heads:
            raise ValueError(
                f"BertConfig.hidden_size ({self.hidden_size}) is not divisible by "
                f"num_attention_heads ({self.num_attention_heads})")
        if self.hidden_act not in ACTIVATIONS:
            raise ValueError(f"BertConfig.hidden_act {self.hidden_act!r} is not one of {ACTIVATIONS}")
        for name in ("hidden_dropout_prob", "attention_probs_dropout_prob", "initializer_range", "layer_norm_eps"):
            _check_number(name, getattr(self, name))
        for name in ("hidden_dropout_prob", "attention_probs_dropout_prob"):
            value = getattr(self, name)
            if not 0.0 <= value < 1.0:
                raise ValueError(f"BertConfig.{name} must be in [0, 1), got {value!r}")
        for name in ("initializer_range", "layer_norm_eps"):
            if getattr(self, name) <= 0:
                raise ValueError(f"BertConfig.{name} must be positive, got {getattr(self, name)!r}")

    @property
    def head_size(self) -> int:
        return self.hidden_size // self.num_attention_heads

    @classmethod
    def from_dict(cls, values: Mapping[str, Any], source: str = "config") -> BertConfig:
        """Builds a config from a dict; keys that are not BERT fields (e.g. the Chinese release's
        `pooler_*`, `directionality`) are ignored, missing ones take BERT-Base defaults."""
        if not isinstance(values, Mapping):
            raise ValueError(f"{source}: expected a mapping of BERT hyper-parameters, got {type(values).__name__}")
        known = {f.name for f in dataclasses.fields(cls)}
        try:
            return cls(**{k: v for k, v in values.items() if k in known})
        except ValueError as error:
            raise ValueError(f"{source}: {error}") from None

    @classmethod
    def from_json_file(cls, path: str | os.PathLike) -> BertConfig:
        path = os.fspath(path)
        if not os.path.exists(path):
            raise FileNotFoundError(f"BERT config file not found: {path}")
        if os.path.isdir(path):
            raise ValueError(f"BERT config file {path} is a folder; pass the bert_config.json inside it")
        return cls.from_dict(read_json(path), source=path)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json_file(self, path: str | os.PathLike) -> None:
        with open(path, "w", encoding="utf-8") as f:
            json.dump(self.to_dict(), f, indent=2, sort_keys=True)
            f.write("\n")

    def replace(self, **changes: Any) -> BertConfig:
        return dataclasses.replace(self, **changes)

    @classmethod
    def preset(cls, name: str, vocab_size: int = 30522) -> BertConfig:
        """A released shape: "base", "large", "tiny", "mini", "small", "medium" or "L-{layers}_H-{hidden}"
        (the 24 small BERTs; heads = hidden / 64, intermediate = 4 × hidden)."""
        key = name.lower()
        if key == "base":
            return cls(vocab_size=vocab_size)
        if key == "large":
            return cls(vocab_size=vocab_size, hidden_size=1024, num_hidden_layers=24,
                       num_attention_heads=16, intermediate_size=4096)
        if key in _NAMED_SMALL:
            layers, hidden = _NAMED_SMALL[key]
        else:
            try:
                l_part, h_part = key.upper().split("_")
                layers, hidden = int(l_part.removeprefix("L-")), int(h_part.removeprefix("H-"))
            except ValueError:
                raise ValueError(f"unknown BERT preset {name!r}; use one of {preset_names()}") from None
            if layers not in SMALL_BERT_LAYERS or hidden not in SMALL_BERT_HIDDEN:
                raise ValueError(f"unknown BERT preset {name!r}; use one of {preset_names()}")
        return cls(vocab_size=vocab_size, hidden_size=hidden, num_hidden_layers=layers,
                   num_attention_heads=hidden // 64, intermediate_size=4 * hidden)


# What a `config=` argument may be: a BertConfig, its dict, or the path of a bert_config.json.
ConfigLike = BertConfig | Mapping[str, Any] | str | os.PathLike


def as_bert_config(config: ConfigLike) -> BertConfig:
    """A `BertConfig` from itself, its dict, or the path of a `bert_config.json`."""
    if isinstance(config, BertConfig):
        return config
    if isinstance(config, Mapping):
        return BertConfig.from_dict(config)
    if isinstance(config, (str, os.PathLike)):
        return BertConfig.from_json_file(config)
    raise TypeError(f"expected a BertConfig, a dict or the path of a bert_config.json, got {type(config).__name__}")


def _described(value: Any) -> str:
    """The value and its JSON-ish type, e.g. `'0.1' (a string)`: a quoted number in a config looks like a number."""
    kinds = {bool: "a boolean", str: "a string", type(None): "null", list: "a list", dict: "an object"}
    return f"{value!r} ({kinds.get(type(value), type(value).__name__)})"


def _check_number(name: str, value: Any) -> None:
    """A float field: a finite JSON number (an int is fine); strings, null, booleans, NaN and ±Infinity are not."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"BertConfig.{name} must be a number (float), got {_described(value)}")
    if not math.isfinite(value):
        raise ValueError(f"BertConfig.{name} must be a finite number, got {value!r}")


def preset_names() -> list[str]:
    """Every name `BertConfig.preset` accepts."""
    small = [f"L-{layers}_H-{hidden}" for layers in SMALL_BERT_LAYERS for hidden in SMALL_BERT_HIDDEN]
    return ["base", "large", *_NAMED_SMALL, *small]
