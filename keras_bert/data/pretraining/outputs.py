"""Where `create_pretraining_data` writes: `--output_file` as record shards filled round-robin, or as one output
per input file (a folder or a `*` pattern), the unit of work that a job scheduler spreads over machines."""
from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence

import tensorflow as tf

from keras_bert.data.pretraining import records


@dataclasses.dataclass(frozen=True)
class OutputPlan:
    """The record files of a run.

    Attributes:
      files: the output paths.
      per_input: True when `files[i]` holds the records of input file i; False when records go round-robin over
        all of them.
    """

    files: list[str]
    per_input: bool


def plan_outputs(output_files: str | Sequence[str], input_files: Sequence[str]) -> OutputPlan:
    """`--output_file` → an `OutputPlan`.

    Args:
      output_files: comma-separated paths or a list (round-robin shards); or one folder (existing, or a path
        ending in "/") → `<folder>/<input name without extension>.tfrecord` per input; or a path with one `*` →
        the path with `*` replaced by the input's name without extension.
      input_files: the expanded `--input_file`.

    Raises:
      ValueError naming `--output_file` when a path is empty or (among several) a directory, or when two inputs
      would share an output.
    """
    outputs = [f.strip() for f in output_files.split(",")] if isinstance(output_files, str) else list(output_files)
    if len(outputs) == 1 and (outputs[0].endswith("/") or "*" in outputs[0] or tf.io.gfile.isdir(outputs[0])):
        return OutputPlan(_per_input_files(outputs[0], input_files), per_input=True)
    for path in outputs:
        if not path or tf.io.gfile.isdir(path) or "*" in path:
            raise ValueError(f"--output_file {output_files!r}: {path!r} is not a file path (a folder or a `*` "
                             "pattern is only allowed alone)")
    return OutputPlan(outputs, per_input=False)


def _per_input_files(folder_or_pattern: str, input_files: Sequence[str]) -> list[str]:
    """One output path per input; ValueError naming two inputs that map to one output."""
    if folder_or_pattern.count("*") > 1:
        raise ValueError(f"--output_file {folder_or_pattern!r}: a pattern holds one `*`")
    pattern = folder_or_pattern if "*" in folder_or_pattern else folder_or_pattern.rstrip("/") + "/*.tfrecord"
    outputs: dict[str, str] = {}
    for path in input_files:
        output = pattern.replace("*", os.path.splitext(os.path.basename(path))[0])
        if output in outputs:
            raise ValueError(f"--output_file {folder_or_pattern!r}: inputs {outputs[output]} and {path} would both "
                             f"write {output}")
        outputs[output] = path
    return list(outputs)


class OutputWriter:
    """Writes the record batches of each input file as the plan says; a context manager.

    Round-robin: one `records.PretrainingRecordWriter` over all files. Per input: input files come in order, and
    each output is renamed into place once the next file starts, so a long run keeps what it finished (a file
    without records gets an empty output). On an error the output being written is removed.
    """

    def __init__(self, plan: OutputPlan):
        self.plan = plan
        self.num_written = 0
        self._writer: records.PretrainingRecordWriter | None = None
        self._opened = -1  # the output index the open writer writes

    def __enter__(self) -> OutputWriter:
        return self

    def write(self, file_index: int, serialized: tf.Tensor) -> None:
        """Writes serialized examples (string [batch]) of input file `file_index`."""
        self._open_through(file_index if self.plan.per_input else 0)
        self._writer.write(serialized)
        self.num_written += int(serialized.shape[0])

    def _open_through(self, index: int) -> None:
        while self._opened < index:
            if self._writer is not None:
                self._writer.__exit__(None, None, None)
            self._opened += 1
            files = self.plan.files[self._opened:self._opened + 1] if self.plan.per_input else self.plan.files
            self._writer = records.PretrainingRecordWriter(files).__enter__()

    def __exit__(self, exc_type, exc_value, traceback) -> None:
        if exc_type is None:
            self._open_through(len(self.plan.files) - 1 if self.plan.per_input else 0)
        if self._writer is not None:
            self._writer.__exit__(exc_type, exc_value, traceback)
