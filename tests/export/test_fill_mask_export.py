"""The `bert_fill_mask` SavedModel, served from a fresh process with only tensorflow + tensorflow_text: it answers as
the Python `FillMask` does, and its bad inputs (no mask, empty, too many masks, truncation, invalid UTF-8, empty
batch) give the documented outputs."""
import os

import keras
import numpy as np
import pytest

from keras_bert.export.fill_mask import WARMUP_TEXTS, export_fill_mask, fill_mask_version
from keras_bert.export.serving_layout import write_versions
from keras_bert.models.fill_mask import FillMask
from keras_bert.models.pretrainer import BertPretrainer
from keras_bert.tokenization.masked_text import MaskedTextPacker
from support.configs import tiny_config
from support.serving_helpers import serve_in_fresh_process, strings

TOP_K = 3
VALID = ["the dog [MASK] loudly .", "[MASK] is a [MASK] word", "x[MASK]y", "naïve café [MASK] 東京"]
BAD = ["no mask here", "", "[MASK] [MASK] [MASK]", "a b c d e f g h i j k l m n o p [MASK]"]


@pytest.fixture(scope="module")
def fill_mask(uncased_vocab) -> FillMask:
    keras.utils.set_random_seed(0)
    pretrainer = BertPretrainer(tiny_config(initializer_range=0.5))
    return FillMask(pretrainer, MaskedTextPacker(uncased_vocab, lower_case=True, seq_length=16, max_predictions=2))


@pytest.fixture(scope="module")
def served(fill_mask, tmp_path_factory) -> dict:
    """The outputs of the export for VALID + BAD, for invalid UTF-8 and for an empty batch, from a fresh process."""
    work = tmp_path_factory.mktemp("fill_mask_export")
    export_fill_mask(fill_mask, work / "model", top_k=TOP_K)
    calls = [("fill_mask", "serving_default", {"text": strings(t.encode() for t in VALID + BAD)}),
             ("fill_mask", "serving_default", {"text": strings([b"caf\xc3\xa9 \xff[MASK]\xfe ."])}),
             ("fill_mask", "serving_default", {"text": np.array([], dtype=object)})]
    return serve_in_fresh_process(work, {"fill_mask": work / "model"}, calls)


def test_served_with_tensorflow_text_only(served):
    assert [m for m in served["modules"] if m.split(".")[0] != "keras"] == []  # (TF itself may load keras)
    assert not served["unregistered"]["fill_mask"]
    signature = served["signatures"]["fill_mask"]["serving_default"]
    assert signature["inputs"] == {"text": ("string", (None,))}
    assert signature["outputs"] == {
        "tokens": ("string", (None, None, TOP_K)), "scores": ("float32", (None, None, TOP_K)),
        "token_ids": ("int32", (None, None, TOP_K)), "filled": ("string", (None, None, TOP_K)),
        "mask_positions": ("int32", (None, None)), "num_predictions": ("int32", (None,)),
        "num_masks": ("int32", (None,))}
    assert served["stored"]["fill_mask"]["do_lower_case"] is True


def test_served_answers_equal_the_python_path(served, fill_mask):
    outputs = served["calls"][0]
    for row, result in enumerate(fill_mask(VALID, top_k=TOP_K)):
        assert outputs["num_masks"][row] == result.num_masks == outputs["num_predictions"][row]
        for i, mask in enumerate(result.masks):
            assert outputs["mask_positions"][row, i] == mask.position
            assert [t.decode() for t in outputs["tokens"][row, i]] == mask.tokens
            assert outputs["token_ids"][row, i].tolist() == mask.token_ids
            np.testing.assert_allclose(outputs["scores"][row, i], mask.scores, rtol=1e-5)
            assert [t.decode() for t in outputs["filled"][row, i]] == mask.filled
        assert not outputs["tokens"][row, len(result.masks):].any()  # padding: ""
        assert (outputs["token_ids"][row, len(result.masks):] == -1).all()


def test_bad_texts_get_documented_outputs(served):
    outputs = served["calls"][0]
    rows = slice(len(VALID), None)
    # No mask, empty: nothing predicted; 3 masks, max_predictions 2: two; a mask beyond 14 pieces: counted only.
    assert outputs["num_masks"][rows].tolist() == [0, 0, 3, 1]
    assert outputs["num_predictions"][rows].tolist() == [0, 0, 2, 0]
    assert outputs["mask_positions"][len(VALID) + 2].tolist() == [1, 2]
    assert (outputs["mask_positions"][len(VALID) + 3] == -1).all()
    invalid = served["calls"][1]
    assert invalid["num_predictions"].tolist() == [1]
    assert all(f.decode("utf-8").startswith("café") and f.endswith(b" .") for f in invalid["filled"][0, 0])
    empty = served["calls"][2]
    assert "error" not in empty, empty
    assert empty["tokens"].shape == (0, 0, TOP_K) and empty["num_masks"].shape == (0,)


def test_serving_layout_version_passes_its_smoke_test(fill_mask, tmp_path):
    written = write_versions(tmp_path, [fill_mask_version(fill_mask, top_k=2)])
    assert written == [os.fspath(tmp_path / "bert_fill_mask" / "1")]
    assert "" in WARMUP_TEXTS and any(t.count("[MASK]") > 2 for t in WARMUP_TEXTS)
    with pytest.raises(ValueError, match="top_k must be an int from 1 to the vocabulary size"):
        export_fill_mask(fill_mask, tmp_path / "bad", top_k=0)
