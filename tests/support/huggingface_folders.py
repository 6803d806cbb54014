"""Writes small Hugging Face BERT folders for tests: random tensors under the names transformers 5
`save_pretrained` writes (listed here by hand from transformers' `modeling_bert.py` and checked against a
real `save_pretrained` dump, independently of keras_bert's own mapping), plus `config.json`, `vocab.txt`
and `tokenizer_config.json` as transformers lays them out.

Names: `BertModel` has no `bert.` prefix; the heads-models have it. `BertForMaskedLM`,
`BertForTokenClassification` and `BertForQuestionAnswering` have no pooler. The MLM decoder is tied to
the word embeddings, so only `cls.predictions.bias` is stored for it.
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
from safetensors.numpy import save_file

from keras_bert.config import BertConfig
from support.programs import SHARED_DATA

UNCASED_VOCAB = SHARED_DATA / "vocab" / "uncased_vocab.txt"
ARCHITECTURES = ("BertModel", "BertForPreTraining", "BertForMaskedLM", "BertForNextSentencePrediction",
                 "BertForSequenceClassification", "BertForTokenClassification", "BertForQuestionAnswering")
_WITHOUT_POOLER = ("BertForMaskedLM", "BertForTokenClassification", "BertForQuestionAnswering")
_SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]

# transformers' BertConfig defaults for the fields a test does not give (BERT-Base shapes made tiny).
DEFAULT_CONFIG = {
    "vocab_size": 30522, "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2,
    "intermediate_size": 64, "hidden_act": "gelu", "hidden_dropout_prob": 0.1,
    "attention_probs_dropout_prob": 0.1, "max_position_embeddings": 64, "type_vocab_size": 2,
    "initializer_range": 0.02, "layer_norm_eps": 1e-12, "pad_token_id": 0, "position_embedding_type": "absolute",
    "model_type": "bert", "use_cache": True, "classifier_dropout": None, "is_decoder": False,
    "add_cross_attention": False, "tie_word_embeddings": True, "dtype": "float32", "transformers_version": "5.24.0",
}
# keras_bert's activation names → Hugging Face's: Google's "gelu" is the tanh form, HF's "gelu" is erf.
_HF_ACTIVATION = {"gelu": "gelu_new", "gelu_exact": "gelu", "relu": "relu", "tanh": "tanh"}


def huggingface_config(config: dict | BertConfig, architecture: str, labels=None) -> dict:
    """The config.json transformers writes for `architecture`, with `config`'s fields over the defaults.

    Args:
      config: Hugging Face config fields (a dict), or a keras_bert BertConfig (its activation translated).
      architecture: one of ARCHITECTURES.
      labels: class names for id2label/label2id, in id order; transformers' default LABEL_0, LABEL_1 if None.
    """
    if architecture not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {architecture!r}; one of {ARCHITECTURES}")
    if isinstance(config, BertConfig):
        config = {**config.to_dict(), "hidden_act": _HF_ACTIVATION[config.hidden_act]}
    values = {**DEFAULT_CONFIG, **config, "architectures": [architecture]}
    labels = list(labels) if labels is not None else ["LABEL_0", "LABEL_1"]
    values["id2label"] = {str(i): label for i, label in enumerate(labels)}
    values["label2id"] = {label: i for i, label in enumerate(labels)}
    return dict(sorted(values.items()))


def huggingface_tensors(config: dict, architecture: str, num_labels: int, with_pooler: bool = True,
                        prefix: bool = True, position_ids: bool = False, seed: int = 0,
                        scale: float = 0.05) -> dict[str, np.ndarray]:
    """Random float32 tensors under transformers' names, PyTorch layouts (Linear weights [out, in]).

    Args:
      config: a full Hugging Face config dict (see `huggingface_config`).
      architecture: one of ARCHITECTURES.
      num_labels: rows of `classifier.weight` (sequence/token classification).
      with_pooler: write `pooler.dense.*` where the architecture has a pooler; False drops it everywhere.
      prefix: True names backbone tensors as transformers does (`bert.` in heads-models, none in BertModel);
        False writes them without `bert.` whatever the architecture.
      position_ids: also write the int64 `embeddings.position_ids` buffer older transformers saved.
      seed: numpy seed; LayerNorm scales near 1, everything else small and non-zero.
      scale: standard deviation of the weights and biases (larger values push activations where GELU's erf and
        tanh forms differ).
    """
    rng = np.random.default_rng(seed)
    h, i, v = config["hidden_size"], config["intermediate_size"], config["vocab_size"]

    def dense(out_dim, in_dim):
        return {"weight": rng.normal(0, scale, (out_dim, in_dim)), "bias": rng.normal(0, scale, (out_dim,))}

    def layer_norm(dim):
        return {"weight": 1 + rng.normal(0, 0.1, (dim,)), "bias": rng.normal(0, scale, (dim,))}

    def flat(name, parts):
        return {f"{name}.{key}": value for key, value in parts.items()}

    backbone = {
        "embeddings.word_embeddings.weight": rng.normal(0, scale, (v, h)),
        "embeddings.position_embeddings.weight": rng.normal(0, scale, (config["max_position_embeddings"], h)),
        "embeddings.token_type_embeddings.weight": rng.normal(0, scale, (config["type_vocab_size"], h)),
        **flat("embeddings.LayerNorm", layer_norm(h)),
    }
    for n in range(config["num_hidden_layers"]):
        layer = f"encoder.layer.{n}"
        for part in ("query", "key", "value"):
            backbone.update(flat(f"{layer}.attention.self.{part}", dense(h, h)))
        backbone.update(flat(f"{layer}.attention.output.dense", dense(h, h)))
        backbone.update(flat(f"{layer}.attention.output.LayerNorm", layer_norm(h)))
        backbone.update(flat(f"{layer}.intermediate.dense", dense(i, h)))
        backbone.update(flat(f"{layer}.output.dense", dense(h, i)))
        backbone.update(flat(f"{layer}.output.LayerNorm", layer_norm(h)))
    if with_pooler and architecture not in _WITHOUT_POOLER:
        backbone.update(flat("pooler.dense", dense(h, h)))
    name_prefix = "bert." if prefix and architecture != "BertModel" else ""
    tensors = {name_prefix + name: value for name, value in backbone.items()}

    if architecture in ("BertForPreTraining", "BertForMaskedLM"):
        tensors.update(flat("cls.predictions.transform.dense", dense(h, h)))
        tensors.update(flat("cls.predictions.transform.LayerNorm", layer_norm(h)))
        tensors["cls.predictions.bias"] = rng.normal(0, scale, (v,))
    if architecture in ("BertForPreTraining", "BertForNextSentencePrediction"):
        tensors.update(flat("cls.seq_relationship", dense(2, h)))
    if architecture in ("BertForSequenceClassification", "BertForTokenClassification"):
        tensors.update(flat("classifier", dense(num_labels, h)))
    if architecture == "BertForQuestionAnswering":
        tensors.update(flat("qa_outputs", dense(2, h)))
    tensors = {name: value.astype(np.float32) for name, value in tensors.items()}
    if position_ids:
        positions = np.arange(config["max_position_embeddings"], dtype=np.int64)[None]
        tensors[name_prefix + "embeddings.position_ids"] = positions
    return tensors


def small_vocab(vocab_size: int) -> list[str]:
    """`vocab_size` tokens: BERT's special tokens, the printable ASCII characters and their `##` forms (so
    every ASCII word has pieces), then the uncased vocabulary's words (most frequent first), then the rest."""
    uncased = [t for t in UNCASED_VOCAB.read_text(encoding="utf-8").splitlines() if not t.startswith("[unused")]
    characters = [t for t in uncased if len(t) == 1 and t.isascii() and t.isprintable()]
    tokens = dict.fromkeys(_SPECIAL_TOKENS + characters + [f"##{c}" for c in characters]
                           + [t for t in uncased if len(t) > 1] + uncased)
    if len(tokens) < vocab_size:
        raise ValueError(f"vocab_size {vocab_size} is larger than {UNCASED_VOCAB} allows")
    return list(tokens)[:vocab_size]


def write_huggingface_folder(folder, config: dict | BertConfig, architecture: str, labels=None,
                             with_pooler: bool = True, prefix: bool = True, vocab_file=None,
                             do_lower_case: bool = True, seed: int = 0, position_ids: bool = False,
                             scale: float = 0.05) -> Path:
    """Writes `folder` as transformers' `save_pretrained` + a BertTokenizer's files would.

    Args:
      folder: created if missing.
      config: Hugging Face config fields over DEFAULT_CONFIG (or a keras_bert BertConfig).
      architecture: one of ARCHITECTURES, written to config.json's `architectures`.
      labels: id2label names in id order (also the classifier's rows); LABEL_0, LABEL_1 if None.
      with_pooler, prefix, position_ids, seed, scale: see `huggingface_tensors`.
      vocab_file: copied to vocab.txt; if None, the uncased vocabulary when vocab_size is 30522,
        else `small_vocab(vocab_size)`.
      do_lower_case: tokenizer_config.json's `do_lower_case`.

    Returns:
      The folder as a Path.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    values = huggingface_config(config, architecture, labels)
    tensors = huggingface_tensors(values, architecture, len(values["id2label"]), with_pooler=with_pooler,
                                  prefix=prefix, position_ids=position_ids, seed=seed, scale=scale)
    save_file(tensors, os.fspath(folder / "model.safetensors"), metadata={"format": "pt"})
    (folder / "config.json").write_text(json.dumps(values, indent=2) + "\n", encoding="utf-8")
    if vocab_file is not None:
        shutil.copyfile(vocab_file, folder / "vocab.txt")
    elif values["vocab_size"] == 30522:
        shutil.copyfile(UNCASED_VOCAB, folder / "vocab.txt")
    else:
        (folder / "vocab.txt").write_text("\n".join(small_vocab(values["vocab_size"])) + "\n", encoding="utf-8")
    tokenizer_config = {
        "backend": "tokenizers", "cls_token": "[CLS]", "do_lower_case": do_lower_case, "mask_token": "[MASK]",
        "model_max_length": values["max_position_embeddings"], "pad_token": "[PAD]", "sep_token": "[SEP]",
        "strip_accents": None, "tokenize_chinese_chars": True, "tokenizer_class": "BertTokenizer",
        "unk_token": "[UNK]",
    }
    (folder / "tokenizer_config.json").write_text(json.dumps(tokenizer_config, indent=2) + "\n", encoding="utf-8")
    return folder
