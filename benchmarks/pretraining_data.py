"""Instances/s of our create_pretraining_data against tf-models-official's (the reference algorithm),
same corpus and flags, and the statistics of both outputs side by side.

The corpus is ~1 MB of real SST-2 sentences in 8-sentence documents (`--num_sentences`). Both run
in this process, each end to end (read, tokenize, pair, mask, write), ours first.

    python -m benchmarks.pretraining_data                   # 20k sentences, seq 64, dupe_factor 3
    python -m benchmarks.pretraining_data --num_sentences 5000 --dupe_factor 1
"""
from __future__ import annotations

import argparse
import os
import pathlib
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from keras_bert.data.pretraining import create as pretraining_data  # noqa: E402
from keras_bert.data.pretraining.instances import PretrainingDataOptions  # noqa: E402
from support.pretraining_fixtures import reference_create_pretraining_data, write_sst2_corpus  # noqa: E402
from support.record_statistics import record_statistics  # noqa: E402

SHARED = pathlib.Path(os.environ.get("KERAS_BERT_SHARED_DATA", REPO.parent / "shared" / "data"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num_sentences", type=int, default=20000)
    parser.add_argument("--max_seq_length", type=int, default=64)
    parser.add_argument("--max_predictions_per_seq", type=int, default=10)
    parser.add_argument("--dupe_factor", type=int, default=3)
    parser.add_argument("--do_whole_word_mask", action="store_true")
    args = parser.parse_args()
    vocab = str(SHARED / "vocab" / "uncased_vocab.txt")
    folder = pathlib.Path(tempfile.mkdtemp())
    corpus = write_sst2_corpus(SHARED, folder / "corpus.txt", args.num_sentences)
    print(f"corpus: {os.path.getsize(corpus) / 1e6:.2f} MB, {args.num_sentences} SST-2 sentences; "
          f"seq {args.max_seq_length}, P {args.max_predictions_per_seq}, dupe_factor {args.dupe_factor}, "
          f"whole-word {args.do_whole_word_mask}; {os.cpu_count()} CPU cores")

    start = time.perf_counter()
    summary = pretraining_data.create_pretraining_data(
        corpus, str(folder / "ours.tfrecord"), vocab, True, PretrainingDataOptions(
            max_seq_length=args.max_seq_length, max_predictions_per_seq=args.max_predictions_per_seq,
            dupe_factor=args.dupe_factor, do_whole_word_mask=args.do_whole_word_mask))
    ours_seconds = time.perf_counter() - start

    start = time.perf_counter()
    theirs = reference_create_pretraining_data(
        corpus, str(folder / "theirs.tfrecord"), vocab, max_seq_length=args.max_seq_length,
        max_predictions_per_seq=args.max_predictions_per_seq, dupe_factor=args.dupe_factor,
        do_whole_word_mask=args.do_whole_word_mask)
    theirs_seconds = time.perf_counter() - start

    ours_rate, theirs_rate = summary.num_instances / ours_seconds, theirs / theirs_seconds
    print(f"{'':24}{'keras_bert':>14}{'tf-models-official':>20}")
    print(f"{'instances':24}{summary.num_instances:>14}{theirs:>20}")
    print(f"{'seconds':24}{ours_seconds:>14.2f}{theirs_seconds:>20.2f}")
    print(f"{'instances/s':24}{ours_rate:>14.0f}{theirs_rate:>20.0f}")
    ours_stats = record_statistics(str(folder / "ours.tfrecord"), args.max_seq_length, args.max_predictions_per_seq)
    theirs_stats = record_statistics(str(folder / "theirs.tfrecord"), args.max_seq_length,
                                     args.max_predictions_per_seq)
    for key in ("mean_masked_share", "random_next_share", "mean_num_tokens"):
        print(f"{key:24}{ours_stats[key]:>14.4f}{theirs_stats[key]:>20.4f}")
    print(f"speed-up: {ours_rate / theirs_rate:.1f}x")


if __name__ == "__main__":
    main()
