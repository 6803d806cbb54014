"""The optimizers and schedule against the google-research/bert formulas and Model Garden.

Oracles: a float64 numpy transcription of google-research/bert `optimization.py` and of LAMB
(Model Garden's `official/modeling/optimization/lamb.py`), plus tf-models-official's tf_keras
optimizers run on identical variables and gradients.
"""
import keras
import numpy as np
import pytest
import tensorflow as tf
import tf_keras
from official.nlp import optimization as mg_optimization

from keras_bert.training.optimization import AdamWeightDecay, Lamb, WarmupLinearDecay, create_optimizer

INIT_LR, TRAIN_STEPS, WARMUP_STEPS = 0.05, 10, 3
# (path, shape, decays): a LayerNorm-named and two bias variables must not decay.
VARIABLES = [("dense/kernel", (4, 3), True), ("dense/bias", (3,), False),
             ("attention_layer_norm/gamma", (3,), False), ("LayerNorm/beta", (3,), False),
             ("output/kernel", (3, 2), True), ("output/output_bias", (2,), False)]


def reference_lr(step: int) -> float:
    """google-research/bert create_optimizer's schedule at integer `step`, in float64."""
    decayed = INIT_LR * (1.0 - min(step, TRAIN_STEPS) / TRAIN_STEPS)
    return INIT_LR * step / WARMUP_STEPS if step < WARMUP_STEPS else decayed


def clip_by_global_norm(grads, clip_norm=1.0):
    norm = np.sqrt(sum(np.sum(g.astype(np.float64) ** 2) for g in grads))
    return [g * (clip_norm * min(1.0 / norm, 1.0 / clip_norm)) for g in grads], norm


def numpy_adamw(params, grads_per_step, wd=0.01, b1=0.9, b2=0.999, eps=1e-6):
    """The reference AdamWeightDecayOptimizer after clip_by_global_norm(1.0), in float64."""
    params = [p.astype(np.float64) for p in params]
    ms = [np.zeros_like(p) for p in params]
    vs = [np.zeros_like(p) for p in params]
    for step, grads in enumerate(grads_per_step):
        grads, _ = clip_by_global_norm(grads)
        for i, ((_, _, decays), g) in enumerate(zip(VARIABLES, grads)):
            ms[i] = b1 * ms[i] + (1 - b1) * g
            vs[i] = b2 * vs[i] + (1 - b2) * g * g
            update = ms[i] / (np.sqrt(vs[i]) + eps)
            if decays:
                update = update + wd * params[i]
            params[i] = params[i] - reference_lr(step) * update
    return params, ms, vs


def numpy_lamb(params, grads_per_step, wd=0.01, b1=0.9, b2=0.999, eps=1e-6):
    """LAMB (paper Algorithm 2 / Model Garden) after clip_by_global_norm(1.0), in float64."""
    params = [p.astype(np.float64) for p in params]
    ms = [np.zeros_like(p) for p in params]
    vs = [np.zeros_like(p) for p in params]
    for step, grads in enumerate(grads_per_step):
        grads, _ = clip_by_global_norm(grads)
        t = step + 1
        for i, ((_, _, decays), g) in enumerate(zip(VARIABLES, grads)):
            ms[i] = b1 * ms[i] + (1 - b1) * g
            vs[i] = b2 * vs[i] + (1 - b2) * g * g
            update = (ms[i] / (1 - b1 ** t)) / (np.sqrt(vs[i] / (1 - b2 ** t)) + eps)
            ratio = 1.0
            if decays:  # excluded from decay = excluded from layer adaptation
                update = update + wd * params[i]
                w_norm, u_norm = np.linalg.norm(params[i]), np.linalg.norm(update)
                ratio = w_norm / u_norm if w_norm > 0 and u_norm > 0 else 1.0
            params[i] = params[i] - ratio * reference_lr(step) * update
    return params


@pytest.fixture(scope="module")
def problem():
    """Initial float32 values and 6 steps of gradients; global norms 3.0 except step 4 (0.5)."""
    rng = np.random.default_rng(7)
    initial = [rng.normal(0.0, 1.0, shape).astype(np.float32) for _, shape, _ in VARIABLES]
    grads_per_step = []
    for step in range(6):
        grads = [rng.normal(0.0, 1.0, shape).astype(np.float32) for _, shape, _ in VARIABLES]
        target_norm = 0.5 if step == 4 else 3.0
        _, norm = clip_by_global_norm(grads)
        grads_per_step.append([(g * (target_norm / norm)).astype(np.float32) for g in grads])
    return initial, grads_per_step


def keras_variables(initial):
    """Keras variables whose `path` is the name in VARIABLES."""
    variables = []
    for (path, _, _), value in zip(VARIABLES, initial):
        scope, name = path.split("/")
        with keras.name_scope(scope):
            variables.append(keras.Variable(value, name=name))
    assert [v.path for v in variables] == [p for p, _, _ in VARIABLES]
    return variables


def run_ours(optimizer, initial, grads_per_step, jit_compile=False):
    variables = keras_variables(initial)
    optimizer.build(variables)

    def apply(grads):
        optimizer.apply(grads, variables)

    if jit_compile:
        apply = tf.function(apply, jit_compile=True)
    for grads in grads_per_step:
        apply([tf.constant(g) for g in grads])
    return [v.numpy() for v in variables]


def test_schedule_matches_reference_formula_and_model_garden():
    ours = WarmupLinearDecay(INIT_LR, TRAIN_STEPS, WARMUP_STEPS)
    theirs = mg_optimization.WarmUp(
        INIT_LR, tf_keras.optimizers.schedules.PolynomialDecay(INIT_LR, TRAIN_STEPS, 0.0, 1.0),
        WARMUP_STEPS)
    for step in [0, 1, 2, 3, 4, 7, 10, 11, 50]:
        expected = reference_lr(step)
        assert float(ours(tf.constant(step, tf.int64))) == pytest.approx(expected, rel=1e-6, abs=0)
        assert float(ours(step)) == pytest.approx(float(theirs(step)), rel=1e-6, abs=1e-12)
    assert float(ours(0)) == 0.0  # with warmup the first update uses lr 0, as in the reference
    no_warmup = WarmupLinearDecay(INIT_LR, TRAIN_STEPS, 0)
    assert float(no_warmup(0)) == pytest.approx(INIT_LR)
    assert float(no_warmup(5)) == pytest.approx(INIT_LR / 2)


def test_schedule_is_read_at_iterations_before_increment():
    """Update k (0-based) uses lr(k): the reference reads global_step before incrementing it."""
    optimizer = create_optimizer(INIT_LR, TRAIN_STEPS, WARMUP_STEPS)
    assert int(optimizer.iterations) == 0
    variable = keras.Variable(np.ones(3, np.float32), name="kernel")
    optimizer.apply([tf.ones(3)], [variable])
    np.testing.assert_array_equal(variable.numpy(), np.ones(3))  # lr(0) = 0: nothing moves...
    assert np.all(optimizer._momentums[0].numpy() != 0)  # ...but the moments are updated
    assert int(optimizer.iterations) == 1
    assert float(optimizer.learning_rate) == pytest.approx(reference_lr(1))


def test_schedule_rejects_bad_arguments():
    with pytest.raises(ValueError, match="num_train_steps"):
        WarmupLinearDecay(1e-4, 0, 0)
    with pytest.raises(ValueError, match="num_warmup_steps"):
        WarmupLinearDecay(1e-4, 10, -1)


@pytest.mark.parametrize("jit_compile", [False, True])
def test_adamw_matches_numpy_reference(problem, jit_compile):
    initial, grads_per_step = problem
    optimizer = create_optimizer(INIT_LR, TRAIN_STEPS, WARMUP_STEPS, optimizer_type="adamw")
    ours = run_ours(optimizer, initial, grads_per_step, jit_compile)
    expected, expected_m, expected_v = numpy_adamw(initial, grads_per_step)
    for (path, _, _), got, want in zip(VARIABLES, ours, expected):
        np.testing.assert_allclose(got, want, rtol=2e-6, atol=2e-7, err_msg=path)
    for got_m, want_m, got_v, want_v in zip(optimizer._momentums, expected_m,
                                            optimizer._velocities, expected_v):
        np.testing.assert_allclose(got_m.numpy(), want_m, rtol=1e-5, atol=1e-8)
        np.testing.assert_allclose(got_v.numpy(), want_v, rtol=1e-5, atol=1e-10)


def test_exclusions_and_clipping_matter(problem):
    """The oracle would catch decaying LayerNorm/bias variables or skipping the clip."""
    initial, grads_per_step = problem
    expected, _, _ = numpy_adamw(initial, grads_per_step)
    unclipped = create_optimizer(INIT_LR, TRAIN_STEPS, WARMUP_STEPS, gradient_clip_norm=None)
    all_decay = create_optimizer(INIT_LR, TRAIN_STEPS, WARMUP_STEPS, exclude_from_weight_decay=[])
    for optimizer in (unclipped, all_decay):
        got = run_ours(optimizer, initial, grads_per_step)
        assert max(np.max(np.abs(g - w)) for g, w in zip(got, expected)) > 1e-4


def model_garden_adamw_as_reference(initial, grads_per_step):
    """Model Garden's AdamWeightDecay driven so that it computes the reference update.

    Its Adam part is bias-corrected (legacy Keras Adam: lr_t = lr * c_t with
    c_t = sqrt(1 - b2^t) / (1 - b1^t)) while its decay uses the uncorrected lr. Feeding it
    lr(step) / c_t and weight_decay_rate 0.01 * c_t makes both parts equal the reference's.
    """
    variables = [tf.Variable(v, name=path) for (path, _, _), v in zip(VARIABLES, initial)]
    optimizer = mg_optimization.AdamWeightDecay(
        learning_rate=1.0, weight_decay_rate=0.01, epsilon=1e-6,
        exclude_from_weight_decay=["LayerNorm", "layer_norm", "bias"])
    for step, grads in enumerate(grads_per_step):
        t = step + 1
        correction = float(np.sqrt(1 - 0.999 ** t) / (1 - 0.9 ** t))
        optimizer.learning_rate = reference_lr(step) / correction
        optimizer.weight_decay_rate = 0.01 * correction
        optimizer.apply_gradients(zip([tf.constant(g) for g in grads], variables))
    return [v.numpy() for v in variables]


def test_adamw_matches_model_garden_oracle(problem):
    initial, grads_per_step = problem
    ours = run_ours(create_optimizer(INIT_LR, TRAIN_STEPS, WARMUP_STEPS), initial, grads_per_step)
    theirs = model_garden_adamw_as_reference(initial, grads_per_step)
    for (path, _, _), got, want in zip(VARIABLES, ours, theirs):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6, err_msg=path)


def test_model_garden_adamw_is_bias_corrected_unlike_reference(problem):
    """Pins the documented difference: plain Model Garden AdamWeightDecay is not the reference."""
    initial, grads_per_step = problem
    variables = [tf.Variable(v, name=path) for (path, _, _), v in zip(VARIABLES, initial)]
    plain = mg_optimization.create_optimizer(INIT_LR, TRAIN_STEPS, WARMUP_STEPS)
    for grads in grads_per_step:
        plain.apply_gradients(zip([tf.constant(g) for g in grads], variables))
    expected, _, _ = numpy_adamw(initial, grads_per_step)
    assert max(np.max(np.abs(v.numpy() - w)) for v, w in zip(variables, expected)) > 1e-3


def test_lamb_matches_numpy_and_model_garden(problem):
    initial, grads_per_step = problem
    ours = run_ours(create_optimizer(INIT_LR, TRAIN_STEPS, WARMUP_STEPS, optimizer_type="lamb"),
                    initial, grads_per_step)
    expected = numpy_lamb(initial, grads_per_step)
    variables = [tf.Variable(v, name=path) for (path, _, _), v in zip(VARIABLES, initial)]
    theirs = mg_optimization.create_optimizer(INIT_LR, TRAIN_STEPS, WARMUP_STEPS,
                                              optimizer_type="lamb")
    for grads in grads_per_step:  # Model Garden's LAMB does not clip: clip as the reference does
        clipped, _ = tf.clip_by_global_norm([tf.constant(g) for g in grads], 1.0)
        theirs.apply_gradients(zip(clipped, variables))
    for (path, _, _), got, want, mg in zip(VARIABLES, ours, expected, variables):
        # Bias correction in float32 (1 - 0.999f = 0.00099998713) moves the update by ~1e-5
        # relative; a decay or trust-ratio error would move it by > 1e-4.
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=2e-6, err_msg=path)
        np.testing.assert_allclose(got, mg.numpy(), rtol=1e-5, atol=2e-6, err_msg=path)


def test_keras_lamb_differs_from_model_garden_lamb(problem):
    """Why we do not use keras.optimizers.Lamb: decay outside the trust ratio, no exclusions."""
    initial, grads_per_step = problem
    keras_lamb = keras.optimizers.Lamb(WarmupLinearDecay(INIT_LR, TRAIN_STEPS, WARMUP_STEPS),
                                       epsilon=1e-6, weight_decay=0.01, global_clipnorm=1.0)
    keras_lamb.exclude_from_weight_decay(var_names=["LayerNorm", "layer_norm", "bias"])
    got = run_ours(keras_lamb, initial, grads_per_step)
    expected = numpy_lamb(initial, grads_per_step)
    assert max(np.max(np.abs(g - w)) for g, w in zip(got, expected)) > 1e-4


def tiny_regression_model(seed: int = 3) -> keras.Model:
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((8,))
    hidden = keras.layers.Dense(16, activation="tanh", name="dense")(inputs)
    hidden = keras.layers.LayerNormalization(name="layer_norm")(hidden)
    return keras.Model(inputs, keras.layers.Dense(1, name="output")(hidden))


def fit_weights(optimizer, jit_compile=False, dtype_policy=None, epochs=1):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 8)).astype(np.float32)
    y = (10.0 * x[:, :1]).astype(np.float32)  # large targets: gradient norms well above 1
    previous = keras.config.dtype_policy()
    if dtype_policy:
        keras.config.set_dtype_policy(dtype_policy)
    try:
        model = tiny_regression_model()
        model.compile(optimizer=optimizer, loss="mse", jit_compile=jit_compile)
        history = model.fit(x, y, batch_size=8, epochs=epochs, shuffle=False, verbose=0)
    finally:
        keras.config.set_dtype_policy(previous)
    return model, [w.numpy() for w in model.weights], history.history["loss"]


@pytest.mark.parametrize("optimizer_type", ["adamw", "lamb"])
def test_fit_with_jit_compile_and_loss_scaling_matches_plain_fit(optimizer_type):
    def make():
        return create_optimizer(1e-2, 8, 2, optimizer_type=optimizer_type)

    _, plain, _ = fit_weights(make())
    _, jitted, _ = fit_weights(make(), jit_compile=True)
    # Scaling the loss by 2**15 and the gradients back is exact in float32.
    scaled = keras.optimizers.LossScaleOptimizer(make())
    _, loss_scaled, _ = fit_weights(scaled)
    assert float(scaled.dynamic_scale) > 1.0
    for a, b, c in zip(plain, jitted, loss_scaled):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(c, a, rtol=1e-5, atol=1e-6)


def test_mixed_float16_fit_wraps_in_loss_scale_optimizer_and_trains():
    model, weights, losses = fit_weights(create_optimizer(1e-2, 40, 4), dtype_policy="mixed_float16",
                                         epochs=5)
    assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
    assert isinstance(model.optimizer.inner_optimizer, AdamWeightDecay)
    assert all(np.all(np.isfinite(w)) for w in weights)
    assert losses[-1] < losses[0]


def test_optimizer_config_and_saved_state_round_trip(tmp_path):
    for optimizer_type, kind in [("adamw", AdamWeightDecay), ("lamb", Lamb)]:
        optimizer = create_optimizer(2e-5, 100, 10, optimizer_type=optimizer_type)
        clone = keras.optimizers.deserialize(keras.optimizers.serialize(optimizer))
        assert type(clone) is kind and clone.get_config() == optimizer.get_config()
        model, _, _ = fit_weights(optimizer)
        model.save(tmp_path / f"{optimizer_type}.keras")
        restored = keras.saving.load_model(tmp_path / f"{optimizer_type}.keras")
        assert type(restored.optimizer) is kind
        assert int(restored.optimizer.iterations) == 8
        for a, b in zip(optimizer.variables, restored.optimizer.variables):
            np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_bad_arguments_name_the_flag():
    with pytest.raises(ValueError, match="--optimizer"):
        create_optimizer(1e-4, 10, 1, optimizer_type="sgd")
    with pytest.raises(ValueError, match="weight_decay_rate"):
        AdamWeightDecay(1e-4, weight_decay=0.01)
    with pytest.raises(ValueError, match="gradient_clip_norm"):
        AdamWeightDecay(1e-4, global_clipnorm=1.0)
