"""Distribution strategy and mixed-precision policy, as the programs' `--strategy` and `--mixed_precision` name them.

`--strategy`: `default` (one device, or TF's default), `mirrored` (all local GPUs, or the given
devices), `multi_worker` (`MultiWorkerMirroredStrategy` from `TF_CONFIG`, with the contained
workaround for keras-team/keras#20585 applied), `tpu` (`TPUStrategy` on the `--tpu` address).
`--mixed_precision`: `none`, `bf16` (`mixed_bfloat16`, TPUs and recent CPUs/GPUs) or `fp16`
(`mixed_float16`; Keras wraps the optimizer in a LossScaleOptimizer inside `compile`).
"""
from __future__ import annotations

from collections.abc import Sequence

import keras
import tensorflow as tf

from keras_bert import upstream_workarounds

STRATEGIES = ("default", "mirrored", "multi_worker", "tpu")
MIXED_PRECISION_POLICIES = {"none": "float32", "bf16": "mixed_bfloat16", "fp16": "mixed_float16"}


def create_strategy(name: str = "default", tpu: str | None = None,
                    devices: Sequence[str] | None = None) -> tf.distribute.Strategy:
    """The `tf.distribute.Strategy` named by `--strategy`.

    Args:
      name: one of `STRATEGIES`.
      tpu: `--tpu`, the TPU name or grpc:// address (`tpu` only; "local" on a TPU VM).
      devices: `mirrored` only: the devices to mirror over (default: all local GPUs, else all
        logical CPU devices — one unless `tf.config.set_logical_device_configuration` made more).
    """
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        if not devices and not tf.config.list_logical_devices("GPU"):
            devices = [device.name for device in tf.config.list_logical_devices("CPU")]
        return tf.distribute.MirroredStrategy(devices=list(devices) if devices else None)
    if name == "multi_worker":
        upstream_workarounds.apply_multi_worker_fit_workaround()
        return tf.distribute.MultiWorkerMirroredStrategy()
    if name == "tpu":
        resolver = tpu_cluster_resolver(tpu)
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
        return tf.distribute.TPUStrategy(resolver)
    raise ValueError(f"--strategy must be one of {STRATEGIES}, got {name!r}")


def tpu_cluster_resolver(tpu: str | None) -> tf.distribute.cluster_resolver.TPUClusterResolver:
    """The resolver of `--tpu`: a Cloud TPU name, a grpc:// address, or "local" on a TPU VM.

    Raises ValueError naming `--tpu` when it is missing or cannot be resolved (e.g. a TPU name
    outside Google Cloud, where the metadata server is unreachable).
    """
    if not tpu:
        raise ValueError("--strategy tpu needs --tpu (a TPU name, a grpc:// address, or 'local' on a TPU VM)")
    try:
        return tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu)
    except (ValueError, OSError, RuntimeError) as error:
        raise ValueError(f"--tpu {tpu!r} cannot be resolved to a TPU: {error}") from error


def set_mixed_precision(name: str = "none") -> str:
    """Sets Keras's global dtype policy from `--mixed_precision`; returns the policy name.

    Call before building models. LayerNorm, softmax and logits stay float32 (see keras_bert.layers.transformer).
    """
    if name not in MIXED_PRECISION_POLICIES:
        raise ValueError(f"--mixed_precision must be one of {sorted(MIXED_PRECISION_POLICIES)}, got {name!r}")
    policy = MIXED_PRECISION_POLICIES[name]
    keras.mixed_precision.set_global_policy(policy)
    return policy


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    """Whether this process writes shared outputs (checkpoints, results): always true outside
    multi-worker training, and only on the chief (task 0) there."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return True
    task_type, task_id = resolver.task_type, resolver.task_id
    return task_type in (None, "chief") or (task_type == "worker" and task_id == 0
                                             and "chief" not in resolver.cluster_spec().as_dict())

