"""Evaluation counts every example, however few: fewer eval examples than --eval_batch_size still give the
scores of all of them (the reference keeps the last partial batch off TPUs). run_pretraining's own partial
batches are tested in test_run_pretraining.py."""
import pytest

from finetuning.run_classifier import run_classifier
from finetuning.run_tagger import run_tagger
from support.configs import tiny_config

TINY = tiny_config(hidden_size=64, intermediate_size=128, max_position_embeddings=32)


@pytest.fixture
def config_file(tmp_path):
    path = tmp_path / "bert_config.json"
    TINY.to_json_file(path)
    return str(path)


def _first_rows(source, target, rows):
    """The header and the first `rows` rows of a real GLUE file."""
    lines = source.read_text(encoding="utf-8").splitlines(keepends=True)
    target.write_text("".join(lines[:rows + 1]), encoding="utf-8")


def test_classifier_scores_three_dev_examples_with_an_eval_batch_of_8(shared_data, uncased_vocab, config_file,
                                                                      tmp_path):
    data = tmp_path / "sst2"
    data.mkdir()
    _first_rows(shared_data / "glue/SST-2/train.tsv", data / "train.tsv", 16)
    _first_rows(shared_data / "glue/SST-2/dev.tsv", data / "dev.tsv", 3)
    common = dict(task_name="sst-2", data_dir=str(data), vocab_file=str(uncased_vocab), bert_config_file=config_file,
                  max_seq_length=32, do_eval=True)
    trained = run_classifier(**common, output_dir=str(tmp_path / "out"), do_train=True, train_batch_size=8,
                             num_train_epochs=1.0, eval_batch_size=8, seed=0)
    assert trained["eval"]["eval_accuracy"] * 3 == pytest.approx(round(trained["eval"]["eval_accuracy"] * 3))
    one_by_one = run_classifier(**common, output_dir=str(tmp_path / "again"), eval_batch_size=1,
                                init_checkpoint=str(tmp_path / "out" / "bert_model.ckpt"))
    for key in ("eval_accuracy", "eval_loss"):
        assert one_by_one["eval"][key] == pytest.approx(trained["eval"][key], rel=1e-5), key


def _write_conll(path, sentences):
    path.write_text("".join("".join(f"{word} {label}\n" for word, label in sentence) + "\n"
                            for sentence in sentences), encoding="utf-8")


def test_tagger_scores_three_dev_sentences_with_an_eval_batch_of_8(uncased_vocab, config_file, tmp_path):
    sentences = [[("Paris", "B-LOC"), ("is", "O"), ("nice", "O")], [("Ada", "B-PER"), ("met", "O"),
                                                                     ("Marie", "B-PER"), ("Curie", "I-PER")],
                 [("they", "O"), ("left", "O"), ("Kyoto", "B-LOC")]]
    _write_conll(tmp_path / "train.txt", sentences * 4)
    _write_conll(tmp_path / "dev.txt", sentences)
    common = dict(vocab_file=str(uncased_vocab), bert_config_file=config_file, eval_file=str(tmp_path / "dev.txt"),
                  max_seq_length=16, do_eval=True)
    trained = run_tagger(**common, output_dir=str(tmp_path / "out"), train_file=str(tmp_path / "train.txt"),
                         do_train=True, train_batch_size=4, num_train_epochs=1.0, eval_batch_size=8, seed=0)
    predictions = (tmp_path / "out" / "eval_predictions.txt").read_text(encoding="utf-8")
    assert len([block for block in predictions.split("\n\n") if block.strip()]) == 3
    one_by_one = run_tagger(**common, output_dir=str(tmp_path / "again"), eval_batch_size=1,
                            init_checkpoint=str(tmp_path / "out" / "bert_model.ckpt"),
                            label_list=",".join(trained["labels"]))
    scores = [key for key in trained["eval"] if key != "global_step"]
    assert [one_by_one["eval"][key] for key in scores] == pytest.approx([trained["eval"][key] for key in scores])
    assert (tmp_path / "again" / "eval_predictions.txt").read_text(encoding="utf-8") == predictions
