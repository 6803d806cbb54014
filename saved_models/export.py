"""Exports fine-tuned (or pretrained) BERT models as SavedModels laid out for TensorFlow Serving.

    python -m saved_models.export --model_dir=/tmp/mrpc_output --export_base=/tmp/serving
    python -m saved_models.export --bert_config_file=.../bert_config.json --init_checkpoint=.../bert_model.ckpt \\
        --vocab_file=.../vocab.txt --do_lower_case --export_base=/tmp/serving

`--model_dir` is a fine-tuning `--output_dir` (`task_info.json`, `model.keras` or `bert_model.ckpt.*`,
`bert_config.json`, `vocab.txt`); it writes the task model (`bert_classifier`, `bert_squad` or `bert_tagger`
unless `--model_name` says otherwise) and, with `--export_encoder` / `--export_preprocessing` (default on),
`<model_name>_encoder` and `<model_name>_preprocessing`. Without `--model_dir` it exports a pretrained
checkpoint: `bert_encoder` (with `.mlm` when the checkpoint has the masked-LM head) and `bert_preprocessing`.

Layout, as TensorFlow Serving expects: `<export_base>/<model_name>/<version>/` (saved_model.pb, variables/,
assets/vocab.txt, assets.extra/tf_serving_warmup_requests), version = the next free integer unless
`--version` is given; each version is written to a hidden folder and renamed into place, so a server
polling `<export_base>` never sees half a model. `<export_base>/models.config` lists every model under
`/models/<model_name>` (the Docker image's mount point). Nothing inside a SavedModel holds an absolute path.
"""
from __future__ import annotations

import json
import os
import pathlib
import shutil
from collections.abc import Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf

import keras_bert
from keras_bert.export import task_exports as model_export
from keras_bert.export.preprocessing import export_preprocessing
from keras_bert.tokenization.tokenizer import BertPreprocessor

TASK_MODELS = {"classifier": keras_bert.BertClassifier, "squad": keras_bert.BertSpanLabeler,
               "tagger": keras_bert.BertTokenClassifier}
WARMUP_FILE = os.path.join("assets.extra", "tf_serving_warmup_requests")
MODELS_CONFIG = "models.config"
SERVING_MOUNT = "/models"

# Warm-up inputs: one short and one long request per signature, so the first real request finds
# the graph already built for both small and padded-out batches.
_WARMUP_TEXTS = ["This is a warm-up request.", "A longer warm-up request " * 40]


def next_version(model_base: str | os.PathLike) -> int:
    """1 + the largest integer-named folder under `model_base` (1 when there is none)."""
    base = pathlib.Path(model_base)
    versions = [int(p.name) for p in base.iterdir() if p.is_dir() and p.name.isdigit()] if base.is_dir() else []
    return max(versions, default=0) + 1


def write_warmup_requests(saved_model_dir: str | os.PathLike, model_name: str,
                          requests: Sequence[tuple[str, dict[str, np.ndarray]]]) -> str:
    """Writes TF Serving warm-up records (`PredictionLog` protos holding `PredictRequest`s) to
    `<saved_model_dir>/assets.extra/tf_serving_warmup_requests`; `requests`: (signature, inputs) pairs."""
    from tensorflow_serving.apis import model_pb2, predict_pb2, prediction_log_pb2

    path = os.path.join(os.fspath(saved_model_dir), WARMUP_FILE)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with tf.io.TFRecordWriter(path) as writer:
        for signature_name, inputs in requests:
            request = predict_pb2.PredictRequest(
                model_spec=model_pb2.ModelSpec(name=model_name, signature_name=signature_name))
            for key, value in inputs.items():
                request.inputs[key].CopyFrom(tf.make_tensor_proto(value))
            log = prediction_log_pb2.PredictionLog(predict_log=prediction_log_pb2.PredictLog(request=request))
            writer.write(log.SerializeToString())
    return path


def write_models_config(export_base: str | os.PathLike, model_names: Sequence[str]) -> str:
    """`<export_base>/models.config` (TF Serving `--model_config_file`) for every model folder there."""
    base = pathlib.Path(export_base)
    names = sorted(set(model_names) | {p.name for p in base.iterdir() if p.is_dir() and not p.name.startswith(".")})
    entries = "".join(
        f'  config {{\n    name: "{name}"\n    base_path: "{SERVING_MOUNT}/{name}"\n    model_platform: "tensorflow"\n  }}\n'
        for name in names)
    path = base / MODELS_CONFIG
    path.write_text(f"model_config_list {{\n{entries}}}\n", encoding="utf-8")
    return str(path)


def _write_version(export_base: str | os.PathLike, model_name: str, version: int | None, write, warmup) -> str:
    """Writes one version via `write(dir)` into a hidden folder, adds warm-up requests, renames into place."""
    model_base = pathlib.Path(export_base) / model_name
    model_base.mkdir(parents=True, exist_ok=True)
    version = next_version(model_base) if version is None else int(version)
    final = model_base / str(version)
    if final.exists():
        raise FileExistsError(f"{final} already exists; pass another --version or omit it for the next free one")
    staging = model_base / f".writing-{version}"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        write(staging)
        write_warmup_requests(staging, model_name, warmup)
        os.rename(staging, final)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return str(final)


def _strings(texts: Sequence[str]) -> np.ndarray:
    return np.array([t.encode("utf-8") for t in texts], dtype=object)


def _read_task_info(model_dir: pathlib.Path) -> dict[str, Any]:
    path = model_dir / "task_info.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: --model_dir must be a fine-tuning --output_dir")
    info = json.loads(path.read_text(encoding="utf-8"))
    for key in ("task", "labels", "do_lower_case", "max_seq_length"):
        if key not in info:
            raise ValueError(f"{path} lacks the key {key!r}")
    if info["task"] not in TASK_MODELS:
        raise ValueError(f"{path}: unknown task {info['task']!r}; expected one of {sorted(TASK_MODELS)}")
    return info


def load_task_model(model_dir: str | os.PathLike, info: dict[str, Any]) -> keras.Model:
    """The fine-tuned Keras model: `model.keras`, else the Google checkpoint `bert_model.ckpt` + `bert_config.json`."""
    model_dir = pathlib.Path(model_dir)
    if (model_dir / "model.keras").is_file():
        return keras.saving.load_model(model_dir / "model.keras", compile=False)  # serving needs no optimizer
    if not (model_dir / "bert_model.ckpt.index").is_file():
        raise FileNotFoundError(f"{model_dir} holds neither model.keras nor bert_model.ckpt.index")
    config = keras_bert.BertConfig.from_json_file(model_dir / "bert_config.json")
    kwargs = {}
    if info["task"] == "classifier":
        kwargs["num_classes"] = 1 if info.get("is_regression") else len(info["labels"])
    elif info["task"] == "tagger":
        kwargs["num_labels"] = len(info["labels"])
    return TASK_MODELS[info["task"]].from_google_checkpoint(model_dir / "bert_model.ckpt", config=config, **kwargs)


def is_pair_task(info: dict[str, Any]) -> bool:
    """Whether a classifier takes text pairs: task_info's `pair_input`, else the GLUE task's layout."""
    if "pair_input" in info:
        return bool(info["pair_input"])
    from keras_bert.data.classification.glue import TASKS

    task = TASKS.get(str(info.get("task_name", "")).lower())
    return task is not None and any(layout.text_b is not None for layout in task.layouts)


def export_finetuned(model_dir: str | os.PathLike, export_base: str | os.PathLike, model_name: str | None = None,
                     version: int | None = None, export_encoder: bool = True, export_preprocessing_model: bool = True,
                     pair_input: bool | None = None) -> dict[str, str]:
    """Exports a fine-tuning output folder; returns {"task": dir, "encoder": dir, "preprocessing": dir,
    "models_config": path} for what was written."""
    model_dir = pathlib.Path(model_dir)
    info = _read_task_info(model_dir)
    task = info["task"]
    model_name = model_name or f"bert_{task}"
    vocab_file = model_dir / "vocab.txt"
    if not vocab_file.is_file():
        raise FileNotFoundError(f"{vocab_file} not found (fine-tuning copies --vocab_file there)")
    model = load_task_model(model_dir, info)
    preprocessor = BertPreprocessor(vocab_file, info["do_lower_case"], info["max_seq_length"])
    written: dict[str, str] = {}

    if task == "classifier":
        pair = is_pair_task(info) if pair_input is None else pair_input
        regression = bool(info.get("is_regression"))
        texts = _strings(_WARMUP_TEXTS)
        warmup = [("classify_text", {"text": texts}), ("classify_pair", {"text_a": texts, "text_b": texts[::-1]})]
        write = lambda d: model_export.export_classifier(model, preprocessor, info["labels"], d,
                                                         is_regression=regression, pair_input=pair)
    elif task == "squad":
        warmup = [("serving_default", {"question": _strings(["What is this?"] * 2), "context": _strings(_WARMUP_TEXTS)})]
        write = lambda d: model_export.export_squad(
            model, preprocessor, d, doc_stride=info.get("doc_stride", 128),
            max_query_length=info.get("max_query_length", 64), max_answer_length=info.get("max_answer_length", 30),
            n_best_size=info.get("n_best_size", 20), version_2_with_negative=info.get("version_2_with_negative", False),
            null_score_diff_threshold=info.get("null_score_diff_threshold", 0.0))
    else:
        warmup = [("serving_default", {"text": _strings(_WARMUP_TEXTS)})]
        write = lambda d: model_export.export_tagger(model, preprocessor, info["labels"], d)
    written["task"] = _write_version(export_base, model_name, version, write, warmup)

    if export_encoder:
        written["encoder"] = _export_encoder(model.encoder, vocab_file, info["do_lower_case"], export_base,
                                             f"{model_name}_encoder", version, info["max_seq_length"])
    if export_preprocessing_model:
        written["preprocessing"] = _export_preprocessing(preprocessor, export_base, f"{model_name}_preprocessing",
                                                         version)
    written["models_config"] = write_models_config(export_base, [])
    return written


def _export_encoder(model, vocab_file, do_lower_case: bool, export_base, model_name: str, version: int | None,
                    seq_length: int) -> str:
    ids = np.zeros([2, seq_length], np.int32)
    ids[:, :2] = [101, 102]
    mask = (ids != 0).astype(np.int32)
    warmup = [("serving_default", {"input_word_ids": ids, "input_mask": mask,
                                   "input_type_ids": np.zeros_like(ids)})]
    return _write_version(export_base, model_name, version,
                          lambda d: model_export.export_encoder(model, vocab_file, do_lower_case, d), warmup)


def _export_preprocessing(preprocessor: BertPreprocessor, export_base, model_name: str, version: int | None) -> str:
    return _write_version(export_base, model_name, version, lambda d: export_preprocessing(preprocessor, d),
                          [("serving_default", {"text": _strings(_WARMUP_TEXTS)})])


def export_pretrained(bert_config_file: str | os.PathLike, init_checkpoint: str | os.PathLike,
                      vocab_file: str | os.PathLike, do_lower_case: bool, export_base: str | os.PathLike,
                      model_name: str = "bert", version: int | None = None, max_seq_length: int = 128
                      ) -> dict[str, str]:
    """Exports a Google-format pretrained checkpoint as `<model_name>_encoder` (with `.mlm` when the
    checkpoint has `cls/predictions/*`) and `<model_name>_preprocessing` (packing to `max_seq_length`)."""
    config = keras_bert.BertConfig.from_json_file(bert_config_file)
    names = {name for name, _ in tf.train.list_variables(os.fspath(init_checkpoint))}
    model_class = keras_bert.BertPretrainer if "cls/predictions/output_bias" in names else keras_bert.BertEncoder
    model = model_class.from_google_checkpoint(init_checkpoint, config=config)
    preprocessor = BertPreprocessor(vocab_file, do_lower_case, max_seq_length)
    written = {
        "encoder": _export_encoder(model, vocab_file, do_lower_case, export_base, f"{model_name}_encoder", version,
                                   max_seq_length),
        "preprocessing": _export_preprocessing(preprocessor, export_base, f"{model_name}_preprocessing", version),
    }
    written["models_config"] = write_models_config(export_base, [])
    return written


def _define_flags() -> None:
    from absl import flags

    flags.DEFINE_string("model_dir", None, "Fine-tuning --output_dir to export (task_info.json, model.keras, ...).")
    flags.DEFINE_string("export_base", None, "Root of the TF Serving model folders.")
    flags.DEFINE_string("model_name", None, "Serving model name (default bert_<task>, or bert for a pretrained export).")
    flags.DEFINE_integer("version", None, "Version folder number (default: the next free integer).")
    flags.DEFINE_bool("export_encoder", True, "Also export the encoder (TF Hub encoder API).")
    flags.DEFINE_bool("export_preprocessing", True, "Also export the preprocessing model (TF Hub API).")
    flags.DEFINE_bool("pair_input", None, "Classifier: serving_default takes text_a + text_b (default: from the task).")
    flags.DEFINE_string("bert_config_file", None, "Pretrained export: the checkpoint's bert_config.json.")
    flags.DEFINE_string("init_checkpoint", None, "Pretrained export: the Google checkpoint prefix.")
    flags.DEFINE_string("vocab_file", None, "Pretrained export: the vocabulary.")
    flags.DEFINE_bool("do_lower_case", True, "Pretrained export: lower-case the input.")
    flags.DEFINE_integer("max_seq_length", 128, "Pretrained export: the preprocessing model's sequence length.")
    flags.mark_flag_as_required("export_base")


def main(argv) -> None:
    from absl import flags

    del argv
    f = flags.FLAGS
    if f.model_dir:
        written = export_finetuned(f.model_dir, f.export_base, f.model_name, f.version, f.export_encoder,
                                   f.export_preprocessing, f.pair_input)
    else:
        missing = [n for n in ("bert_config_file", "init_checkpoint", "vocab_file") if not getattr(f, n)]
        if missing:
            raise ValueError(f"without --model_dir, pass --{', --'.join(missing)} (a pretrained export)")
        written = export_pretrained(f.bert_config_file, f.init_checkpoint, f.vocab_file, f.do_lower_case,
                                    f.export_base, f.model_name or "bert", f.version, f.max_seq_length)
    for key, path in written.items():
        print(f"{key}: {path}")


if __name__ == "__main__":
    from absl import app

    _define_flags()
    app.run(main)
