"""The exported SavedModels reused inside Keras training, the way TF Hub's BERT models are used under TPUStrategy:
the preprocessing SavedModel runs in `tf.data.Dataset.map` on the host, and the encoder SavedModel reloads as a
trainable `keras.layers.TFSMLayer` built under the strategy's scope, fine-tuned with `model.fit`. Here the
strategy is a MirroredStrategy over two logical CPU devices (so the run needs its own process: logical devices
must be set before TensorFlow starts), with steps_per_execution 1 (see the README's upstream notes)."""
import json
import os
import subprocess
import sys
import textwrap

import pytest

from support.serving_helpers import repo_root

# Exports, a fresh interpreter and a training run: minutes on a CPU.
pytestmark = pytest.mark.slow

TRAIN = textwrap.dedent("""
    import json, sys
    import numpy as np
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

    import keras
    import keras_bert
    from keras_bert.export.encoder import export_encoder
    from keras_bert.export.preprocessing import export_preprocessing
    from keras_bert.tokenization.preprocessor import BertPreprocessor
    from keras_bert.training import distribute, optimization
    from support.configs import tiny_config

    vocab_file, sst2_file, work = sys.argv[1:]
    keras.utils.set_random_seed(0)
    export_encoder(keras_bert.BertEncoder(tiny_config()), vocab_file, True, work + "/encoder")
    export_preprocessing(BertPreprocessor(vocab_file, True, seq_length=32), work + "/preprocessing")

    rows = [line.split("\\t") for line in open(sst2_file, encoding="utf-8").read().splitlines()[1:33]]
    texts, labels = [r[1] for r in rows], [int(r[0]) for r in rows]
    preprocess = tf.saved_model.load(work + "/preprocessing")  # host-side, inside tf.data
    dataset = (tf.data.Dataset.from_tensor_slices((texts, labels)).batch(16)
               .map(lambda text, label: (preprocess(text), label)).cache())

    # TF Hub's encoder API: `training=True` turns dropout on (hidden_dropout_prob 0.1 in this config).
    hub_encoder = tf.saved_model.load(work + "/encoder")
    batch = next(iter(dataset))[0]
    pooled = [hub_encoder(batch, training=training)["pooled_output"].numpy() for training in (False, False, True)]
    dropout = {"inference_repeatable": bool(np.array_equal(pooled[0], pooled[1])),
               "training_differs": bool(not np.allclose(pooled[0], pooled[2]))}

    strategy = distribute.create_strategy("mirrored")
    epochs, steps = 12, 2
    with strategy.scope():
        encoder = keras.layers.TFSMLayer(work + "/encoder", call_endpoint="__call__", trainable=True)
        inputs = {name: keras.Input((None,), dtype="int32", name=name)
                  for name in ("input_word_ids", "input_mask", "input_type_ids")}
        logits = keras.layers.Dense(2, name="head")(encoder(inputs)["pooled_output"])
        model = keras.Model(inputs, logits)
        model.compile(optimizer=optimization.create_optimizer(3e-3, epochs * steps, 0),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    before = [v.numpy().copy() for v in encoder.trainable_weights]
    history = model.fit(dataset, epochs=epochs, verbose=0)
    changed = sum(not np.array_equal(b, v.numpy()) for b, v in zip(before, encoder.trainable_weights))
    print(json.dumps({
        "replicas": strategy.num_replicas_in_sync, "losses": history.history["loss"],
        "encoder_weights": len(before), "changed": int(changed),
        "distributed": type(encoder.trainable_weights[0].value).__name__, **dropout,
    }))
""")


@pytest.fixture(scope="module")
def trained(tmp_path_factory, uncased_vocab, shared_data) -> dict:
    work = tmp_path_factory.mktemp("reuse")
    run = subprocess.run([sys.executable, "-c", TRAIN, str(uncased_vocab), str(shared_data / "glue/SST-2/dev.tsv"),
                          str(work)], cwd=repo_root(), capture_output=True, text=True, timeout=400,
                         env={**os.environ, "PYTHONPATH": os.pathsep.join(  # tests/ for support.configs
                             filter(None, [str(repo_root() / "tests"), os.environ.get("PYTHONPATH")]))})
    assert run.returncode == 0, run.stderr[-4000:]
    return json.loads(run.stdout.strip().splitlines()[-1])


def test_runs_on_two_replicas_with_distributed_encoder_variables(trained):
    assert trained["replicas"] == 2
    assert trained["distributed"] == "MirroredVariable"


def test_every_encoder_weight_is_fine_tuned(trained):
    assert trained["encoder_weights"] > 30  # 2 layers: embeddings, attention, FFN, LayerNorms, pooler
    assert trained["changed"] == trained["encoder_weights"]


def test_loss_falls(trained):
    losses = trained["losses"]
    assert losses[-1] < 0.7 * losses[0], losses


def test_training_argument_of_the_hub_api_turns_dropout_on(trained):
    assert trained["inference_repeatable"] and trained["training_differs"]
