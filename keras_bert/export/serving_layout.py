"""The folder layout TensorFlow Serving polls: `<export_base>/<model_name>/<version>/` SavedModels, each with
warm-up requests, written atomically, and `<export_base>/models.config` listing every model.

A version is written to a hidden folder, smoke-tested with its warm-up requests, checked to serve what the
model's earlier versions serve, and only then renamed into place, so a server polling `<export_base>` never sees
half a model, a model that fails every request, or a model name whose versions answer differently.
models.config names each model's folder under `/models/<model_name>`, the Docker image's mount point.
"""
from __future__ import annotations

import dataclasses
import json
import logging
import os
import pathlib
import shutil
from collections.abc import Callable, Sequence

import numpy as np
import tensorflow as tf
from google.protobuf.message import DecodeError
from tensorflow.core.protobuf import saved_model_pb2

WARMUP_FILE = os.path.join("assets.extra", "tf_serving_warmup_requests")
logger = logging.getLogger(__name__)

LABELS_FILE = os.path.join("assets.extra", "labels.json")
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


@dataclasses.dataclass(frozen=True)
class ModelVersion:
    """One model version to write.

    Args:
      name: str, the serving name (folder under the export base).
      write: writes the SavedModel into the folder it is given (a hidden staging folder).
      warmup: its warm-up requests, at least one for each signature (each is smoke-tested with them).
      labels: its class or tag names, stored as `assets.extra/labels.json`; None for a model without labels.
    """

    name: str
    write: Callable[[pathlib.Path], None]
    warmup: WarmupRequests
    labels: Sequence[str] | None = None


def write_versions(export_base: str | os.PathLike, models: Sequence[ModelVersion], version: int | None = None,
                   overwrite: bool = False) -> list[str]:
    """Writes one version of each model, all or none; returns their folders.

    Each must serve what the model's latest version serves: the same labels (checked first, before any work) and
    the same signatures, inputs and outputs (checked once written). Each is written to a hidden staging folder and
    smoke-tested (every signature called with its warm-up request); only when all pass are they renamed into
    place. Otherwise the staging folders are removed and the error names the model and what failed.

    Args:
      export_base: str or path, the root TF Serving polls.
      models: the `ModelVersion`s to write.
      version: int, or None for each model's `next_version`; an existing version is a FileExistsError.
      overwrite: bool, a model may change what it serves: its earlier versions are removed once the new one is in
        place (so that no version serves another contract).
    """
    finals = [_version_folder(export_base, model.name, version) for model in models]
    staged: list[pathlib.Path] = []
    try:
        for model, final in zip(models, finals):
            if not overwrite:
                _check_same_labels(model, final)
        for model, final in zip(models, finals):
            staging = final.parent / f".writing-{final.name}"
            shutil.rmtree(staging, ignore_errors=True)
            staged.append(staging)
            _stage(model, staging, final)
            if not overwrite:
                _check_same_signatures(staging, final)
        for staging, final in zip(staged, finals):
            os.rename(staging, final)
    finally:
        for staging in staged:
            shutil.rmtree(staging, ignore_errors=True)
        for final in finals:  # a new model's folder goes too when nothing was written into it
            if not any(final.parent.iterdir()):
                final.parent.rmdir()
    if overwrite:
        for final in finals:
            for earlier in _versions(final.parent):
                if earlier != final:
                    shutil.rmtree(earlier)
    return [str(final) for final in finals]


def _versions(model_base: pathlib.Path) -> list[pathlib.Path]:
    """The integer-named version folders of a model, lowest first."""
    if not model_base.is_dir():
        return []
    return sorted((p for p in model_base.iterdir() if p.is_dir() and p.name.isdigit()), key=lambda p: int(p.name))


def _version_folder(export_base: str | os.PathLike, model_name: str, version: int | None) -> pathlib.Path:
    model_base = pathlib.Path(export_base) / model_name
    model_base.mkdir(parents=True, exist_ok=True)
    final = model_base / str(next_version(model_base) if version is None else int(version))
    if final.exists():
        raise FileExistsError(f"{final} already exists; pass another --version or omit it for the next free one")
    return final


def _stage(model: ModelVersion, staging: pathlib.Path, final: pathlib.Path) -> None:
    model.write(staging)
    write_warmup_requests(staging, model.name, model.warmup)
    if model.labels is not None:
        (staging / LABELS_FILE).write_text(json.dumps(list(model.labels), ensure_ascii=False), encoding="utf-8")
    smoke_test(staging, model.warmup, f"{model.name} version {final.name}")


def smoke_test(saved_model_dir: str | os.PathLike, warmup: WarmupRequests, model: str) -> None:
    """Loads the SavedModel and calls each of its signatures with its warm-up requests; a signature without a
    request or failing on one is a ValueError naming `model` and the signature."""
    try:
        loaded = tf.saved_model.load(os.fspath(saved_model_dir))
    except (OSError, ValueError, tf.errors.OpError, DecodeError) as error:
        raise ValueError(f"{model} was not written: the SavedModel written for it cannot be loaded ({error})"
                         ) from error
    for signature_name, signature in loaded.signatures.items():
        requests = [inputs for name, inputs in warmup if name == signature_name]
        if not requests:
            raise ValueError(f"{model} was not written: its signature {signature_name!r} has no warm-up request "
                             "to smoke-test it with")
        for inputs in requests:
            try:
                signature(**{key: tf.constant(value) for key, value in inputs.items()})
            except (tf.errors.OpError, TypeError, ValueError) as error:
                raise ValueError(f"{model} was not written: its signature {signature_name!r} fails on its warm-up "
                                 f"request ({type(error).__name__}: {_reason(error)})") from error


def _reason(error: Exception) -> str:
    """The lines of an error that say what went wrong, without TensorFlow's "Graph execution error:" preamble,
    stack-trace notes and node listings."""
    message = getattr(error, "message", None) or str(error)
    boilerplate = ("Graph execution error", "Detected at node", "<stack traces", "\t", " ", "[[")
    lines = [line for line in message.splitlines() if line.strip() and not line.startswith(boilerplate)]
    return "; ".join(lines) or message.strip()


def signature_descriptions(saved_model_dir: str | os.PathLike) -> dict[str, str]:
    """{signature name: "(input: dtype shape, ...) -> (output: dtype shape, ...)"} (e.g. "(text: string [None]) ->
    (label: string [None], probabilities: float32 [None, 2])"), read from saved_model.pb
    without loading the model ({} when there is none)."""
    path = pathlib.Path(saved_model_dir) / "saved_model.pb"
    if not path.is_file():
        return {}
    saved_model = saved_model_pb2.SavedModel.FromString(path.read_bytes())

    def shape(info) -> str:
        dims = tf.TensorShape(info.tensor_shape)
        return str(dims.as_list()) if dims.rank is not None else "[...]"

    def tensors(infos) -> str:
        return ", ".join(f"{name}: {tf.dtypes.as_dtype(info.dtype).name} {shape(info)}"
                         for name, info in sorted(infos.items()))

    return {name: f"({tensors(signature.inputs)}) -> ({tensors(signature.outputs)})"
            for meta_graph in saved_model.meta_graphs for name, signature in sorted(meta_graph.signature_def.items())
            if not name.startswith("__")}  # (`__saved_model_init_op` is TensorFlow's, not a serving signature)


def _labels(saved_model_dir: pathlib.Path) -> list[str] | None:
    path = saved_model_dir / LABELS_FILE
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def _check_same_labels(model: ModelVersion, final: pathlib.Path) -> None:
    """A ValueError unless `model` has the labels of its latest version: checked before any work."""
    latest = _latest_version(final)
    new = None if model.labels is None else list(model.labels)
    if latest is None:
        return
    if new is not None and not (latest / LABELS_FILE).is_file():  # exported before labels were recorded
        logger.warning("%s records no labels: only its signatures are compared with this export's", latest)
        return
    if _labels(latest) != new:
        _refuse(final, latest, [f"  labels: {_labels(latest)} there, {new} here"])


def _check_same_signatures(staging: pathlib.Path, final: pathlib.Path) -> None:
    """A ValueError unless the SavedModel in `staging` has the signatures of the model's latest version."""
    latest = _latest_version(final)
    if latest is None:
        return
    old, new = signature_descriptions(latest), signature_descriptions(staging)
    differences = [f"  signature {name!r}: {old.get(name, 'none')} there, {new.get(name, 'none')} here"
                   for name in sorted(set(old) | set(new)) if old.get(name) != new.get(name)]
    if differences:
        _refuse(final, latest, differences)


def _latest_version(final: pathlib.Path) -> pathlib.Path | None:
    earlier = _versions(final.parent)
    return earlier[-1] if earlier else None


def _refuse(final: pathlib.Path, latest: pathlib.Path, differences: list[str]) -> None:
    raise ValueError(
        f"{final.parent} holds a model that serves other signatures or labels than this export (which would "
        f"become version {final.name}) in {latest}:\n" + "\n".join(differences)
        + "\nPass --overwrite_model to replace that model, or another --model_name.")
