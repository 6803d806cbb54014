"""The folder layout TensorFlow Serving polls: `<export_base>/<model_name>/<version>/` SavedModels, each with
warm-up requests, written atomically, and `<export_base>/models.config` listing every model.

A version is written to a hidden folder and renamed into place, so a server polling `<export_base>` never
sees half a model. models.config names each model's folder under `/models/<model_name>`, the Docker image's
mount point.
"""
from __future__ import annotations

import os
import pathlib
import shutil
from collections.abc import Callable, Sequence

import numpy as np
import tensorflow as tf

WARMUP_FILE = os.path.join("assets.extra", "tf_serving_warmup_requests")
MODELS_CONFIG = "models.config"
SERVING_MOUNT = "/models"

# (signature name, {input name: array}) pairs: one TF Serving warm-up request each.
WarmupRequests = Sequence[tuple[str, dict[str, np.ndarray]]]


def next_version(model_base: str | os.PathLike) -> int:
    """1 + the largest integer-named folder under `model_base` (1 when there is none)."""
    base = pathlib.Path(model_base)
    versions = [int(p.name) for p in base.iterdir() if p.is_dir() and p.name.isdigit()] if base.is_dir() else []
    return max(versions, default=0) + 1


def write_warmup_requests(saved_model_dir: str | os.PathLike, model_name: str, requests: WarmupRequests) -> str:
    """Writes TF Serving warm-up records (`PredictionLog` protos holding `PredictRequest`s) to
    `<saved_model_dir>/assets.extra/tf_serving_warmup_requests`; returns its path."""
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


def write_models_config(export_base: str | os.PathLike) -> str:
    """Writes `<export_base>/models.config` (TF Serving's `--model_config_file`) for every model folder there;
    returns its path."""
    base = pathlib.Path(export_base)
    names = sorted(p.name for p in base.iterdir() if p.is_dir() and not p.name.startswith("."))
    entries = "".join(f'  config {{\n    name: "{name}"\n    base_path: "{SERVING_MOUNT}/{name}"\n'
                      f'    model_platform: "tensorflow"\n  }}\n' for name in names)
    path = base / MODELS_CONFIG
    path.write_text(f"model_config_list {{\n{entries}}}\n", encoding="utf-8")
    return str(path)


def write_version(export_base: str | os.PathLike, model_name: str, version: int | None,
                  write: Callable[[pathlib.Path], None], warmup: WarmupRequests) -> str:
    """Writes one version of `model_name` atomically; returns its folder.

    Args:
      export_base: str or path, the root TF Serving polls.
      model_name: str, the serving name (folder under `export_base`).
      version: int, or None for `next_version`; an existing version is a FileExistsError.
      write: writes the SavedModel into the folder it is given (a hidden staging folder).
      warmup: the warm-up requests stored with it.
    """
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
