"""`make demo`: the main job end to end, offline, on any machine with Python — in a few minutes on 2 CPU cores.

1. Corpus: the docstrings of the installed Python standard library (parsed with `ast`, sorted, so the same
   Python gives the same corpus), one sentence per line, one document per module.
2. Vocabulary: a WordPiece vocabulary learnt from that corpus (`keras_bert.tokenization.vocab_learning`).
3. Pretraining: a small BERT, masked-LM + next-sentence, with dynamic masking (`pretraining.run_pretraining`),
   a progress bar, and the loss curve saved as a PNG.
4. Fine-tuning: a classifier (`finetuning.run_classifier`, generic task) that tells which family of standard
   library modules a docstring sentence comes from — text processing, networking, files, or concurrency.
   Sentences are split into train and dev by a hash of their text. What it measures: whether pretraining on
   docstrings plus a few hundred labelled sentences learns topical vocabulary ("socket", "thread", "path");
   the dev accuracy is printed next to the majority-class baseline. It is a smoke test of the pipeline, not a
   benchmark of language understanding.
5. Serving: the classifier (with its encoder and preprocessing) exported for TensorFlow Serving
   (`saved_models.export`), then loaded in a fresh Python process that imports only tensorflow and
   tensorflow_text, which answers a few text requests through the `serving_default` signature.

Every artefact's path is printed. Flags point the same steps at real data:
  --corpus_files='wiki/*.txt'        pretrain (and learn the vocabulary) on your text, one sentence per line;
  --bert_folder=uncased_L-4_H-256_A-4  start from a Google release (its vocab.txt, bert_config.json and
                                     checkpoint; no vocabulary is learnt; --pretrain_steps=0 skips pretraining);
  --train_file=train.tsv --dev_file=dev.tsv  fine-tune on your labelled `sentence<TAB>label` files (with header);
  --output_dir=demo_output           where everything goes.
"""
from __future__ import annotations

import ast
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import sysconfig
import time
import zlib
from collections.abc import Iterator, Sequence
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Module families of the labelled set: top-level standard-library names → label.
FAMILIES = {
    "text": ("string", "re", "textwrap", "difflib", "unicodedata", "codecs", "html", "gettext", "locale",
             "stringprep", "encodings", "pprint", "reprlib", "tokenize", "shlex"),
    "network": ("http", "urllib", "email", "smtplib", "socket", "ftplib", "imaplib", "poplib", "ssl", "xmlrpc",
                "socketserver", "mailbox", "mimetypes", "ipaddress", "wsgiref", "nntplib", "telnetlib"),
    "files": ("os", "shutil", "pathlib", "tarfile", "zipfile", "glob", "fnmatch", "tempfile", "filecmp", "io",
              "gzip", "bz2", "lzma", "stat", "fileinput", "posixpath", "ntpath", "genericpath", "_pyio"),
    "concurrency": ("threading", "multiprocessing", "asyncio", "concurrent", "queue", "subprocess", "sched",
                    "selectors", "signal", "_threading_local"),
}
_SKIPPED_PARTS = {"test", "tests", "idlelib", "site-packages", "lib2to3", "tkinter", "turtledemo", "__pycache__",
                  "ensurepip", "venv"}
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")
DEMO_REQUESTS = [
    "Return a list of the words in the string, using sep as the delimiter.",
    "Open a connection to the mail server and send the message.",
    "Recursively delete a directory tree and every file in it.",
    "Wait until the worker thread has finished and release the lock.",
]


# ------------------------------------------------------------------------------------------------ corpus


def _docstring_sentences(text: str) -> Iterator[str]:
    """Prose sentences of a cleaned docstring: paragraphs joined, indented and doctest lines dropped."""
    for paragraph in re.split(r"\n\s*\n", text):
        lines = [line.strip() for line in paragraph.splitlines()
                 if line.strip() and not line.startswith((" ", "\t")) and not line.lstrip().startswith(">>>")]
        for sentence in _SENTENCE_END.split(" ".join(lines)):
            words = sentence.split()
            if 4 <= len(words) <= 60 and re.search(r"[a-z]", sentence):
                yield " ".join(words)


def stdlib_documents() -> Iterator[tuple[str, list[str]]]:
    """(top-level module name, sentences) for each standard-library source file, in sorted path order."""
    root = pathlib.Path(sysconfig.get_paths()["stdlib"])
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root)
        if _SKIPPED_PARTS & set(relative.parts):
            continue
        try:
            tree = ast.parse(path.read_bytes())
        except (SyntaxError, ValueError):
            continue
        sentences = []
        for node in ast.walk(tree):
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                docstring = ast.get_docstring(node)
                if docstring:
                    sentences.extend(_docstring_sentences(docstring))
        if sentences:
            yield relative.parts[0].removesuffix(".py"), sentences


def write_corpus(path: pathlib.Path, max_sentences: int | None) -> tuple[int, dict[str, list[str]]]:
    """Writes the docstring corpus (one sentence per line, blank line between modules; about `max_sentences`);
    returns the number of sentences written and, per family, its distinct sentences from the whole library."""
    family_of = {module: family for family, modules in FAMILIES.items() for module in modules}
    by_family: dict[str, list[str]] = {family: [] for family in FAMILIES}
    seen: set[str] = set()
    count = 0
    with open(path, "w", encoding="utf-8") as writer:
        for module, sentences in stdlib_documents():
            if max_sentences is None or count < max_sentences:
                writer.write("\n".join(sentences) + "\n\n")
                count += len(sentences)
            if module in family_of:  # the labelled set always draws on the whole library
                fresh = [s for s in sentences if s not in seen]
                seen.update(fresh)
                by_family[family_of[module]].extend(fresh)
    return count, by_family


def write_labelled_set(data_dir: pathlib.Path, by_family: dict[str, list[str]], per_class: int) -> dict[str, int]:
    """train.tsv / dev.tsv (`sentence<TAB>label`, header) with at most `per_class` training sentences per family;
    a sentence goes to dev when crc32(sentence) % 5 == 0. Returns the row counts."""
    data_dir.mkdir(parents=True, exist_ok=True)
    rows = {"train": [], "dev": []}
    for family, sentences in by_family.items():
        train = [s for s in sentences if zlib.crc32(s.encode()) % 5]
        dev = [s for s in sentences if not zlib.crc32(s.encode()) % 5]
        rows["train"] += [(s, family) for s in train[:per_class]]
        rows["dev"] += [(s, family) for s in dev[:max(1, per_class // 4)]]
    for split, split_rows in rows.items():
        with open(data_dir / f"{split}.tsv", "w", encoding="utf-8") as writer:
            writer.write("sentence\tlabel\n")
            writer.writelines(f"{s.replace(chr(9), ' ')}\t{label}\n" for s, label in split_rows)
    return {split: len(split_rows) for split, split_rows in rows.items()}


def _copy_labelled_files(data_dir: pathlib.Path, train_file: str, dev_file: str) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(train_file, data_dir / "train.tsv")
    shutil.copyfile(dev_file, data_dir / "dev.tsv")


# ------------------------------------------------------------------------------------------------- steps


def save_loss_plot(step_logs: Sequence[dict[str, Any]], path: pathlib.Path) -> None:
    """The pretraining loss curve (total, masked-LM and next-sentence losses against the step) as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure, axes = pyplot.subplots(figsize=(7, 4))
    steps = [log["step"] for log in step_logs]
    for key, label in (("loss", "total"), ("masked_lm_loss", "masked LM"), ("next_sentence_loss", "next sentence")):
        if step_logs and key in step_logs[0]:
            axes.plot(steps, [log[key] for log in step_logs], label=label)
    axes.set_xlabel("step")
    axes.set_ylabel("loss (mean since the previous point)")
    axes.set_title("keras-bert demo: pretraining loss")
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    pyplot.close(figure)


FRESH_REQUESTS = """
import json, sys
import tensorflow as tf
import tensorflow_text  # noqa: F401  TF-Text ops, as TensorFlow Serving has them built in
model = tf.saved_model.load(sys.argv[1])
outputs = model.signatures["serving_default"](text=tf.constant(json.loads(sys.argv[2])))
print(json.dumps({"label": [l.decode() for l in outputs["label"].numpy()],
                  "probabilities": [[round(p, 3) for p in row] for row in outputs["probabilities"].numpy().tolist()],
                  "keras_bert_imported": "keras_bert" in sys.modules}))
"""


def answer_requests(saved_model_dir: str, texts: Sequence[str]) -> dict[str, Any]:
    """Calls `serving_default` of the exported classifier in a fresh process (tensorflow + tensorflow_text only)."""
    run = subprocess.run([sys.executable, "-c", FRESH_REQUESTS, saved_model_dir, json.dumps(list(texts))],
                         capture_output=True, text=True, timeout=300)
    if run.returncode:
        raise RuntimeError(f"loading {saved_model_dir} in a fresh process failed:\n{run.stderr[-3000:]}")
    return json.loads(run.stdout.strip().splitlines()[-1])


def demo_config(vocab_size: int, hidden_size: int, num_layers: int):
    from keras_bert.config import BertConfig

    return BertConfig(vocab_size=vocab_size, hidden_size=hidden_size, num_hidden_layers=num_layers,
                      num_attention_heads=max(1, hidden_size // 64), intermediate_size=4 * hidden_size,
                      max_position_embeddings=128)


def run_demo(output_dir: str = "demo_output", corpus_files: str | None = None, bert_folder: str | None = None,
             train_file: str | None = None, dev_file: str | None = None, vocab_size: int = 4000,
             max_corpus_sentences: int | None = None, hidden_size: int = 128, num_layers: int = 2,
             max_seq_length: int = 64, pretrain_steps: int = 1000, pretrain_batch_size: int = 32,
             pretrain_learning_rate: float = 3e-4, examples_per_class: int = 800, num_train_epochs: float = 4.0,
             finetune_learning_rate: float = 3e-4, export_encoder: bool = True, verbose: int = 1) -> dict[str, Any]:
    """Runs the five steps (module docstring); returns the artefact paths and the measured figures."""
    from finetuning.run_classifier import run_classifier
    from keras_bert.tokenization.vocab_learning import learn_wordpiece_vocab, write_vocab
    from pretraining.run_pretraining import run_pretraining
    from saved_models import client, export

    out = pathlib.Path(output_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    started = time.time()
    result: dict[str, Any] = {"output_dir": str(out)}

    def report(step: str, **paths: Any) -> None:
        print(f"\n[{time.time() - started:6.1f} s] {step}", flush=True)
        for name, value in paths.items():
            print(f"    {name}: {value}", flush=True)
            result[name] = value

    # 1. Corpus.
    by_family = None
    if corpus_files:
        corpus = corpus_files
        report("1. corpus: your files", corpus=corpus)
    else:
        corpus = str(out / "stdlib_docstrings.txt")
        sentences, by_family = write_corpus(pathlib.Path(corpus), max_corpus_sentences)
        report(f"1. corpus: {sentences} docstring sentences of the Python {sys.version.split()[0]} standard library",
               corpus=corpus)

    # 2. Vocabulary and model shape.
    if bert_folder:
        folder = pathlib.Path(bert_folder)
        vocab_file, bert_config_file = str(folder / "vocab.txt"), str(folder / "bert_config.json")
        init_checkpoint: str | None = str(folder / "bert_model.ckpt")
        report("2. vocabulary and config: the Google release's", vocab_file=vocab_file,
               bert_config_file=bert_config_file)
    else:
        vocab_file = str(out / "vocab.txt")
        tokens = learn_wordpiece_vocab(corpus, vocab_size, lower_case=True, show_progress=verbose > 0)
        write_vocab(tokens, vocab_file)
        bert_config_file = str(out / "bert_config.json")
        demo_config(len(tokens), hidden_size, num_layers).to_json_file(bert_config_file)
        init_checkpoint = None
        report(f"2. vocabulary: {len(tokens)} WordPiece tokens learnt from the corpus", vocab_file=vocab_file,
               bert_config_file=bert_config_file)

    # 3. Pretraining.
    if pretrain_steps > 0:
        pretraining_dir = out / "pretraining"
        pretrained = run_pretraining(
            output_dir=str(pretraining_dir), bert_config_file=bert_config_file, init_checkpoint=init_checkpoint,
            do_train=True, dynamic_masking=True, raw_text_files=corpus, vocab_file=vocab_file, do_lower_case=True,
            max_seq_length=max_seq_length, max_predictions_per_seq=max(2, max_seq_length * 15 // 100),
            train_batch_size=pretrain_batch_size, learning_rate=pretrain_learning_rate,
            num_train_steps=pretrain_steps, num_warmup_steps=pretrain_steps // 10,
            save_checkpoints_steps=max(1, pretrain_steps // 3), log_every_steps=max(1, pretrain_steps // 30),
            verbose=verbose)
        plot = pretraining_dir / "pretraining_loss.png"
        save_loss_plot(pretrained["step_logs"], plot)
        losses = [log["loss"] for log in pretrained["step_logs"]]
        init_checkpoint = pretrained["google_checkpoint"]
        report(f"3. pretraining: {pretrained['global_step']} steps, loss {losses[0]:.2f} → {losses[-1]:.2f}",
               pretrained_checkpoint=init_checkpoint, loss_plot=str(plot))
        result["pretraining_losses"] = (losses[0], losses[-1])

    # 4. Fine-tuning.
    data_dir = out / "classifier_data"
    if train_file:
        _copy_labelled_files(data_dir, train_file, dev_file or train_file)
        counts = "your files"
    else:
        if by_family is None:
            by_family = write_corpus(out / "stdlib_docstrings_for_labels.txt", 0)[1]
        counts = write_labelled_set(data_dir, by_family, examples_per_class)
    classifier_dir = out / "classifier"
    finetuned = run_classifier(
        task_name="generic", data_dir=str(data_dir), vocab_file=vocab_file, bert_config_file=bert_config_file,
        output_dir=str(classifier_dir), init_checkpoint=init_checkpoint, do_lower_case=True,
        max_seq_length=max_seq_length, do_train=True, do_eval=True, train_batch_size=32, eval_batch_size=64,
        learning_rate=finetune_learning_rate, num_train_epochs=num_train_epochs, text_a_column="sentence",
        label_column="label", save_checkpoints_steps=10_000)
    dev_labels = [line.rsplit("\t", 1)[1] for line in (data_dir / "dev.tsv").read_text("utf-8").splitlines()[1:]]
    majority = max(dev_labels.count(label) for label in set(dev_labels)) / len(dev_labels)
    accuracy = finetuned["eval"]["eval_accuracy"]
    report(f"4. fine-tuning ({counts}): dev accuracy {accuracy:.3f} (majority class {majority:.3f})",
           labelled_data=str(data_dir), finetuned_model=str(classifier_dir))
    result.update(dev_accuracy=accuracy, majority_baseline=majority)

    # 5. Export and serve.
    written = export.export_finetuned(classifier_dir, out / "serving", export_encoder=export_encoder,
                                      export_preprocessing_model=export_encoder)
    report("5. exported for TensorFlow Serving", serving_base=str(out / "serving"),
           **{f"saved_model_{key}": path for key, path in written.items()})
    answers = answer_requests(written["task"], DEMO_REQUESTS)
    print("\n    answers of serving_default, loaded in a fresh process (tensorflow + tensorflow_text only):")
    for text, label, probabilities in zip(DEMO_REQUESTS, answers["label"], answers["probabilities"]):
        print(f"      {label:<12} {probabilities}  {text}")
    body = json.dumps(client.predict_request({"text": DEMO_REQUESTS[:1]}))
    print("\n    the same through TensorFlow Serving (README 'Serving'):\n"
          f"      docker run -p 8501:8501 -v {out / 'serving'}/bert_classifier:/models/bert_classifier "
          "-e MODEL_NAME=bert_classifier tensorflow/serving:2.20.0\n"
          f"      curl -d '{body}' http://localhost:8501/v1/models/bert_classifier:predict")
    result["answers"] = answers
    result["seconds"] = time.time() - started
    print(f"\ndone in {result['seconds']:.0f} s; everything is under {out}", flush=True)
    return result


def _define_flags() -> None:
    from absl import flags

    flags.DEFINE_string("output_dir", "demo_output", "Where every artefact goes.")
    flags.DEFINE_string("corpus_files", None, "Pretraining text (comma-separated globs; default: stdlib docstrings).")
    flags.DEFINE_string("bert_folder", None, "A Google release folder to start from (vocab, config, checkpoint).")
    flags.DEFINE_string("train_file", None, "Labelled `sentence<TAB>label` tsv with header (default: stdlib set).")
    flags.DEFINE_string("dev_file", None, "Dev file in the --train_file format.")
    flags.DEFINE_integer("vocab_size", 4000, "WordPiece vocabulary size to learn.")
    flags.DEFINE_integer("max_corpus_sentences", None, "Stop the stdlib corpus after about this many sentences.")
    flags.DEFINE_integer("hidden_size", 128, "Hidden size of the demo BERT (heads of 64).")
    flags.DEFINE_integer("num_layers", 2, "Layers of the demo BERT.")
    flags.DEFINE_integer("max_seq_length", 64, "Sequence length for pretraining and fine-tuning.")
    flags.DEFINE_integer("pretrain_steps", 1000, "Pretraining steps (0: none).")
    flags.DEFINE_integer("pretrain_batch_size", 32, "Pretraining batch size.")
    flags.DEFINE_float("pretrain_learning_rate", 3e-4, "Pretraining peak learning rate.")
    flags.DEFINE_integer("examples_per_class", 800, "Training sentences per module family.")
    flags.DEFINE_float("num_train_epochs", 4.0, "Fine-tuning epochs.")
    flags.DEFINE_float("finetune_learning_rate", 3e-4, "Fine-tuning peak learning rate.")
    flags.DEFINE_bool("export_encoder", True, "Also export the encoder and preprocessing SavedModels.")


def main(argv) -> None:
    from absl import flags
    from absl import logging as absl_logging

    del argv
    absl_logging.set_verbosity(absl_logging.WARNING)  # TF's INFO lines on SavedModel internals bury the report
    f = flags.FLAGS
    run_demo(f.output_dir, f.corpus_files, f.bert_folder, f.train_file, f.dev_file, f.vocab_size,
             f.max_corpus_sentences, f.hidden_size, f.num_layers, f.max_seq_length, f.pretrain_steps,
             f.pretrain_batch_size, f.pretrain_learning_rate, f.examples_per_class, f.num_train_epochs,
             f.finetune_learning_rate, f.export_encoder)


if __name__ == "__main__":
    from absl import app

    _define_flags()
    app.run(main)
