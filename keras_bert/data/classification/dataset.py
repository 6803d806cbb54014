"""`InputExample`s → batched `tf.data.Dataset` of (encoder inputs, label), tokenised on the host per batch."""
from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import tensorflow as tf

from keras_bert.data.classification.glue import InputExample

# strings [batch] (single texts) or [strings [batch], strings [batch]] (pairs) → dict of int32 [batch, seq],
# e.g. `keras_bert.tokenization.tokenizer.BertPreprocessor`.
Preprocessor = Callable[..., dict]


def classification_dataset(examples: Sequence[InputExample], preprocessor: Preprocessor,
                           label_list: Sequence[str] | None = None, is_regression: bool = False,
                           batch_size: int = 32, shuffle: bool = False, seed: int | None = None,
                           drop_remainder: bool = False, repeat: bool = False) -> tf.data.Dataset:
    """Builds the dataset from the examples' Python strings, batches, then maps `preprocessor` per batch.

    Args:
      examples: all single texts (`text_b` None) or all pairs.
      preprocessor: called once per batch inside `Dataset.map` (so with graph tensors).
      label_list: class names in id order, for classification.
      is_regression: labels are floats.
      batch_size, drop_remainder: as `Dataset.batch`.
      shuffle, seed: shuffle all examples before batching, anew each epoch.
      repeat: repeat the examples endlessly before batching (training: every batch full, as the reference).

    Returns:
      Elements `(features, labels)`: `features` whatever `preprocessor` returns (for BertPreprocessor, int32
      [batch, seq] `input_word_ids`, `input_mask`, `input_type_ids`), `labels` int32 [batch] class ids or
      float32 [batch] scores. When no example has a label (test files), elements are `features` alone.
    """
    if not examples:
        raise ValueError("no examples to make a dataset from")
    is_pair = examples[0].text_b is not None
    for ex in examples:
        if (ex.text_b is not None) != is_pair:
            raise ValueError(f"example {ex.guid!r} has {'no ' if is_pair else ''}text_b, unlike example "
                             f"{examples[0].guid!r}: a dataset holds only single texts or only pairs")
    texts = {"text_a": np.array([ex.text_a for ex in examples], dtype=object)}
    if is_pair:
        texts["text_b"] = np.array([ex.text_b for ex in examples], dtype=object)
    labels = _label_array(examples, label_list, is_regression)

    dataset = tf.data.Dataset.from_tensor_slices(texts if labels is None else (texts, labels))
    if shuffle:
        dataset = dataset.shuffle(len(examples), seed=seed, reshuffle_each_iteration=True)
    if repeat:
        dataset = dataset.repeat()
    dataset = dataset.batch(batch_size, drop_remainder=drop_remainder)

    def encode(batch_texts: dict) -> dict:
        if is_pair:
            return preprocessor([batch_texts["text_a"], batch_texts["text_b"]])
        return preprocessor(batch_texts["text_a"])

    if labels is None:
        dataset = dataset.map(encode, num_parallel_calls=tf.data.AUTOTUNE)
    else:
        dataset = dataset.map(lambda batch_texts, batch_labels: (encode(batch_texts), batch_labels),
                              num_parallel_calls=tf.data.AUTOTUNE)
    return dataset.prefetch(tf.data.AUTOTUNE)


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
