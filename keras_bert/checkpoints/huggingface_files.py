"""The tensors of a Hugging Face model folder, from whichever weights file it has, under PyTorch names.

Hugging Face folders hold their weights as `model.safetensors`, shards listed in
`model.safetensors.index.json`, the TensorFlow-era `tf_model.h5` (Keras variable names, kernels
[in, out]) or `pytorch_model.bin` (a pickle that only PyTorch reads). All become one
{PyTorch state-dict name: numpy array} dict, read with the `safetensors` numpy API (no torch).
"""
from __future__ import annotations

import json
import os
import re

import numpy as np
from safetensors import SafetensorError, safe_open
from safetensors.numpy import save_file

SAFETENSORS_FILE = "model.safetensors"
SAFETENSORS_INDEX_FILE = "model.safetensors.index.json"
H5_FILE = "tf_model.h5"
PYTORCH_FILE = "pytorch_model.bin"
PYTORCH_INDEX_FILE = "pytorch_model.bin.index.json"
# In the order they are preferred when a folder has several.
WEIGHTS_FILES = (SAFETENSORS_FILE, SAFETENSORS_INDEX_FILE, H5_FILE, PYTORCH_FILE, PYTORCH_INDEX_FILE)


def weights_file(folder: str | os.PathLike) -> str | None:
    """The path of the folder's preferred weights file, or None when it has none."""
    for name in WEIGHTS_FILES:
        path = os.path.join(folder, name)
        if os.path.isfile(path):
            return path
    return None


def read_weights(folder: str | os.PathLike) -> dict[str, np.ndarray]:
    """{PyTorch name: array} of the folder's weights file (see `WEIGHTS_FILES`).

    Raises FileNotFoundError naming the folder when it has none, a listed shard that is missing, and
    ValueError naming the file when one cannot be read (truncated, not that format).
    """
    path = weights_file(folder)
    if path is None:
        raise FileNotFoundError(f"no Hugging Face weights file in {folder} (expected one of "
                                f"{', '.join(WEIGHTS_FILES)})")
    name = os.path.basename(path)
    if name == SAFETENSORS_FILE:
        return _read_safetensors(path)
    if name == SAFETENSORS_INDEX_FILE:
        return _read_sharded(path)
    if name == H5_FILE:
        return _read_h5(path)
    return _read_pytorch(path)


def _read_safetensors(path: str) -> dict[str, np.ndarray]:
    try:
        with safe_open(path, framework="np") as f:
            return {name: f.get_tensor(name) for name in f.keys()}  # noqa: SIM118 (safe_open is not a dict)
    except (SafetensorError, OSError, ValueError) as error:
        raise ValueError(f"cannot read {path} as safetensors ({error}): truncated or not a safetensors file") from None


def _read_sharded(index_path: str) -> dict[str, np.ndarray]:
    """The shards named in `model.safetensors.index.json`'s `weight_map`, each tensor from its listed shard."""
    try:
        with open(index_path, encoding="utf-8") as f:
            weight_map = json.load(f)["weight_map"]
    except (json.JSONDecodeError, KeyError, TypeError) as error:
        raise ValueError(f"{index_path}: not a safetensors index with a 'weight_map' ({error!r})") from None
    folder = os.path.dirname(index_path)
    arrays: dict[str, np.ndarray] = {}
    for shard in sorted(set(weight_map.values())):
        shard_path = os.path.join(folder, shard)
        if not os.path.isfile(shard_path):
            raise FileNotFoundError(f"shard {shard_path} listed in {index_path} is missing")
        tensors = _read_safetensors(shard_path)
        absent = sorted(name for name, file in weight_map.items() if file == shard and name not in tensors)
        if absent:
            raise ValueError(f"{index_path} lists tensors that shard {shard_path} does not hold: {', '.join(absent)}")
        arrays.update(tensors)
    return arrays


def _read_h5(path: str) -> dict[str, np.ndarray]:
    """A `tf_model.h5` written by transformers' TF models (Keras 2 `save_weights`), renamed as transformers'
    own TF→PyTorch conversion does, kernels transposed to PyTorch's [out, in]."""
    import h5py  # Keras' own dependency; only this format needs it.

    try:
        f = h5py.File(path, "r")
    except OSError as error:
        raise ValueError(f"cannot read {path} as HDF5 ({error})") from None
    with f:
        if "layer_names" not in f.attrs:
            raise ValueError(f"{path} is not a Keras weights file: it has no 'layer_names' attribute")
        arrays = {}
        for layer in _strings(f.attrs["layer_names"]):
            group = f[layer]
            for weight in _strings(group.attrs.get("weight_names", [])):
                name, transpose = _pytorch_name(weight)
                array = np.asarray(group[weight])
                arrays[name] = array.T if transpose else array
        return arrays


def _strings(values) -> list[str]:
    return [v.decode("utf-8") if isinstance(v, bytes) else str(v) for v in values]


def _pytorch_name(tf_name: str) -> tuple[str, bool]:
    """`tf_bert_for_pre_training/mlm___cls/predictions/transform/dense/kernel:0` →
    (`cls.predictions.transform.dense.weight`, transposed): the first scope is the model's, `a___b` scopes
    stand for `b`, `_._` separates list indices, `kernel`/`gamma`/`embeddings` are `weight`, `beta` is `bias`."""
    name = re.sub(r"/[^/]*___([^/]*)/", r"/\1/", tf_name.removesuffix(":0")).replace("_._", "/")
    parts = [part for part in name.split("/") if part][1:]
    transpose = parts[-1] == "kernel"
    parts[-1] = {"kernel": "weight", "gamma": "weight", "embeddings": "weight", "beta": "bias"}.get(parts[-1],
                                                                                                    parts[-1])
    return ".".join(parts), transpose


def _read_pytorch(path: str) -> dict[str, np.ndarray]:
    try:
        import torch
    except ImportError:
        raise ValueError(
            f"{path} is a PyTorch pickle, which only PyTorch can read, and torch is not installed. Convert it "
            "once where torch is installed: python -c \"import torch; from safetensors.torch import save_file; "
            "save_file({k: v.contiguous() for k, v in torch.load('pytorch_model.bin', weights_only=True)"
            ".items()}, 'model.safetensors', metadata={'format': 'pt'})\" (or `pip install torch`)") from None
    if path.endswith(".json"):
        with open(path, encoding="utf-8") as f:
            shards = sorted(set(json.load(f)["weight_map"].values()))
        paths = [os.path.join(os.path.dirname(path), shard) for shard in shards]
    else:
        paths = [path]
    arrays = {}
    for shard in paths:
        state = torch.load(shard, map_location="cpu", weights_only=True)
        arrays.update({name: tensor.float().numpy() for name, tensor in state.items()})
    return arrays


def write_safetensors(arrays: dict[str, np.ndarray], folder: str | os.PathLike) -> str:
    """Writes `model.safetensors` with the metadata transformers checks (`format: pt`); returns its path."""
    path = os.path.join(folder, SAFETENSORS_FILE)
    save_file({name: np.ascontiguousarray(array) for name, array in arrays.items()}, path,
              metadata={"format": "pt"})
    return path
