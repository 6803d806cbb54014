"""`InputExample`s → batched `tf.data.Dataset` of (encoder inputs, label), tokenised on the host per batch.

Each batch is packed to the preprocessor's `seq_length` (truncation), then cut to its longest row
(`packing.trim_padding`): the encoder's cost follows the real lengths (SST-2 averages 13 word pieces), and its
outputs on real tokens do not change, since padded keys get no attention. `fixed_length` keeps every batch at
`seq_length` (static shapes, as TPUs need); `bucket_by_length` (training) also groups rows of similar length into
a batch, so that less padding remains.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import tensorflow as tf

from keras_bert.data.classification.glue import InputExample
from keras_bert.tokenization.packing import trim_padding

# strings [batch] (single texts) or [strings [batch], strings [batch]] (pairs) → dict of int32 [batch, seq],
# e.g. `keras_bert.tokenization.tokenizer.BertPreprocessor`.
Preprocessor = Callable[..., dict]

# Upper bounds (in word pieces, [CLS] and [SEP] included) of the length buckets of `bucket_by_length`; the last
# bucket takes everything longer. Fine where sentences are short (GLUE), coarser further out.
BUCKET_BOUNDARIES = (8, 12, 16, 20, 24, 32, 40, 48, 64, 80, 96, 128, 192, 256)


def classification_dataset(examples: Sequence[InputExample], preprocessor: Preprocessor,
                           label_list: Sequence[str] | None = None, is_regression: bool = False,
                           batch_size: int = 32, shuffle: bool = False, seed: int | None = None,
                           drop_remainder: bool = False, repeat: bool = False, fixed_length: bool = False,
                           bucket_by_length: bool = False) -> tf.data.Dataset:
    """Builds the dataset from the examples' Python strings, batches, then maps `preprocessor` per batch.

    Args:
      examples: all single texts (`text_b` None) or all pairs.
      preprocessor: called once per batch inside `Dataset.map` (so with graph tensors).
      label_list: class names in id order, for classification.
      is_regression: labels are floats.
      batch_size, drop_remainder: as `Dataset.batch`.
      shuffle, seed: shuffle all examples before batching, anew each epoch.
      repeat: repeat the examples endlessly before batching (training: every batch full, as the reference).
      fixed_length: keep every batch at the preprocessor's `seq_length` (static shapes, for TPUs); by default
        each batch is cut to its longest row.
      bucket_by_length: batch rows of similar length together (`tf.data`'s `bucket_by_sequence_length` on the
        packed lengths, `BUCKET_BOUNDARIES`), each bucket filling batches of `batch_size` (always full: for
        training with `repeat`). This reorders the examples: not for evaluation or prediction.

    Returns:
      Elements `(features, labels)`: `features` whatever `preprocessor` returns (for BertPreprocessor, int32
      [batch, seq] `input_word_ids`, `input_mask`, `input_type_ids`), `labels` int32 [batch] class ids or
      float32 [batch] scores. When no example has a label (test files), elements are `features` alone.
    """
    if not examples:
        raise ValueError("no examples to make a dataset from")
    if bucket_by_length and (fixed_length or not repeat):
        raise ValueError("bucket_by_length batches an endless stream of training examples: it needs repeat=True "
                         "and variable-length batches (fixed_length=False)")
    is_pair = examples[0].text_b is not None
    for ex in examples:
        if (ex.text_b is not None) != is_pair:
            raise ValueError(f"example {ex.guid!r} has {'no ' if is_pair else ''}text_b, unlike example "
                             f"{examples[0].guid!r}: a dataset holds only single texts or only pairs")
    texts = {"text_a": np.array([ex.text_a for ex in examples], dtype=object)}
    if is_pair:
        texts["text_b"] = np.array([ex.text_b for ex in examples], dtype=object)
    labels = _label_array(examples, label_list, is_regression)
    if bucket_by_length and labels is None:
        raise ValueError("bucket_by_length is for training: the examples need labels")

    dataset = tf.data.Dataset.from_tensor_slices(texts if labels is None else (texts, labels))
    if shuffle:
        dataset = dataset.shuffle(len(examples), seed=seed, reshuffle_each_iteration=True)
    if repeat:
        dataset = dataset.repeat()
    dataset = dataset.batch(batch_size, drop_remainder=drop_remainder)

    def encode(batch_texts: dict) -> dict:
        features = preprocessor([batch_texts["text_a"], batch_texts["text_b"]] if is_pair else batch_texts["text_a"])
        # The batch size is static after `batch(drop_remainder=True)`: keep it so, as TPUs need.
        rows = batch_texts["text_a"].shape[:1]
        return {name: tf.ensure_shape(value, rows.concatenate(value.shape[1:])) for name, value in features.items()}

    def trimmed(features: dict) -> dict:
        return features if fixed_length else trim_padding(features)

    if labels is None:
        dataset = dataset.map(lambda batch_texts: trimmed(encode(batch_texts)), num_parallel_calls=tf.data.AUTOTUNE)
    elif bucket_by_length:
        dataset = _bucketed(dataset.map(lambda batch_texts, batch_labels: (encode(batch_texts), batch_labels),
                                        num_parallel_calls=tf.data.AUTOTUNE), batch_size)
    else:
        dataset = dataset.map(lambda batch_texts, batch_labels: (trimmed(encode(batch_texts)), batch_labels),
                              num_parallel_calls=tf.data.AUTOTUNE)
    return dataset.prefetch(tf.data.AUTOTUNE)


def batch_by_length(rows: tf.data.Dataset, batch_size: int) -> tf.data.Dataset:
    """Unbatched (features, labels) rows, `features["input_mask"]` marking real tokens → full batches of
    `batch_size` rows of similar length (`bucket_by_sequence_length` over `BUCKET_BOUNDARIES`; a bucket's
    remainder waits for more rows). The rows keep their length: cut the batches with `trim_padding`."""
    def length(features: dict, labels: tf.Tensor) -> tf.Tensor:
        return tf.reduce_sum(tf.cast(features["input_mask"] != 0, tf.int32))

    boundaries = [bound + 1 for bound in BUCKET_BOUNDARIES]  # bucket_by_sequence_length's bounds are exclusive
    return rows.bucket_by_sequence_length(length, boundaries, [batch_size] * (len(boundaries) + 1),
                                          no_padding=True, drop_remainder=True)


def _bucketed(packed: tf.data.Dataset, batch_size: int) -> tf.data.Dataset:
    """Packed (features, labels) batches → `batch_by_length` batches cut to their longest row. Texts are
    tokenised in the batches they came in (the preprocessor's cost is per call), then regrouped."""
    return batch_by_length(packed.unbatch(), batch_size).map(
        lambda features, labels: (trim_padding(features), labels), num_parallel_calls=tf.data.AUTOTUNE)


def _label_array(examples: Sequence[InputExample], label_list: Sequence[str] | None,
                 is_regression: bool) -> np.ndarray | None:
    """int32 class ids, float32 scores, or None when no example has a label."""
    labelled = [ex.label is not None for ex in examples]
    if not any(labelled):
        return None
    if not all(labelled):
        missing = examples[labelled.index(False)]
        raise ValueError(f"example {missing.guid!r} has no label while others have one")
    if is_regression:
        return np.array([float(ex.label) for ex in examples], dtype=np.float32)
    if not label_list:
        raise ValueError("label_list is required for a classification dataset with labels")
    label_ids = {label: i for i, label in enumerate(label_list)}
    ids = []
    for ex in examples:
        if ex.label not in label_ids:
            raise ValueError(f"example {ex.guid!r}: label {ex.label!r} is not one of {list(label_list)}")
        ids.append(label_ids[ex.label])
    return np.array(ids, dtype=np.int32)
