"""Training examples/s of a classifier step: keras_bert's BertClassifier against Model Garden's BertClassifier.

Both are BERT with a 2-class head on the pooled output (dropout 0.1, as in fine-tuning), trained with
`train_on_batch` on the same batch: ours on Keras 3 with `keras_bert.training.optimization.create_optimizer` (the
reference AdamWeightDecay), Model Garden's on tf_keras with `official.nlp.optimization.create_optimizer`
("adamw"). They run side by side in this process, alternating, after warm-up steps. Prints examples/s and the
ratio ours / Model Garden.

    python -m benchmarks.finetune_step                        # BERT-Base, seq 128, batch 8
    python -m benchmarks.finetune_step --preset tiny --iterations 20
"""
from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tf_keras  # noqa: E402
from official.nlp import optimization as mg_optimization  # noqa: E402
from official.nlp.modeling import models as mg_models  # noqa: E402
from official.nlp.modeling import networks as mg_networks  # noqa: E402

from keras_bert.config import BertConfig  # noqa: E402
from keras_bert.models.classifier import BertClassifier  # noqa: E402
from keras_bert.training.optimization import create_optimizer  # noqa: E402

TRAIN_STEPS = 10_000  # schedule length: only its shape matters here
LEARNING_RATE = 2e-5


def ours_classifier(config: BertConfig, jit: bool, learning_rate: float = LEARNING_RATE,
                    train_steps: int = TRAIN_STEPS) -> BertClassifier:
    """keras_bert's BertClassifier compiled as run_classifier compiles it (warmup over a tenth of the steps)."""
    model = BertClassifier(config, num_classes=2)
    model.compile(optimizer=create_optimizer(learning_rate, train_steps, train_steps // 10),
                  loss={"logits": keras.losses.SparseCategoricalCrossentropy(from_logits=True)}, jit_compile=jit)
    return model


def ours_step(config: BertConfig, jit: bool):
    model = ours_classifier(config, jit)
    return lambda x, y: model.train_on_batch(x, {"logits": y})


def model_garden_classifier(config: BertConfig, jit: bool, learning_rate: float = LEARNING_RATE,
                            train_steps: int = TRAIN_STEPS):
    """Model Garden's BertClassifier of the same shape (tanh GELU, dropout 0.1), with its "adamw" optimizer."""
    encoder = mg_networks.BertEncoder(
        vocab_size=config.vocab_size, hidden_size=config.hidden_size, num_layers=config.num_hidden_layers,
        num_attention_heads=config.num_attention_heads, max_sequence_length=config.max_position_embeddings,
        type_vocab_size=config.type_vocab_size, inner_dim=config.intermediate_size,
        inner_activation=lambda t: tf_keras.activations.gelu(t, approximate=True),
        output_dropout=config.hidden_dropout_prob, attention_dropout=config.attention_probs_dropout_prob)
    model = mg_models.BertClassifier(encoder, num_classes=2, dropout_rate=config.hidden_dropout_prob)
    model.compile(optimizer=mg_optimization.create_optimizer(learning_rate, train_steps, train_steps // 10),
                  loss=tf_keras.losses.SparseCategoricalCrossentropy(from_logits=True), jit_compile=jit)
    return model


def model_garden_step(config: BertConfig, jit: bool):
    model = model_garden_classifier(config, jit)
    return lambda x, y: model.train_on_batch(x, y)


def seconds_per_step(step, x, y, iterations: int) -> float:
    step(x, y)  # trace, build the optimizer
    step(x, y)
    start = time.perf_counter()
    for _ in range(iterations):
        step(x, y)  # train_on_batch returns numpy: each call waits for its step
    return (time.perf_counter() - start) / iterations


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="base")
    parser.add_argument("--seq_length", type=int, default=128)
    parser.add_argument("--batch_size", type=int, default=8)
    parser.add_argument("--iterations", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=2, help="alternations of the two; the best is reported")
    parser.add_argument("--jit_compile", action="store_true", help="XLA-compile both train steps")
    args = parser.parse_args()

    config = BertConfig.preset(args.preset)
    rng = np.random.default_rng(0)
    shape = (args.batch_size, args.seq_length)
    x = {"input_word_ids": rng.integers(0, config.vocab_size, shape).astype(np.int32),
         "input_mask": np.ones(shape, np.int32), "input_type_ids": np.zeros(shape, np.int32)}
    y = rng.integers(0, 2, args.batch_size).astype(np.int32)
    print(f"BERT {args.preset} (L={config.num_hidden_layers}, H={config.hidden_size}) classifier train step, "
          f"seq {args.seq_length}, batch {args.batch_size}, float32, jit_compile={args.jit_compile}, "
          f"{args.iterations} timed steps x {args.rounds} rounds, {os.cpu_count()} CPU cores", flush=True)
    steps = {"keras_bert": ours_step(config, args.jit_compile),
             "Model Garden": model_garden_step(config, args.jit_compile)}
    times = {name: [] for name in steps}
    for _ in range(args.rounds):  # alternate so both see the same machine state
        for name, step in steps.items():
            times[name].append(seconds_per_step(step, x, tf.constant(y), args.iterations))
    rates = {name: args.batch_size / min(t) for name, t in times.items()}
    print(f"{'keras_bert examples/s':>22} {'Model Garden examples/s':>24} {'ratio':>6}")
    print(f"{rates['keras_bert']:22.2f} {rates['Model Garden']:24.2f} "
          f"{rates['keras_bert'] / rates['Model Garden']:6.2f}", flush=True)


if __name__ == "__main__":
    main()
