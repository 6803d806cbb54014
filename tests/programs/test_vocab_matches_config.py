"""Every program that takes a vocabulary and a BERT config checks one against the other before any work:
a vocabulary larger than the config's `vocab_size` used to fail deep inside TensorFlow ("indices[0,0] = 101 is
not in [0, 50)") — or, smaller, to train, evaluate and export with exit 0 and no word."""
import logging

import pytest

from finetuning.extract_features import extract_features
from finetuning.run_classifier import run_classifier
from finetuning.run_squad import run_squad
from finetuning.run_tagger import run_tagger
from pretraining.run_pretraining import run_pretraining
from saved_models.export import export_for_serving
from support.configs import tiny_config
from support.google_checkpoints import write_random_release

SMALL_VOCAB_SIZE = 50  # the uncased vocabulary has 30522 tokens


def programs(data, vocab, config, release, out):
    """Each program with its required arguments, the data real and small, writing to `out`."""
    common = {"vocab_file": vocab, "bert_config_file": config}
    sst2, sample_text = data / "glue" / "SST-2", data / "pretraining" / "sample_text.txt"
    return {
        "run_classifier": lambda: run_classifier(task_name="sst-2", data_dir=str(sst2), output_dir=out,
                                                 do_train=True, max_seq_length=32, **common),
        "run_squad": lambda: run_squad(output_dir=out, train_file=str(sst2 / "train.tsv"), do_train=True,
                                       max_seq_length=32, doc_stride=8, max_query_length=8, **common),
        "run_tagger": lambda: run_tagger(output_dir=out, train_file=str(sst2 / "train.tsv"), label_list="O",
                                         do_train=True, max_seq_length=32, **common),
        "extract_features": lambda: extract_features(input_file=str(sample_text), output_file=f"{out}/f.jsonl",
                                                     init_checkpoint=release, max_seq_length=32, **common),
        "run_pretraining": lambda: run_pretraining(input_file="", output_dir=out, do_train=True,
                                                   dynamic_masking=True, raw_text_files=str(sample_text),
                                                   max_seq_length=32, max_predictions_per_seq=5,
                                                   num_train_steps=1, **common),
        "export": lambda: export_for_serving(export_base=out, init_checkpoint=release, max_seq_length=32, **common),
    }


@pytest.fixture(scope="module")
def small_release(tmp_path_factory):
    folder = tmp_path_factory.mktemp("small_release")
    write_random_release(folder, tiny_config(vocab_size=SMALL_VOCAB_SIZE))
    return folder


@pytest.mark.parametrize("program", ["run_classifier", "run_squad", "run_tagger", "extract_features",
                                     "run_pretraining", "export"])
def test_vocabulary_larger_than_the_embeddings_fails_before_any_work(program, shared_data, uncased_vocab,
                                                                     small_release, tmp_path):
    out = tmp_path / "out"
    config = small_release / "bert_config.json"
    run = programs(shared_data, str(uncased_vocab), str(config), str(small_release), str(out))[program]
    with pytest.raises(ValueError, match=rf"^vocabulary file {uncased_vocab} has 30522 tokens but vocab_size in "
                                         rf"{config} is {SMALL_VOCAB_SIZE}: ids {SMALL_VOCAB_SIZE} to 30521 have no "
                                         "word embedding"):
        run()
    assert not out.exists()


def test_vocabulary_smaller_than_the_embeddings_is_one_warning_naming_both(uncased_vocab, tmp_path, caplog):
    release = tmp_path / "padded_release"  # e.g. vocab_size padded to a multiple of 8 or 64
    write_random_release(release, tiny_config(vocab_size=30528))
    config = release / "bert_config.json"
    (tmp_path / "input.txt").write_text("hello world\n", encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="keras_bert.tokenization.vocab"):
        assert extract_features(input_file=str(tmp_path / "input.txt"), output_file=str(tmp_path / "f.jsonl"),
                                vocab_file=str(uncased_vocab), bert_config_file=str(config),
                                init_checkpoint=str(release), max_seq_length=8, layers="-1") == 1
    assert [r.getMessage() for r in caplog.records if r.name == "keras_bert.tokenization.vocab"] == [
        f"vocabulary file {uncased_vocab} has 30522 tokens but vocab_size in {config} is "
        "30528: embedding rows 30522 to 30527 are never used; check that this is the vocabulary the checkpoint was "
        "trained with"]
