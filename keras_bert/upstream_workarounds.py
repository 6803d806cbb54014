"""Contained workarounds for upstream Keras bugs, each applied explicitly and version-guarded.

Nothing here runs at import time. Each workaround names its upstream issue and the Keras versions
on which it was verified; on any other version it raises, so an upgrade re-checks whether the bug
is still there (and whether the patched functions still look the same) instead of silently
patching code that has changed.
"""
from __future__ import annotations

import functools

import keras
import tensorflow as tf
from keras.src.backend.tensorflow import trainer as tf_trainer

# Versions on which the bug was reproduced and the patch verified by tests/test_distribute.py.
MULTI_WORKER_FIT_BROKEN_VERSIONS = ("3.15.1",)
MULTI_WORKER_FIT_ISSUE = "https://github.com/keras-team/keras/issues/20585"


def _in_multi_worker_mode(strategy: tf.distribute.Strategy) -> bool:
    return (isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)
            and strategy.extended._in_multi_worker_mode())


def _patched_maybe_symbolic_build(original):
    """`TensorFlowTrainer._maybe_symbolic_build`, with the first batch taken from a local replica.

    Keras 3.15 reduces the first distributed batch with `strategy.reduce("MEAN", batch,
    axis=None)` only to learn its structure and shapes for building the model. Under
    MultiWorkerMirroredStrategy that reduce converts the PerReplica batch to a tensor and fails
    ("Attempt to convert a value (PerReplica...) ... to a Tensor"). Any one replica's batch has
    the same structure and per-replica shapes, so we hand that batch over instead.
    """

    @functools.wraps(original)
    def maybe_symbolic_build(self, iterator=None, data_batch=None):
        strategy = self._distribute_strategy
        if strategy is None or iterator is None or not _in_multi_worker_mode(strategy):
            return original(self, iterator=iterator, data_batch=data_batch)
        for _, _, distributed_iterator in iterator:  # same consumption as upstream: one batch
            data_batch = keras.tree.map_structure(
                lambda value: strategy.experimental_local_results(value)[0],
                next(distributed_iterator))
            break
        return original(self, iterator=None, data_batch=data_batch)

    maybe_symbolic_build._keras_bert_workaround = True
    return maybe_symbolic_build


def _patched_reduce_per_replica(original):
    """`trainer.reduce_per_replica`, reducing scalar step outputs over replicas with axis=None.

    Keras 3.15 reduces every train/test step output under multi-worker mode with
    `strategy.reduce("MEAN", value, axis=0)`; the step outputs are scalar metric values, and
    axis=0 on a scalar fails. The mean over replicas of a scalar is `axis=None`.
    """

    @functools.wraps(original)
    def reduce_per_replica(values, strategy, reduction):
        if reduction not in ("auto", "mean") or not _in_multi_worker_mode(strategy):
            return original(values, strategy, reduction)

        def mean_over_replicas(value):
            axis = None if value.shape.rank == 0 else 0
            return strategy.reduce("MEAN", value, axis=axis)

        return keras.tree.map_structure(mean_over_replicas, values)

    reduce_per_replica._keras_bert_workaround = True
    return reduce_per_replica


def multi_worker_fit_workaround_applied() -> bool:
    return getattr(tf_trainer.reduce_per_replica, "_keras_bert_workaround", False)


def apply_multi_worker_fit_workaround() -> None:
    """Make `model.fit`/`evaluate` work under MultiWorkerMirroredStrategy (keras#20585).

    Idempotent. Patches `keras.src.backend.tensorflow.trainer`: the method
    `TensorFlowTrainer._maybe_symbolic_build` and the module function `reduce_per_replica`
    (looked up at call time by the train/test functions). Raises RuntimeError on a Keras
    version where the patch was not verified.
    """
    if multi_worker_fit_workaround_applied():
        return
    if keras.__version__ not in MULTI_WORKER_FIT_BROKEN_VERSIONS:
        raise RuntimeError(
            f"keras {keras.__version__}: the MultiWorkerMirroredStrategy fit workaround in "
            f"keras_bert/upstream_workarounds.py was verified only on keras "
            f"{', '.join(MULTI_WORKER_FIT_BROKEN_VERSIONS)}. Check {MULTI_WORKER_FIT_ISSUE}: run "
            "tests/test_distribute.py; if plain model.fit works under --strategy multi_worker, "
            "drop the workaround, otherwise re-verify the patch and add this version.")
    trainer_class = tf_trainer.TensorFlowTrainer
    trainer_class._maybe_symbolic_build = _patched_maybe_symbolic_build(
        trainer_class._maybe_symbolic_build)
    tf_trainer.reduce_per_replica = _patched_reduce_per_replica(tf_trainer.reduce_per_replica)


# tf.searchsorted (LowerBound/UpperBound kernels) fails on 2-D operands whose last dimension is 0 — e.g. a
# batch of 0 strings — with "Leading dim_size of both tensors must match", although the leading dimensions
# match. No upstream issue found; tensorflow/tensorflow#57419 fixed an empty sorted sequence only.
# Verified on these TensorFlow versions by tests/export/test_task_exports.py.
EMPTY_SEARCHSORTED_BROKEN_VERSIONS = ("2.20.0",)


def searchsorted_rows(sorted_sequence: tf.Tensor, values: tf.Tensor, side: str = "left",
                      out_type=tf.int64) -> tf.Tensor:
    """`tf.searchsorted` row by row, [batch, n] and [batch, k] → [batch, k], also for n == 0 or k == 0.

    Pads one column to both operands (the sequence with its dtype's maximum, so no result changes) and
    drops the extra result column. Raises RuntimeError on a TensorFlow version where this was not verified.
    """
    if tf.__version__ not in EMPTY_SEARCHSORTED_BROKEN_VERSIONS:
        raise RuntimeError(
            f"tensorflow {tf.__version__}: searchsorted_rows in keras_bert/upstream_workarounds.py was verified "
            f"only on {', '.join(EMPTY_SEARCHSORTED_BROKEN_VERSIONS)}; run tests/export/test_task_exports.py and drop "
            "the padding if plain tf.searchsorted accepts [0, 0] operands, otherwise add this version.")
    padded_sequence = tf.pad(sorted_sequence, [[0, 0], [0, 1]], constant_values=sorted_sequence.dtype.max)
    padded_values = tf.pad(values, [[0, 0], [0, 1]])
    return tf.searchsorted(padded_sequence, padded_values, side=side, out_type=out_type)[:, :-1]
