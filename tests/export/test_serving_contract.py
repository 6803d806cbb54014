"""The serving contract of every export (classifier, SQuAD, tagger, encoder with `.mlm`, preprocessing):

* written by `keras_bert.export.serving` (the classifier through the `saved_models.export` command line) in
  TF Serving's layout, with
  warm-up requests TF Serving can replay, a models.config, and no absolute path inside;
* loaded in a fresh process that imports only tensorflow and tensorflow_text, its signatures have the
  documented names, dtypes and shapes, and its outputs equal the in-process Keras models — on unicode, empty,
  far-too-long, non-UTF-8, batch-of-1, batch-of-64 and batch-of-0 inputs; SQuAD answers equal the reference
  pipeline (`keras_bert.data.squad.features` windowing and post-processing), tags equal `keras_bert.data.tagging.conll`;
* every op is registered by TF core or TF-Text; `saved_model_cli show --all` lists the signatures;
* TF Serving's REST JSON (row and columnar forms) and gRPC request protos round-trip through the signatures.
"""
from __future__ import annotations

import base64
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
from google.protobuf import text_format
from tensorflow_serving.config import model_server_config_pb2

import keras_bert
from keras_bert.data.squad import features as squad
from keras_bert.data.squad.examples import read_squad_examples
from keras_bert.data.squad.postprocess import RawResult, postprocess_predictions
from keras_bert.data.tagging import conll
from keras_bert.export.serving import export_finetuned, export_pretrained
from keras_bert.export.serving_layout import WARMUP_FILE, next_version
from keras_bert.tokenization.piece_tokenizer import PieceTokenizer
from keras_bert.tokenization.preprocessor import BertPreprocessor
from saved_models import client
from support import google_checkpoints
from support.serving_helpers import (
    SQUAD_SEQ_LENGTH,
    SQUAD_SETTINGS,
    TAGS,
    contract_texts,
    repo_root,
    serve_in_fresh_process,
    serving_config,
    strings,
    write_finetuned,
)

# Exports and a fresh interpreter: minutes on a CPU.
pytestmark = pytest.mark.slow

SEQ = 32
CLASS_LABELS = ["negative", "positive"]
# Every TF-Text op the exports use; all exist in TF-Text 2.12.1, which TF Serving 2.12–2.19 bundle.
TF_TEXT_OPS = {"FastBertNormalize", "FastWordpieceTokenizeWithOffsets", "TFText>WhitespaceTokenizeWithOffsetsV2"}


@pytest.fixture(scope="module")
def exported(tmp_path_factory, uncased_vocab):
    """Writes the fine-tuning folders and a Google checkpoint, and exports them all: the classifier through
    the command line (in a subprocess, while the others export here)."""
    work = tmp_path_factory.mktemp("serving_contract")
    base = work / "serving"
    models = {"classifier": write_finetuned(work / "clf", "classifier", uncased_vocab, seed=1, task_name="sst-2",
                                            labels=CLASS_LABELS, max_seq_length=SEQ)}
    command = subprocess.Popen(
        [sys.executable, "-m", "saved_models.export", f"--model_dir={work / 'clf'}", f"--export_base={base}",
         "--noexport_preprocessing"],
        cwd=repo_root(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    models["squad"] = write_finetuned(work / "squad", "squad", uncased_vocab, seed=2)
    models["tagger"] = write_finetuned(work / "tagger", "tagger", uncased_vocab, seed=3, max_seq_length=SEQ)
    for task in ("squad", "tagger"):
        export_finetuned(work / task, base, export_encoder=False, export_preprocessing_model=False)
    config = serving_config(len(uncased_vocab.read_text(encoding="utf-8").splitlines()))
    google_checkpoints.write_random_release(work / "google", config, seed=4)
    export_pretrained(work / "google" / "bert_config.json", work / "google" / "bert_model.ckpt",
                             uncased_vocab, True, base, max_seq_length=SEQ)
    models["pretrainer"] = keras_bert.BertPretrainer.from_google_checkpoint(work / "google" / "bert_model.ckpt",
                                                                            config=config)
    output, _ = command.communicate(timeout=300)
    assert command.returncode == 0, output[-3000:]
    dirs = {"classifier": base / "bert_classifier" / "1", "classifier_encoder": base / "bert_classifier_encoder" / "1",
            "squad": base / "bert_squad" / "1", "tagger": base / "bert_tagger" / "1",
            "encoder": base / "bert_encoder" / "1", "preprocessing": base / "bert_preprocessing" / "1"}
    return {"base": base, "dirs": dirs, "models": models, "work": work,
            "preprocessor": BertPreprocessor(uncased_vocab, True, SEQ)}


def _squad_inputs(shared_data) -> tuple[list[str], list[str]]:
    paragraphs = [p for p in (shared_data / "pretraining" / "sample_text.txt").read_text(encoding="utf-8").split("\n\n")
                  if p.strip()]
    contexts = [p.replace("\n", " ") for p in paragraphs]
    questions = ["What had ceased?", "Who awoke to a moral sense?", "what was recorded", "Where is the star?"]
    return [questions[i % len(questions)] for i in range(len(contexts))], contexts


def _encoder_ids(preprocessor, texts) -> dict[str, np.ndarray]:
    return {k: v.numpy() for k, v in preprocessor(tf.constant(texts)).items()}


@pytest.fixture(scope="module")
def calls(exported, shared_data):
    """(key, signature, inputs) triples run in the fresh process."""
    texts64 = strings(contract_texts(64))
    questions, contexts = _squad_inputs(shared_data)
    ids = _encoder_ids(exported["preprocessor"], contract_texts(8))
    positions = np.tile(np.array([[1, 2, 5]], np.int32), (8, 1))
    empty = strings([])
    return [
        ("classifier", "serving_default", {"text": texts64}),
        ("classifier", "serving_default", {"text": texts64[:1]}),
        ("classifier", "serving_default", {"text": empty}),
        ("classifier", "classify_pair", {"text_a": texts64, "text_b": texts64[::-1]}),
        ("classifier", "classify_pair", {"text_a": texts64[:2], "text_b": texts64[:1]}),
        ("classifier_encoder", "serving_default", ids),
        ("encoder", "serving_default", ids),
        ("encoder", "mlm", {**ids, "masked_lm_positions": positions}),
        ("encoder", "callable:__call__", ids),
        ("encoder", "callable:mlm", {**ids, "masked_lm_positions": positions}),
        ("preprocessing", "serving_default", {"text": texts64}),
        ("squad", "serving_default", {"question": strings(q.encode() for q in questions),
                                      "context": strings(c.encode() for c in contexts)}),
        ("squad", "serving_default", {"question": strings([b"what?", b"x", b"y"] * 2),
                                      "context": strings([b"", b"\xff\xfe", b"short context"] * 2)}),
        ("squad", "serving_default", {"question": empty, "context": empty}),
        ("squad", "serving_default", {"question": strings([b"a", b"b"]), "context": strings([b"c"])}),
        ("tagger", "serving_default", {"text": texts64}),
        ("tagger", "serving_default", {"text": empty}),
    ] + [(key, f"warmup:{request.model_spec.signature_name}",
          {name: tf.make_ndarray(proto) for name, proto in request.inputs.items()})
         for key, directory in exported["dirs"].items() for request in _warmup_requests(directory)]


@pytest.fixture(scope="module")
def fresh(exported, calls) -> dict:
    work = exported["work"]
    return serve_in_fresh_process(work, exported["dirs"], calls)


def _call(fresh, calls, key, signature, index=0):
    found = [r for (k, s, _), r in zip(calls, fresh["calls"]) if (k, s) == (key, signature)]
    return found[index]


# ------------------------------------------------------------------------------------------------ layout


def _warmup_requests(directory) -> list:
    from tensorflow_serving.apis import prediction_log_pb2

    records = tf.data.TFRecordDataset(str(directory / WARMUP_FILE)).as_numpy_iterator()
    return [prediction_log_pb2.PredictionLog.FromString(r).predict_log.request for r in records]


def test_layout_warmup_and_models_config(exported, fresh, calls):
    base = exported["base"]
    for key, directory in exported["dirs"].items():
        assert (directory / "saved_model.pb").is_file() and (directory / "variables").is_dir(), key
        assert [p.name for p in (directory / "assets").iterdir()] == ["vocab.txt"], key  # the vocabulary
        requests = _warmup_requests(directory)
        assert requests and {r.model_spec.name for r in requests} == {directory.parent.name}, key
        for request in requests:  # replayed in the fresh process, as TF Serving does when it loads the model
            signature = request.model_spec.signature_name
            assert set(request.inputs) == set(fresh["signatures"][key][signature]["inputs"]), key
            replay = [r for (k, s, _), r in zip(calls, fresh["calls"]) if (k, s) == (key, f"warmup:{signature}")]
            assert replay and "error" not in replay[0], (key, replay)
    config = (base / "models.config").read_text()
    for name in ("bert_classifier", "bert_classifier_encoder", "bert_squad",
                 "bert_tagger", "bert_encoder", "bert_preprocessing"):
        assert f'name: "{name}"\n    base_path: "/models/{name}"' in config
    assert not [p for p in base.rglob("*") if p.name.startswith(".writing")]
    parsed = model_server_config_pb2.ModelServerConfig()
    text_format.Parse(config, parsed)  # what tensorflow_model_server does with --model_config_file
    assert {c.name for c in parsed.model_config_list.config} == {d.parent.name for d in exported["dirs"].values()}


def test_no_absolute_path_inside_any_export(exported, uncased_vocab):
    # (keras_bert_export_: the vocabulary's staging folder.)
    forbidden = [os.fspath(exported["work"]).encode(), os.fspath(uncased_vocab).encode(),
                 os.fspath(repo_root()).encode(), b"keras_bert_export_"]
    for directory in exported["dirs"].values():
        for path in directory.rglob("*"):
            if path.is_file():
                content = path.read_bytes()
                assert not [f for f in forbidden if f in content], path


def test_next_version_and_existing_version(exported):
    base = exported["base"]
    assert next_version(base / "bert_squad") == 2
    with pytest.raises(FileExistsError, match="bert_squad/1 already exists"):
        export_finetuned(exported["work"] / "squad", base, version=1, export_encoder=False,
                         export_preprocessing_model=False)


# ------------------------------------------------------------------------------------------ fresh process


def test_fresh_process_imports_only_tensorflow_and_tf_text(fresh):
    # (`keras` itself is there: tensorflow_text imports it for its own Keras layers.)
    assert [m for m in fresh["modules"] if m.split(".")[0] != "keras"] == []


def test_every_op_is_registered_by_tf_core_or_tf_text(fresh):
    for key, unregistered in fresh["unregistered"].items():
        assert unregistered == [], key
        assert set(fresh["not_in_core"][key]) <= TF_TEXT_OPS, key
        assert "RoundRobinTrim" not in fresh["ops"][key]
    assert fresh["not_in_core"]["tagger"] == sorted(TF_TEXT_OPS)


def test_signatures_have_documented_names_dtypes_and_shapes(fresh):
    s = fresh["signatures"]
    text = {"text": ("string", (None,))}
    assert s["classifier"]["serving_default"] == {"inputs": text, "outputs": {
        "probabilities": ("float32", (None, 2)), "label": ("string", (None,)), "label_id": ("int32", (None,))}}
    assert s["classifier"]["classify_pair"]["inputs"] == {"text_a": ("string", (None,)), "text_b": ("string", (None,))}
    assert s["squad"]["serving_default"] == {
        "inputs": {"question": ("string", (None,)), "context": ("string", (None,))},
        "outputs": {"answer": ("string", (None,)), "start_char": ("int64", (None,)), "end_char": ("int64", (None,)),
                    "score": ("float32", (None,))}}
    assert s["tagger"]["serving_default"] == {"inputs": text, "outputs": {
        "tags": ("string", (None, None)), "start_char": ("int64", (None, None)), "end_char": ("int64", (None, None)),
        "num_words": ("int32", (None,))}}
    ids = {n: ("int32", (None, None)) for n in ("input_word_ids", "input_mask", "input_type_ids")}
    encoder_outputs = {"pooled_output": ("float32", (None, 32)), "default": ("float32", (None, 32)),
                       "sequence_output": ("float32", (None, None, 32)),
                       "encoder_outputs_0": ("float32", (None, None, 32)),
                       "encoder_outputs_1": ("float32", (None, None, 32))}
    assert s["encoder"]["serving_default"] == {"inputs": ids, "outputs": encoder_outputs}
    assert s["encoder"]["mlm"] == {"inputs": {**ids, "masked_lm_positions": ("int32", (None, None))},
                                   "outputs": {**encoder_outputs, "mlm_logits": ("float32", (None, None, 30522))}}
    assert list(s["classifier_encoder"]) == ["serving_default"]  # a fine-tuned encoder has no MLM head
    assert s["preprocessing"]["serving_default"]["inputs"] == text


def _softmax(logits: np.ndarray) -> np.ndarray:
    exp = np.exp(logits - logits.max(-1, keepdims=True))
    return exp / exp.sum(-1, keepdims=True)


def test_classifier_equals_keras_model(exported, fresh, calls):
    model, preprocessor = exported["models"]["classifier"], exported["preprocessor"]
    texts = contract_texts(64)
    expected = _softmax(model(preprocessor(tf.constant(texts)))["logits"].numpy())
    for index, size in enumerate((64, 1)):
        got = _call(fresh, calls, "classifier", "serving_default", index)
        np.testing.assert_allclose(got["probabilities"], expected[:size], atol=1e-5)
        assert got["label"].tolist() == [CLASS_LABELS[i].encode() for i in expected[:size].argmax(-1)]
        assert got["label_id"].tolist() == expected[:size].argmax(-1).tolist()
    assert expected[:, 1].std() > 1e-3  # the inputs are told apart, so equality means something
    pair = _softmax(model(preprocessor([tf.constant(texts), tf.constant(texts[::-1])]))["logits"].numpy())
    np.testing.assert_allclose(_call(fresh, calls, "classifier", "classify_pair")["probabilities"], pair, atol=1e-5)


def test_batch_of_zero_and_mismatched_batches(fresh, calls):
    empty = _call(fresh, calls, "classifier", "serving_default", 2)
    assert empty["probabilities"].shape == (0, 2) and empty["label"].shape == (0,)
    mismatch = _call(fresh, calls, "classifier", "classify_pair", 1)
    assert mismatch["error"][0] == "InvalidArgumentError"
    assert "`text_a` and `text_b` must have the same batch size" in mismatch["error"][1]
    squad_mismatch = _call(fresh, calls, "squad", "serving_default", 3)
    assert "`question` and `context` must have the same batch size" in squad_mismatch["error"][1]
    assert _call(fresh, calls, "squad", "serving_default", 2)["answer"].shape == (0,)
    assert _call(fresh, calls, "tagger", "serving_default", 1)["tags"].shape == (0, 0)


def test_encoders_equal_keras_models(exported, fresh, calls):
    ids = _encoder_ids(exported["preprocessor"], contract_texts(8))
    positions = np.tile(np.array([[1, 2, 5]], np.int32), (8, 1))
    pretrainer = exported["models"]["pretrainer"]
    expected = pretrainer({**ids, "masked_lm_positions": positions})
    encoder_outputs = pretrainer.encoder(ids)["encoder_outputs"]
    for signature in ("serving_default", "mlm", "callable:__call__", "callable:mlm"):
        got = _call(fresh, calls, "encoder", signature)
        np.testing.assert_allclose(got["pooled_output"], expected["pooled_output"], atol=1e-5)
        np.testing.assert_allclose(got["default"], expected["pooled_output"], atol=1e-5)
        np.testing.assert_allclose(got["sequence_output"], expected["sequence_output"], atol=1e-5)
        np.testing.assert_allclose(got["encoder_outputs_0"], encoder_outputs[0], atol=1e-5)
    for signature in ("mlm", "callable:mlm"):
        np.testing.assert_allclose(_call(fresh, calls, "encoder", signature)["mlm_logits"], expected["mlm_logits"],
                                   atol=1e-4)
    fine_tuned = exported["models"]["classifier"].encoder(ids)
    np.testing.assert_allclose(_call(fresh, calls, "classifier_encoder", "serving_default")["sequence_output"],
                               fine_tuned["sequence_output"], atol=1e-5)


def test_preprocessing_equals_in_process_preprocessor(exported, fresh, calls):
    expected = _encoder_ids(exported["preprocessor"], contract_texts(64))
    got = _call(fresh, calls, "preprocessing", "serving_default")
    for name, value in expected.items():
        np.testing.assert_array_equal(got[name], value)
    assert expected["input_mask"][3].sum() == SEQ  # the long text fills the sequence: truncated
    assert expected["input_mask"][2].sum() == 2  # the empty text is [CLS] [SEP]


def test_squad_equals_reference_windowing_and_postprocessing(exported, fresh, calls, shared_data, uncased_vocab):
    questions, contexts = _squad_inputs(shared_data)
    data = {"data": [{"paragraphs": [{"context": c, "qas": [{"id": str(i), "question": q}]}]}
                     for i, (q, c) in enumerate(zip(questions, contexts))]}
    path = exported["work"] / "squad.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    examples = read_squad_examples(path, is_training=False)
    tokenizer = PieceTokenizer(uncased_vocab, True)
    features = squad.convert_examples_to_features(
        examples, tokenizer, SQUAD_SEQ_LENGTH, SQUAD_SETTINGS.doc_stride, SQUAD_SETTINGS.max_query_length,
        is_training=False)
    assert len(features) > 2 * len(examples)  # long contexts: several windows each
    outputs = exported["models"]["squad"]({
        "input_word_ids": np.stack([f.input_word_ids for f in features]).astype(np.int32),
        "input_mask": np.stack([f.input_mask for f in features]).astype(np.int32),
        "input_type_ids": np.stack([f.input_type_ids for f in features]).astype(np.int32)})
    results = [RawResult(f.unique_id, s, e) for f, s, e in
               zip(features, outputs["start_logits"].numpy(), outputs["end_logits"].numpy())]
    predictions, nbest, _ = postprocess_predictions(
        examples, features, results, tokenizer, n_best_size=20, max_answer_length=SQUAD_SETTINGS.max_answer_length)
    got = _call(fresh, calls, "squad", "serving_default")
    for i, context in enumerate(contexts):
        assert got["answer"][i].decode() == predictions[str(i)], i
        best = nbest[str(i)][0]
        assert got["score"][i] == pytest.approx(best["start_logit"] + best["end_logit"], abs=1e-4)
        start, end = got["start_char"][i], got["end_char"][i]
        assert context[start:end] == predictions[str(i)]
    edge = _call(fresh, calls, "squad", "serving_default", 1)
    # Empty context: no span ("" where the reference prints its nonce "empty"); invalid bytes: dropped.
    assert edge["answer"][0] == b"" and edge["start_char"][0] == -1 and edge["score"][0] == np.finfo(np.float32).min
    assert edge["answer"][1] == b"" and edge["start_char"][1] == -1
    assert edge["answer"][2] in (b"", b"short", b"context", b"short context")


def test_tagger_equals_conll_first_piece_tagging(exported, fresh, calls, uncased_vocab):
    texts = [t.decode("utf-8") for t in contract_texts(64)[:8] if b"\xff" not in t]
    sentences = [conll.TaggedSentence(tuple(t.split()), ("O",) * len(t.split()), "", ()) for t in texts]
    features = conll.convert_sentences_to_features(sentences, PieceTokenizer(uncased_vocab, True), TAGS, SEQ)
    logits = exported["models"]["tagger"]({name: np.stack([getattr(f, name) for f in features]).astype(np.int32)
                                           for name in ("input_word_ids", "input_mask", "input_type_ids")})
    logits = logits["logits"].numpy()
    expected = conll.predicted_labels(sentences, features, logits.argmax(-1), TAGS)
    got = _call(fresh, calls, "tagger", "serving_default")
    rows = [i for i, t in enumerate(contract_texts(64)[:8]) if b"\xff" not in t]
    for row, text, tags in zip(rows, texts, expected):
        n = got["num_words"][row]
        assert [t.decode() for t in got["tags"][row][:n]] == tags
        assert [text[s:e] for s, e in zip(got["start_char"][row][:n], got["end_char"][row][:n])] == text.split()
        assert (got["tags"][row][n:] == b"").all() and (got["start_char"][row][n:] == -1).all()
    assert "O" in expected[rows.index(3)][-5:]  # the 400-word text: words past seq_length are tagged "O"
    assert len({t for tags in expected for t in tags}) > 1


# ------------------------------------------------------------------------------------ tools and protocols


def test_saved_model_cli_lists_signatures(exported):
    cli = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")
    run = subprocess.run([cli, "show", "--all", "--dir", str(exported["dirs"]["classifier"])],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    for line in ("signature_def['serving_default']", "signature_def['classify_pair']", "inputs['text'] tensor_info",
                 "outputs['probabilities'] tensor_info", "outputs['label'] tensor_info"):
        assert line in run.stdout


def _serving_json_to_tensors(body: dict, signature) -> dict[str, tf.Tensor]:
    """What TF Serving's json_tensor.cc does with a predict body: rows (`instances`) are stacked per input,
    columns (`inputs`) taken as they are; {"b64": ...} becomes bytes; dtypes come from the signature."""
    def decode(value):
        if isinstance(value, dict):
            return base64.b64decode(value["b64"])
        if isinstance(value, list):
            return [decode(v) for v in value]
        return value.encode("utf-8") if isinstance(value, str) else value

    specs = signature.structured_input_signature[1]
    if "instances" in body:
        columns = {name: [decode(row[name]) for row in body["instances"]] for name in specs}
    else:
        columns = {name: decode(value) for name, value in body["inputs"].items()}
    return {name: tf.constant(columns[name], dtype=specs[name].dtype) for name in specs}


def _serving_json_response(outputs: dict[str, tf.Tensor], form: str) -> dict:
    """TF Serving's response JSON: `predictions` (one object per example) or `outputs` (one list per output);
    strings are written as JSON strings."""
    def plain(value):
        if isinstance(value, bytes):
            return value.decode("utf-8")
        return [plain(v) for v in value] if isinstance(value, list) else value

    columns = {name: plain(value.numpy().tolist()) for name, value in outputs.items()}
    if form == "inputs":
        return {"outputs": columns}
    batch = len(next(iter(columns.values())))
    return {"predictions": [{name: column[i] for name, column in columns.items()} for i in range(batch)]}


@pytest.fixture(scope="module")
def loaded(exported) -> dict:
    """The exports loaded in this process, once each."""
    return {key: tf.saved_model.load(str(exported["dirs"][key])) for key in ("classifier", "squad", "tagger")}


@pytest.mark.parametrize("form", ["instances", "inputs"])
def test_rest_json_round_trips_through_the_signatures(loaded, form):
    texts = contract_texts(8)
    cases = [("classifier", "serving_default", {"text": texts}),
             ("classifier", "classify_pair", {"text_a": texts, "text_b": texts[::-1]}),
             ("squad", "serving_default", {"question": [b"who?"] * 8, "context": texts}),
             ("tagger", "serving_default", {"text": texts})]
    for key, signature_name, inputs in cases:
        signature = loaded[key].signatures[signature_name]
        body = json.loads(json.dumps(client.predict_request(inputs, signature_name, form)))
        assert body["signature_name"] == signature_name and form in body
        if form == "instances":
            texts_input = next(name for name in ("text", "text_a", "context") if name in inputs)
            assert body["instances"][4][texts_input] == {
                "b64": base64.b64encode(texts[4]).decode()}  # not UTF-8: base64
        response = json.loads(json.dumps(_serving_json_response(signature(**_serving_json_to_tensors(body, signature)),
                                                                form)))
        parsed = client.parse_predict_response(response)
        direct = signature(**{k: tf.constant(v) for k, v in inputs.items()})
        assert set(parsed) == set(direct)
        for name, value in direct.items():
            if value.dtype == tf.string:
                assert parsed[name].tolist() == value.numpy().tolist(), name
            else:
                np.testing.assert_allclose(parsed[name], value.numpy(), rtol=1e-6, err_msg=name)


def test_empty_batch_needs_the_columnar_form():
    assert client.predict_request({"text": []}, form="inputs")["inputs"] == {"text": []}
    with pytest.raises(ValueError, match="use form='inputs' for an empty batch"):
        client.predict_request({"text": []}, form="instances")


def test_grpc_request_round_trips_through_the_signature(loaded):
    signature = loaded["classifier"].signatures["classify_pair"]
    texts = contract_texts(4)
    request = client.grpc_predict_request("bert_classifier", {"text_a": texts, "text_b": ["x", "y", "z", "w"]},
                                          "classify_pair", version=1)
    assert (request.model_spec.name, request.model_spec.signature_name, request.model_spec.version.value) == (
        "bert_classifier", "classify_pair", 1)
    got = signature(**{k: tf.make_ndarray(v) for k, v in request.inputs.items()})
    direct = signature(text_a=tf.constant(texts), text_b=tf.constant([b"x", b"y", b"z", b"w"]))
    np.testing.assert_array_equal(got["probabilities"].numpy(), direct["probabilities"].numpy())


def test_rest_client_against_a_predict_endpoint(loaded):
    """`client.rest_predict` over HTTP against an endpoint answering as TF Serving's REST API does (JSON in the
    two forms above; an InvalidArgument error becomes HTTP 400 with {"error": message})."""
    import http.server
    import threading

    class PredictHandler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802  (the http.server API)
            name = self.path.removeprefix("/v1/models/").removesuffix(":predict").split("/versions/")[0]
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            signature = loaded[name.removeprefix("bert_")].signatures[body["signature_name"]]
            try:
                outputs = signature(**_serving_json_to_tensors(body, signature))
                status, answer = 200, _serving_json_response(outputs, "inputs" if "inputs" in body else "instances")
            except tf.errors.InvalidArgumentError as error:
                status, answer = 400, {"error": error.message}
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), PredictHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        address = f"127.0.0.1:{server.server_address[1]}"
        texts = contract_texts(3)
        got = client.rest_predict(address, "bert_classifier", {"text_a": texts, "text_b": texts[::-1]},
                                  "classify_pair", version=1)
        direct = loaded["classifier"].signatures["classify_pair"](text_a=tf.constant(texts),
                                                                  text_b=tf.constant(texts[::-1]))
        np.testing.assert_allclose(got["probabilities"], direct["probabilities"].numpy(), rtol=1e-6)
        assert got["label"].tolist() == direct["label"].numpy().tolist()
        with pytest.raises(RuntimeError, match="HTTP 400.*`text_a` and `text_b` must have the same batch size"):
            client.rest_predict(address, "bert_classifier", {"text_a": texts, "text_b": texts[:1]}, "classify_pair",
                                form="inputs")
    finally:
        server.shutdown()
        server.server_close()


def test_vocabulary_and_lower_case_are_stored_with_every_export(fresh, uncased_vocab):
    vocab = uncased_vocab.read_text(encoding="utf-8")
    for key, stored in fresh["stored"].items():
        assert stored["do_lower_case"] is True and stored["vocab"] == vocab, key
