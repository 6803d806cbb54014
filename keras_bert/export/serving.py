"""Exports for TensorFlow Serving, in `serving_layout`'s folders: a fine-tuning `--output_dir` (its task model,
plus the encoder and the preprocessing model), or a pretrained Google checkpoint (encoder and preprocessing).

The fine-tuning folder is read through its typed contract, `keras_bert.training.outputs.TaskInfo`
(`task_info.json`), with the model from `model.keras`, else from `bert_model.ckpt` + `bert_config.json`.
"""
from __future__ import annotations

import os
import pathlib

import keras
import numpy as np
import tensorflow as tf

from keras_bert.checkpoints.google import CONFIG_FILE
from keras_bert.config import BertConfig
from keras_bert.export.classifier import export_classifier
from keras_bert.export.encoder import export_encoder
from keras_bert.export.preprocessing import export_preprocessing
from keras_bert.export.serving_layout import write_models_config, write_version
from keras_bert.export.squad import export_squad
from keras_bert.export.tagger import export_tagger
from keras_bert.models.classifier import BertClassifier
from keras_bert.models.encoder import BertEncoder
from keras_bert.models.pretrainer import BertPretrainer
from keras_bert.models.span_labeler import BertSpanLabeler
from keras_bert.models.token_classifier import BertTokenClassifier
from keras_bert.tokenization.preprocessor import BertPreprocessor
from keras_bert.training.outputs import CHECKPOINT_PREFIX, CLASSIFIER, MODEL_FILE, SQUAD, TAGGER, VOCAB_FILE, TaskInfo

TASK_MODELS = {CLASSIFIER: BertClassifier, SQUAD: BertSpanLabeler, TAGGER: BertTokenClassifier}

# Warm-up inputs: one short and one long request per signature, so the first real request finds
# the graph already built for both small and padded-out batches.
_WARMUP_TEXTS = ["This is a warm-up request.", "A longer warm-up request " * 40]


def _strings(texts: list[str]) -> np.ndarray:
    return np.array([t.encode("utf-8") for t in texts], dtype=object)


def load_task_model(model_dir: str | os.PathLike, info: TaskInfo) -> keras.Model:
    """The fine-tuned Keras model of a fine-tuning `--output_dir`: `model.keras`, else the Google checkpoint
    `bert_model.ckpt` + `bert_config.json` (head included)."""
    model_dir = pathlib.Path(model_dir)
    if (model_dir / MODEL_FILE).is_file():
        return keras.saving.load_model(model_dir / MODEL_FILE, compile=False)  # serving needs no optimizer
    if not (model_dir / f"{CHECKPOINT_PREFIX}.index").is_file():
        raise FileNotFoundError(f"{model_dir} holds neither {MODEL_FILE} nor {CHECKPOINT_PREFIX}.index")
    config = BertConfig.from_json_file(model_dir / CONFIG_FILE)
    kwargs = {}
    if info.task == CLASSIFIER:
        kwargs["num_classes"] = info.num_outputs
    elif info.task == TAGGER:
        kwargs["num_labels"] = info.num_outputs
    return TASK_MODELS[info.task].from_google_checkpoint(model_dir / CHECKPOINT_PREFIX, config=config, **kwargs)


def export_finetuned(model_dir: str | os.PathLike, export_base: str | os.PathLike, model_name: str | None = None,
                     version: int | None = None, export_encoder: bool = True, export_preprocessing_model: bool = True,
                     pair_input: bool | None = None) -> dict[str, str]:
    """Exports a fine-tuning `--output_dir` for TF Serving.

    Args:
      model_dir: str or path, the fine-tuning `--output_dir` (`task_info.json`, the model, `vocab.txt`).
      export_base: str or path, the root TF Serving polls.
      model_name: str, the task model's serving name (default `bert_<task>`); the encoder and preprocessing
        models are `<model_name>_encoder` and `<model_name>_preprocessing`.
      version: int, or None for the next free version of each model.
      export_encoder: bool, also export the encoder (TF Hub encoder API).
      export_preprocessing_model: bool, also export the preprocessing model (TF Hub preprocessing API).
      pair_input: bool, a classifier's `serving_default` takes `text_a` + `text_b`; None: TaskInfo's `pair_input`.

    Returns:
      {"task": dir, "encoder": dir, "preprocessing": dir, "models_config": path} for what was written.
    """
    model_dir = pathlib.Path(model_dir)
    info = TaskInfo.read(model_dir)
    model_name = model_name or f"bert_{info.task}"
    vocab_file = model_dir / VOCAB_FILE
    if not vocab_file.is_file():
        raise FileNotFoundError(f"{vocab_file} not found (fine-tuning copies --vocab_file there)")
    model = load_task_model(model_dir, info)
    preprocessor = BertPreprocessor(vocab_file, info.do_lower_case, info.max_seq_length)
    written: dict[str, str] = {}

    if info.task == CLASSIFIER:
        pair = info.pair_input if pair_input is None else pair_input
        texts = _strings(_WARMUP_TEXTS)
        warmup = [("classify_text", {"text": texts}), ("classify_pair", {"text_a": texts, "text_b": texts[::-1]})]

        def write(folder):
            export_classifier(model, preprocessor, info.labels, folder, is_regression=info.is_regression,
                              pair_input=pair)
    elif info.task == SQUAD:
        warmup = [("serving_default", {"question": _strings(["What is this?"] * 2),
                                       "context": _strings(_WARMUP_TEXTS)})]

        def write(folder):
            export_squad(model, preprocessor, folder, info.squad)
    else:
        warmup = [("serving_default", {"text": _strings(_WARMUP_TEXTS)})]

        def write(folder):
            export_tagger(model, preprocessor, info.labels, folder)
    written["task"] = write_version(export_base, model_name, version, write, warmup)

    if export_encoder:
        written["encoder"] = _export_encoder(model.encoder, vocab_file, info.do_lower_case, export_base,
                                             f"{model_name}_encoder", version, info.max_seq_length)
    if export_preprocessing_model:
        written["preprocessing"] = _export_preprocessing(preprocessor, export_base, f"{model_name}_preprocessing",
                                                         version)
    written["models_config"] = write_models_config(export_base)
    return written


def _export_encoder(model, vocab_file, do_lower_case: bool, export_base, model_name: str, version: int | None,
                    seq_length: int) -> str:
    ids = np.zeros([2, seq_length], np.int32)
    ids[:, :2] = [101, 102]
    mask = (ids != 0).astype(np.int32)
    warmup = [("serving_default", {"input_word_ids": ids, "input_mask": mask,
                                   "input_type_ids": np.zeros_like(ids)})]
    return write_version(export_base, model_name, version,
                         lambda folder: export_encoder(model, vocab_file, do_lower_case, folder), warmup)


def _export_preprocessing(preprocessor: BertPreprocessor, export_base, model_name: str, version: int | None) -> str:
    return write_version(export_base, model_name, version, lambda folder: export_preprocessing(preprocessor, folder),
                         [("serving_default", {"text": _strings(_WARMUP_TEXTS)})])


def export_pretrained(bert_config_file: str | os.PathLike, init_checkpoint: str | os.PathLike,
                      vocab_file: str | os.PathLike, do_lower_case: bool, export_base: str | os.PathLike,
                      model_name: str = "bert", version: int | None = None, max_seq_length: int = 128
                      ) -> dict[str, str]:
    """Exports a Google-format pretrained checkpoint for TF Serving.

    Writes `<model_name>_encoder` (with `.mlm` when the checkpoint has `cls/predictions/*`) and
    `<model_name>_preprocessing` (packing to `max_seq_length`); returns {"encoder": dir, "preprocessing": dir,
    "models_config": path}.
    """
    config = BertConfig.from_json_file(bert_config_file)
    names = {name for name, _ in tf.train.list_variables(os.fspath(init_checkpoint))}
    model_class = BertPretrainer if "cls/predictions/output_bias" in names else BertEncoder
    model = model_class.from_google_checkpoint(init_checkpoint, config=config)
    preprocessor = BertPreprocessor(vocab_file, do_lower_case, max_seq_length)
    written = {
        "encoder": _export_encoder(model, vocab_file, do_lower_case, export_base, f"{model_name}_encoder", version,
                                   max_seq_length),
        "preprocessing": _export_preprocessing(preprocessor, export_base, f"{model_name}_preprocessing", version),
    }
    written["models_config"] = write_models_config(export_base)
    return written
