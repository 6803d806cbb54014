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

import json
import pathlib
import sys
import time
from typing import Any

from keras_bert import cli
from saved_models import demo_corpus, demo_plot, demo_serving

DEMO_REQUESTS = [
    "Return a list of the words in the string, using sep as the delimiter.",
    "Open a connection to the mail server and send the message.",
    "Recursively delete a directory tree and every file in it.",
    "Wait until the worker thread has finished and release the lock.",
]


def demo_config(vocab_size: int, hidden_size: int, num_layers: int):
    """The demo's small BERT: heads of 64, intermediate 4 × hidden, 128 positions."""
    from keras_bert.config import BertConfig

    return BertConfig(vocab_size=vocab_size, hidden_size=hidden_size, num_hidden_layers=num_layers,
                      num_attention_heads=max(1, hidden_size // 64), intermediate_size=4 * hidden_size,
                      max_position_embeddings=128)


@cli.checks_arguments
def run_demo(output_dir: str = "demo_output", corpus_files: str | None = None, bert_folder: str | None = None,
             train_file: str | None = None, dev_file: str | None = None, vocab_size: int = 4000,
             max_corpus_sentences: int | None = None, hidden_size: int = 128, num_layers: int = 2,
             max_seq_length: int = 64, pretrain_steps: int = 1000, pretrain_batch_size: int = 32,
             pretrain_learning_rate: float = 3e-4, examples_per_class: int = 800, num_train_epochs: float = 4.0,
             finetune_learning_rate: float = 3e-4, export_encoder: bool = True, verbose: int = 1) -> dict[str, Any]:
    """Runs the five steps (module docstring); returns the artefact paths and the measured figures."""
    from finetuning.run_classifier import run_classifier
    from keras_bert.export import serving as export
    from keras_bert.tokenization.vocab_learning import learn_wordpiece_vocab, write_vocab
    from pretraining.run_pretraining import run_pretraining
    from saved_models import client

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
        sentences, by_family = demo_corpus.write_corpus(pathlib.Path(corpus), max_corpus_sentences)
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
        demo_plot.save_loss_plot(pretrained["step_logs"], plot)
        losses = [log["loss"] for log in pretrained["step_logs"]]
        init_checkpoint = pretrained["google_checkpoint"]
        report(f"3. pretraining: {pretrained['global_step']} steps, loss {losses[0]:.2f} → {losses[-1]:.2f}",
               pretrained_checkpoint=init_checkpoint, loss_plot=str(plot))
        result["pretraining_losses"] = (losses[0], losses[-1])

    # 4. Fine-tuning.
    data_dir = out / "classifier_data"
    if train_file:
        demo_corpus.copy_labelled_files(data_dir, train_file, dev_file or train_file)
        counts = "your files"
    else:
        if by_family is None:
            by_family = demo_corpus.write_corpus(out / "stdlib_docstrings_for_labels.txt", 0)[1]
        counts = demo_corpus.write_labelled_set(data_dir, by_family, examples_per_class)
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
    answers = demo_serving.answer_requests(written["task"], DEMO_REQUESTS)
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
    cli.define_flags(run_demo, {
        "output_dir": "Where every artefact goes.",
        "corpus_files": "Pretraining text (comma-separated globs; default: stdlib docstrings).",
        "bert_folder": "A Google release folder to start from (vocab, config, checkpoint).",
        "train_file": "Labelled `sentence<TAB>label` tsv with header (default: stdlib set).",
        "dev_file": "Dev file in the --train_file format.",
        "vocab_size": "WordPiece vocabulary size to learn.",
        "max_corpus_sentences": "Stop the stdlib corpus after about this many sentences.",
        "hidden_size": "Hidden size of the demo BERT (heads of 64).",
        "num_layers": "Layers of the demo BERT.",
        "max_seq_length": "Sequence length for pretraining and fine-tuning.",
        "pretrain_steps": "Pretraining steps (0: none).",
        "pretrain_batch_size": "Pretraining batch size.",
        "pretrain_learning_rate": "Pretraining peak learning rate.",
        "examples_per_class": "Training sentences per module family.",
        "num_train_epochs": "Fine-tuning epochs.",
        "finetune_learning_rate": "Fine-tuning peak learning rate.",
        "export_encoder": "Also export the encoder and preprocessing SavedModels.",
    })


def main() -> None:
    """`make demo` (`python -m saved_models.demo`)."""
    from absl import logging as absl_logging

    # TF's INFO lines on SavedModel internals bury the report: warnings only, unless --verbosity says otherwise.
    cli.run_program(run_demo, _define_flags, verbosity=absl_logging.WARNING)


if __name__ == "__main__":
    main()
