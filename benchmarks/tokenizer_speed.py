"""Sentences/s of BERT preprocessing (tokenize + pack to seq 128) on SST-2 train, in batches of 1024.

Side by side in one process, each checked against the reference on every sentence:
  * keras_bert's BertPreprocessor (one tf.function with a fixed input signature);
  * the reference Python tokenizer (tf-models-official FullTokenizer, max_input_chars_per_word=200)
    with the reference's `convert_single_example` packing — the parity oracle;
  * TF-Text's own BertTokenizer + TF-Text's trimming/packing ops (NFKC case folding: not at parity);
  * Hugging Face `tokenizers`' BertWordPieceTokenizer (optional: `pip install -r requirements-bench.txt`).
Prints sentences/s, the ratio to ours, and how many rows differ from the reference: on SST-2 and on
the seeded adversarial corpus of tests/test_tokenization.py (accents, fullwidth forms, CJK, emoji,
control characters, odd whitespace, long words, invalid UTF-8).

    python -m benchmarks.tokenizer_speed                      # uncased, ../shared/data
    python benchmarks/tokenizer_speed.py --passes 5 --cased
"""
from __future__ import annotations

import os
import sys

if __package__ in (None, ""):  # Run as a script: this file must not shadow the standard library's tokenize.
    sys.path[0] = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(1, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))

import argparse  # noqa: E402
import pathlib  # noqa: E402
import time  # noqa: E402

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tensorflow_text as tf_text  # noqa: E402
from official.nlp.tools import tokenization as reference  # noqa: E402

from keras_bert.tokenization.preprocessor import BertPreprocessor  # noqa: E402
from support.corpora import adversarial_corpus  # noqa: E402

SHARED = pathlib.Path(__file__).resolve().parents[1].parent / "shared" / "data"
SEQ_LENGTH = 128
BATCH = 1024


def read_sst2(path: pathlib.Path) -> list[str]:
    lines = path.read_text(encoding="utf-8").splitlines()[1:]
    return [line.split("\t")[1] for line in lines]


def reference_preprocess(vocab_file: str, lower_case: bool):
    tokenizer = reference.FullTokenizer(vocab_file, do_lower_case=lower_case)
    tokenizer.wordpiece_tokenizer.max_input_chars_per_word = 200
    cls, sep = tokenizer.convert_tokens_to_ids(["[CLS]", "[SEP]"])

    def run(batch: list) -> np.ndarray:
        ids = np.zeros([len(batch), SEQ_LENGTH], np.int32)
        for row, text in enumerate(batch):
            pieces = tokenizer.convert_tokens_to_ids(tokenizer.tokenize(text)[:SEQ_LENGTH - 2])
            ids[row, :len(pieces) + 2] = [cls, *pieces, sep]
        return ids

    return run


def keras_bert_preprocess(vocab_file: str, lower_case: bool):
    preprocessor = BertPreprocessor(vocab_file, lower_case, seq_length=SEQ_LENGTH)
    fn = tf.function(preprocessor, input_signature=[tf.TensorSpec([None], tf.string)])
    return lambda batch: fn(tf.constant(batch))["input_word_ids"].numpy()


def tf_text_preprocess(vocab_file: str, lower_case: bool):
    tokenizer = tf_text.BertTokenizer(vocab_file, lower_case=lower_case, token_out_type=tf.int32)
    cls, sep = [reference.load_vocab(vocab_file)[t] for t in ("[CLS]", "[SEP]")]
    trimmer = tf_text.WaterfallTrimmer(SEQ_LENGTH - 2)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def fn(texts):
        pieces = tokenizer.tokenize(texts).merge_dims(1, 2)
        ids, _ = tf_text.combine_segments(trimmer.trim([pieces]), cls, sep)
        ids, _ = tf_text.pad_model_inputs(ids, SEQ_LENGTH)
        return ids

    return lambda batch: fn(tf.constant(batch)).numpy()


def hugging_face_preprocess(vocab_file: str, lower_case: bool):
    try:
        from tokenizers import BertWordPieceTokenizer
    except ImportError:
        return None
    tokenizer = BertWordPieceTokenizer(vocab_file, lowercase=lower_case, strip_accents=lower_case)
    tokenizer.enable_truncation(SEQ_LENGTH)
    tokenizer.enable_padding(length=SEQ_LENGTH)
    def run(batch: list) -> np.ndarray:
        texts = [t.decode("utf-8", "ignore") if isinstance(t, bytes) else t for t in batch]
        return np.array([e.ids for e in tokenizer.encode_batch(texts)], np.int32)

    return run


def run_all(run, texts: list) -> tuple[float, np.ndarray]:
    start = time.perf_counter()
    outputs = [run(texts[i:i + BATCH]) for i in range(0, len(texts), BATCH)]
    return time.perf_counter() - start, np.concatenate(outputs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sst2", default=str(SHARED / "glue" / "SST-2" / "train.tsv"))
    parser.add_argument("--vocab_file", default=str(SHARED / "vocab" / "uncased_vocab.txt"))
    parser.add_argument("--cased", action="store_true", help="lower_case=False (default: uncased)")
    parser.add_argument("--passes", type=int, default=3,
                        help="timed passes per contender, round robin; the best is kept")
    args = parser.parse_args()
    lower_case = not args.cased
    texts = read_sst2(pathlib.Path(args.sst2))
    contenders = {
        "keras_bert BertPreprocessor": keras_bert_preprocess(args.vocab_file, lower_case),
        "reference FullTokenizer (Python)": reference_preprocess(args.vocab_file, lower_case),
        "TF-Text BertTokenizer": tf_text_preprocess(args.vocab_file, lower_case),
        "HF tokenizers BertWordPiece": hugging_face_preprocess(args.vocab_file, lower_case),
    }
    print(f"{len(texts)} SST-2 sentences, batches of {BATCH}, seq {SEQ_LENGTH}, lower_case={lower_case}, "
          f"{os.cpu_count()} CPU cores, tensorflow {tf.__version__}, tensorflow-text {tf_text.__version__}")
    oracle = reference_preprocess(args.vocab_file, lower_case)
    expected = run_all(oracle, texts)[1]
    adversarial = adversarial_corpus()
    expected_adversarial = run_all(oracle, adversarial)[1]
    for name in [name for name, run in contenders.items() if run is None]:
        print(f"{name}: not installed (pip install -r requirements-bench.txt)")
        del contenders[name]
    for run in contenders.values():
        run(texts[:BATCH])  # Warm up: trace, build tables.
    best = {name: float("inf") for name in contenders}
    mismatches = {}
    for index in range(args.passes):  # Round robin, so a busy moment on the machine hits all alike.
        for name, run in contenders.items():
            if name.startswith("reference") and index > 0:
                continue  # The oracle's speed is stable and slow: one pass.
            seconds, ids = run_all(run, texts)
            best[name] = min(best[name], seconds)
            mismatches[name] = int(np.sum(np.any(ids != expected, axis=1)))
    results = {}
    for name, run in contenders.items():
        adversarial_ids = run_all(run, adversarial)[1]
        results[name] = (len(texts) / best[name], mismatches[name],
                         int(np.sum(np.any(adversarial_ids != expected_adversarial, axis=1))))
    ours = results["keras_bert BertPreprocessor"][0]
    print(f"rows that differ from the reference: on SST-2 ({len(texts)}) / adversarial ({len(adversarial)})")
    print(f"{'preprocessing':36s} {'sentences/s':>12s} {'ours / it':>10s} {'SST-2 diff':>11s} {'advers. diff':>13s}")
    for name, (rate, mismatches, adversarial_mismatches) in results.items():
        print(f"{name:36s} {rate:12,.0f} {ours / rate:10.2f} {mismatches:11,d} {adversarial_mismatches:13,d}")


if __name__ == "__main__":
    main()
