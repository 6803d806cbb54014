"""A model's weights as named entries of a checkpoint format, and the one strict rule that loads a
checkpoint's arrays into them, shared by every format (Google's TF1 names, Hugging Face's names).

Each format maps the layers of a keras_bert model to `WeightEntry`s: the name in the file, the Keras
variable, and the layout conversions between the two. `assign_arrays` then loads all or nothing.
"""
from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)


def _same(array: np.ndarray) -> np.ndarray:
    return array


@dataclasses.dataclass(frozen=True)
class WeightEntry:
    """One tensor of a checkpoint file and the Keras variable that holds it.

    `to_keras`/`to_file` convert between the file's layout and the variable's. `required`: encoder weights
    must be present; an optional `group` (a task head, the layer it belongs to) loads whole or not at all.
    """

    name: str
    variable: Any  # keras.Variable
    to_keras: Callable[[np.ndarray], np.ndarray] = _same
    to_file: Callable[[np.ndarray], np.ndarray] = _same
    required: bool = True
    group: str = ""

    @property
    def file_shape(self) -> tuple[int, ...]:
        return tuple(self.to_file(np.zeros(self.variable.shape, "float32")).shape)


def assign_arrays(model, entries: list[WeightEntry], arrays: Mapping[str, np.ndarray], source: str,
                  unused: Iterable[str] = (), noun: str = "tensors", required_heads: Iterable[str] = ()) -> list[str]:
    """Loads `arrays` ({file name: array}) into the model's `entries`, or nothing at all.

    Raises ValueError listing every missing required tensor, every shape conflict, every tensor of an
    optional group that is present only in part, and the `unused` names the caller found (file tensors the
    model has no place for). Optional groups absent from the file keep their initial values, with a logged
    warning naming them. Returns the names of those freshly initialized tensors. `noun` names the
    format's tensors in messages ("variables" for TF checkpoints). `required_heads`: groups (head layer
    names) that must be in the file, e.g. `("masked_lm",)` for fill-mask, which a fresh head would answer
    at random.
    """
    required_heads = set(required_heads)
    entries = [dataclasses.replace(entry, required=True) if entry.group in required_heads else entry
               for entry in entries]
    missing, conflicts, values = [], [], []
    for entry in entries:
        if entry.name not in arrays:
            if entry.required:
                missing.append(entry.name)
            continue
        array = arrays[entry.name]
        if tuple(array.shape) != entry.file_shape:
            conflicts.append(f"{entry.name}: checkpoint {list(array.shape)} vs model {list(entry.file_shape)}")
            continue
        values.append((entry, array))
    fresh = []
    for group in dict.fromkeys(entry.group for entry in entries if not entry.required):
        names = [entry.name for entry in entries if not entry.required and entry.group == group]
        absent = [name for name in names if name not in arrays]
        if len(absent) == len(names):
            fresh += absent
        else:  # half a head: the checkpoint is not what the model expects
            missing += absent
    unused = sorted(unused)
    if missing or conflicts or unused:
        problems = []
        if missing:
            problems.append(f"missing {noun} ({len(missing)}): " + ", ".join(missing))
        if conflicts:
            problems.append(f"shape conflicts ({len(conflicts)}): " + "; ".join(conflicts))
        if unused:
            problems.append(f"checkpoint {noun} the model does not have ({len(unused)}): " + ", ".join(unused))
        raise ValueError(f"checkpoint {source} does not match the {model.name} model built from its config:\n  "
                         + "\n  ".join(problems))
    for entry, array in values:
        entry.variable.assign(entry.to_keras(np.asarray(array)).astype(entry.variable.dtype))
    if fresh:
        logger.warning("checkpoint %s has no weights for part of %s; these start from their initializers: %s",
                       source, model.name, ", ".join(fresh))
    return fresh


def file_arrays(entries: list[WeightEntry]) -> dict[str, np.ndarray]:
    """The entries' current values as {file name: array in the file's layout}."""
    return {entry.name: entry.to_file(np.asarray(entry.variable.numpy())) for entry in entries}
