"""extract_features against the encoder: tokens from the reference tokenizer (tf-models-official's FullTokenizer
with the reference's truncation), activations from `BertEncoder` loaded from the same Google-format checkpoint."""
import json

import numpy as np
import pytest
from official.nlp.tools import tokenization

from finetuning.extract_features import extract_features
from keras_bert.models.encoder import BertEncoder
from support.configs import tiny_config
from support.google_checkpoints import write_random_release
from support.programs import run_program

CONFIG = tiny_config(num_hidden_layers=3, max_position_embeddings=40)
LINES = [
    "The quick brown fox jumps over the lazy dog.",
    "Who was Jim Henson? ||| Jim Henson was a puppeteer.",
    "Jürgen Müller-Straße visited 北京大学 in 1898 — unaffable!",
    " ".join(["antidisestablishmentarianism"] * 12) + " ||| short",  # pair over max_seq_length: truncated
    "",
    " ".join(f"word{i}" for i in range(30)),  # single text over max_seq_length
    "a ||| b ||| c",  # the reference's greedy regex: text_a "a ||| b", text_b "c"
]


def reference_tokens(tokenizer, line, max_seq_length):
    """google-research/bert extract_features: read_examples' split, convert_examples_to_features' truncation."""
    text_a, _, text_b = line.strip().rpartition(" ||| ") if " ||| " in line else (line.strip(), None, None)
    a = tokenizer.tokenize(text_a)
    b = tokenizer.tokenize(text_b) if text_b is not None else None
    if b is None:
        return ["[CLS]", *a[:max_seq_length - 2], "[SEP]"], len(a[:max_seq_length - 2]) + 2
    while len(a) + len(b) > max_seq_length - 3:  # _truncate_seq_pair
        (a if len(a) > len(b) else b).pop()
    return ["[CLS]", *a, "[SEP]", *b, "[SEP]"], len(a) + 2


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    folder = tmp_path_factory.mktemp("release")
    write_random_release(folder, CONFIG, seed=5, head="pretraining")
    return folder


def test_features_match_encoder_outputs(release, uncased_vocab, tmp_path):
    input_file = tmp_path / "input.txt"
    input_file.write_text("\n".join(LINES) + "\n", encoding="utf-8")
    output_file = tmp_path / "out.jsonl"
    seq = 24
    written = extract_features(str(input_file), str(output_file), str(uncased_vocab),
                               str(release / "bert_config.json"), str(release / "bert_model.ckpt"),
                               layers="-1,0,-3", max_seq_length=seq, batch_size=2)
    assert written == len(LINES)
    records = [json.loads(line) for line in output_file.read_text(encoding="utf-8").splitlines()]
    tokenizer = tokenization.FullTokenizer(str(uncased_vocab), do_lower_case=True)
    tokenizer.wordpiece_tokenizer.max_input_chars_per_word = 200
    ids = tokenizer.convert_tokens_to_ids
    encoder = BertEncoder.from_google_checkpoint(release)
    for index, (line, record) in enumerate(zip(LINES, records)):
        assert list(record) == ["linex_index", "features"] and record["linex_index"] == index
        tokens, first_segment = reference_tokens(tokenizer, line, seq)
        assert [f["token"] for f in record["features"]] == tokens, line
        n = len(tokens)
        outputs = encoder({"input_word_ids": np.array([ids(tokens)], np.int32),
                           "input_mask": np.ones((1, n), np.int32),
                           "input_type_ids": np.array([[0] * first_segment + [1] * (n - first_segment)], np.int32)},
                          training=False)["encoder_outputs"]
        for layer_position, layer in enumerate((-1, 0, -3)):
            got = np.array([f["layers"][layer_position]["values"] for f in record["features"]])
            assert [f["layers"][layer_position]["index"] for f in record["features"]] == [layer] * n
            np.testing.assert_allclose(got, outputs[layer].numpy()[0], atol=2e-5)
            assert got.shape == (n, CONFIG.hidden_size)
    assert len(records[3]["features"]) == seq and len(records[5]["features"]) == seq
    assert [f["token"] for f in records[4]["features"]] == ["[CLS]", "[SEP]"]


def test_program_flags_and_errors(release, uncased_vocab, tmp_path):
    input_file = tmp_path / "input.txt"
    input_file.write_text("hello world ||| second\n", encoding="utf-8")
    common = [f"--input_file={input_file}", f"--vocab_file={uncased_vocab}",
              f"--bert_config_file={release / 'bert_config.json'}", f"--init_checkpoint={release}",
              "--max_seq_length=16"]
    run = run_program("finetuning/extract_features", [*common, f"--output_file={tmp_path / 'o.jsonl'}", "--layers=-2"])
    assert run.returncode == 0, run.stderr[-3000:]
    record = json.loads((tmp_path / "o.jsonl").read_text())
    assert [f["token"] for f in record["features"]] == ["[CLS]", "hello", "world", "[SEP]", "second", "[SEP]"]
    assert [layer["index"] for layer in record["features"][0]["layers"]] == [-2]

    kwargs = dict(output_file=str(tmp_path / "x.jsonl"), vocab_file=str(uncased_vocab),
                  bert_config_file=str(release / "bert_config.json"), init_checkpoint=str(release),
                  max_seq_length=16)
    with pytest.raises(ValueError, match=r"--layers \[3\] out of range for a model of 3 layers"):
        extract_features(str(input_file), layers="-1,3", **kwargs)
    empty = tmp_path / "empty.txt"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(ValueError, match=r"empty\.txt: file is empty"):
        extract_features(str(empty), layers="-1", **kwargs)
    with pytest.raises(ValueError, match=r"--batch_size must be >= 1, got 0"):
        extract_features(str(input_file), batch_size=0, **kwargs)


def _values(path):
    """[line][token] → the values of every chosen layer, one array per line."""
    return [np.array([[v for layer in f["layers"] for v in layer["values"]] for f in json.loads(line)["features"]])
            for line in path.read_text(encoding="utf-8").splitlines()]


def test_batches_cut_to_their_longest_line_give_the_fixed_length_values_and_bf16_is_close(release, uncased_vocab,
                                                                                          tmp_path):
    """The default (each batch of mixed lengths padded to its longest line) against --fixed_length_batches
    (padded to --max_seq_length, the reference's layout), and --mixed_precision=bf16 against float32."""
    input_file = tmp_path / "input.txt"
    input_file.write_text("\n".join(LINES) + "\n", encoding="utf-8")
    kwargs = dict(vocab_file=str(uncased_vocab), bert_config_file=str(release / "bert_config.json"),
                  init_checkpoint=str(release), layers="-1,0", max_seq_length=32, batch_size=4)
    runs = {}
    for name, options in (("variable", {}), ("fixed", {"fixed_length_batches": True}),
                          ("bf16", {"mixed_precision": "bf16"})):
        extract_features(str(input_file), str(tmp_path / f"{name}.jsonl"), **kwargs, **options)
        runs[name] = _values(tmp_path / f"{name}.jsonl")
    assert [len(v) for v in runs["variable"]] == [len(v) for v in runs["fixed"]]
    for variable, fixed, bf16 in zip(runs["variable"], runs["fixed"], runs["bf16"]):
        np.testing.assert_allclose(variable, fixed, atol=1e-5)
        assert np.abs(fixed).max() > 0.5
        # bfloat16 keeps 8 significant bits: LayerNorm'd values of order 1 within 0.1 after 3 layers.
        np.testing.assert_allclose(bf16, fixed, atol=0.1)
    assert max(np.abs(b - f).max() for b, f in zip(runs["bf16"], runs["fixed"])) > 1e-4  # bf16 did run
