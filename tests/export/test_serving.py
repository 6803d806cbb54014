"""The TF Serving side without the full contract run: what `keras_bert.export.serving` reads from a fine-tuning
folder (the `TaskInfo` that `save_task_outputs` writes), the versioned layout and models.config of
`keras_bert.export.serving_layout`, and the REST client's JSON."""
import json

import numpy as np
import pytest
import tensorflow as tf
from google.protobuf import text_format
from tensorflow_serving.config import model_server_config_pb2

from keras_bert.export.serving import export_finetuned, load_task_model
from keras_bert.export.serving_layout import MODELS_CONFIG, next_version, write_models_config, write_version
from keras_bert.training.outputs import SquadSettings, TaskInfo
from saved_models import client
from support.serving_helpers import TAGS, repo_root, write_finetuned


def _parse_models_config(text: str) -> list[tuple[str, str, str]]:
    parsed = model_server_config_pb2.ModelServerConfig()
    text_format.Parse(text, parsed)  # what tensorflow_model_server does with --model_config_file
    return [(c.name, c.base_path, c.model_platform) for c in parsed.model_config_list.config]


def test_task_info_written_by_save_task_outputs_reads_back(tmp_path, uncased_vocab):
    write_finetuned(tmp_path / "clf", "classifier", uncased_vocab, labels=["0", "1"], task_name="mrpc",
                    pair_input=True)
    write_finetuned(tmp_path / "squad", "squad", uncased_vocab)
    write_finetuned(tmp_path / "tagger", "tagger", uncased_vocab)
    assert TaskInfo.read(tmp_path / "clf") == TaskInfo("classifier", "mrpc", True, 32, ["0", "1"], pair_input=True)
    assert TaskInfo.read(tmp_path / "squad") == TaskInfo(
        "squad", "squad", True, 64, squad=SquadSettings(doc_stride=16, max_query_length=12, max_answer_length=8))
    assert TaskInfo.read(tmp_path / "tagger") == TaskInfo("tagger", "tagger", True, 32, TAGS)
    written = json.loads((tmp_path / "squad" / "task_info.json").read_text(encoding="utf-8"))
    assert set(written) == {"task", "task_name", "do_lower_case", "max_seq_length", "labels", "is_regression",
                            "pair_input", "squad"}
    assert written["squad"] == {"doc_stride": 16, "max_query_length": 12, "max_answer_length": 8, "n_best_size": 20,
                                "version_2_with_negative": False, "null_score_diff_threshold": 0.0}


def test_export_reads_the_fine_tuning_contract(tmp_path, uncased_vocab):
    with pytest.raises(FileNotFoundError, match="task_info.json not found: expected a fine-tuning --output_dir"):
        export_finetuned(tmp_path, tmp_path / "serving")
    trained = write_finetuned(tmp_path / "clf", "classifier", uncased_vocab, labels=["0", "1"], task_name="mrpc",
                              pair_input=True)
    (tmp_path / "clf" / "model.keras").unlink()  # falls back to the Google checkpoint, head included
    model = load_task_model(tmp_path / "clf", TaskInfo.read(tmp_path / "clf"))
    word_ids = np.array([[101, 7592, 2088, 102, 0, 0], [101, 2204, 102, 3185, 102, 0]], np.int32)
    ids = {"input_word_ids": word_ids, "input_mask": (word_ids > 0).astype(np.int32),
           "input_type_ids": np.array([[0] * 6, [0, 0, 0, 1, 1, 0]], np.int32)}
    np.testing.assert_allclose(model(ids)["logits"], trained(ids)["logits"], atol=1e-6)

    # TaskInfo's pair_input makes the classifier's serving_default take text pairs.
    written = export_finetuned(tmp_path / "clf", tmp_path / "serving", export_encoder=False,
                               export_preprocessing_model=False)
    assert written["task"] == str(tmp_path / "serving" / "bert_classifier" / "1")
    signature = tf.saved_model.load(written["task"]).signatures["serving_default"]
    assert set(signature.structured_input_signature[1]) == {"text_a", "text_b"}

    info = json.loads((tmp_path / "clf" / "task_info.json").read_text(encoding="utf-8"))
    (tmp_path / "clf" / "task_info.json").write_text(json.dumps({**info, "task": "ranking"}), encoding="utf-8")
    with pytest.raises(ValueError, match="unknown task 'ranking'"):
        export_finetuned(tmp_path / "clf", tmp_path / "serving")


def test_write_version_is_atomic_and_numbers_versions(tmp_path):
    assert next_version(tmp_path / "absent") == 1

    def write(folder):
        folder.mkdir()
        (folder / "saved_model.pb").write_bytes(b"pb")

    def fail(folder):
        folder.mkdir()
        (folder / "saved_model.pb").write_bytes(b"half")
        raise RuntimeError("disk full")

    first = write_version(tmp_path, "m", None, write, [("serving_default", {"text": np.array([b"x"], object)})])
    assert first == str(tmp_path / "m" / "1") and (tmp_path / "m" / "1" / "saved_model.pb").read_bytes() == b"pb"
    records = list(tf.data.TFRecordDataset(str(tmp_path / "m" / "1" / "assets.extra" / "tf_serving_warmup_requests")))
    assert len(records) == 1
    assert write_version(tmp_path, "m", 7, write, []) == str(tmp_path / "m" / "7")
    assert next_version(tmp_path / "m") == 8
    with pytest.raises(RuntimeError, match="disk full"):
        write_version(tmp_path, "m", None, fail, [])
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["1", "7"]  # no half version, no staging folder
    with pytest.raises(FileExistsError, match="m/7 already exists"):
        write_version(tmp_path, "m", 7, write, [])


def test_models_config_lists_every_model_folder(tmp_path):
    for name in ("bert_tagger", "bert_classifier", ".hidden"):
        (tmp_path / name).mkdir()
    path = write_models_config(tmp_path)
    assert path == str(tmp_path / MODELS_CONFIG)
    assert _parse_models_config((tmp_path / MODELS_CONFIG).read_text()) == [
        ("bert_classifier", "/models/bert_classifier", "tensorflow"),
        ("bert_tagger", "/models/bert_tagger", "tensorflow")]


def test_example_models_config_is_what_the_export_writes(tmp_path):
    example = _parse_models_config((repo_root() / "saved_models" / "models.config").read_text())
    assert example[0][1] == "/models/bert_classifier"
    for name, _, _ in example:
        (tmp_path / name).mkdir()
    write_models_config(tmp_path)
    assert _parse_models_config((tmp_path / MODELS_CONFIG).read_text()) == example


def test_client_json_encoding_and_errors():
    body = client.predict_request({"text": [b"caf\xc3\xa9", b"\xff"], "n": np.array([1, 2])})
    assert body["instances"] == [{"text": "café", "n": 1}, {"text": {"b64": "/w=="}, "n": 2}]
    parsed = client.parse_predict_response({"predictions": [{"label": "x", "p": [0.5, 0.5]},
                                                            {"label": "y", "p": [1, 0]}]})
    assert parsed["label"].tolist() == [b"x", b"y"] and parsed["p"].shape == (2, 2)
    with pytest.raises(RuntimeError, match="TensorFlow Serving error: bad input"):
        client.parse_predict_response({"error": "bad input"})
    with pytest.raises(ValueError, match="form must be 'instances' or 'inputs'"):
        client.predict_request({"text": ["a"]}, form="rows")
