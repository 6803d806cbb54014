"""check_vocab_matches_config: a vocabulary against the word embeddings of a BERT config."""
import logging

import pytest

from keras_bert.tokenization.vocab import check_vocab_matches_config
from support.configs import tiny_config

TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "hello", "world"]


@pytest.fixture
def vocab_file(tmp_path):
    path = tmp_path / "vocab.txt"
    path.write_text("\n".join(TOKENS) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def config_file(tmp_path):
    def write(vocab_size):
        path = tmp_path / f"bert_config_{vocab_size}.json"
        tiny_config(vocab_size=vocab_size).to_json_file(path)
        return path
    return write


def test_more_tokens_than_embeddings_is_an_error_naming_both(vocab_file, config_file):
    """Ids past the table used to fail deep inside TF ("indices[0,0] = 101 is not in [0, 50)")."""
    config = config_file(4)
    with pytest.raises(ValueError, match=rf"^vocabulary file {vocab_file} has 6 tokens but vocab_size in {config} is "
                                         "4: ids 4 to 5 have no word embedding; use the vocabulary the checkpoint "
                                         "was trained with$"):
        check_vocab_matches_config(vocab_file, config)
    with pytest.raises(ValueError, match="but vocab_size in the BERT config is 4"):
        check_vocab_matches_config(vocab_file, tiny_config(vocab_size=4))
    with pytest.raises(ValueError, match="but vocab_size in my_config.json is 4"):
        check_vocab_matches_config(vocab_file, tiny_config(vocab_size=4).to_dict(), "my_config.json")


def test_fewer_tokens_than_embeddings_is_a_warning_naming_both(vocab_file, config_file, caplog):
    """A smaller vocabulary used to train, evaluate and export with exit 0 and no word."""
    config = config_file(50)
    with caplog.at_level(logging.WARNING, logger="keras_bert.tokenization.vocab"):
        check_vocab_matches_config(vocab_file, str(config))
    assert [r.getMessage() for r in caplog.records] == [
        f"vocabulary file {vocab_file} has 6 tokens but vocab_size in {config} is 50: embedding rows 6 to 49 are "
        "never used; check that this is the vocabulary the checkpoint was trained with"]


def test_equal_sizes_pass_silently(vocab_file, config_file, caplog):
    with caplog.at_level(logging.WARNING):
        check_vocab_matches_config(vocab_file, config_file(len(TOKENS)))
    assert not caplog.records


def test_bad_files_are_named(tmp_path, vocab_file, config_file):
    with pytest.raises(FileNotFoundError, match="vocabulary file not found: .*missing.txt"):
        check_vocab_matches_config(tmp_path / "missing.txt", config_file(6))
    with pytest.raises(FileNotFoundError, match="BERT config file not found: .*missing.json"):
        check_vocab_matches_config(vocab_file, tmp_path / "missing.json")
