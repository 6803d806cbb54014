"""Training examples/s of a BERT pretraining step (MLM + NSP loss, reference AdamWeightDecay) with
keras_bert's BertPretrainer on `model.fit` against Model Garden's BertPretrainerV2 (tf_keras,
custom `tf.function` step with its AdamWeightDecay), same shapes and batch, side by side in this
process. Random weights and batches; float32, no XLA unless `--jit_compile`.

    python -m benchmarks.pretraining_step                     # BERT-Base, seq 128, batch 8
    python -m benchmarks.pretraining_step --preset tiny --steps 20
"""
from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from keras_bert.config import BertConfig  # noqa: E402
from keras_bert.models.pretrainer import BertPretrainer  # noqa: E402
from keras_bert.training.optimization import create_optimizer  # noqa: E402


def random_batch(config: BertConfig, batch: int, seq: int, predictions: int) -> tuple[dict, dict]:
    rng = np.random.default_rng(0)
    x = {"input_word_ids": rng.integers(1, config.vocab_size, (batch, seq)).astype(np.int32),
         "input_mask": np.ones((batch, seq), np.int32),
         "input_type_ids": (np.arange(seq)[None, :] >= seq // 2).repeat(batch, 0).astype(np.int32),
         "masked_lm_positions": np.sort(rng.choice(np.arange(1, seq), (batch, predictions)), axis=1).astype(np.int32)}
    y = {"masked_lm_ids": rng.integers(1, config.vocab_size, (batch, predictions)).astype(np.int32),
         "masked_lm_weights": np.ones((batch, predictions), np.float32),
         "next_sentence_labels": rng.integers(0, 2, (batch,)).astype(np.int32)}
    return x, y


def ours_seconds_per_step(config, x, y, steps: int, jit_compile: bool) -> float:
    model = BertPretrainer(config)
    model.compile(optimizer=create_optimizer(1e-4, 10000, 100), jit_compile=jit_compile)
    data = tf.data.Dataset.from_tensors((x, y)).repeat()
    model.fit(data, steps_per_epoch=2, epochs=1, verbose=0)  # trace / compile
    start = time.perf_counter()
    model.fit(data, steps_per_epoch=steps, epochs=1, verbose=0)
    return (time.perf_counter() - start) / steps


def model_garden_seconds_per_step(config, x, y, steps: int, jit_compile: bool) -> float:
    import tf_keras
    from official.nlp import optimization
    from official.nlp.modeling import layers, models, networks

    encoder = networks.BertEncoder(
        vocab_size=config.vocab_size, hidden_size=config.hidden_size, num_layers=config.num_hidden_layers,
        num_attention_heads=config.num_attention_heads, max_sequence_length=config.max_position_embeddings,
        type_vocab_size=config.type_vocab_size, inner_dim=config.intermediate_size,
        inner_activation=lambda t: tf_keras.activations.gelu(t, approximate=True),
        output_dropout=config.hidden_dropout_prob, attention_dropout=config.attention_probs_dropout_prob,
        dict_outputs=True)
    model = models.BertPretrainerV2(
        encoder, mlm_activation=lambda t: tf_keras.activations.gelu(t, approximate=True),
        classification_heads=[layers.ClassificationHead(inner_dim=config.hidden_size, num_classes=2,
                                                        name="next_sentence")])
    optimizer = optimization.create_optimizer(1e-4, 10000, 100)

    @tf.function(jit_compile=jit_compile)
    def train_step(x, y):
        with tf.GradientTape() as tape:
            outputs = model(x, training=True)
            mlm = tf_keras.losses.sparse_categorical_crossentropy(y["masked_lm_ids"], outputs["mlm_logits"],
                                                                  from_logits=True)
            weights = y["masked_lm_weights"]
            mlm_loss = tf.reduce_sum(mlm * weights) / (tf.reduce_sum(weights) + 1e-5)
            nsp_loss = tf.reduce_mean(tf_keras.losses.sparse_categorical_crossentropy(
                y["next_sentence_labels"], outputs["next_sentence"], from_logits=True))
            loss = mlm_loss + nsp_loss
        grads = tape.gradient(loss, model.trainable_variables)
        grads, _ = tf.clip_by_global_norm(grads, 1.0)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return loss

    x, y = tf.nest.map_structure(tf.constant, (x, y))
    for _ in range(2):  # trace / compile
        train_step(x, y).numpy()
    start = time.perf_counter()
    for _ in range(steps):
        loss = train_step(x, y)
    loss.numpy()
    return (time.perf_counter() - start) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="base", help="'base' or a BertConfig preset name, e.g. tiny")
    parser.add_argument("--seq_length", type=int, default=128)
    parser.add_argument("--batch_size", type=int, default=8)
    parser.add_argument("--max_predictions_per_seq", type=int, default=20)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--jit_compile", action="store_true")
    args = parser.parse_args()
    config = BertConfig() if args.preset == "base" else BertConfig.preset(args.preset)
    x, y = random_batch(config, args.batch_size, args.seq_length, args.max_predictions_per_seq)
    print(f"BERT {args.preset} (L={config.num_hidden_layers}, H={config.hidden_size}), seq {args.seq_length}, "
          f"batch {args.batch_size}, P {args.max_predictions_per_seq}, jit_compile {args.jit_compile}, "
          f"{os.cpu_count()} CPU cores, {args.steps} timed steps each")
    ours = ours_seconds_per_step(config, x, y, args.steps, args.jit_compile)
    theirs = model_garden_seconds_per_step(config, x, y, args.steps, args.jit_compile)
    print(f"{'':26}{'keras_bert':>14}{'Model Garden':>16}")
    print(f"{'seconds/step':26}{ours:>14.3f}{theirs:>16.3f}")
    print(f"{'examples/s':26}{args.batch_size / ours:>14.2f}{args.batch_size / theirs:>16.2f}")
    print(f"ratio ours / Model Garden: {theirs / ours:.2f}x")


if __name__ == "__main__":
    main()
