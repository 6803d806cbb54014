"""The `embed` program: its `.npy` and `.jsonl` embeddings against the numpy oracle (forward pass over the raw
weights, tokens from Hugging Face's `tokenizers`, sentence-transformers' pooling formulas), `--query` ranking, a
Google checkpoint with the pooling chosen by flag, and its errors on bad input."""
import json

import numpy as np
import pytest

from inference.embed import embed
from keras_bert.models.encoder import BertEncoder
from support.configs import tiny_config
from support.google_checkpoints import write_random_release
from support.programs import run_program
from support.sentence_transformers_folders import (
    huggingface_token_ids,
    oracle_embeddings,
    pool,
    write_sentence_transformers_folder,
)

LINES = ["A man is playing a guitar.", "Héllo WÖRLD, naïve café!", "", "東京 😀", "The stock market fell.",
         "A man is playing a guitar."]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return write_sentence_transformers_folder(tmp_path_factory.mktemp("st"))


@pytest.fixture(scope="module")
def input_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("input") / "lines.txt"
    path.write_text("\n".join(LINES) + "\n", encoding="utf-8")
    return path


def test_script_writes_npy_and_prints_nearest_lines(folder, input_file, tmp_path):
    output = tmp_path / "embeddings.npy"
    run = run_program("inference/embed", [f"--input_file={input_file}", f"--output_file={output}",
                                          f"--init_checkpoint={folder}", "--query=A man is playing a guitar.",
                                          "--top_k=3", "--batch_size=4"])
    assert run.returncode == 0, run.stderr[-3000:]
    embeddings = np.load(output)
    assert embeddings.dtype == np.float32 and embeddings.shape == (len(LINES), 32)
    assert np.abs(embeddings - oracle_embeddings(folder, LINES, 24, "mean", normalize=True)).max() < 1e-4
    printed = [line.split("\t") for line in run.stdout.splitlines()]
    assert [(similarity, number) for similarity, number, _ in printed[:2]] == [("1.0000", "1"), ("1.0000", "6")]
    assert len(printed) == 3 and printed[0][2] == LINES[0]
    assert "1 empty line(s) (e.g. line 3)" in run.stderr


def test_jsonl_output_and_query_result(folder, input_file, tmp_path):
    output = tmp_path / "embeddings.jsonl"
    nearest = embed(str(input_file), str(folder), output_file=str(output), query="The stock market fell.", top_k=2)
    records = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]
    assert [(r["line"], r["text"]) for r in records] == list(enumerate(LINES, start=1))
    want = oracle_embeddings(folder, LINES, 24, "mean", normalize=True)
    assert np.abs(np.array([r["embedding"] for r in records]) - want).max() < 1e-4
    assert nearest[0][0] == 5 and nearest[0][1] == pytest.approx(1.0, abs=1e-6)
    expected_second = np.argsort(-(want @ want[4]))[1] + 1
    assert nearest[1][0] == expected_second


def test_google_checkpoint_with_pooling_by_flag(input_file, tmp_path, uncased_vocab):
    config = tiny_config(max_position_embeddings=40)
    write_random_release(tmp_path / "release", config, seed=2, head=None)
    output = tmp_path / "cls.npy"
    embed(str(input_file), str(tmp_path / "release" / "bert_model.ckpt"), output_file=str(output), pooling="cls",
          normalize=True, bert_config_file=str(tmp_path / "release" / "bert_config.json"),
          vocab_file=str(uncased_vocab))
    # Oracle: the encoder (checked against Model Garden elsewhere) on Hugging Face's token ids, max_seq_length
    # the smaller of 128 and the 40 positions, pooled by the formula.
    ids, mask = huggingface_token_ids(uncased_vocab, LINES, 40)
    encoder = BertEncoder.from_google_checkpoint(tmp_path / "release")
    sequence = encoder({"input_word_ids": ids, "input_mask": mask, "input_type_ids": 0 * ids})["sequence_output"]
    np.testing.assert_allclose(np.load(output), pool(np.asarray(sequence), mask, "cls", normalize=True), atol=1e-5)


@pytest.mark.parametrize("arguments, error, message", [
    ({"output_file": "out.txt"}, ValueError, r"--output_file must end in .npy or .jsonl, got 'out.txt'"),
    ({}, ValueError, r"pass --output_file \(.npy or .jsonl\), --query, or both"),
    ({"query": " "}, ValueError, r"--query is empty"),
    ({"query": "x", "top_k": 0}, ValueError, r"--top_k must be >= 1, got 0"),
    ({"query": "x", "pooling": "max"}, ValueError,
     r"--pooling=max but the sentence-transformers folder .* was trained with 'mean' pooling"),
    ({"query": "x", "vocab_file": "vocab.txt"}, ValueError, r"is a sentence-transformers folder.*omit --bert_config"),
    ({"query": "x", "pooling": "weighted"}, ValueError, r"--pooling must be one of"),
    ({"query": "x", "batch_size": 0}, ValueError, r"--batch_size must be >= 1, got 0"),
])
def test_bad_arguments(folder, input_file, arguments, error, message):
    with pytest.raises(error, match=message):
        embed(str(input_file), str(folder), **arguments)


@pytest.mark.parametrize("content, message", [
    (b"", r"empty.txt: file is empty"),
    (b"fine\ncaf\xc3\xa9 \xff broken\n", r"empty.txt, line 2: not valid UTF-8"),
])
def test_bad_input_files(folder, tmp_path, content, message):
    path = tmp_path / "empty.txt"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=message):
        embed(str(path), str(folder), query="x")


def test_fixed_length_batches_and_bf16(folder, input_file, tmp_path):
    """Batches padded to the sequence length give the default's embeddings; bf16 within 0.02 (unit vectors)."""
    runs = {}
    for name, options in (("variable", {}), ("fixed", {"fixed_length_batches": True}),
                          ("bf16", {"mixed_precision": "bf16"})):
        embed(str(input_file), str(folder), output_file=str(tmp_path / f"{name}.npy"), batch_size=4, **options)
        runs[name] = np.load(tmp_path / f"{name}.npy")
    np.testing.assert_allclose(runs["variable"], runs["fixed"], atol=1e-6)
    np.testing.assert_allclose(runs["bf16"], runs["fixed"], atol=0.02)
    assert runs["bf16"].dtype == np.float32 and np.abs(runs["bf16"] - runs["fixed"]).max() > 1e-5  # bf16 did run
