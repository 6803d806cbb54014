"""Small sentence-transformers folders for tests, laid out as `SentenceTransformer.save` writes them (checked by hand
against sentence-transformers 6.2's `save` and the all-MiniLM-L6-v2 folder): the Transformer module's files in the
root (a Hugging Face BERT folder from `huggingface_folders` + `sentence_bert_config.json`), `modules.json`, and
`1_Pooling/config.json`; a Normalize module has no folder of its own that is read.

And the oracles of their embeddings: the numpy forward pass (`numpy_bert`) on token ids from Hugging Face's
`tokenizers` library, pooled by the formulas of sentence-transformers' `Pooling` written out here.
"""
from __future__ import annotations

import json
import pathlib

import numpy as np
import tokenizers
from safetensors.numpy import load_file

from support import numpy_bert
from support.huggingface_folders import write_huggingface_folder

TINY = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64,
        "max_position_embeddings": 64}
MODULE_TYPES = {"Transformer": "sentence_transformers.models.Transformer",
                "Pooling": "sentence_transformers.models.Pooling",
                "Normalize": "sentence_transformers.models.Normalize",
                "Dense": "sentence_transformers.models.Dense"}
LEGACY_POOLING = {"cls": "pooling_mode_cls_token", "max": "pooling_mode_max_tokens",
                  "mean": "pooling_mode_mean_tokens", "mean_sqrt_len_tokens": "pooling_mode_mean_sqrt_len_tokens"}


def legacy_pooling_config(mode: str, dimension: int = 32) -> dict:
    """1_Pooling/config.json as sentence-transformers 2.x writes it: one bool per mode."""
    return {"word_embedding_dimension": dimension, **{key: key == LEGACY_POOLING.get(mode) for key in
                                                      LEGACY_POOLING.values()}}


def write_sentence_transformers_folder(folder, pooling: dict | None = None, modules=("Transformer", "Pooling",
                                       "Normalize"), sentence_bert_config: dict | None = None,
                                       transformer_path: str = "", do_lower_case: bool = True, seed: int = 0,
                                       **config) -> pathlib.Path:
    """Writes a sentence-transformers folder around a tiny random BertModel.

    Args:
      folder: created if missing.
      pooling: 1_Pooling/config.json; default mean pooling in the 2.x layout.
      modules: module kinds of modules.json, in order (MODULE_TYPES).
      sentence_bert_config: sentence_bert_config.json; default max_seq_length 24, do_lower_case false.
      transformer_path: the Transformer's folder ("" = the root, as sentence-transformers saves it).
      do_lower_case: the tokenizer's (tokenizer_config.json).
      seed, **config: the BertModel's weights seed and config.json fields over `TINY`.
    """
    folder = pathlib.Path(folder)
    transformer = folder / transformer_path
    write_huggingface_folder(transformer, {**TINY, **config}, "BertModel", do_lower_case=do_lower_case, seed=seed)
    sbert = {"max_seq_length": 24, "do_lower_case": False} if sentence_bert_config is None else sentence_bert_config
    (transformer / "sentence_bert_config.json").write_text(json.dumps(sbert), encoding="utf-8")
    paths = {"Transformer": transformer_path, "Pooling": "1_Pooling", "Normalize": "2_Normalize", "Dense": "2_Dense"}
    entries = [{"idx": i, "name": str(i), "path": paths[kind], "type": MODULE_TYPES[kind]}
               for i, kind in enumerate(modules)]
    (folder / "modules.json").write_text(json.dumps(entries, indent=2), encoding="utf-8")
    (folder / "1_Pooling").mkdir(exist_ok=True)
    pooling = legacy_pooling_config("mean", TINY["hidden_size"]) if pooling is None else pooling
    (folder / "1_Pooling" / "config.json").write_text(json.dumps(pooling), encoding="utf-8")
    return folder


def huggingface_token_ids(vocab_file, texts, max_length: int, lowercase: bool = True):
    """(ids, mask) int [batch, longest] from Hugging Face's BERT WordPiece tokenizer, truncated to `max_length`."""
    tokenizer = tokenizers.BertWordPieceTokenizer(str(vocab_file), lowercase=lowercase)
    tokenizer.enable_truncation(max_length)
    tokenizer.enable_padding()
    encodings = tokenizer.encode_batch(list(texts))
    return (np.array([e.ids for e in encodings]), np.array([e.attention_mask for e in encodings]))


def pool(sequence_output, attention_mask, mode: str, normalize: bool) -> np.ndarray:
    """sentence-transformers' Pooling (one mode) and Normalize in float64: [B, T, H] → [B, H]."""
    tokens = np.asarray(sequence_output, np.float64)
    mask = np.asarray(attention_mask, np.float64)[..., None]
    count = np.maximum(mask.sum(1), 1e-9)
    pooled = {"cls": lambda: tokens[:, 0],
              "max": lambda: np.where(mask > 0, tokens, -np.inf).max(1),
              "mean": lambda: (tokens * mask).sum(1) / count,
              "mean_sqrt_len": lambda: (tokens * mask).sum(1) / np.sqrt(count)}[mode]()
    if normalize:
        pooled = pooled / np.maximum(np.linalg.norm(pooled, axis=-1, keepdims=True), 1e-12)
    return pooled


def oracle_embeddings(transformer_folder, texts, max_length: int, mode: str, normalize: bool,
                      lowercase: bool = True) -> np.ndarray:
    """The embeddings sentence-transformers computes for `texts`, from the numpy forward pass."""
    transformer_folder = pathlib.Path(transformer_folder)
    ids, mask = huggingface_token_ids(transformer_folder / "vocab.txt", texts, max_length, lowercase)
    config = json.loads((transformer_folder / "config.json").read_text(encoding="utf-8"))
    outputs = numpy_bert.bert_forward(load_file(transformer_folder / "model.safetensors"), config, ids, mask)
    return pool(outputs["sequence_output"], mask, mode, normalize)
