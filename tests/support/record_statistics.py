"""Summary statistics of pretraining record files, to compare our generator with the reference's."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import tensorflow as tf

from keras_bert.data.pretraining.records import feature_spec
from keras_bert.files import expand_file_patterns


def record_statistics(file_patterns: str | Sequence[str], seq_length: int, max_predictions_per_seq: int) -> dict:
    """Statistics of pretraining records.

    Returns a dict: `num_instances`, `mean_masked_share` (mean over instances of masked tokens /
    tokens incl. [CLS] and [SEP]s), `random_next_share` and `mean_num_tokens`.
    """
    files = expand_file_patterns(file_patterns)
    spec = feature_spec(seq_length, max_predictions_per_seq)
    masked, tokens, random_next = [np.zeros(0)], [np.zeros(0)], [np.zeros(0)]
    for records in tf.data.TFRecordDataset(files).batch(4096):
        parsed = tf.io.parse_example(records, spec)
        masked.append(tf.reduce_sum(parsed["masked_lm_weights"], axis=1).numpy())
        tokens.append(tf.reduce_sum(parsed["input_mask"], axis=1).numpy())
        random_next.append(parsed["next_sentence_labels"][:, 0].numpy())
    masked_counts, token_counts = np.concatenate(masked), np.concatenate(tokens)
    if not len(token_counts):
        raise ValueError(f"no records in {', '.join(files)}")
    return {
        "num_instances": int(len(token_counts)),
        "mean_masked_share": float(np.mean(masked_counts / token_counts)),
        "random_next_share": float(np.mean(np.concatenate(random_next))),
        "mean_num_tokens": float(np.mean(token_counts)),
    }
