"""Shared by the serving tests: tiny fine-tuning output folders written through the library's own contract
writer (`keras_bert.training.task_runner.save_task_outputs`, with a `TaskInfo`), and the inputs every export is
checked on."""
from __future__ import annotations

import os
import pathlib
import pickle
import subprocess
import sys

import keras
import numpy as np

import keras_bert
from keras_bert.training.outputs import CLASSIFIER, SQUAD, TAGGER, SquadSettings, TaskInfo
from keras_bert.training.task_runner import save_task_outputs
from support.configs import UNCASED_VOCAB_SIZE, tiny_config

TAGS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
SQUAD_SEQ_LENGTH = 64
SQUAD_SETTINGS = SquadSettings(doc_stride=16, max_query_length=12, max_answer_length=8)


def serving_config(vocab_size: int = UNCASED_VOCAB_SIZE) -> keras_bert.BertConfig:
    """`tiny_config` with room for SQuAD's 64-piece windows; initializer_range 0.2 spreads the logits of an
    untrained model, so argmaxes are not near-ties."""
    return tiny_config(vocab_size, max_position_embeddings=128, initializer_range=0.2)


def write_finetuned(folder: str | os.PathLike, task: str, vocab_file: str | os.PathLike, seed: int = 0,
                    task_name: str | None = None, **fields) -> keras.Model:
    """A fine-tuning --output_dir for `task` ("classifier", "squad" or "tagger") with an untrained tiny model.

    `fields` are `TaskInfo` fields; by default max_seq_length is 32 (SQuAD: 64, with `SQUAD_SETTINGS`) and a
    tagger's labels are `TAGS`.
    """
    keras.utils.set_random_seed(seed)
    config = serving_config(len(pathlib.Path(vocab_file).read_text(encoding="utf-8").splitlines()))
    defaults = {"max_seq_length": 32}
    if task == SQUAD:
        defaults = {"max_seq_length": SQUAD_SEQ_LENGTH, "squad": SQUAD_SETTINGS}
    elif task == TAGGER:
        defaults["labels"] = TAGS
    info = TaskInfo(task, task_name or task, do_lower_case=True, **{**defaults, **fields})
    if task == CLASSIFIER:
        model = keras_bert.BertClassifier(config, info.num_outputs)
    elif task == SQUAD:
        model = keras_bert.BertSpanLabeler(config)
    else:
        model = keras_bert.BertTokenClassifier(config, info.num_outputs)
    save_task_outputs(model, os.fspath(folder), os.fspath(vocab_file), info)
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


def serve_in_fresh_process(work: pathlib.Path, exports: dict, calls: list, timeout: float = 300) -> dict:
    """Loads `exports` ({key: SavedModel folder}) in a fresh Python that imports only tensorflow and tensorflow_text
    (`serving_fresh_process.py`), makes `calls` ([(key, signature, inputs)]) and returns its result dict."""
    with open(work / "job.pkl", "wb") as f:
        pickle.dump({"exports": {key: os.fspath(folder) for key, folder in exports.items()}, "calls": calls}, f)
    run = subprocess.run([sys.executable, str(repo_root() / "tests" / "support" / "serving_fresh_process.py"),
                          str(work / "job.pkl"), str(work / "result.pkl")], cwd=work, capture_output=True, text=True,
                         timeout=timeout)
    assert run.returncode == 0, run.stderr[-3000:]
    with open(work / "result.pkl", "rb") as f:
        return pickle.load(f)
