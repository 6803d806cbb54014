"""`inference/fill_mask.py`: run as a user does on a Google-format checkpoint (table + JSON lines equal to the
oracle-tested `FillMask`), on a Hugging Face folder (config, vocabulary and casing from the folder), and every bad
input as an error naming the flag, file and line."""
import json

import pytest

from inference.fill_mask import fill_mask
from keras_bert.files import DataFileError
from keras_bert.models.fill_mask import FillMask
from support.configs import tiny_config
from support.google_checkpoints import write_random_release
from support.huggingface_folders import small_vocab, write_huggingface_folder
from support.programs import run_program

VOCAB_SIZE = 1000
TEXTS = ["the dog [MASK] loudly .", "[MASK] is a [MASK] word"]


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    folder = tmp_path_factory.mktemp("release") / "uncased_L-2_H-32_A-2"
    write_random_release(folder, tiny_config(VOCAB_SIZE, initializer_range=0.5), seed=2)
    (folder / "vocab.txt").write_text("\n".join(small_vocab(VOCAB_SIZE)) + "\n", encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def hf_folder(tmp_path_factory):
    return write_huggingface_folder(tmp_path_factory.mktemp("hf") / "mlm", {"vocab_size": VOCAB_SIZE},
                                    "BertForMaskedLM", seed=4)


def test_program_on_a_google_checkpoint(release, tmp_path):
    input_file, output_file = tmp_path / "in.txt", tmp_path / "out.jsonl"
    input_file.write_text("\n".join(TEXTS) + "\n", encoding="utf-8")
    run = run_program("inference/fill_mask", [
        f"--init_checkpoint={release}", f"--vocab_file={release / 'vocab.txt'}",
        f"--bert_config_file={release / 'bert_config.json'}", f"--input_file={input_file}",
        f"--output_file={output_file}", "--top_k=3", "--max_seq_length=16"])
    assert run.returncode == 0, run.stderr[-3000:]
    records = [json.loads(line) for line in output_file.read_text(encoding="utf-8").splitlines()]
    expected = FillMask.from_pretrained(release, seq_length=16)(TEXTS, top_k=3)
    assert [r["line"] for r in records] == [1, 2]
    for record, result in zip(records, expected):
        assert record["text"] == result.text and record["num_masks"] == result.num_masks
        for got, mask in zip(record["masks"], result.masks, strict=True):
            assert got["tokens"] == mask.tokens and got["token_ids"] == mask.token_ids
            assert got["filled"] == mask.filled and got["position"] == mask.position
            assert got["scores"] == pytest.approx(mask.scores, rel=1e-5)
    assert "[2] [MASK] is a [MASK] word" in run.stdout and "mask 2 of 2 (position" in run.stdout
    assert expected[0].masks[0].filled[0] in run.stdout


def test_huggingface_folder_gives_config_vocab_and_casing(hf_folder):
    results = fill_mask(init_checkpoint=str(hf_folder), text=TEXTS, top_k=2, max_seq_length=16)
    expected = FillMask.from_pretrained(hf_folder, seq_length=16)(TEXTS, top_k=2)
    assert [[m.token_ids for m in r.masks] for r in results] == [[m.token_ids for m in r.masks] for r in expected]


def test_truncated_mask_is_reported_in_the_table(hf_folder, capsys):
    results = fill_mask(init_checkpoint=str(hf_folder), text=["a b c d [MASK] e f g [MASK]"], max_seq_length=8)
    assert results[0].num_masks == 2 and len(results[0].masks) == 1
    assert "mask 2 of 2: not predicted, beyond --max_seq_length pieces" in capsys.readouterr().out


def test_bad_input_names_flag_file_and_line(hf_folder, tmp_path):
    checkpoint = str(hf_folder)
    lines = tmp_path / "lines.txt"
    lines.write_text("ok [MASK]\nno mask here\n", encoding="utf-8")
    with pytest.raises(DataFileError, match=r"lines.txt, line 2: the text has no \[MASK\] to predict"):
        fill_mask(init_checkpoint=checkpoint, input_file=str(lines))
    lines.write_bytes(b"ok [MASK]\n\xff [MASK]\n")
    with pytest.raises(DataFileError, match=r"lines.txt, line 2: not valid UTF-8"):
        fill_mask(init_checkpoint=checkpoint, input_file=str(lines))
    lines.write_text("ok [MASK]\n\nok [MASK]\n", encoding="utf-8")
    with pytest.raises(DataFileError, match=r"line 2: the text is empty"):
        fill_mask(init_checkpoint=checkpoint, input_file=str(lines))
    with pytest.raises(ValueError, match=r"--text 1 has 3 \[MASK\] tokens, more than max_predictions 2"):
        fill_mask(init_checkpoint=checkpoint, text=["[MASK] [MASK] [MASK]"], max_predictions=2)
    with pytest.raises(ValueError, match="either --text .* or --input_file"):
        fill_mask(init_checkpoint=checkpoint)
    with pytest.raises(ValueError, match="--top_k must be >= 1"):
        fill_mask(init_checkpoint=checkpoint, text=["ok [MASK]"], top_k=0)
    without_head = write_huggingface_folder(tmp_path / "bert", {"vocab_size": VOCAB_SIZE}, "BertModel")
    with pytest.raises(ValueError, match=r"cls\.predictions\.bias"):
        fill_mask(init_checkpoint=str(without_head), text=["ok [MASK]"], max_seq_length=16)


def test_fixed_length_batches_and_bf16(release):
    """Batches cut to their longest text (the default) predict as batches padded to the sequence length; the program
    in bf16 keeps the top candidate of this model, probabilities within 0.02."""
    texts = TEXTS + ["a much longer text , with many words before its [MASK] and after it , on and on"]
    variable = FillMask.from_pretrained(release, seq_length=32)
    fixed = FillMask(variable.pretrainer, variable.packer, fixed_length=True)
    bf16 = fill_mask(str(release), text=texts, vocab_file=str(release / "vocab.txt"), max_seq_length=32, top_k=3,
                     bert_config_file=str(release / "bert_config.json"), batch_size=3, mixed_precision="bf16")
    for got, want, low in zip(variable(texts, top_k=3, batch_size=3), fixed(texts, top_k=3, batch_size=3), bf16,
                              strict=True):
        assert [m.tokens for m in got.masks] == [m.tokens for m in want.masks]
        assert [m.position for m in got.masks] == [m.position for m in want.masks]
        for a, b, c in zip(got.masks, want.masks, low.masks, strict=True):
            assert a.scores == pytest.approx(b.scores, abs=1e-6)
            assert c.tokens[0] == b.tokens[0] and c.scores == pytest.approx(b.scores, abs=0.02)
