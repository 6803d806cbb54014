"""The preprocessing SavedModel (TF Hub preprocessing API): loaded in a fresh process that imports only
tensorflow and tensorflow_text, it equals the in-process layers on every entry point, works in
tf.data.Dataset.map, stores its vocabulary as an asset with no absolute paths, and uses only ops
registered by TF core or TF-Text."""
import base64
import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import tensorflow as tf

from keras_bert.export.preprocessing import export_preprocessing
from keras_bert.tokenization.preprocessor import BertPreprocessor
from support.corpora import adversarial_corpus, chinese_corpus, ragged_lists

# An export and a fresh interpreter: about a minute on a CPU.
pytestmark = pytest.mark.slow

FRESH_PROCESS = textwrap.dedent("""
    import base64, json, sys
    import tensorflow as tf
    from tensorflow.core.protobuf import saved_model_pb2
    from tensorflow.python.framework import op_def_registry

    export_dir, texts_file, out_file = sys.argv[1:]
    saved_model = saved_model_pb2.SavedModel()
    with open(export_dir + "/saved_model.pb", "rb") as f:
        saved_model.ParseFromString(f.read())
    graph_def = saved_model.meta_graphs[0].graph_def
    functions = {f.signature.name for f in graph_def.library.function}
    ops = {n.op for n in graph_def.node} | {n.op for f in graph_def.library.function for n in f.node_def}
    ops -= functions
    not_in_core = sorted(op for op in ops if op_def_registry.get(op) is None)
    import tensorflow_text  # noqa: F401  Registers TF-Text's ops.
    unregistered = sorted(op for op in ops if op_def_registry.get(op) is None)

    with open(texts_file) as f:
        texts = tf.constant([base64.b64decode(t) for t in json.load(f)])
    model = tf.saved_model.load(export_dir)

    def lists(d):
        return {k: v.numpy().tolist() for k, v in d.items()}

    def ragged_lists(ragged):
        values = ragged.flat_values.numpy().tolist()
        for splits in reversed(ragged.nested_row_splits):
            bounds = splits.numpy().tolist()
            values = [values[b:e] for b, e in zip(bounds[:-1], bounds[1:])]
        return values

    tokens = model.tokenize(texts)
    ids, begins, ends = model.tokenize_with_offsets(texts)
    pieces = tokens.merge_dims(1, 2)
    packed = {}
    for name, segments in {"1seg_rank2": [tokens], "1seg_rank1": [pieces], "2seg_rank2": [tokens, tokens[::-1]],
                           "2seg_rank1": [pieces, pieces[::-1]]}.items():
        packed[name + "_default"] = lists(model.bert_pack_inputs(segments))
        packed[name + "_20"] = lists(model.bert_pack_inputs(segments, seq_length=20))
    dataset = tf.data.Dataset.from_tensor_slices(texts).batch(100).map(
        lambda t: model.bert_pack_inputs([model.tokenize(t), model.tokenize(t)], seq_length=48))
    mapped = [lists(batch) for batch in dataset]
    result = {
        "modules": sorted(m for m in sys.modules if m.split(".")[0] in ("keras_bert", "official", "tf_keras")),
        "ops": sorted(ops), "not_in_core": not_in_core, "unregistered": unregistered,
        "root": lists(model(texts)),
        "serving_default": lists(model.signatures["serving_default"](text=texts)),
        "tokenize": ragged_lists(tokens),
        "offsets": [ragged_lists(ids), ragged_lists(begins), ragged_lists(ends)],
        "packed": packed,
        "dataset_map": {k: sum((b[k] for b in mapped), []) for k in mapped[0]},
        "special": {k: int(v) for k, v in model.tokenize.get_special_tokens_dict().items()},
        "do_lower_case": bool(model.do_lower_case.numpy()),
        "vocab_asset": model.vocab_file.asset_path.numpy().decode(),
    }
    with open(out_file, "w") as f:
        json.dump(result, f)
""")


@pytest.fixture(scope="module")
def texts(shared_data, chinese_vocab) -> list[bytes]:
    lines = (shared_data / "glue" / "SST-2" / "dev.tsv").read_text(encoding="utf-8").splitlines()[1:301]
    return ([line.split("\t")[1].encode() for line in lines] + adversarial_corpus(count=300, seed=3)
            + [line.encode() for line in chinese_corpus(chinese_vocab, count=50)] + [b"", b"\xff", b"x" * 300])


@pytest.fixture(scope="module")
def preprocessor(uncased_vocab) -> BertPreprocessor:
    return BertPreprocessor(uncased_vocab, True)


@pytest.fixture(scope="module")
def export_dir(tmp_path_factory, preprocessor):
    path = tmp_path_factory.mktemp("preprocessing_export") / "bert_preprocess"
    export_preprocessing(preprocessor, path)
    return path


@pytest.fixture(scope="module")
def fresh(export_dir, texts, tmp_path_factory) -> dict:
    work = tmp_path_factory.mktemp("fresh_process")
    (work / "texts.json").write_text(json.dumps([base64.b64encode(t).decode() for t in texts]))
    (work / "load.py").write_text(FRESH_PROCESS)
    run = subprocess.run([sys.executable, str(work / "load.py"), str(export_dir), str(work / "texts.json"),
                          str(work / "out.json")], cwd=work, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads((work / "out.json").read_text())


def _lists(outputs: dict) -> dict:
    return {k: v.numpy().tolist() for k, v in outputs.items()}


def test_fresh_process_imports_only_tensorflow_and_tf_text(fresh):
    assert fresh["modules"] == []


def test_every_op_is_registered_by_tf_core_or_tf_text(fresh):
    assert fresh["unregistered"] == []
    # The only TF-Text ops (both in TF-Text >= 2.12): the fast path's fused normalizer, and WordPiece.
    assert fresh["not_in_core"] == ["FastBertNormalize", "FastWordpieceTokenizeWithOffsets"]
    assert "RoundRobinTrim" not in fresh["ops"] and "UnicodeDecodeWithOffsets" in fresh["ops"]


def test_root_and_serving_signature_equal_in_process_preprocessor(fresh, preprocessor, texts):
    expected = _lists(preprocessor(tf.constant(texts)))
    assert fresh["root"] == expected
    assert fresh["serving_default"] == expected
    assert np.array(expected["input_word_ids"]).shape == (len(texts), 128)


def test_tokenize_and_offsets_equal_in_process_tokenizer(fresh, preprocessor, texts):
    tokenizer = preprocessor.tokenizer
    assert fresh["tokenize"] == ragged_lists(tokenizer(tf.constant(texts)))
    assert fresh["offsets"] == [ragged_lists(x) for x in tokenizer.tokenize_with_offsets(tf.constant(texts))]
    assert fresh["special"] == tokenizer.get_special_tokens_dict()


def test_bert_pack_inputs_one_or_two_segments_of_ragged_rank_one_or_two(fresh, preprocessor, texts):
    tokens = preprocessor.tokenizer(tf.constant(texts))
    pieces = tokens.merge_dims(1, 2)
    segments = {"1seg_rank2": [tokens], "1seg_rank1": [pieces], "2seg_rank2": [tokens, tokens[::-1]],
                "2seg_rank1": [pieces, pieces[::-1]]}
    for name, inputs in segments.items():
        assert fresh["packed"][name + "_default"] == _lists(preprocessor.packer(inputs)), name
        assert fresh["packed"][name + "_20"] == _lists(preprocessor.packer(inputs, seq_length=20)), name
        assert np.array(fresh["packed"][name + "_20"]["input_mask"]).shape == (len(texts), 20)


def test_works_inside_dataset_map(fresh, preprocessor, texts):
    tokens = preprocessor.tokenizer(tf.constant(texts))
    assert fresh["dataset_map"] == _lists(preprocessor.packer([tokens, tokens], seq_length=48))


def test_vocab_is_an_asset_and_no_absolute_path_is_stored(fresh, export_dir, uncased_vocab):
    assets = list((export_dir / "assets").iterdir())
    assert [(a.name, a.read_bytes()) for a in assets] == [("vocab.txt", uncased_vocab.read_bytes())]
    assert fresh["vocab_asset"] == str(export_dir / "assets" / "vocab.txt")
    graph = (export_dir / "saved_model.pb").read_bytes()
    # (keras_bert_export_: the vocabulary's staging folder.)
    for absolute in (str(export_dir), str(export_dir.parent.parent), str(uncased_vocab.parent), "/work/",
                     "keras_bert_export_"):
        assert absolute.encode() not in graph, absolute
    assert fresh["do_lower_case"] is True


def test_do_lower_case_recorded_for_cased_export(tmp_path, uncased_vocab):
    export_preprocessing(BertPreprocessor(uncased_vocab, False, seq_length=16), tmp_path / "cased")
    loaded = tf.saved_model.load(str(tmp_path / "cased"))
    assert bool(loaded.do_lower_case.numpy()) is False
    # No "Hello" in the uncased vocab.
    assert loaded(tf.constant(["Hello"]))["input_word_ids"].numpy().tolist()[0][:3] == [101, 100, 102]
    assert loaded(tf.constant(["Hello"]))["input_word_ids"].shape == (1, 16)


def test_char_tables_are_stored_once(export_dir):
    """The character tables (~0.7 MB) and the fast path's WordPiece model and normalizer (~2 MB) are captured once,
    not copied into each of the 4 tokenizing functions."""
    assert (export_dir / "saved_model.pb").stat().st_size < 7_000_000
