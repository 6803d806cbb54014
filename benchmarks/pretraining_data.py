"""Wall time and peak memory of our create_pretraining_data against tf-models-official's (the reference program),
same corpus and flags, on corpora of 1, 10 and 100 MB, and the statistics of both outputs side by side.

Each generator runs as its own program (`pretraining/create_pretraining_data.py`, `python -m
official.nlp.data.create_pretraining_data`), one after the other; peak memory is the largest sum of the resident
memory of the program and all its child processes, sampled every 0.1 s. Ours runs twice: the whole corpus in
memory as the reference does (`whole`), and streaming with `--max_documents_in_memory` and one output per input
file (`streaming`), the mode whose memory should stay flat in corpus size. The corpus is real SST-2 sentences,
shuffled anew for every copy, in documents of 2 to 30 sentences, in files of at most 10 MB.

    python -m benchmarks.pretraining_data                        # 1, 10, 100 MB; dupe_factor 2; seq 128
    python -m benchmarks.pretraining_data --sizes_mb 1,10 --reference_up_to_mb 10
"""
from __future__ import annotations

import argparse
import os
import pathlib
import random
import shutil
import subprocess
import sys
import tempfile
import time

import psutil

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from support.record_statistics import record_statistics  # noqa: E402

SHARED = pathlib.Path(os.environ.get("KERAS_BERT_SHARED_DATA", REPO.parent / "shared" / "data"))
FILE_BYTES = 10_000_000


def write_corpus(folder: pathlib.Path, megabytes: float) -> list[str]:
    """SST-2 training sentences, shuffled per copy, in documents of 2-30 sentences, as files of at most 10 MB
    holding `megabytes` MB in all; returns the file paths."""
    with open(SHARED / "glue" / "SST-2" / "train.tsv", encoding="utf-8") as reader:
        next(reader)  # header: label, sentence
        sentences = [line.rstrip("\n").split("\t")[1] for line in reader]
    rng = random.Random(0)
    folder.mkdir(parents=True)
    files: list[str] = []
    documents, file_bytes, written, target = [], 0, 0, int(megabytes * 1e6)
    while written < target:
        rng.shuffle(sentences)
        start = 0
        while start < len(sentences) and written < target:
            count = rng.randint(2, 30)
            documents.append("\n".join(sentences[start:start + count]) + "\n\n")
            size = len(documents[-1].encode("utf-8"))
            written, file_bytes, start = written + size, file_bytes + size, start + count
            if file_bytes >= FILE_BYTES or written >= target:
                files.append(str(folder / f"part-{len(files):05d}.txt"))
                pathlib.Path(files[-1]).write_text("".join(documents), encoding="utf-8")
                documents, file_bytes = [], 0
    return files


def measure(command: list[str]) -> tuple[float, float]:
    """Runs `command`; returns (wall seconds, peak MB of the summed RSS of it and its descendants)."""
    start = time.perf_counter()
    process = psutil.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0
    while process.poll() is None:
        try:
            tree = [process, *process.children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in tree if p.is_running()))
        except psutil.Error:  # a child ended while sampled
            pass
        time.sleep(0.1)
    seconds = time.perf_counter() - start
    if process.returncode:
        raise RuntimeError(f"{command[:3]} failed:\n{process.stderr.read().decode()[-3000:]}")
    return seconds, peak / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes_mb", default="1,10,100")
    parser.add_argument("--reference_up_to_mb", type=float, default=100, help="skip the reference above this size")
    parser.add_argument("--max_seq_length", type=int, default=128)
    parser.add_argument("--max_predictions_per_seq", type=int, default=20)
    parser.add_argument("--dupe_factor", type=int, default=2)
    parser.add_argument("--max_documents_in_memory", type=int, default=5000)
    parser.add_argument("--modes", default="reference,whole,streaming")
    args = parser.parse_args()
    vocab = str(SHARED / "vocab" / "uncased_vocab.txt")
    flags = [f"--vocab_file={vocab}", "--do_lower_case=True", f"--max_seq_length={args.max_seq_length}",
             f"--max_predictions_per_seq={args.max_predictions_per_seq}", f"--dupe_factor={args.dupe_factor}"]
    ours = [sys.executable, "pretraining/create_pretraining_data.py", *flags]
    reference = [sys.executable, "-m", "official.nlp.data.create_pretraining_data", *flags]
    modes = args.modes.split(",")
    print(f"seq {args.max_seq_length}, P {args.max_predictions_per_seq}, dupe_factor {args.dupe_factor}, "
          f"streaming with --max_documents_in_memory={args.max_documents_in_memory}; {os.cpu_count()} CPU cores")
    print(f"{'MB':>5} {'program':>10} {'seconds':>9} {'peak MB':>9} {'instances':>10} {'masked':>7} "
          f"{'random next':>11} {'tokens':>7} {'speed-up':>9}", flush=True)
    for megabytes in (float(size) for size in args.sizes_mb.split(",")):
        folder = pathlib.Path(tempfile.mkdtemp())
        try:
            inputs = ",".join(write_corpus(folder / "corpus", megabytes))
            runs = {
                "whole": ours + [f"--input_file={inputs}", f"--output_file={folder}/whole.tfrecord"],
                "streaming": ours + [f"--input_file={inputs}", f"--output_file={folder}/streaming/",
                                     f"--max_documents_in_memory={args.max_documents_in_memory}"],
                "reference": reference + [f"--input_file={inputs}", f"--output_file={folder}/reference.tfrecord"],
            }
            seconds = {}
            for mode in modes:
                if mode == "reference" and megabytes > args.reference_up_to_mb:
                    continue
                seconds[mode], peak = measure(runs[mode])
                outputs = f"{folder}/streaming/*.tfrecord" if mode == "streaming" else f"{folder}/{mode}.tfrecord"
                stats = record_statistics(outputs, args.max_seq_length, args.max_predictions_per_seq)
                speed_up = f"{seconds['reference'] / seconds[mode]:.1f}x" if "reference" in seconds else ""
                print(f"{megabytes:>5g} {mode:>10} {seconds[mode]:>9.1f} {peak:>9.0f} {stats['num_instances']:>10} "
                      f"{stats['mean_masked_share']:>7.4f} {stats['random_next_share']:>11.4f} "
                      f"{stats['mean_num_tokens']:>7.1f} {speed_up:>9}", flush=True)
        finally:
            shutil.rmtree(folder)


if __name__ == "__main__":
    main()
