"""Parity of BertEncoder with Model Garden's BertEncoder loaded through Model Garden's own TF1
checkpoint converter, on random Google-format checkpoints."""
import numpy as np
import pytest

from keras_bert.checkpoints.google import save_google_checkpoint
from keras_bert.config import BertConfig
from keras_bert.models.encoder import BertEncoder
from support.google_checkpoints import write_random_release
from support.model_garden import model_garden_encoder

CONFIGS = {
    # head size 64, as in every Google release
    "L2_H128": BertConfig(vocab_size=120, hidden_size=128, num_hidden_layers=2, num_attention_heads=2,
                          intermediate_size=512, max_position_embeddings=512),
    # head size 24 (not 64), three token types, odd intermediate size
    "L3_H96_A4": BertConfig(vocab_size=97, hidden_size=96, num_hidden_layers=3, num_attention_heads=4,
                            intermediate_size=200, max_position_embeddings=512, type_vocab_size=3),
}


def padded_inputs(config: BertConfig, seq_length: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    batch = 3
    ids = rng.integers(1, config.vocab_size, (batch, seq_length)).astype(np.int32)
    types = rng.integers(0, config.type_vocab_size, (batch, seq_length)).astype(np.int32)
    lengths = [seq_length, max(1, seq_length // 2), 1]  # full, half padded, only [CLS]
    mask = (np.arange(seq_length)[None, :] < np.array(lengths)[:, None]).astype(np.int32)
    return {"input_word_ids": ids * mask, "input_mask": mask, "input_type_ids": types * mask}


@pytest.fixture(scope="module", params=sorted(CONFIGS))
def encoders(request, tmp_path_factory):
    config = CONFIGS[request.param]
    workdir = tmp_path_factory.mktemp(request.param)
    write_random_release(workdir / "release", config, seed=11)
    ours = BertEncoder.from_google_checkpoint(str(workdir / "release"))
    theirs = model_garden_encoder(config, str(workdir / "release" / "bert_model.ckpt"), str(workdir))
    return config, ours, theirs


@pytest.mark.parametrize("seq_length", [1, 7, 128, 512])
def test_matches_model_garden(encoders, seq_length):
    config, ours, theirs = encoders
    inputs = padded_inputs(config, seq_length, seed=seq_length)
    got = ours(inputs, training=False)
    want = theirs(inputs, training=False)
    seq_diff = np.abs(np.asarray(got["sequence_output"]) - want["sequence_output"].numpy())
    # Padded positions are garbage in both implementations but must agree too: the reference
    # computes them with the same formulas.
    assert seq_diff.max() <= 1e-5, f"sequence_output max abs diff {seq_diff.max():.3g}"
    assert np.abs(np.asarray(got["pooled_output"]) - want["pooled_output"].numpy()).max() <= 1e-5
    for mine, ref in zip(got["encoder_outputs"], want["encoder_outputs"]):
        assert np.abs(np.asarray(mine) - ref.numpy()).max() <= 1e-5
    np.testing.assert_array_equal(np.asarray(got["default"]), np.asarray(got["pooled_output"]))


def test_saved_checkpoint_loads_in_model_garden_converter(encoders, tmp_path):
    config, ours, _ = encoders
    prefix = save_google_checkpoint(ours, str(tmp_path / "saved" / "bert_model.ckpt"))
    theirs = model_garden_encoder(config, prefix, str(tmp_path))
    inputs = padded_inputs(config, 16, seed=2)
    diff = np.abs(np.asarray(ours(inputs)["sequence_output"]) - theirs(inputs)["sequence_output"].numpy())
    assert diff.max() <= 1e-5
