"""BertConfig: Google's JSON files, validation and the released shapes."""
import json

import pytest

from keras_bert.config import BertConfig, preset_names

CHINESE_RELEASE = {  # bert_config.json of Google's BERT-Base, Chinese, with its extra pooler_* keys
    "attention_probs_dropout_prob": 0.1, "directionality": "bidi", "hidden_act": "gelu",
    "hidden_dropout_prob": 0.1, "hidden_size": 768, "initializer_range": 0.02, "intermediate_size": 3072,
    "max_position_embeddings": 512, "num_attention_heads": 12, "num_hidden_layers": 12,
    "pooler_fc_size": 768, "pooler_num_attention_heads": 12, "pooler_num_fc_layers": 3,
    "pooler_size_per_head": 128, "pooler_type": "first_token_transform", "type_vocab_size": 2,
    "vocab_size": 21128}


def test_reads_release_config_with_extra_keys_and_round_trips(tmp_path):
    path = tmp_path / "bert_config.json"
    path.write_text(json.dumps(CHINESE_RELEASE))
    config = BertConfig.from_json_file(path)
    assert config.vocab_size == 21128 and config.hidden_act == "gelu" and config.head_size == 64
    config.to_json_file(tmp_path / "out.json")
    assert BertConfig.from_json_file(tmp_path / "out.json") == config


@pytest.mark.parametrize("changes, message", [
    ({"hidden_size": 100, "num_attention_heads": 12},
     "hidden_size \\(100\\) is not divisible by num_attention_heads \\(12\\)"),
    ({"num_hidden_layers": 0}, "num_hidden_layers must be a positive integer"),
    ({"vocab_size": -5}, "vocab_size must be a positive integer"),
    ({"hidden_act": "swish"}, "hidden_act 'swish' is not one of"),
    ({"hidden_dropout_prob": 1.5}, "hidden_dropout_prob must be in"),
])
def test_invalid_values_are_named(tmp_path, changes, message):
    path = tmp_path / "bert_config.json"
    path.write_text(json.dumps({**CHINESE_RELEASE, **changes}))
    with pytest.raises(ValueError, match=f"{path}.*{message}"):
        BertConfig.from_json_file(path)


@pytest.mark.parametrize("key, value, message", [
    ("hidden_dropout_prob", "0.1", r"hidden_dropout_prob must be a number \(float\), got '0.1' \(a string\)"),
    ("attention_probs_dropout_prob", None,
     r"attention_probs_dropout_prob must be a number \(float\), got None \(null\)"),
    ("initializer_range", True, r"initializer_range must be a number \(float\), got True \(a boolean\)"),
    ("initializer_range", float("nan"), "initializer_range must be a finite number, got nan"),
    ("hidden_size", "768", r"hidden_size must be a positive integer, got '768' \(a string\)"),
    ("vocab_size", None, r"vocab_size must be a positive integer, got None \(null\)"),
])
def test_wrong_json_types_name_the_file_key_and_expected_type(tmp_path, key, value, message):
    """A quoted number or null used to end in a bare TypeError ('<=' not supported) naming neither."""
    path = tmp_path / "bert_config.json"
    path.write_text(json.dumps({**CHINESE_RELEASE, key: value}))
    with pytest.raises(ValueError, match=f"^{path}: BertConfig.{message}$"):
        BertConfig.from_json_file(path)


def test_from_dict_names_its_source_for_a_non_mapping():
    with pytest.raises(ValueError, match="my config: expected a mapping of BERT hyper-parameters, got list"):
        BertConfig.from_dict([("vocab_size", 5)], source="my config")


def test_file_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.json"):
        BertConfig.from_json_file(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ValueError, match="bad.json: not valid JSON"):
        BertConfig.from_json_file(tmp_path / "bad.json")


def shape(config):
    return config.num_hidden_layers, config.hidden_size, config.num_attention_heads, config.intermediate_size


def test_presets_match_released_shapes():
    assert len(preset_names()) == 2 + 4 + 24
    large = BertConfig.preset("large")
    assert shape(large) == (24, 1024, 16, 4096)
    tiny = BertConfig.preset("tiny")
    assert shape(tiny) == (2, 128, 2, 512)
    small = BertConfig.preset("L-4_H-512")
    assert small == BertConfig.preset("small") and small.num_attention_heads == 8
    assert BertConfig.preset("L-12_H-768") == BertConfig.preset("base")
    for name in preset_names():
        BertConfig.preset(name)
    with pytest.raises(ValueError, match="unknown BERT preset 'L-3_H-128'"):
        BertConfig.preset("L-3_H-128")
