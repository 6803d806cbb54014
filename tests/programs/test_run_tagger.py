"""run_tagger on small hand-written CoNLL files: it learns the tags, writes conlleval-format predictions whose
seqeval scores are the reported ones, the contract files, and names the file and line of bad labels."""
import json
import random

import keras
import numpy as np
import pytest
from official.nlp.tools import tokenization
from seqeval import metrics as seqeval_metrics

from finetuning.run_tagger import run_tagger
from keras_bert.checkpoints.google import read_checkpoint_arrays
from keras_bert.data.tagging import conll
from keras_bert.files import DataFileError
from keras_bert.tokenization.piece_tokenizer import PieceTokenizer
from support.configs import tiny_config
from support.google_checkpoints import reference_variable_shapes, write_random_release
from support.programs import run_program

TINY = tiny_config(hidden_size=64, intermediate_size=128, max_position_embeddings=32)
PEOPLE = [["Angela", "Merkel"], ["Peter", "Blackburn"], ["Jürgen", "Klopp"], ["Marie", "Curie"], ["Ada"]]
PLACES = [["Zürich"], ["New", "York"], ["Paris"], ["Buenos", "Aires"], ["Kyoto"]]
ORGS = [["Siemens"], ["European", "Union"], ["Reuters"], ["Acme", "Corp"]]


def _entity(words, kind):
    return [(w, ("B-" if i == 0 else "I-") + kind) for i, w in enumerate(words)]


def _sentences(count, seed):
    rng = random.Random(seed)
    templates = [
        lambda p, loc, o: _entity(p, "PER") + [("visited", "O")] + _entity(loc, "LOC") + [(".", "O")],
        lambda p, loc, o: _entity(o, "ORG") + [("hired", "O")] + _entity(p, "PER") + [("in", "O")]
        + _entity(loc, "LOC"),
        lambda p, loc, o: [("Yesterday", "O"), ("in", "O")] + _entity(loc, "LOC") + [(",", "O")] + _entity(o, "ORG")
        + [("said", "O"), ("nothing", "O")],
    ]
    return [rng.choice(templates)(rng.choice(PEOPLE), rng.choice(PLACES), rng.choice(ORGS)) for _ in range(count)]


def _write_conll(path, sentences):
    with open(path, "w", encoding="utf-8") as f:
        f.write("-DOCSTART- -X- -X- O\n\n")
        for sentence in sentences:
            f.write("".join(f"{word} NNP B-NP {label}\n" for word, label in sentence) + "\n")


def test_piece_tokenizer_gives_the_reference_features(tmp_path, uncased_vocab):
    """The TF-Text tokenizer behind the programs yields the reference FullTokenizer's tagging features."""
    _write_conll(tmp_path / "t.txt", _sentences(30, seed=0) + [[("Müller-Lüdenscheidt", "B-PER"), ("x" * 250, "O")]])
    sentences = conll.read_conll(tmp_path / "t.txt")
    labels = conll.collect_labels(sentences)

    class Reference:
        full = tokenization.FullTokenizer(str(uncased_vocab), do_lower_case=True)
        full.wordpiece_tokenizer.max_input_chars_per_word = 200

        def tokenize_words(self, texts):
            return [self.full.tokenize(t) for t in texts]

        def convert_tokens_to_ids(self, tokens):
            return self.full.convert_tokens_to_ids(tokens)

    ours = conll.convert_sentences_to_features(sentences, PieceTokenizer(uncased_vocab, True), labels, 16)
    theirs = conll.convert_sentences_to_features(sentences, Reference(), labels, 16)
    for a, b in zip(ours, theirs, strict=True):
        for name in ("input_word_ids", "input_mask", "label_ids", "word_positions"):
            np.testing.assert_array_equal(getattr(a, name), getattr(b, name))


def test_tagger_learns_and_writes_conll_predictions(tmp_path, uncased_vocab):
    _write_conll(tmp_path / "train.txt", _sentences(240, seed=1))
    _write_conll(tmp_path / "dev.txt", _sentences(40, seed=2))
    config_file = tmp_path / "bert_config.json"
    TINY.to_json_file(config_file)
    out = tmp_path / "out"
    result = run_tagger(vocab_file=str(uncased_vocab), bert_config_file=str(config_file), output_dir=str(out),
                        train_file=str(tmp_path / "train.txt"), eval_file=str(tmp_path / "dev.txt"),
                        predict_file=str(tmp_path / "dev.txt"), do_train=True, do_eval=True, do_predict=True,
                        max_seq_length=24, train_batch_size=16, learning_rate=2e-3, num_train_epochs=6.0, seed=0)
    assert result["labels"] == ["O", "B-LOC", "B-ORG", "B-PER", "I-LOC", "I-ORG", "I-PER"]
    assert result["eval"]["eval_f1"] > 0.8, result["eval"]

    # The written predictions: the dev tokens and gold labels, and the predicted column scores as reported.
    lines = (out / "eval_predictions.txt").read_text(encoding="utf-8").split("\n\n")
    rows = [[line.split(" ") for line in block.splitlines()] for block in lines if block.strip()]
    dev = conll.read_conll(tmp_path / "dev.txt")
    assert [[r[0] for r in s] for s in rows] == [list(s.words) for s in dev]
    assert [[r[1] for r in s] for s in rows] == [list(s.labels) for s in dev]
    predicted = [[r[2] for r in s] for s in rows]
    gold = [list(s.labels) for s in dev]
    assert result["eval"]["eval_f1"] == pytest.approx(seqeval_metrics.f1_score(gold, predicted))
    assert result["eval"]["eval_precision"] == pytest.approx(seqeval_metrics.precision_score(gold, predicted))
    results = dict(line.split(" = ") for line in (out / "eval_results.txt").read_text().splitlines())
    assert set(results) == {"eval_precision", "eval_recall", "eval_f1", "eval_accuracy", "global_step"}
    assert int(results["global_step"]) == int(240 / 16 * 6)
    assert (out / "test_predictions.txt").read_text(encoding="utf-8") == \
        (out / "eval_predictions.txt").read_text(encoding="utf-8")

    info = json.loads((out / "task_info.json").read_text())
    assert info == {"task": "tagger", "task_name": "ner", "labels": result["labels"], "is_regression": False,
                    "do_lower_case": True, "max_seq_length": 24, "pair_input": False, "squad": None,
                    "tokenizer_options": {}}
    saved = read_checkpoint_arrays(str(out / "bert_model.ckpt"))
    assert {n: tuple(a.shape) for n, a in saved.items()} == reference_variable_shapes(TINY, "classifier", 7)

    # model.keras is the trained model: the same logits on the dev sentences, hence the written predictions.
    features = conll.convert_sentences_to_features(dev, PieceTokenizer(uncased_vocab, True), result["labels"], 24)
    inputs = conll.tagging_dataset(features, with_labels=False).batch(len(features))
    trained = result["model"].predict(inputs, verbose=0)["logits"]
    reloaded = keras.saving.load_model(out / "model.keras").predict(inputs, verbose=0)["logits"]
    assert reloaded.shape == (len(dev), 24, 7)
    np.testing.assert_allclose(reloaded, trained, atol=1e-5)
    first_pieces = [[result["labels"][row[p]] for p in f.word_positions] for row, f in
                    zip(reloaded.argmax(-1), features)]
    # (the program's batches were cut to their longest sentence, these padded to 24: the same predictions)
    assert first_pieces == predicted  # every dev sentence fits in 24 pieces: no word is cut off

    # Evaluating the fine-tuned checkpoint alone (its head included) reproduces the scores and predictions, also
    # with every batch padded to --max_seq_length.
    again = run_tagger(vocab_file=str(uncased_vocab), bert_config_file=str(config_file),
                       output_dir=str(tmp_path / "again"), eval_file=str(tmp_path / "dev.txt"),
                       init_checkpoint=str(out / "bert_model.ckpt"), label_list=",".join(result["labels"]),
                       do_eval=True, max_seq_length=24, fixed_length_batches=True)
    assert again["eval"]["eval_f1"] == pytest.approx(result["eval"]["eval_f1"])
    assert (tmp_path / "again" / "eval_predictions.txt").read_text(encoding="utf-8") == \
        (out / "eval_predictions.txt").read_text(encoding="utf-8")
    # The same labels in another order would read every prediction as another label.
    with pytest.raises(ValueError, match=r"task_info\.json beside it\) was fine-tuned for ner with 7 labels \['O', "):
        run_tagger(vocab_file=str(uncased_vocab), bert_config_file=str(config_file),
                   output_dir=str(tmp_path / "again"), eval_file=str(tmp_path / "dev.txt"),
                   init_checkpoint=str(out / "bert_model.ckpt"), label_list=",".join(reversed(result["labels"])),
                   do_eval=True, max_seq_length=24)


def test_bad_label_names_file_and_line(tmp_path, uncased_vocab):
    _write_conll(tmp_path / "train.txt", _sentences(4, seed=3))
    (tmp_path / "dev.txt").write_text("Paris B-LOC\nis O\nnice B-ADJ\n", encoding="utf-8")
    config_file = tmp_path / "bert_config.json"
    TINY.to_json_file(config_file)
    run = run_program("finetuning/run_tagger", [
        f"--vocab_file={uncased_vocab}", f"--bert_config_file={config_file}", f"--output_dir={tmp_path / 'out'}",
        "--init_checkpoint=", f"--eval_file={tmp_path / 'dev.txt'}", "--label_list=O,B-LOC", "--do_eval",
        "--max_seq_length=16"])
    assert run.returncode != 0 and "need --init_checkpoint" in run.stderr
    with pytest.raises(DataFileError, match=r"dev\.txt, line 3: label 'B-ADJ' is not one of"):
        run_tagger(vocab_file=str(uncased_vocab), bert_config_file=str(config_file), output_dir=str(tmp_path / "o"),
                   train_file=str(tmp_path / "train.txt"), eval_file=str(tmp_path / "dev.txt"), do_train=True,
                   do_eval=True, max_seq_length=16, train_batch_size=2, num_train_epochs=1.0)
    pretrained = tmp_path / "pretrained"  # no tagging head: evaluating it would score a random head
    write_random_release(pretrained, TINY, head="pretraining")
    with pytest.raises(ValueError, match=r"pretrained/bert_model\.ckpt has no task head \(output_weights, "):
        run_tagger(vocab_file=str(uncased_vocab), bert_config_file=str(config_file), output_dir=str(tmp_path / "o"),
                   init_checkpoint=str(pretrained), eval_file=str(tmp_path / "dev.txt"), label_list="O,B-LOC",
                   do_eval=True, max_seq_length=16)
