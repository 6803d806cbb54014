"""Sentences/s of BERT tokenizers on SST-2 train, in batches of 1024, each checked against the reference on every row.

Side by side in one process: per batch, every contender in turn (rotating order), several rounds; each contender's
time is the sum over batches of its best round, in wall-clock and in CPU seconds (CPU time is steadier on a busy
machine; Hugging Face's encode_batch uses several threads). Two tables:
  * tokenize (strings → word-piece ids per row):
      - keras_bert's BertTokenizer.tokenize_pieces (fast path: TF-Text's FastBertTokenizer on rows where it equals
        the reference, the exact path on the others) and its exact path alone;
      - TF-Text FastBertTokenizer and BertTokenizer as their documentation sets them up (100-byte words; NFKC
        case folding for BertTokenizer);
      - KerasHub WordPieceTokenizer and Hugging Face `tokenizers` (optional: `pip install -r requirements-bench.txt`);
      - the reference Python tokenizer (tf-models-official FullTokenizer, max_input_chars_per_word=200): the oracle.
  * preprocess (tokenize + pack to seq 128): keras_bert's BertPreprocessor (and its packer fed by
    `BertTokenizer.tokenize_pieces`, which skips the word level), TF-Text FastBertTokenizer and
    BertTokenizer with TF-Text's trimming and packing ops, the reference with its `convert_single_example` packing.
Each table gives how many rows differ from the reference: on SST-2 and on the seeded adversarial corpus of
tests/support/corpora.py (accents, fullwidth forms, CJK, emoji, control characters, odd whitespace, long words,
invalid UTF-8).

    python -m benchmarks.tokenizer_speed                      # uncased, ../shared/data
    python benchmarks/tokenizer_speed.py --rounds 7 --cased
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
from keras_bert.tokenization.tokenizer import BertTokenizer, _matchable_vocab  # noqa: E402
from support.corpora import adversarial_corpus, ragged_lists, reference_tokenizer  # noqa: E402

SHARED = pathlib.Path(__file__).resolve().parents[1].parent / "shared" / "data"
SEQ_LENGTH = 128
BATCH = 1024
STRINGS = [tf.TensorSpec([None], tf.string)]


def read_sst2(path: pathlib.Path) -> list[str]:
    lines = path.read_text(encoding="utf-8").splitlines()[1:]
    return [line.split("\t")[1] for line in lines]


def _text(text) -> str:
    return text.decode("utf-8", "ignore") if isinstance(text, bytes) else text


class Contender:
    """`run(batch)` does the timed work (strings → tensors or lists); `ids(output)` turns its output into rows of
    ids for the mismatch count (not timed)."""

    def __init__(self, run, ids=lambda output: output, takes_tensor=True):
        self.run, self.ids, self.takes_tensor = run, ids, takes_tensor

    def batch(self, texts: list):
        return tf.constant(texts) if self.takes_tensor else [_text(t) for t in texts]


def tokenize_contenders(vocab_file: str, lower_case: bool) -> dict[str, Contender | None]:
    ours = BertTokenizer(vocab_file, lower_case)
    fast_bert = tf_text.FastBertTokenizer(_matchable_vocab(ours.vocab), token_out_type=tf.int32,
                                          lower_case_nfd_strip_accents=lower_case)
    tf_text_bert = tf_text.BertTokenizer(vocab_file, lower_case=lower_case, token_out_type=tf.int32)
    graph = {
        "keras_bert BertTokenizer": ours.tokenize_pieces,
        "keras_bert exact path only": lambda t: ours._exact_tokenize(t).merge_dims(1, 2),
        "TF-Text FastBertTokenizer": fast_bert.tokenize,
        "TF-Text BertTokenizer": lambda t: tf_text_bert.tokenize(t).merge_dims(1, 2),
    }
    contenders = {name: Contender(tf.function(fn, input_signature=STRINGS), ragged_lists) for name, fn in graph.items()}
    contenders["KerasHub WordPieceTokenizer"] = _keras_hub(ours.vocab, lower_case)
    contenders["HF tokenizers BertWordPiece"] = _hugging_face(vocab_file, lower_case)
    oracle = reference_tokenizer(vocab_file, lower_case)
    contenders["reference FullTokenizer (Python)"] = Contender(
        lambda texts: [oracle.convert_tokens_to_ids(oracle.tokenize(t)) for t in texts], takes_tensor=False)
    return contenders


def _keras_hub(vocab: list[str], lower_case: bool) -> Contender | None:
    try:
        import keras_hub
    except ImportError:
        return None
    tokenizer = keras_hub.tokenizers.WordPieceTokenizer(vocabulary=vocab, lowercase=lower_case,
                                                        strip_accents=lower_case, dtype="int32")
    return Contender(tf.function(tokenizer.tokenize, input_signature=STRINGS), ragged_lists)


def _hugging_face(vocab_file: str, lower_case: bool) -> Contender | None:
    try:
        from tokenizers import BertWordPieceTokenizer
    except ImportError:
        return None
    tokenizer = BertWordPieceTokenizer(vocab_file, lowercase=lower_case, strip_accents=lower_case)
    return Contender(lambda texts: [e.ids for e in tokenizer.encode_batch(texts, add_special_tokens=False)],
                     takes_tensor=False)


def preprocess_contenders(vocab_file: str, lower_case: bool) -> dict[str, Contender]:
    preprocessor = BertPreprocessor(vocab_file, lower_case, seq_length=SEQ_LENGTH)
    cls, sep = [reference.load_vocab(vocab_file)[t] for t in ("[CLS]", "[SEP]")]
    trimmer = tf_text.WaterfallTrimmer(SEQ_LENGTH - 2)

    def tf_text_packed(tokenize):
        def run(texts):
            ids, _ = tf_text.combine_segments(trimmer.trim([tokenize(texts)]), cls, sep)
            return tf_text.pad_model_inputs(ids, SEQ_LENGTH)[0]
        return run

    fast_bert = tf_text.FastBertTokenizer(_matchable_vocab(preprocessor.tokenizer.vocab), token_out_type=tf.int32,
                                          lower_case_nfd_strip_accents=lower_case)
    tf_text_bert = tf_text.BertTokenizer(vocab_file, lower_case=lower_case, token_out_type=tf.int32)
    graph = {
        "keras_bert BertPreprocessor": lambda t: preprocessor(t)["input_word_ids"],
        "keras_bert tokenize_pieces + BertPackInputs": lambda t: preprocessor.packer(
            [preprocessor.tokenizer.tokenize_pieces(t)])["input_word_ids"],
        "TF-Text FastBertTokenizer + pack": tf_text_packed(fast_bert.tokenize),
        "TF-Text BertTokenizer + pack": tf_text_packed(lambda t: tf_text_bert.tokenize(t).merge_dims(1, 2)),
    }
    contenders = {name: Contender(tf.function(fn, input_signature=STRINGS), lambda ids: ids.numpy().tolist())
                  for name, fn in graph.items()}
    oracle = reference_tokenizer(vocab_file, lower_case)

    def reference_preprocess(texts: list) -> list:
        ids = np.zeros([len(texts), SEQ_LENGTH], np.int32)
        for row, text in enumerate(texts):
            pieces = oracle.convert_tokens_to_ids(oracle.tokenize(text)[:SEQ_LENGTH - 2])
            ids[row, :len(pieces) + 2] = [cls, *pieces, sep]
        return ids.tolist()

    contenders["reference convert_single_example"] = Contender(reference_preprocess, takes_tensor=False)
    return contenders


def compare(title: str, contenders: dict[str, Contender | None], texts: list, adversarial: list, rounds: int) -> None:
    for name in [name for name, contender in contenders.items() if contender is None]:
        print(f"{name}: not installed (pip install -r requirements-bench.txt)")
        del contenders[name]
    oracle_name = list(contenders)[-1]
    starts = range(0, len(texts), BATCH)
    batches = {name: [c.batch(texts[i:i + BATCH]) for i in starts] for name, c in contenders.items()}
    wall = {name: [float("inf")] * len(starts) for name in contenders}
    cpu = {name: [float("inf")] * len(starts) for name in contenders}
    outputs = {}
    names = list(contenders)
    for round_index in range(rounds):
        for b in range(len(starts)):
            for k in range(len(names)):  # Every contender on the same batch, in rotating order.
                name = names[(b + round_index + k) % len(names)]
                if name == oracle_name and round_index > 0:
                    continue  # The oracle is slow and steady: one round.
                wall_start, cpu_start = time.perf_counter(), time.process_time()
                output = contenders[name].run(batches[name][b])
                wall[name][b] = min(wall[name][b], time.perf_counter() - wall_start)
                cpu[name][b] = min(cpu[name][b], time.process_time() - cpu_start)
                if round_index == 0:
                    outputs[name, b] = output
    expected = [row for b in range(len(starts)) for row in contenders[oracle_name].ids(outputs[oracle_name, b])]

    def mismatches(name: str, rows: list, want: list) -> int:
        return sum(got != w for got, w in zip(rows, want, strict=True))

    expected_adversarial = contenders[oracle_name].run(contenders[oracle_name].batch(adversarial))
    ours = names[0]
    print(f"\n{title}: rows that differ from the reference on SST-2 ({len(texts)}) / adversarial ({len(adversarial)})")
    print(f"{'':44s} {'sentences/s':>12s} {'ours/it':>8s} {'ours/it':>8s} {'SST-2':>7s} {'advers.':>8s}")
    print(f"{'':44s} {'(wall)':>12s} {'(wall)':>8s} {'(CPU)':>8s} {'diff':>7s} {'diff':>8s}")
    for name, contender in contenders.items():
        rows = [row for b in range(len(starts)) for row in contender.ids(outputs[name, b])]
        adversarial_rows = contender.ids(contender.run(contender.batch(adversarial)))
        print(f"{name:44s} {len(texts) / sum(wall[name]):12,.0f} {sum(wall[name]) / sum(wall[ours]):8.2f} "
              f"{sum(cpu[name]) / sum(cpu[ours]):8.2f} {mismatches(name, rows, expected):7,d} "
              f"{mismatches(name, adversarial_rows, expected_adversarial):8,d}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sst2", default=str(SHARED / "glue" / "SST-2" / "train.tsv"))
    parser.add_argument("--vocab_file", default=str(SHARED / "vocab" / "uncased_vocab.txt"))
    parser.add_argument("--cased", action="store_true", help="lower_case=False (default: uncased)")
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds per batch and contender; the best is kept")
    parser.add_argument("--tables", default="tokenize,preprocess", help="which tables, comma-separated")
    args = parser.parse_args()
    lower_case = not args.cased
    texts = read_sst2(pathlib.Path(args.sst2))
    adversarial = adversarial_corpus()
    load = os.getloadavg()[0]
    print(f"{len(texts)} SST-2 sentences, batches of {BATCH}, lower_case={lower_case}, {os.cpu_count()} CPU cores "
          f"(load average {load:.1f} at start), tensorflow {tf.__version__}, tensorflow-text {tf_text.__version__}")
    tables = args.tables.split(",")
    if "tokenize" in tables:
        compare("tokenize", tokenize_contenders(args.vocab_file, lower_case), texts, adversarial, args.rounds)
    if "preprocess" in tables:
        compare(f"preprocess (tokenize + pack to {SEQ_LENGTH})", preprocess_contenders(args.vocab_file, lower_case),
                texts, adversarial, args.rounds)
    print(f"load average {os.getloadavg()[0]:.1f} at the end; 'ours/it' is our speed over its (time(it) / "
          "time(ours)): 1 or more means ours is at least as fast")


if __name__ == "__main__":
    main()
