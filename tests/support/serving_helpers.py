"""Shared by the serving tests: tiny fine-tuning output folders written through the library's own contract
writer (`keras_bert.training.task_runner.save_task_outputs`), and the inputs every export is checked on."""
from __future__ import annotations

import os
import pathlib

import keras
import numpy as np

import keras_bert
from keras_bert.training import task_runner as finetuning

TAGS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
SQUAD_SETTINGS = {"max_seq_length": 64, "doc_stride": 16, "max_query_length": 12, "max_answer_length": 8}


def tiny_config(vocab_size: int) -> keras_bert.BertConfig:
    # initializer_range 0.2 spreads the logits of an untrained model, so argmaxes are not near-ties.
    return keras_bert.BertConfig(vocab_size=vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                                 intermediate_size=64, max_position_embeddings=128, initializer_range=0.2)


def write_finetuned(folder: str | os.PathLike, task: str, vocab_file: str | os.PathLike, seed: int = 0,
                    **task_info) -> keras.Model:
    """A fine-tuning --output_dir for `task` ("classifier", "squad" or "tagger") with an untrained tiny model."""
    keras.utils.set_random_seed(seed)
    config = tiny_config(sum(1 for _ in open(vocab_file, encoding="utf-8")))
    info = {"task": task, "task_name": task_info.pop("task_name", task), "do_lower_case": True,
            "max_seq_length": 32, "is_regression": False, **task_info}
    if task == "classifier":
        num_classes = 1 if info["is_regression"] else len(info["labels"])
        model = keras_bert.BertClassifier(config, num_classes)
    elif task == "squad":
        info = {**info, "labels": [], **SQUAD_SETTINGS}
        model = keras_bert.BertSpanLabeler(config)
    else:
        info = {"labels": TAGS, **info}
        model = keras_bert.BertTokenClassifier(config, len(info["labels"]))
    finetuning.save_task_outputs(model, os.fspath(folder), os.fspath(vocab_file), info)
    return model


def contract_texts(count: int = 64) -> list[bytes]:
    """Unicode, empty, far longer than any seq_length, not UTF-8, whitespace only; cycled to `count`."""
    base = ["a gripping, funny film .", "naïve café — 東京 😀 Ünïcödé", "", "word " * 400,
            "caf\u00e9".encode("utf-8") + b" \xff\xfe broken bytes", "   \t\n ", "[MASK] [CLS] text", "ok"]
    texts = [t if isinstance(t, bytes) else t.encode("utf-8") for t in base]
    return [texts[i % len(texts)] for i in range(count)]


def strings(texts) -> np.ndarray:
    return np.array(list(texts), dtype=object)


def repo_root() -> pathlib.Path:
    return pathlib.Path(__file__).resolve().parents[2]
