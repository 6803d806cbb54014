"""keras_bert.training.distribute and run_pretraining under tf.distribute: two real worker processes with
MultiWorkerMirroredStrategy (and proof that the keras#20585 workaround is needed), MirroredStrategy
over two logical CPU devices against one device, the TPU flag path, and TPU readiness (static
shapes, no strings in the model, XLA, bf16)."""
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import tensorflow as tf

from keras_bert.training import distribute
from support.multi_worker import run_two_workers
from support.pretraining_fixtures import TINY_PREDICTIONS, TINY_SEQ, write_tiny_setup
from support.programs import REPO_ROOT


@pytest.fixture(scope="module")
def setup(shared_data, tmp_path_factory):
    return write_tiny_setup(tmp_path_factory.mktemp("tiny"), shared_data)


WORKER = textwrap.dedent("""
    import json, sys
    import numpy as np
    from keras_bert import upstream_workarounds
    from pretraining.run_pretraining import run_pretraining
    kwargs = json.loads(sys.argv[1])
    weights_file = kwargs.pop("weights_file")
    result = run_pretraining(**kwargs)
    np.savez(weights_file, *[w.numpy() for w in result["model"].weights])
    print("GLOBAL_STEP", result["global_step"],
          "WORKAROUND", upstream_workarounds.multi_worker_fit_workaround_applied(),
          "REPLICAS", result["model"].distribute_strategy.num_replicas_in_sync)
""")


def test_two_workers_train_to_identical_weights(tmp_path, setup):
    def arguments(index):
        return [json.dumps(dict(
            output_dir=str(tmp_path / "out"), bert_config_file=setup["bert_config_file"],
            input_file=setup["input_file"], max_seq_length=TINY_SEQ, max_predictions_per_seq=TINY_PREDICTIONS,
            do_train=True, train_batch_size=8, num_train_steps=5, num_warmup_steps=1, save_checkpoints_steps=2,
            learning_rate=1e-3, strategy="multi_worker", verbose=0,
            weights_file=str(tmp_path / f"weights_{index}.npz")))]

    codes, outputs = run_two_workers(WORKER, arguments, timeout=150)
    for code, (stdout, stderr) in zip(codes, outputs):
        assert code == 0, stderr[-4000:]
        assert "GLOBAL_STEP 5 WORKAROUND True REPLICAS 2" in stdout
    first, second = np.load(tmp_path / "weights_0.npz"), np.load(tmp_path / "weights_1.npz")
    assert len(first.files) == len(second.files) > 10
    for name in first.files:
        np.testing.assert_array_equal(first[name], second[name], err_msg=name)
    # Only the chief (worker 0) wrote the shared outputs; worker 1's scratch checkpoints are gone.
    out = tmp_path / "out"
    assert (out / "bert_model.ckpt.index").exists()
    # Steps 1-4 in one fit call, step 5 in a second one (epochs of save_checkpoints_steps).
    saved = tf.train.get_checkpoint_state(str(out / "checkpoints")).all_model_checkpoint_paths
    assert [int(p.rsplit("-", 1)[1]) for p in saved] == [2, 4, 5]
    assert not [p for p in os.listdir(out / "checkpoints") if p.startswith(".scratch")]


MINIMAL_FIT = textwrap.dedent("""
    import numpy as np, tensorflow as tf, keras
    strategy = tf.distribute.MultiWorkerMirroredStrategy()  # keras_bert's workaround not applied
    with strategy.scope():
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
        model.compile(optimizer="sgd", loss="mse")
    data = tf.data.Dataset.from_tensor_slices((np.ones((16, 4), "float32"), np.ones((16, 1), "float32"))).batch(8)
    model.fit(data, epochs=1, verbose=0)
    print("FIT_OK")
""")


def test_multi_worker_fit_fails_without_the_keras_20585_workaround():
    """Plain keras 3.15.1 `model.fit` under MultiWorkerMirroredStrategy fails (keras#20585); the
    two-worker test above passes only through keras_bert.upstream_workarounds."""
    codes, outputs = run_two_workers(MINIMAL_FIT, lambda index: [], timeout=90)
    assert all(code != 0 for code in codes), [o[0] for o in outputs]
    assert any("PerReplica" in stderr for _, stderr in outputs), outputs[0][1][-3000:]


MIRRORED = textwrap.dedent("""
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import numpy as np
    from keras_bert.training import distribute
    from keras_bert.config import BertConfig
    from keras_bert.data.pretraining.records import pretraining_dataset
    from keras_bert.models.pretrainer import BertPretrainer
    from keras_bert.training.optimization import create_optimizer
    from pretraining.run_pretraining import run_pretraining

    setup, seq, predictions, out = {setup!r}, {seq}, {predictions}, {out!r}
    config = BertConfig.from_json_file(setup["bert_config_file"]).replace(
        hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    initial = BertPretrainer(config).get_weights()

    def train(strategy):
        with strategy.scope():
            model = BertPretrainer(config)
            model.set_weights(initial)
            model.compile(optimizer=create_optimizer(1e-3, 10, 1), steps_per_execution=1)
        # Only instances with all P predictions: every replica's masked-LM denominator is then the
        # same, so the per-replica losses average to the one-device loss exactly.
        data = strategy.distribute_datasets_from_function(lambda context: pretraining_dataset(
            setup["input_file"], 1, seq, predictions, is_training=False, repeat=True).unbatch()
            .filter(lambda x, y: tf.reduce_sum(y["masked_lm_weights"]) == predictions)
            .batch(context.get_per_replica_batch_size(8), drop_remainder=True))
        history = model.fit(data, steps_per_epoch=3, epochs=1, verbose=0)
        return model.get_weights(), history.history["loss"][0]

    mirrored = distribute.create_strategy("mirrored")
    assert mirrored.num_replicas_in_sync == 2, mirrored.extended.worker_devices
    one_weights, one_loss = train(tf.distribute.OneDeviceStrategy("/cpu:0"))
    two_weights, two_loss = train(mirrored)
    worst = max(float(np.max(np.abs(a - b))) for a, b in zip(one_weights, two_weights))
    moved = max(float(np.max(np.abs(a - b))) for a, b in zip(initial, two_weights))
    print("WORST", worst, "MOVED", moved, "LOSS", one_loss, two_loss)
    result = run_pretraining(output_dir=out, bert_config_file=setup["bert_config_file"],
                             input_file=setup["input_file"], max_seq_length=seq, max_predictions_per_seq=predictions,
                             do_train=True, do_eval=True, train_batch_size=8, eval_batch_size=8, num_train_steps=2,
                             num_warmup_steps=1, save_checkpoints_steps=2, max_eval_steps=2, strategy="mirrored",
                             verbose=0)
    print("PROGRAM_REPLICAS", result["model"].distribute_strategy.num_replicas_in_sync,
          "STEP", result["global_step"], "EVAL_LOSS", result["eval_results"]["loss"])
""")


@pytest.mark.slow
def test_mirrored_over_two_logical_cpus_matches_one_device(tmp_path, setup):
    script = tmp_path / "mirrored.py"
    script.write_text(MIRRORED.format(setup=setup, seq=TINY_SEQ, predictions=TINY_PREDICTIONS,
                                      out=str(tmp_path / "out")), encoding="utf-8")
    result = subprocess.run([sys.executable, str(script)], cwd=REPO_ROOT, capture_output=True, text=True, timeout=240,
                            env=dict(os.environ, CUDA_VISIBLE_DEVICES=""))
    assert result.returncode == 0, result.stderr[-4000:]
    values = result.stdout.split()
    worst, moved = float(values[values.index("WORST") + 1]), float(values[values.index("MOVED") + 1])
    one_loss, two_loss = float(values[values.index("LOSS") + 1]), float(values[values.index("LOSS") + 2])
    # Same global batches, gradients summed over replicas then clipped: the same 3 updates.
    assert moved > 1e-3
    assert worst < 1e-5, (worst, moved)  # measured ~1e-7
    assert two_loss == pytest.approx(one_loss, rel=1e-4)
    assert "PROGRAM_REPLICAS 2 STEP 2" in result.stdout
    assert (tmp_path / "out" / "eval_results.txt").exists()


def test_tpu_flag_builds_a_resolver_or_names_the_flag():
    with pytest.raises(ValueError, match="--tpu"):
        distribute.create_strategy("tpu", tpu=None)
    with pytest.raises(ValueError, match="--tpu 'no-such-tpu'"):
        distribute.tpu_cluster_resolver("no-such-tpu")  # a Cloud TPU name: no metadata server here
    resolver = distribute.tpu_cluster_resolver("grpc://10.1.2.3:8470")
    assert resolver.master() == "grpc://10.1.2.3:8470"
    with pytest.raises(ValueError, match="--strategy must be one of"):
        distribute.create_strategy("horovod")


def test_mixed_precision_flag_sets_the_policy():
    import keras

    try:
        assert distribute.set_mixed_precision("bf16") == "mixed_bfloat16"
        assert keras.mixed_precision.global_policy().name == "mixed_bfloat16"
        with pytest.raises(ValueError, match="--mixed_precision"):
            distribute.set_mixed_precision("int8")
    finally:
        distribute.set_mixed_precision("none")
