"""Sequences/s of keras_bert's BertEncoder against Model Garden's BertEncoder, same weights and inputs.

Both are built from one random Google-format checkpoint (ours through `from_google_checkpoint`,
Model Garden's through its own TF1 converter) and run side by side in this process, alternating,
in float32 and bf16, with and without XLA. Prints sequences/s and the ratio ours / Model Garden.

    python -m benchmarks.encoder_forward                      # BERT-Base, seq 128, batch 16
    python -m benchmarks.encoder_forward --preset tiny --iterations 20
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tf_keras  # noqa: E402

from keras_bert.config import BertConfig  # noqa: E402
from keras_bert.models.encoder import BertEncoder  # noqa: E402
from support.google_checkpoints import write_random_release  # noqa: E402
from support.model_garden import model_garden_encoder  # noqa: E402


def seconds_per_call(fn, inputs, iterations: int) -> float:
    fn(inputs)  # trace / compile
    fn(inputs)
    start = time.perf_counter()
    for _ in range(iterations):
        out = fn(inputs)
    np.asarray(out)  # wait for the result
    return (time.perf_counter() - start) / iterations


def build_pair(config: BertConfig, folder: str, precision: str):
    keras.mixed_precision.set_dtype_policy("mixed_bfloat16" if precision == "bf16" else "float32")
    tf_keras.mixed_precision.set_global_policy("mixed_bfloat16" if precision == "bf16" else "float32")
    try:
        ours = BertEncoder.from_google_checkpoint(folder, config=config)
        theirs = model_garden_encoder(config, os.path.join(folder, "bert_model.ckpt"),
                                      tempfile.mkdtemp(dir=folder))
    finally:
        keras.mixed_precision.set_dtype_policy("float32")
        tf_keras.mixed_precision.set_global_policy("float32")
    return ours, theirs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="base")
    parser.add_argument("--seq_length", type=int, default=128)
    parser.add_argument("--batch_size", type=int, default=16)
    parser.add_argument("--iterations", type=int, default=5)
    parser.add_argument("--precisions", default="float32,bf16")
    args = parser.parse_args()

    config = BertConfig.preset(args.preset).replace(hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    rng = np.random.default_rng(0)
    shape = (args.batch_size, args.seq_length)
    inputs = {"input_word_ids": tf.constant(rng.integers(0, config.vocab_size, shape), tf.int32),
              "input_mask": tf.ones(shape, tf.int32), "input_type_ids": tf.zeros(shape, tf.int32)}
    print(f"BERT {args.preset} (L={config.num_hidden_layers}, H={config.hidden_size}), seq {args.seq_length}, "
          f"batch {args.batch_size}, {args.iterations} timed calls each, {os.cpu_count()} CPU cores")
    print(f"{'precision':10} {'jit':5} {'keras_bert seq/s':>17} {'Model Garden seq/s':>19} {'ratio':>6}")
    with tempfile.TemporaryDirectory() as folder:
        write_random_release(folder, config, seed=0, head=None)
        for precision in args.precisions.split(","):
            ours, theirs = build_pair(config, folder, precision)
            for jit in (False, True):
                run_ours = tf.function(lambda x, m=ours: m(x, training=False)["sequence_output"], jit_compile=jit)
                run_theirs = tf.function(lambda x, m=theirs: m(x, training=False)["sequence_output"],
                                         jit_compile=jit)
                # Alternate the two so both see the same machine state.
                t_ours, t_theirs = [], []
                for _ in range(2):
                    t_ours.append(seconds_per_call(run_ours, inputs, args.iterations))
                    t_theirs.append(seconds_per_call(run_theirs, inputs, args.iterations))
                ours_rate = args.batch_size / min(t_ours)
                theirs_rate = args.batch_size / min(t_theirs)
                print(f"{precision:10} {str(jit):5} {ours_rate:17.1f} {theirs_rate:19.1f} "
                      f"{ours_rate / theirs_rate:6.2f}", flush=True)


if __name__ == "__main__":
    main()
