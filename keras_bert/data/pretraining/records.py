"""The one reader and writer of google-research/bert's pretraining TFRecords.

Record features (each a `tf.train.Example`), exactly as the reference `create_pretraining_data.py`
writes them; `input_ids` and `segment_ids` are the library's `input_word_ids` and `input_type_ids`,
renamed here and nowhere else:

| feature | type | length |
|---|---|---|
| `input_ids`, `input_mask`, `segment_ids` | int64 | max_seq_length |
| `masked_lm_positions`, `masked_lm_ids` | int64 | max_predictions_per_seq |
| `masked_lm_weights` | float | max_predictions_per_seq |
| `next_sentence_labels` | int64 | 1 (1 = B is a random segment) |

The reader yields `(x, y)` batches for `model.fit` on `BertPretrainer`:

* `x`: int32 `input_word_ids`, `input_mask`, `input_type_ids` [batch, max_seq_length] and int32
  `masked_lm_positions` [batch, max_predictions_per_seq] (the MLM head gathers there);
* `y`: int32 `masked_lm_ids` [batch, P], float32 `masked_lm_weights` [batch, P] and int32
  `next_sentence_labels` [batch].

Batches have a static batch dimension (`drop_remainder=True`), as TPUs need, unless a reader is asked to
keep the last partial batch (evaluation off TPUs).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping, Sequence

import tensorflow as tf

from keras_bert.files import expand_file_patterns, name_files

INT_FEATURES = ("input_ids", "input_mask", "segment_ids", "masked_lm_positions", "masked_lm_ids",
                "next_sentence_labels")
FLOAT_FEATURES = ("masked_lm_weights",)
# The record's name of each feature under the library's name; the other features keep theirs.
_RECORD_NAMES = {"input_word_ids": "input_ids", "input_type_ids": "segment_ids"}
_LIBRARY_NAMES = {record: library for library, record in _RECORD_NAMES.items()}


class CorruptRecordFileError(IOError):
    """A TFRecord file that cannot be read or does not hold the expected features; names the file."""


def feature_spec(seq_length: int, max_predictions_per_seq: int) -> dict[str, tf.io.FixedLenFeature]:
    """`tf.io.parse_example` spec of the reference records."""
    return {
        "input_ids": tf.io.FixedLenFeature([seq_length], tf.int64),
        "input_mask": tf.io.FixedLenFeature([seq_length], tf.int64),
        "segment_ids": tf.io.FixedLenFeature([seq_length], tf.int64),
        "masked_lm_positions": tf.io.FixedLenFeature([max_predictions_per_seq], tf.int64),
        "masked_lm_ids": tf.io.FixedLenFeature([max_predictions_per_seq], tf.int64),
        "masked_lm_weights": tf.io.FixedLenFeature([max_predictions_per_seq], tf.float32),
        "next_sentence_labels": tf.io.FixedLenFeature([1], tf.int64),
    }


def _encode_feature(values: tf.Tensor, list_type: str) -> tf.Tensor:
    """Serialized `tf.train.Feature`s: values [batch, n] → string [batch]."""
    batch = tf.shape(values)[0]
    one = tf.ones([batch, 1], tf.int32)
    value_list = tf.io.encode_proto(one * tf.shape(values)[1], [values], ["value"], f"tensorflow.{list_type}")
    field = "int64_list" if list_type == "Int64List" else "float_list"
    return tf.io.encode_proto(one, [value_list[:, None]], [field], "tensorflow.Feature")


@tf.function(reduce_retracing=True)  # the last batch is shorter: trace once for any batch size
def encode_examples(features: Mapping[str, tf.Tensor]) -> tf.Tensor:
    """Serializes a batch of instances as reference `tf.train.Example`s, vectorised in TF.

    Args:
      features: under the library's names (`input_word_ids`, `input_mask`, `input_type_ids`,
        `masked_lm_positions`, `masked_lm_ids`, `masked_lm_weights`, `next_sentence_labels`), each
        [batch, length] as in the table above (any int dtype for the int64 features, any float dtype for
        `masked_lm_weights`), e.g. `instances.masked_instances`.

    Returns:
      string [batch] of serialized `tf.train.Example`.
    """
    features = {_RECORD_NAMES.get(name, name): value for name, value in features.items()}
    entries = []
    for name in INT_FEATURES + FLOAT_FEATURES:
        if name in FLOAT_FEATURES:
            encoded = _encode_feature(tf.cast(features[name], tf.float32), "FloatList")
        else:
            encoded = _encode_feature(tf.cast(features[name], tf.int64), "Int64List")
        batch = tf.shape(encoded)[0]
        entries.append(tf.io.encode_proto(
            tf.ones([batch, 2], tf.int32), [tf.fill([batch, 1], name), encoded[:, None]],
            ["key", "value"], "tensorflow.Features.FeatureEntry"))
    batch = tf.shape(entries[0])[0]
    encoded_features = tf.io.encode_proto(
        tf.fill([batch, 1], len(entries)), [tf.stack(entries, axis=1)], ["feature"], "tensorflow.Features")
    return tf.io.encode_proto(tf.ones([batch, 1], tf.int32), [encoded_features[:, None]], ["features"],
                              "tensorflow.Example")


class PretrainingRecordWriter:
    """Writes serialized examples round-robin over output shards, like the reference.

    Use as a context manager; `write(serialized)` takes string [batch] (e.g. `encode_examples`). Records go to
    `<output>.partial` files, renamed over the outputs when the block ends without an error and removed when it
    ends with one: a failed run leaves the outputs of an earlier run as they were.
    """

    def __init__(self, output_files: Sequence[str]):
        if not output_files:
            raise ValueError("no output files given")
        self.output_files = [os.fspath(f) for f in output_files]
        self._writers: list[tf.io.TFRecordWriter] = []
        self._next = 0
        self.num_written = 0

    def __enter__(self) -> PretrainingRecordWriter:
        for path in self.output_files:
            directory = os.path.dirname(path)
            try:
                if directory:
                    tf.io.gfile.makedirs(directory)
                self._writers.append(tf.io.TFRecordWriter(_partial(path)))
            except (tf.errors.OpError, OSError) as error:
                self._close(keep=False)
                raise OSError(f"cannot write output file {path}: {error}") from error
        return self

    def write(self, serialized: tf.Tensor) -> None:
        for record in serialized.numpy():
            self._writers[self._next].write(record)
            self._next = (self._next + 1) % len(self._writers)
        self.num_written += int(serialized.shape[0])

    def _close(self, keep: bool) -> None:
        """Closes the partial files opened so far, then renames them into place (`keep`) or removes them."""
        opened = self.output_files[:len(self._writers)]
        for writer in self._writers:
            writer.close()
        self._writers = []
        for path in opened:
            if keep:
                tf.io.gfile.rename(_partial(path), path, overwrite=True)
            elif tf.io.gfile.exists(_partial(path)):
                tf.io.gfile.remove(_partial(path))

    def __exit__(self, exc_type, *exc_info) -> None:
        self._close(keep=exc_type is None)


def _partial(path: str) -> str:
    return f"{path}.partial"


def inputs_and_labels(features: Mapping[str, tf.Tensor]) -> tuple[dict, dict]:
    """Pretraining features under the library's names (any int dtypes, e.g. `instances.masked_instances`)
    → the `(x, y)` dicts described in the module docstring."""
    x = {
        "input_word_ids": tf.cast(features["input_word_ids"], tf.int32),
        "input_mask": tf.cast(features["input_mask"], tf.int32),
        "input_type_ids": tf.cast(features["input_type_ids"], tf.int32),
        "masked_lm_positions": tf.cast(features["masked_lm_positions"], tf.int32),
    }
    y = {
        "masked_lm_ids": tf.cast(features["masked_lm_ids"], tf.int32),
        "masked_lm_weights": tf.cast(features["masked_lm_weights"], tf.float32),
        "next_sentence_labels": tf.cast(tf.reshape(features["next_sentence_labels"], [-1]), tf.int32),
    }
    return x, y


def pretraining_dataset(
    file_patterns: str | Sequence[str],
    batch_size: int,
    seq_length: int,
    max_predictions_per_seq: int,
    *,
    is_training: bool,
    input_context: tf.distribute.InputContext | None = None,
    repeat: bool | None = None,
    shuffle_buffer_size: int = 100,
    seed: int | None = None,
    drop_remainder: bool = True,
) -> tf.data.Dataset:
    """Batches of reference pretraining records, as the reference `input_fn` reads them.

    Training: the file list is shuffled and repeated, files are read by a parallel interleave
    (non-deterministic order, like the reference's `sloppy=True`), records are shuffled in a
    buffer of `shuffle_buffer_size` (100 in the reference). Evaluation reads the files in order.

    Args:
      file_patterns: comma-separated globs or a list of globs.
      batch_size: global batch size; with `input_context` it is divided by the number of replicas
        in sync and each input pipeline reads its own shard of the files (or of the records when
        there are fewer files than pipelines).
      seq_length, max_predictions_per_seq: the lengths the records were written with.
      is_training: shuffle + repeat + interleave, as above.
      input_context: from `strategy.distribute_datasets_from_function`.
      repeat: repeat forever; defaults to `is_training`.
      shuffle_buffer_size: record shuffle buffer for training.
      seed: shuffle seed (None: nondeterministic).
      drop_remainder: drop a last partial batch, for a static batch dimension (TPUs); False keeps it, so
        that evaluation sees every record.

    Returns:
      `tf.data.Dataset` of `(x, y)`; see the module docstring.

    Raises:
      ValueError naming the files when `repeat` is set and the files this input pipeline reads hold no
      record (the dataset would loop forever without a batch).
    """
    files = _record_files(file_patterns)
    repeat = is_training if repeat is None else repeat
    if input_context is not None:
        batch_size = input_context.get_per_replica_batch_size(batch_size)
    spec = feature_spec(seq_length, max_predictions_per_seq)

    dataset = tf.data.Dataset.from_tensor_slices(files)
    pipeline_files, shard_records = files, False
    if input_context is not None and input_context.num_input_pipelines > 1:
        if len(files) >= input_context.num_input_pipelines:
            dataset = dataset.shard(input_context.num_input_pipelines, input_context.input_pipeline_id)
            pipeline_files = files[input_context.input_pipeline_id::input_context.num_input_pipelines]
        else:
            shard_records = True
    if repeat and count_records(pipeline_files, seq_length, max_predictions_per_seq, limit=1) == 0:
        raise ValueError(f"no records in the TFRecord files {name_files(pipeline_files)}: repeating them would "
                         "never give a batch")
    if is_training:
        dataset = dataset.shuffle(len(files), seed=seed)
        if repeat:
            dataset = dataset.repeat()
        dataset = dataset.interleave(
            tf.data.TFRecordDataset,
            cycle_length=min(len(files), 8),
            num_parallel_calls=tf.data.AUTOTUNE,
            deterministic=False,
        )
    else:
        dataset = dataset.flat_map(tf.data.TFRecordDataset)
    if shard_records:
        dataset = dataset.shard(input_context.num_input_pipelines, input_context.input_pipeline_id)
    if is_training:
        dataset = dataset.shuffle(shuffle_buffer_size, seed=seed)
    elif repeat:
        dataset = dataset.repeat()
    dataset = dataset.batch(batch_size, drop_remainder=drop_remainder)
    dataset = dataset.map(lambda records: inputs_and_labels(_parse(records, spec)), num_parallel_calls=tf.data.AUTOTUNE)
    return dataset.prefetch(tf.data.AUTOTUNE)


def _record_files(file_patterns: str | Sequence[str]) -> list[str]:
    """The files the globs match; FileNotFoundError / CorruptRecordFileError naming a bad glob or a directory."""
    files = expand_file_patterns(file_patterns)
    for path in files:
        if tf.io.gfile.isdir(path):
            raise CorruptRecordFileError(f"input path {path} is a directory, not a TFRecord file")
    return files


def _parse(records: tf.Tensor, spec: dict[str, tf.io.FixedLenFeature]) -> dict[str, tf.Tensor]:
    """Serialized examples string [batch] → their features under the library's names."""
    return {_LIBRARY_NAMES.get(name, name): value for name, value in tf.io.parse_example(records, spec).items()}


def check_record_file(path: str, seq_length: int, max_predictions_per_seq: int) -> int:
    """Reads and parses every record of one file; returns the count.

    Raises:
      CorruptRecordFileError: naming `path`, when it is unreadable, corrupt (bad CRC, truncated) or
        holds records without the expected features and lengths; the count of good records before the
        bad one is exact.
    """
    spec = feature_spec(seq_length, max_predictions_per_seq)
    count = 0
    try:
        for records in tf.data.TFRecordDataset(path).batch(1024):
            tf.io.parse_example(records, spec)
            count += int(records.shape[0])
    except tf.errors.DataLossError as error:
        raise CorruptRecordFileError(f"corrupt TFRecord file {path} (after {_good_records(path, spec, count)} "
                                     f"good records): {error.message}") from error
    except tf.errors.InvalidArgumentError as error:
        raise CorruptRecordFileError(
            f"TFRecord file {path} does not hold pretraining records with seq_length={seq_length}, "
            f"max_predictions_per_seq={max_predictions_per_seq} (record {_good_records(path, spec, count)}, "
            f"counting from 0): {error.message}") from error
    except (tf.errors.NotFoundError, tf.errors.PermissionDeniedError) as error:
        raise CorruptRecordFileError(f"cannot read TFRecord file {path}: {error.message}") from error
    return count


def _good_records(path: str, spec: dict[str, tf.io.FixedLenFeature], start: int) -> int:
    """How many records of `path` read and parse before the first bad one, given that the first `start`
    do: the batch that failed is read again one record at a time."""
    count = start
    with contextlib.suppress(tf.errors.DataLossError, tf.errors.InvalidArgumentError):
        for record in tf.data.TFRecordDataset(path).skip(start):
            tf.io.parse_example(record[None], spec)
            count += 1
    return count


def count_records(file_patterns: str | Sequence[str], seq_length: int, max_predictions_per_seq: int,
                  limit: int) -> int:
    """Counts the records of the files in order, reading no further than `limit` records, and parses
    them: a cheap check before any work that the input holds records of the expected lengths.

    Returns:
      min(records in the files, limit).

    Raises:
      FileNotFoundError naming a glob that matches nothing; CorruptRecordFileError naming a directory, or a
      file whose records (up to `limit`) are unreadable or of other lengths.
    """
    files = _record_files(file_patterns)
    spec = feature_spec(seq_length, max_predictions_per_seq)
    first_records = tf.data.Dataset.from_tensor_slices(files).flat_map(tf.data.TFRecordDataset).take(limit)
    count = 0
    with naming_bad_record_files(files, seq_length, max_predictions_per_seq):
        for records in first_records.batch(1024):
            tf.io.parse_example(records, spec)
            count += int(records.shape[0])
    return count


@contextlib.contextmanager
def naming_bad_record_files(file_patterns: str | Sequence[str], seq_length: int,
                            max_predictions_per_seq: int) -> Iterator[None]:
    """Turns a data error raised while iterating a `pretraining_dataset` into one naming the file.

    TensorFlow's own error says only "corrupted record at <offset>". Wrap the loop (or
    `model.fit`) in this context manager: on `DataLossError` or an Example-parsing
    `InvalidArgumentError` it checks the files one by one and raises `CorruptRecordFileError` for
    the first bad one (the original error is re-raised if every file checks out).
    """
    try:
        yield
    except (tf.errors.DataLossError, tf.errors.InvalidArgumentError) as error:
        is_record_error = isinstance(error, tf.errors.DataLossError) or "Example" in error.message
        if is_record_error:
            for path in expand_file_patterns(file_patterns):
                check_record_file(path, seq_length, max_predictions_per_seq)
        raise
