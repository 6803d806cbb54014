"""SST-2 fine-tuning, side by side in one process: training examples/s of keras_bert with batches cut to their
longest sentence (the default), also bucketed by length (`--bucket_by_length`) and in bfloat16, with batches
padded to --max_seq_length (`--fixed_length_batches`), and Model Garden's BertClassifier on the same fixed-length
batches; then the SST-2 dev accuracy of each after the same number of steps from the same random start, on a small
BERT.

Speed: BERT-Base shape (random weights: speed does not depend on them), SST-2 training batches from
`classification_dataset` (the real tokenizer and pipeline, shuffled with one seed, so "fixed" and "variable" hold
the same sentences), `train_on_batch` (one optimizer step each, the reference AdamWeightDecay / Model Garden's
"adamw"), float32 unless said. The systems alternate for `--rounds` rounds after warm-up steps; the best round of
each is reported, with the mean padded length of the batches it ran (what the encoder pays for).

Accuracy: a small BERT (L=2, H=64, 2 heads, intermediate 128: the shape of the SST-2 test in
tests/programs/test_run_classifier.py) from random weights, `--accuracy_steps` steps of batch 32 at learning rate
`--accuracy_learning_rate` (warmup 10%, then linear decay), then the 872 dev sentences, each system through its own
batches (Model Garden on fixed-length ones).

    python -m benchmarks.finetune_sst2                         # BERT-Base shape, seq 128, batch 32
    python -m benchmarks.finetune_sst2 --preset tiny --steps 2 --accuracy_steps 40   # a quick check
"""
from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from benchmarks.finetune_step import model_garden_classifier, ours_classifier  # noqa: E402
from keras_bert.config import BertConfig  # noqa: E402
from keras_bert.data.classification import glue  # noqa: E402
from keras_bert.data.classification.dataset import classification_dataset  # noqa: E402
from keras_bert.tokenization.preprocessor import BertPreprocessor  # noqa: E402

DATA = os.environ.get("KERAS_BERT_SHARED_DATA", os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data"))
LABELS = ["0", "1"]

# name → (batches: fixed / variable / bucketed, Keras dtype policy, Model Garden?)
SYSTEMS = {
    "ours variable": ("variable", "float32", False),
    "ours bucketed": ("bucketed", "float32", False),
    "ours bucketed bf16": ("bucketed", "mixed_bfloat16", False),
    "ours fixed": ("fixed", "float32", False),
    "Model Garden fixed": ("fixed", "float32", True),
}
ACCURACY_SYSTEMS = ("ours variable", "ours bucketed", "ours fixed", "Model Garden fixed")
ACCURACY_CONFIG = BertConfig(vocab_size=30522, hidden_size=64, num_hidden_layers=2, num_attention_heads=2,
                             intermediate_size=128, max_position_embeddings=128)


def batches(examples, preprocessor, kind: str, batch_size: int, count: int, seed: int = 0) -> list:
    """The first `count` training batches of `kind` as numpy (features, labels)."""
    dataset = classification_dataset(examples, preprocessor, LABELS, batch_size=batch_size, shuffle=True, seed=seed,
                                     drop_remainder=True, repeat=True, fixed_length=kind == "fixed",
                                     bucket_by_length=kind == "bucketed")
    return list(dataset.take(count).as_numpy_iterator())


def build(config: BertConfig, policy: str, model_garden: bool, **optimizer):
    """A compiled classifier and its train step `step(features, labels)`."""
    keras.utils.set_random_seed(0)
    if model_garden:
        model = model_garden_classifier(config, False, **optimizer)
        return model, lambda x, y: model.train_on_batch(x, y)
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(policy)
    try:
        model = ours_classifier(config, False, **optimizer)
    finally:
        keras.mixed_precision.set_global_policy(previous)
    return model, lambda x, y: model.train_on_batch(x, {"logits": y})


def mean_length(run: list) -> float:
    return float(np.mean([features["input_word_ids"].shape[1] for features, _ in run]))


def speed(args, examples, preprocessor) -> None:
    config = BertConfig.preset(args.preset)
    print(f"speed: BERT {args.preset} (L={config.num_hidden_layers}, H={config.hidden_size}) SST-2 train step, "
          f"--max_seq_length={args.max_seq_length}, batch {args.batch_size}, {args.warmup} warm-up + {args.steps} "
          f"timed steps x {args.rounds} rounds, {os.cpu_count()} CPU cores", flush=True)
    needed = args.warmup + args.steps * args.rounds
    data = {kind: batches(examples, preprocessor, kind, args.batch_size, needed)
            for kind in ("fixed", "variable", "bucketed")}
    steps, times = {}, {name: [] for name in SYSTEMS}
    for name, (kind, policy, model_garden) in SYSTEMS.items():
        steps[name] = build(config, policy, model_garden)[1]
        for features, labels in data[kind][:args.warmup]:  # traces (a second shape makes Keras trace for any)
            steps[name](features, labels)
    for round_index in range(args.rounds):  # alternate so that all see the same machine state
        for name, (kind, _, _) in SYSTEMS.items():
            run = data[kind][args.warmup + round_index * args.steps:][:args.steps]
            start = time.perf_counter()
            for features, labels in run:
                steps[name](features, labels)  # train_on_batch returns numpy: each call waits for its step
            times[name].append((time.perf_counter() - start) / len(run))
    base = args.batch_size / min(times["Model Garden fixed"])
    print(f"{'system':<20} {'padded length':>13} {'examples/s':>11} {'x Model Garden':>15}")
    for name, (kind, _, _) in SYSTEMS.items():
        rate = args.batch_size / min(times[name])
        print(f"{name:<20} {mean_length(data[kind][args.warmup:]):13.1f} {rate:11.2f} {rate / base:15.2f}", flush=True)


def accuracy(args, examples, preprocessor, dev) -> None:
    config = ACCURACY_CONFIG
    print(f"\naccuracy: BERT L={config.num_hidden_layers}, H={config.hidden_size} from "
          f"random weights (seed 0), {args.accuracy_steps} steps of batch 32 at learning rate "
          f"{args.accuracy_learning_rate}, SST-2 dev ({len(dev)} sentences)", flush=True)
    print(f"{'system':<20} {'dev accuracy':>12} {'train s':>8}")
    gold = np.array([LABELS.index(ex.label) for ex in dev])
    for name in ACCURACY_SYSTEMS:
        kind, policy, model_garden = SYSTEMS[name]
        model, step = build(config, policy, model_garden, learning_rate=args.accuracy_learning_rate,
                            train_steps=args.accuracy_steps)
        start = time.perf_counter()
        for features, labels in batches(examples, preprocessor, kind, 32, args.accuracy_steps, seed=1):
            step(features, labels)
        seconds = time.perf_counter() - start
        dev_batches = classification_dataset(dev, preprocessor, LABELS, batch_size=32, fixed_length=kind == "fixed")
        logits = [model.predict_on_batch(features) for features, _ in dev_batches.as_numpy_iterator()]
        logits = np.concatenate([out["logits"] if isinstance(out, dict) else out for out in logits])
        print(f"{name:<20} {np.mean(logits.argmax(-1) == gold):12.4f} {seconds:8.1f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="base")
    parser.add_argument("--max_seq_length", type=int, default=128)
    parser.add_argument("--batch_size", type=int, default=32)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--steps", type=int, default=3, help="timed steps per round")
    parser.add_argument("--rounds", type=int, default=2, help="alternations of the systems; the best is reported")
    parser.add_argument("--accuracy_steps", type=int, default=200)
    parser.add_argument("--accuracy_learning_rate", type=float, default=1e-3)
    parser.add_argument("--skip_speed", action="store_true")
    parser.add_argument("--skip_accuracy", action="store_true")
    args = parser.parse_args()
    task = glue.TASKS["sst-2"]
    examples = task.get_train_examples(os.path.join(DATA, "glue", "SST-2"))
    preprocessor = BertPreprocessor(os.path.join(DATA, "vocab", "uncased_vocab.txt"), True, args.max_seq_length)
    if not args.skip_speed:
        speed(args, examples, preprocessor)
    if not args.skip_accuracy:
        accuracy(args, examples, preprocessor, task.get_dev_examples(os.path.join(DATA, "glue", "SST-2")))


if __name__ == "__main__":
    main()
