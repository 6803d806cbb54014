"""Dynamic masking: pretraining batches built on the fly from raw text, new pairs and masks every epoch.

Input: text files with one sentence per line and a blank line between documents (the format of
`create_pretraining_data`). The text is tokenized once, with our TF-Text `BertTokenizer`
(`corpus.tokenize_files`), into flat id arrays. Then each epoch of the returned dataset:

1. draws the reference's next-sentence pairs anew (`instances.create_instance_spans` with
   the epoch as pass number: target lengths, `a_end`, random next segments, truncation) and
   shuffles them;
2. packs each batch `[CLS] A [SEP] B [SEP]` and masks it with `keras_bert.data.pretraining.masking` (15% selection,
   80/10/10, whole words optional) under a stateless seed made of `(seed, input pipeline, epoch,
   batch)`.

So every epoch sees new masks and pairs, and a run is reproducible given `seed`. The batches have
exactly the structure of `keras_bert.data.pretraining.records.pretraining_dataset` — `(x, y)` with
int32 `input_word_ids`, `input_mask`, `input_type_ids` [batch, seq], `masked_lm_positions` [batch, P];
`y`: int32 `masked_lm_ids` [batch, P], float32 `masked_lm_weights` [batch, P], int32
`next_sentence_labels` [batch] — with static shapes (`drop_remainder`), as TPUs need, unless asked to keep
the last partial batch (evaluation off TPUs).

Pair drawing runs as a `tf.numpy_function` on the host (the reference's sequential algorithm, a
fraction of a second per 10k instances): the pipeline suits CPUs, GPUs and TPU VMs, not TPU Nodes
whose input pipeline runs on a remote host without this Python process.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import tensorflow as tf

from keras_bert.data.pretraining.corpus import TokenizedCorpus, load_tokenizer, tokenize_files
from keras_bert.data.pretraining.instances import PretrainingDataOptions, create_instance_spans, masked_instances
from keras_bert.data.pretraining.records import inputs_and_labels
from keras_bert.files import expand_file_patterns


def dynamic_masking_dataset(
    raw_text_files: str | Sequence[str],
    vocab_file: str,
    batch_size: int,
    seq_length: int,
    max_predictions_per_seq: int,
    *,
    is_training: bool,
    do_lower_case: bool = True,
    do_whole_word_mask: bool = False,
    masked_lm_prob: float = 0.15,
    short_seq_prob: float = 0.1,
    seed: int = 12345,
    input_context: tf.distribute.InputContext | None = None,
    corpus: TokenizedCorpus | None = None,
    drop_remainder: bool = True,
) -> tf.data.Dataset:
    """Batches of freshly masked instances from raw text.

    Args:
      raw_text_files: comma-separated globs or a list of globs (`--raw_text_files`).
      vocab_file, do_lower_case: the tokenizer's; `do_whole_word_mask`, `masked_lm_prob`,
        `short_seq_prob`: the reference flags.
      batch_size: global batch size (divided per replica with `input_context`).
      seq_length, max_predictions_per_seq: static output lengths.
      is_training: repeat forever with new pairs and masks each epoch; otherwise one fixed pass
        (epoch 0), for evaluation.
      seed: makes the stream reproducible.
      input_context: from `strategy.distribute_datasets_from_function`; each input pipeline takes
        its own share of every epoch's instances.
      corpus: an already tokenized corpus (`tokenize_raw_text`), to share between train and eval.
      drop_remainder: drop an epoch's last partial batch, for static shapes (TPUs); False keeps it.

    Returns:
      `tf.data.Dataset` of `(x, y)` as described in the module docstring.

    Raises:
      ValueError naming `raw_text_files` when an epoch gives an input pipeline no batch: fewer instances than
      `batch_size` with `drop_remainder`, none without.
    """
    tokenizer, special = load_tokenizer(vocab_file, do_lower_case)
    if corpus is None:
        corpus = tokenize_files(expand_file_patterns(raw_text_files), tokenizer)
    options = PretrainingDataOptions(
        max_seq_length=seq_length, max_predictions_per_seq=max_predictions_per_seq,
        masked_lm_prob=masked_lm_prob, short_seq_prob=short_seq_prob, dupe_factor=1,
        do_whole_word_mask=do_whole_word_mask, random_seed=seed)
    if input_context is not None:
        batch_size = input_context.get_per_replica_batch_size(batch_size)

    def epoch_spans(epoch: np.ndarray) -> np.ndarray:
        spans = create_instance_spans(corpus, options, passes=[int(epoch)])
        return spans[np.random.default_rng([seed, int(epoch)]).permutation(len(spans))]

    pipelines = input_context.num_input_pipelines if input_context is not None else 1
    available = len(epoch_spans(np.int64(0))) // pipelines
    if available < (batch_size if drop_remainder else 1):
        raise ValueError(
            f"the raw text {raw_text_files} yields {available} instances per epoch and input pipeline, "
            f"fewer than one batch of {batch_size}: use more text or a smaller batch size")

    epochs = tf.data.Dataset.counter() if is_training else tf.data.Dataset.range(1)
    dataset = epochs.map(lambda epoch: (epoch, tf.ensure_shape(
        tf.numpy_function(epoch_spans, [epoch], tf.int64, stateful=False), [None, 5])))
    if pipelines > 1:
        pipeline = input_context.input_pipeline_id
        dataset = dataset.map(lambda epoch, spans: (epoch, spans[pipeline::pipelines]))
    else:
        pipeline = 0
    # Batches never straddle epochs, so each batch's masking seed is (seed, pipeline, epoch, batch).
    dataset = dataset.flat_map(lambda epoch, spans: tf.data.Dataset.from_tensor_slices(spans)
                               .batch(batch_size, drop_remainder=drop_remainder).enumerate()
                               .map(lambda index, batch: (epoch, index, batch)))
    ids, word_starts = tf.constant(corpus.ids), tf.constant(corpus.word_starts)

    def make_batch(epoch, index, spans):
        batch_seed = tf.random.experimental.stateless_fold_in(
            tf.random.experimental.stateless_fold_in(tf.constant([seed, pipeline], tf.int64), epoch), index)
        return inputs_and_labels(masked_instances(spans, ids, word_starts, options, special, batch_seed))

    dataset = dataset.map(make_batch, num_parallel_calls=tf.data.AUTOTUNE)
    return dataset.prefetch(tf.data.AUTOTUNE)


def tokenize_raw_text(raw_text_files: str | Sequence[str], vocab_file: str,
                      do_lower_case: bool = True) -> TokenizedCorpus:
    """Reads and tokenizes the raw text once, to pass as `corpus=` to several datasets.

    Errors name a glob matching nothing, a missing or unreadable file, or the files when they hold no token.
    """
    tokenizer, _ = load_tokenizer(vocab_file, do_lower_case)
    return tokenize_files(expand_file_patterns(raw_text_files), tokenizer)
