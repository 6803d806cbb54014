"""The compute precision of a served model (`--serving_dtype`): float32 as trained, or bfloat16, which CPUs with
AVX512_BF16/AMX (and TPUs, recent GPUs) run about twice as fast.

A bfloat16 export is the same model rebuilt under Keras's `bfloat16` policy with the trained weights rounded to
bfloat16: matmuls and activations run in bfloat16; LayerNorm (with its float32 weights), residual sums, softmax and
logits in float32 (`keras_bert.layers`). Its outputs are those of `mixed_bfloat16` (which rounds the same float32
weights on every call), but the weights are stored rounded: the SavedModel is half the size and a call does not
re-cast 110M weights, which at batch 1 costs more than the matmuls save. The signatures are unchanged: string or
int32 inputs, float32/int32/string outputs. Expect probabilities within about 1e-2 of float32 (bfloat16 keeps 8 bits
of mantissa) and the same argmax except near ties.
"""
from __future__ import annotations

import keras

SERVING_DTYPES = {"float32": "float32", "bfloat16": "bfloat16"}  # --serving_dtype → Keras dtype policy


def check_serving_dtype(serving_dtype: str) -> str:
    """`serving_dtype` if it is one of `SERVING_DTYPES`, else a ValueError naming `--serving_dtype`."""
    if serving_dtype not in SERVING_DTYPES:
        raise ValueError(f"--serving_dtype must be one of {list(SERVING_DTYPES)}, got {serving_dtype!r}")
    return serving_dtype


def serving_model(model: keras.Model, serving_dtype: str) -> keras.Model:
    """`model` computing in `serving_dtype`: itself for float32, else a copy built from its config under the dtype
    policy, holding the same weights (rounded to bfloat16 except LayerNorm's).

    Args:
      model: a keras_bert model (its config carries no dtype, so the policy in force when it is built decides).
      serving_dtype: "float32" or "bfloat16".
    """
    policy = SERVING_DTYPES[check_serving_dtype(serving_dtype)]
    if policy == "float32":
        return model
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(policy)
    try:
        copy = type(model).from_config(model.get_config())
    finally:
        keras.mixed_precision.set_global_policy(previous)
    if [w.shape for w in copy.weights] != [w.shape for w in model.weights]:
        raise ValueError(f"{type(model).__name__} rebuilt from its config under {policy} has other weights than "
                         "the model: it cannot be exported in bfloat16")
    for target, source in zip(copy.weights, model.weights):
        target.assign(source)
    return copy
