"""Run by the serving tests in a fresh interpreter that imports only tensorflow and tensorflow_text: lists the
ops of each SavedModel (before and after importing tensorflow_text), loads it, describes its signatures and
calls them. argv: job.pkl result.pkl.

job: {"exports": {key: directory}, "calls": [(key, signature name, {input name: numpy array})]}.
result: {"modules": [keras/keras_bert/... modules imported], "ops": {key: sorted ops},
"not_in_core": {key: ops unregistered before tensorflow_text}, "unregistered": {key: ops unregistered after},
"signatures": {key: {name: {"inputs": {n: (dtype, shape)}, "outputs": {n: (dtype, shape)}}}},
"calls": [{output: numpy array} or {"error": (exception type, message)}], "stored": {key: {"do_lower_case",
"vocab" (the asset's text)}}}. A signature name "callable:__call__" or "callable:mlm" calls the root object or
its `.mlm` instead (TF Hub's Python API); "warmup:<name>" replays a warm-up request through signature <name>.
"""
import pathlib
import pickle
import sys

import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2
from tensorflow.python.framework import op_def_registry


def graph_ops(export_dir: str) -> set:
    saved_model = saved_model_pb2.SavedModel()
    with open(export_dir + "/saved_model.pb", "rb") as f:
        saved_model.ParseFromString(f.read())
    ops = set()
    for meta_graph in saved_model.meta_graphs:
        graph_def = meta_graph.graph_def
        functions = {f.signature.name for f in graph_def.library.function}
        ops |= {n.op for n in graph_def.node} | {n.op for f in graph_def.library.function for n in f.node_def}
        ops -= functions
    return ops


def spec(tensor_spec) -> tuple:
    return tensor_spec.dtype.name, tuple(tensor_spec.shape.as_list())


def main() -> None:
    job_file, result_file = sys.argv[1:]
    with open(job_file, "rb") as f:
        job = pickle.load(f)
    ops = {key: graph_ops(d) for key, d in job["exports"].items()}
    not_in_core = {key: sorted(op for op in o if op_def_registry.get(op) is None) for key, o in ops.items()}
    import tensorflow_text  # noqa: F401  Registers TF-Text's ops, as TensorFlow Serving's build does.

    unregistered = {key: sorted(op for op in o if op_def_registry.get(op) is None) for key, o in ops.items()}
    loaded = {key: tf.saved_model.load(d) for key, d in job["exports"].items()}
    signatures = {
        key: {name: {"inputs": {n: spec(s) for n, s in fn.structured_input_signature[1].items()},
                     "outputs": {n: spec(s) for n, s in fn.structured_outputs.items()}}
              for name, fn in model.signatures.items()}
        for key, model in loaded.items()}
    calls = []
    for key, signature, inputs in job["calls"]:
        try:
            if signature.startswith("callable:"):  # the TF Hub-style Python API: model(inputs), model.mlm(inputs)
                path = signature.removeprefix("callable:")
                function = loaded[key] if path == "__call__" else getattr(loaded[key], path)
                outputs = function({k: tf.constant(v) for k, v in inputs.items()})
                outputs.update({f"encoder_outputs_{i}": v for i, v in enumerate(outputs.pop("encoder_outputs"))})
            else:
                name = signature.removeprefix("warmup:")  # a warm-up request replayed
                outputs = loaded[key].signatures[name](**{k: tf.constant(v) for k, v in inputs.items()})
            calls.append({k: v.numpy() for k, v in outputs.items()})
        except Exception as error:  # noqa: BLE001  Reported to the test, which says what it expects.
            calls.append({"error": (type(error).__name__, str(error))})
    result = {
        "modules": sorted(m for m in sys.modules if m.split(".")[0] in ("keras", "keras_bert", "tf_keras", "official",
                                                                         "saved_models")),
        "ops": {key: sorted(o) for key, o in ops.items()}, "not_in_core": not_in_core, "unregistered": unregistered,
        "signatures": signatures, "calls": calls,
        "stored": {key: {"do_lower_case": bool(model.do_lower_case.numpy()),
                         "vocab": pathlib.Path(model.vocab_file.asset_path.numpy().decode()).read_text("utf-8")}
                   for key, model in loaded.items()},
    }
    with open(result_file, "wb") as f:
        pickle.dump(result, f)


if __name__ == "__main__":
    main()
