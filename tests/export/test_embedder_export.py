"""The `bert_embedder` SavedModel: served in a fresh process with only tensorflow + tensorflow_text, its embeddings
equal the Python path (`load_embedder` + `embed_texts`, itself checked against the numpy oracle in
tests/models/test_embedder.py) on Unicode, empty, invalid UTF-8 and over-long texts; every op is registered by TF +
TF-Text; it is written in the serving layout with its warm-up requests."""
import os
import pathlib

import numpy as np
import pytest
import tensorflow as tf

from keras_bert.export.embedder import export_embedder, export_sentence_embedder, load_embedder
from keras_bert.export.serving_layout import WARMUP_FILE
from keras_bert.models.embedder import embed_texts
from support.sentence_transformers_folders import write_sentence_transformers_folder
from support.serving_helpers import contract_texts, serve_in_fresh_process, strings

# Far beyond the byte budget (24 pieces × 801 bytes): cut in the graph, which must not change the embedding.
TEXTS = [*contract_texts(8), ("word " * 5000).encode("utf-8")]


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    work = tmp_path_factory.mktemp("embedder")
    folder = write_sentence_transformers_folder(work / "st")
    written = export_sentence_embedder(folder, work / "serving")
    return {"work": work, "folder": folder, "written": written}


@pytest.fixture(scope="module")
def fresh(exported) -> dict:
    work, directory = exported["work"], exported["written"]["embedder"]
    calls = [("embedder", "serving_default", {"text": strings(TEXTS)}),
             ("embedder", "serving_default", {"text": np.array([], dtype=object)})]
    return serve_in_fresh_process(work, {"embedder": directory}, calls)


def test_served_embeddings_equal_the_python_path(exported, fresh):
    embedder, preprocessor = load_embedder(exported["folder"])
    want = embed_texts(embedder, preprocessor, TEXTS)
    served = fresh["calls"][0]
    assert "error" not in served, served
    assert served["embeddings"].dtype == np.float32 and served["embeddings"].shape == (len(TEXTS), 32)
    np.testing.assert_allclose(served["embeddings"], want, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(served["embeddings"], axis=1), 1.0, atol=1e-5)  # Normalize module
    assert fresh["calls"][1]["embeddings"].shape == (0, 32)


def test_loads_without_keras_and_every_op_is_registered(fresh, exported):
    # (`keras` itself is there: tensorflow_text imports it for its own Keras layers.)
    assert [m for m in fresh["modules"] if m.split(".")[0] != "keras"] == []
    assert fresh["unregistered"] == {"embedder": []}
    assert fresh["signatures"]["embedder"] == {"serving_default": {
        "inputs": {"text": ("string", (None,))}, "outputs": {"embeddings": ("float32", (None, 32))}}}
    stored = fresh["stored"]["embedder"]
    assert stored["do_lower_case"] is True
    assert stored["vocab"] == (exported["folder"] / "vocab.txt").read_text(encoding="utf-8")


def test_serving_layout(exported):
    directory = exported["written"]["embedder"]
    assert directory.endswith(os.path.join("bert_embedder", "1"))
    assert os.path.isfile(os.path.join(directory, WARMUP_FILE))
    assert 'name: "bert_embedder"' in pathlib.Path(exported["written"]["models_config"]).read_text(encoding="utf-8")


def test_max_text_bytes_cuts_requests(exported, tmp_path):
    """A 1-byte budget keeps only each text's first character: "hello" is served as "h"."""
    embedder, preprocessor = load_embedder(exported["folder"])
    export_embedder(embedder, preprocessor, tmp_path / "cut", max_text_bytes=1)
    served = tf.saved_model.load(str(tmp_path / "cut")).signatures["serving_default"](text=tf.constant(["hello"]))
    np.testing.assert_allclose(served["embeddings"].numpy(), embed_texts(embedder, preprocessor, ["h"]), atol=1e-5)
