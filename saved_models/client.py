"""Client for the exported models on TensorFlow Serving, over REST (JSON) or gRPC.

    python -m saved_models.client --server=localhost:8501 --model_name=bert_classifier --text="a fine film"
    python -m saved_models.client --server=localhost:8500 --protocol=grpc --model_name=bert_classifier \\
        --signature_name=classify_pair --text="The cat sat." --text_b="A cat was sitting."
    python -m saved_models.client --model_name=bert_squad --question="Who sat?" --context="The cat sat."

REST predict API (TF Serving ≥ 2.12): POST http://HOST:8501/v1/models/NAME[/versions/V]:predict

Row ("instances") form — one object per example:
    request  {"signature_name": "serving_default", "instances": [{"text": "a fine film"}, {"text": "dull"}]}
    response {"predictions": [{"probabilities": [0.1, 0.9], "label": "1", "label_id": 1},
                              {"probabilities": [0.8, 0.2], "label": "0", "label_id": 0}]}
Columnar ("inputs") form — one list per input:
    request  {"signature_name": "serving_default", "inputs": {"text": ["a fine film", "dull"]}}
    response {"outputs": {"probabilities": [[0.1, 0.9], [0.8, 0.2]], "label": ["1", "0"], "label_id": [1, 0]}}
Strings that are not valid UTF-8 travel as {"b64": "<base64>"} (TF Serving decodes them to bytes). A batch of
0 must use the columnar form ({"inputs": {"text": []}}): the row form cannot express it.

Inputs and outputs of each export (see keras_bert.export.task_exports):
    bert_classifier  text | text_a, text_b → probabilities, label, label_id (regression: score)
    bert_squad       question, context → answer, start_char, end_char, score
    bert_tagger      text → tags, start_char, end_char, num_words
    *_preprocessing  text → input_word_ids, input_mask, input_type_ids
    *_encoder        input_word_ids, input_mask, input_type_ids → pooled_output, sequence_output,
                     encoder_outputs_<i>, default (signature `mlm`: + masked_lm_positions → + mlm_logits)
"""
from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

REST_PORT, GRPC_PORT = 8501, 8500


def _json_value(value: Any) -> Any:
    """A numpy/Python value as TF Serving's JSON: bytes → str (UTF-8) or {"b64": ...}; arrays → lists."""
    if isinstance(value, np.ndarray):
        return [_json_value(v) for v in value] if value.ndim else _json_value(value.item())
    if isinstance(value, (list, tuple)):
        return [_json_value(v) for v in value]
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return {"b64": base64.b64encode(value).decode("ascii")}
    if isinstance(value, np.generic):
        return value.item()
    return value


def _from_json_value(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"b64"}:
        return base64.b64decode(value["b64"])
    if isinstance(value, list):
        return [_from_json_value(v) for v in value]
    return value


def predict_request(inputs: Mapping[str, Sequence | np.ndarray], signature_name: str = "serving_default",
                    form: str = "instances") -> dict[str, Any]:
    """The REST predict body: `inputs` maps input names to batches (equal lengths); form "instances" or "inputs"."""
    columns = {name: _json_value(np.asarray(value, dtype=object) if not isinstance(value, np.ndarray) else value)
               for name, value in inputs.items()}
    if form == "inputs":
        return {"signature_name": signature_name, "inputs": columns}
    if form != "instances":
        raise ValueError(f"form must be 'instances' or 'inputs', got {form!r}")
    sizes = {name: len(column) for name, column in columns.items()}
    if len(set(sizes.values())) != 1 or 0 in sizes.values():
        raise ValueError(f"the row form needs non-empty inputs of one batch size, got sizes {sizes}; "
                         "use form='inputs' for an empty batch")
    batch = next(iter(sizes.values()))
    return {"signature_name": signature_name,
            "instances": [{name: column[i] for name, column in columns.items()} for i in range(batch)]}


def parse_predict_response(body: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """A REST predict response (either form) → {output name: numpy array}; strings come back as bytes."""
    if "error" in body:
        raise RuntimeError(f"TensorFlow Serving error: {body['error']}")
    if "outputs" in body:
        outputs = body["outputs"]
        columns = outputs if isinstance(outputs, dict) else {"output": outputs}
    elif "predictions" in body:
        rows = body["predictions"]
        if rows and isinstance(rows[0], dict):
            columns = {name: [row[name] for row in rows] for name in rows[0]}
        else:
            columns = {"output": rows}
    else:
        raise ValueError(f"not a predict response: keys {sorted(body)}")
    return {name: _to_array(_from_json_value(column)) for name, column in columns.items()}


def _to_array(values: Any) -> np.ndarray:
    array = np.asarray(values, dtype=object)
    flat = array.reshape(-1)
    if flat.size and all(isinstance(v, str) for v in flat):
        return np.vectorize(lambda s: s.encode("utf-8"), otypes=[object])(array)
    if flat.size and not any(isinstance(v, (str, bytes)) for v in flat):
        return np.asarray(values)
    return array


def rest_predict(server: str, model_name: str, inputs: Mapping[str, Sequence], signature_name: str = "serving_default",
                 form: str = "instances", version: int | None = None, timeout: float = 30.0) -> dict[str, np.ndarray]:
    """POSTs a predict request to `http://<server>/v1/models/<model_name>[/versions/<version>]:predict`."""
    path = f"/v1/models/{model_name}" + (f"/versions/{version}" if version is not None else "") + ":predict"
    url = server if server.startswith("http") else f"http://{server}"
    body = json.dumps(predict_request(inputs, signature_name, form)).encode("utf-8")
    request = urllib.request.Request(url.rstrip("/") + path, data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return parse_predict_response(json.loads(response.read()))
    except urllib.error.HTTPError as error:  # TF Serving puts {"error": ...} in the body of a 4xx/5xx
        raise RuntimeError(f"{url}{path}: HTTP {error.code}: {error.read().decode('utf-8', 'replace')}") from None
    except urllib.error.URLError as error:
        raise ConnectionError(f"cannot reach TensorFlow Serving at {url}{path}: {error.reason}") from None


def grpc_predict_request(model_name: str, inputs: Mapping[str, Sequence | np.ndarray],
                         signature_name: str = "serving_default", version: int | None = None):
    """A `tensorflow_serving.apis.predict_pb2.PredictRequest` for `inputs` (strings as bytes or str)."""
    import tensorflow as tf
    from tensorflow_serving.apis import predict_pb2

    request = predict_pb2.PredictRequest()
    request.model_spec.name = model_name
    request.model_spec.signature_name = signature_name
    if version is not None:
        request.model_spec.version.value = version
    for name, value in inputs.items():
        array = np.asarray(value)
        if array.dtype.kind in "UO":
            array = np.vectorize(lambda s: s.encode("utf-8") if isinstance(s, str) else s, otypes=[object])(array)
            request.inputs[name].CopyFrom(tf.make_tensor_proto(array, dtype=tf.string))
        else:
            request.inputs[name].CopyFrom(tf.make_tensor_proto(array))
    return request


def grpc_predict(server: str, model_name: str, inputs: Mapping[str, Sequence], signature_name: str = "serving_default",
                 version: int | None = None, timeout: float = 30.0) -> dict[str, np.ndarray]:
    """Calls `PredictionService.Predict` on `server` (host:port, TF Serving's gRPC port is 8500)."""
    import grpc
    import tensorflow as tf
    from tensorflow_serving.apis import prediction_service_pb2_grpc

    with grpc.insecure_channel(server) as channel:
        stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
        response = stub.Predict(grpc_predict_request(model_name, inputs, signature_name, version), timeout=timeout)
    return {name: tf.make_ndarray(proto) for name, proto in response.outputs.items()}


def send_request(text: list[str] | None = None, text_b: list[str] | None = None, question: list[str] | None = None,
                 context: list[str] | None = None, server: str | None = None, protocol: str = "rest",
                 model_name: str = "bert_classifier", signature_name: str = "serving_default",
                 version: int | None = None) -> dict[str, np.ndarray]:
    """The command line's request (arguments = its flags): `question` + `context` for SQuAD models, `text` +
    `text_b` for pairs, else `text`; prints the outputs as JSON and returns them."""
    if question or context:
        inputs = {"question": question or [], "context": context or []}
    elif text_b:
        inputs = {"text_a": text or [], "text_b": text_b}
    elif text:
        inputs = {"text": text}
    else:
        raise ValueError("pass --text (and --text_b), or --question and --context")
    if protocol == "rest":
        outputs = rest_predict(server or f"localhost:{REST_PORT}", model_name, inputs, signature_name, version=version)
    elif protocol == "grpc":
        outputs = grpc_predict(server or f"localhost:{GRPC_PORT}", model_name, inputs, signature_name, version=version)
    else:
        raise ValueError(f"--protocol must be 'rest' or 'grpc', got {protocol!r}")
    print(json.dumps({name: _json_value(value) for name, value in outputs.items()}, indent=2, ensure_ascii=False))
    return outputs


def _define_flags() -> None:
    from keras_bert import cli

    cli.define_flags(send_request, {
        "server": "host:port (default localhost:8501 for REST, localhost:8500 for gRPC).",
        "protocol": "REST (JSON) or gRPC.",
        "model_name": "Model name on the server.",
        "signature_name": "Signature to call.",
        "version": "Model version (default: the server's latest).",
        "text": "Input `text` (classifier, tagger, preprocessing); repeat for a batch.",
        "text_b": "With --text: `text_a`/`text_b` pairs (signature classify_pair).",
        "question": "SQuAD model: question(s).",
        "context": "SQuAD model: context(s).",
    }, enums={"protocol": ("rest", "grpc")})


def main() -> None:
    """`python -m saved_models.client`."""
    from keras_bert import cli

    cli.run_program(send_request, _define_flags)


if __name__ == "__main__":
    main()
