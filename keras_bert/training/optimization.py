"""The reference BERT optimizers and learning-rate schedule, as Keras 3 objects.

Reproduces google-research/bert `optimization.py`:

* `WarmupLinearDecay`: `tf.train.polynomial_decay(init_lr, step, num_train_steps, end=0, power=1)`
  with a linear warmup `init_lr * step / num_warmup_steps` while `step < num_warmup_steps`.
  The step is the number of updates applied so far, counting from 0: Keras evaluates the schedule
  at `optimizer.iterations` before incrementing it, like the reference reads `global_step` before
  its `global_step.assign(global_step + 1)`. With warmup the first update therefore uses lr 0.
* `AdamWeightDecay`: the reference `AdamWeightDecayOptimizer` — Adam moments without bias
  correction, decoupled weight decay added to the update (`update += rate * param`, using the
  pre-update param) and `param -= lr * update`, with LayerNorm and bias variables excluded.
  Model Garden's `official.nlp.optimization.AdamWeightDecay` is *not* this: it bias-corrects the
  Adam part (legacy Keras Adam) while the decay uses the uncorrected learning rate.
* `Lamb`: LAMB (You et al. 2019, Algorithm 2) as in Model Garden's `official/modeling/optimization/
  lamb.py`: bias-corrected moments, decay inside the update, trust ratio ||w|| / ||update||,
  variables excluded from decay also excluded from the trust ratio. `keras.optimizers.Lamb`
  differs: it applies Keras's decoupled decay before the update (outside the trust ratio),
  applies the trust ratio to every variable and has no exclusions.

Gradients are clipped by their global norm (1.0) after the cross-replica sum, i.e. the norm of the
global-batch gradient, as the reference computes it on one device. Keras 3's own
`global_clipnorm` clips each replica's partial gradient before the sum, so it is not used.

Both optimizers run under any `tf.distribute` strategy, inside `jit_compile=True` train steps and
wrapped in `keras.optimizers.LossScaleOptimizer` (fp16). They need the TensorFlow backend.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import keras
import tensorflow as tf

DEFAULT_EXCLUDE_FROM_WEIGHT_DECAY = ("LayerNorm", "layer_norm", "bias")
OPTIMIZER_TYPES = ("adamw", "lamb")


@keras.saving.register_keras_serializable(package="keras_bert")
class WarmupLinearDecay(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warmup to `init_lr`, overlaid on linear decay from `init_lr` to 0 at step 0.

    `__call__(step)` takes an integer step (scalar int32/int64 tensor or Python int) and returns a
    scalar float32 learning rate:
      decayed = init_lr * (1 - min(step, num_train_steps) / num_train_steps)
      lr = init_lr * step / num_warmup_steps   if step < num_warmup_steps else decayed
    """

    def __init__(self, init_lr: float, num_train_steps: int, num_warmup_steps: int = 0):
        if not init_lr > 0:
            raise ValueError(f"learning_rate (init_lr) must be > 0, got {init_lr}")
        if int(num_train_steps) <= 0:
            raise ValueError(f"num_train_steps must be > 0, got {num_train_steps}")
        if int(num_warmup_steps) < 0:
            raise ValueError(f"num_warmup_steps must be >= 0, got {num_warmup_steps}")
        self.init_lr = float(init_lr)
        self.num_train_steps = int(num_train_steps)
        self.num_warmup_steps = int(num_warmup_steps)

    def __call__(self, step):
        step_int = tf.cast(step, tf.int32)
        step_float = tf.cast(step_int, tf.float32)
        # tf.train.polynomial_decay(power=1.0, end_learning_rate=0.0, cycle=False).
        total = tf.constant(float(self.num_train_steps), tf.float32)
        progress = tf.minimum(step_float, total) / total
        decayed = self.init_lr * (1.0 - progress)
        if not self.num_warmup_steps:
            return decayed
        warmup = self.init_lr * (step_float / float(self.num_warmup_steps))
        return tf.where(step_int < self.num_warmup_steps, warmup, decayed)

    def get_config(self) -> dict[str, Any]:
        return {
            "init_lr": self.init_lr,
            "num_train_steps": self.num_train_steps,
            "num_warmup_steps": self.num_warmup_steps,
        }


class _ReferenceAdamBase(keras.optimizers.Optimizer):
    """Shared state of `AdamWeightDecay` and `Lamb`: moments m and v (float, shaped like each
    variable), per-variable decay flags and clipping of the aggregated gradient.

    Which variables decay is decided once in `build` from each Keras variable's `path`
    (e.g. "encoder/transformer_layer_0/attention_layer_norm/gamma"), matched with `re.search`
    against `exclude_from_weight_decay`, like the reference matches TF1 variable names.
    """

    def __init__(
        self,
        learning_rate: float | keras.optimizers.schedules.LearningRateSchedule = 1e-4,
        weight_decay_rate: float = 0.01,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-6,
        exclude_from_weight_decay: Sequence[str] | None = DEFAULT_EXCLUDE_FROM_WEIGHT_DECAY,
        gradient_clip_norm: float | None = 1.0,
        name: str | None = None,
        **kwargs,
    ):
        for keras_only in ("weight_decay", "clipnorm", "clipvalue", "global_clipnorm"):
            # `get_config` of the base class writes these as None; any value would act twice.
            if kwargs.get(keras_only) is not None:
                raise ValueError(
                    f"{type(self).__name__} does not take Keras's `{keras_only}`; use "
                    "`weight_decay_rate` / `gradient_clip_norm`, which follow the reference."
                )
            kwargs.pop(keras_only, None)
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.weight_decay_rate = float(weight_decay_rate)
        self.beta_1 = float(beta_1)
        self.beta_2 = float(beta_2)
        self.epsilon = float(epsilon)
        self.exclude_from_weight_decay = list(exclude_from_weight_decay or [])
        self.gradient_clip_norm = float(gradient_clip_norm) if gradient_clip_norm else None

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._momentums, self._velocities = self.add_optimizer_variables(
            var_list, ["adam_m", "adam_v"]
        )
        self._decays = [self._matches_any(variable, self.exclude_from_weight_decay) is None
                        for variable in var_list]
        if self.weight_decay_rate == 0.0:
            self._decays = [False] * len(var_list)

    @staticmethod
    def _matches_any(variable, patterns: Sequence[str]) -> str | None:
        """The first pattern found in the variable's path (its name if it has no path)."""
        name = getattr(variable, "path", None) or variable.name
        return next((p for p in patterns if re.search(p, name) is not None), None)

    def _all_reduce_sum_gradients(self, grads_and_vars):
        # Called by the TF backend's `_backend_update_step` in replica context: after the
        # cross-replica sum every replica holds the global-batch gradient, which is what the
        # reference clips (`tf.clip_by_global_norm(grads, 1.0)` before `apply_gradients`).
        grads_and_vars = super()._all_reduce_sum_gradients(grads_and_vars)
        if not self.gradient_clip_norm:
            return grads_and_vars
        grads = [g for g, _ in grads_and_vars]
        present = [g for g in grads if g is not None]
        clipped, _ = tf.clip_by_global_norm(present, clip_norm=self.gradient_clip_norm)
        clipped = iter(clipped)
        return [(None if g is None else next(clipped), v) for g, v in grads_and_vars]

    def _next_moments(self, gradient, variable):
        """m, v after this step (not bias-corrected); float tensors shaped like `variable`."""
        index = self._get_variable_index(variable)
        m, v = self._momentums[index], self._velocities[index]
        grad = tf.cast(tf.convert_to_tensor(gradient), variable.dtype)  # dense, as the reference
        next_m = self.beta_1 * tf.convert_to_tensor(m) + (1.0 - self.beta_1) * grad
        next_v = self.beta_2 * tf.convert_to_tensor(v) + (1.0 - self.beta_2) * tf.square(grad)
        self.assign(m, next_m)
        self.assign(v, next_v)
        return next_m, next_v, self._decays[index]

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update({
            "weight_decay_rate": self.weight_decay_rate,
            "beta_1": self.beta_1,
            "beta_2": self.beta_2,
            "epsilon": self.epsilon,
            "exclude_from_weight_decay": list(self.exclude_from_weight_decay),
            "gradient_clip_norm": self.gradient_clip_norm,
        })
        return config


@keras.saving.register_keras_serializable(package="keras_bert")
class AdamWeightDecay(_ReferenceAdamBase):
    """google-research/bert `AdamWeightDecayOptimizer` (no bias correction).

    Per variable, with g the clipped global-batch gradient and lr the schedule at the current step:
      m = b1*m + (1-b1)*g;  v = b2*v + (1-b2)*g^2;  update = m / (sqrt(v) + eps)
      update += weight_decay_rate * param   (unless the variable path matches an exclusion)
      param -= lr * update
    """

    def update_step(self, gradient, variable, learning_rate):
        next_m, next_v, decays = self._next_moments(gradient, variable)
        update = next_m / (tf.sqrt(next_v) + self.epsilon)
        if decays:
            update += self.weight_decay_rate * tf.convert_to_tensor(variable)
        lr = tf.cast(learning_rate, variable.dtype)
        self.assign(variable, tf.convert_to_tensor(variable) - lr * update)


@keras.saving.register_keras_serializable(package="keras_bert")
class Lamb(_ReferenceAdamBase):
    """LAMB as in Model Garden / the paper (bias-corrected moments, decay inside the trust ratio).

    Per variable at step t = iterations + 1:
      m, v as in Adam;  update = (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps)
      update += weight_decay_rate * param   (unless excluded)
      ratio = ||param|| / ||update|| if both > 0 else 1   (1 for excluded variables)
      param -= ratio * lr * update
    """

    def __init__(self, *args, exclude_from_layer_adaptation: Sequence[str] | None = None,
                 **kwargs):
        super().__init__(*args, **kwargs)
        # As Model Garden: without an explicit list, the decay exclusions apply.
        self.exclude_from_layer_adaptation = list(
            exclude_from_layer_adaptation or self.exclude_from_weight_decay)

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._adapts = [self._matches_any(variable, self.exclude_from_layer_adaptation) is None
                        for variable in var_list]

    def update_step(self, gradient, variable, learning_rate):
        next_m, next_v, decays = self._next_moments(gradient, variable)
        step = tf.cast(self.iterations + 1, variable.dtype)
        m_hat = next_m / (1.0 - tf.pow(tf.cast(self.beta_1, variable.dtype), step))
        v_hat = next_v / (1.0 - tf.pow(tf.cast(self.beta_2, variable.dtype), step))
        update = m_hat / (tf.sqrt(v_hat) + self.epsilon)
        param = tf.convert_to_tensor(variable)
        if decays:
            update += self.weight_decay_rate * param
        ratio = tf.constant(1.0, variable.dtype)
        if self._adapts[self._get_variable_index(variable)]:
            w_norm = tf.norm(param, ord=2)
            u_norm = tf.norm(update, ord=2)
            ratio = tf.where((w_norm > 0) & (u_norm > 0), w_norm / u_norm, ratio)
        lr = tf.cast(learning_rate, variable.dtype)
        self.assign(variable, param - ratio * lr * update)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["exclude_from_layer_adaptation"] = list(self.exclude_from_layer_adaptation)
        return config


def create_optimizer(
    init_lr: float,
    num_train_steps: int,
    num_warmup_steps: int,
    optimizer_type: str = "adamw",
    weight_decay_rate: float = 0.01,
    gradient_clip_norm: float | None = 1.0,
    beta_1: float = 0.9,
    beta_2: float = 0.999,
    epsilon: float = 1e-6,
    exclude_from_weight_decay: Sequence[str] = DEFAULT_EXCLUDE_FROM_WEIGHT_DECAY,
) -> _ReferenceAdamBase:
    """The optimizer every program uses: the reference schedule and hyper-parameters.

    `optimizer_type` is the `--optimizer` flag: "adamw" (reference AdamWeightDecay) or "lamb".
    Create it inside `strategy.scope()` so its variables are distributed.
    """
    schedule = WarmupLinearDecay(init_lr, num_train_steps, num_warmup_steps)
    kinds = {"adamw": AdamWeightDecay, "lamb": Lamb}
    if optimizer_type not in kinds:
        raise ValueError(
            f"--optimizer (optimizer_type) must be one of {OPTIMIZER_TYPES}, got {optimizer_type!r}")
    return kinds[optimizer_type](
        learning_rate=schedule,
        weight_decay_rate=weight_decay_rate,
        beta_1=beta_1,
        beta_2=beta_2,
        epsilon=epsilon,
        exclude_from_weight_decay=exclude_from_weight_decay,
        gradient_clip_norm=gradient_clip_norm,
    )
