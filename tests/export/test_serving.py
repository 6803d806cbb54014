"""The TF Serving side without the full contract run: what `keras_bert.export.serving` reads from a fine-tuning
folder (the `TaskInfo` that `save_task_outputs` writes), the versioned layout and models.config of
`keras_bert.export.serving_layout`, and the REST client's JSON."""
import json

import numpy as np
import pytest
import tensorflow as tf
from google.protobuf import text_format
from tensorflow_serving.config import model_server_config_pb2

import keras_bert
from keras_bert.export.serving import _encoder_version, export_finetuned, load_task_model
from keras_bert.export.serving_layout import (
    LABELS_FILE,
    MODELS_CONFIG,
    ModelVersion,
    next_version,
    write_models_config,
    write_versions,
)
from keras_bert.tokenization.preprocessor import BertPreprocessor
from keras_bert.training.outputs import SquadSettings, TaskInfo
from saved_models import client
from saved_models.export import export_for_serving
from support.configs import tiny_config
from support.google_checkpoints import write_random_release
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
                            "pair_input", "squad", "tokenizer_options"}
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


def _write_echo(folder, output: str = "echo"):
    """A minimal SavedModel: `serving_default` maps string `text` to `output`."""
    module = tf.Module()
    module.echo = tf.function(lambda text: {output: text}, input_signature=[tf.TensorSpec([None], tf.string, "text")])
    tf.saved_model.save(module, str(folder), signatures={"serving_default": module.echo.get_concrete_function()})


ECHO_WARMUP = [("serving_default", {"text": np.array([b"x"], object)})]


def write_version(export_base, version=None, write=_write_echo, labels=None, overwrite=False) -> str:
    """One version of model "m"."""
    return write_versions(export_base, [ModelVersion("m", write, ECHO_WARMUP, labels)], version, overwrite)[0]


def test_write_version_is_atomic_and_numbers_versions(tmp_path):
    assert next_version(tmp_path / "absent") == 1

    def fail(folder):
        folder.mkdir()
        (folder / "saved_model.pb").write_bytes(b"half")
        raise RuntimeError("disk full")

    first = write_version(tmp_path)
    assert first == str(tmp_path / "m" / "1") and (tmp_path / "m" / "1" / "saved_model.pb").is_file()
    records = list(tf.data.TFRecordDataset(str(tmp_path / "m" / "1" / "assets.extra" / "tf_serving_warmup_requests")))
    assert len(records) == 1
    assert write_version(tmp_path, 7) == str(tmp_path / "m" / "7")
    assert next_version(tmp_path / "m") == 8
    with pytest.raises(RuntimeError, match="disk full"):
        write_version(tmp_path, write=fail)
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["1", "7"]  # no half version, no staging folder
    with pytest.raises(FileExistsError, match="m/7 already exists"):
        write_version(tmp_path, 7)


def test_a_version_must_serve_what_the_model_serves(tmp_path):
    """Another signature, other outputs or other labels under the same model name are refused (naming the folder,
    both contracts) unless `overwrite`, which then removes the earlier versions; the same contract is a new version."""
    write_version(tmp_path, labels=["0", "1"])
    assert write_version(tmp_path, labels=["0", "1"]).endswith("m/2")
    with pytest.raises(ValueError, match=r"(?s)m holds a model that serves other signatures or labels than this "
                                         r"export \(which would become version 3\) in .*m/2:\n"
                                         r"  signature 'serving_default': \(text: string \[None\]\) -> \(echo: "
                                         r"string \[None\]\) there, \(text: string \[None\]\) -> \(label: string "
                                         r"\[None\]\) here\n"
                                         r"Pass --overwrite_model to replace that model, or another --model_name"):
        write_version(tmp_path, write=lambda folder: _write_echo(folder, "label"), labels=["0", "1"])

    def never_called(folder):
        raise AssertionError("labels are checked before any work")

    with pytest.raises(ValueError, match=r"m/2:\n  labels: \['0', '1'\] there, \['neg', 'pos'\] here\nPass"):
        write_version(tmp_path, write=never_called, labels=["neg", "pos"])
    with pytest.raises(ValueError, match=r"labels: \['0', '1'\] there, None here"):
        write_version(tmp_path, write=never_called)
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["1", "2"]
    assert write_version(tmp_path, overwrite=True).endswith("m/3")
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["3"]


def test_a_version_exported_before_labels_were_recorded_is_compared_by_signature(tmp_path, caplog):
    """Versions written before `labels.json` existed: labels cannot be compared, signatures still are."""
    written = write_version(tmp_path, labels=["0", "1"])
    (tmp_path / "m" / "1" / LABELS_FILE).unlink()
    assert write_version(tmp_path, labels=["neg", "pos"]).endswith("m/2") and written.endswith("m/1")
    assert "records no labels: only its signatures are compared" in caplog.text
    (tmp_path / "m" / "2" / LABELS_FILE).unlink()
    with pytest.raises(ValueError, match=r"signature 'serving_default'"):
        write_version(tmp_path, write=lambda folder: _write_echo(folder, "label"), labels=["0", "1"])


def test_an_export_that_fails_its_warmup_is_not_written(tmp_path, uncased_vocab):
    """The pretrained export's old default: 128 positions of warm-up for an encoder that has 64. The smoke test
    calls each signature before the version is renamed into place; the error names the model and signature."""
    encoder = keras_bert.BertEncoder(tiny_config(max_position_embeddings=64))
    too_long = _encoder_version(encoder, BertPreprocessor(uncased_vocab, True, seq_length=128), "bert_encoder")
    with pytest.raises(ValueError, match=r"bert_encoder version 1 was not written: its signature 'serving_default' "
                                         r"fails on its warm-up request \(InvalidArgumentError: .*128.*64"):
        write_versions(tmp_path, [too_long])
    assert list(tmp_path.iterdir()) == []  # no version, no staging folder, no empty model folder
    unwarmed = ModelVersion("bert_encoder", too_long.write, warmup=[])
    with pytest.raises(ValueError, match="signature 'serving_default' has no warm-up request to smoke-test it with"):
        write_versions(tmp_path, [unwarmed])


def test_export_names_an_unreadable_task_info_or_model_file(tmp_path, uncased_vocab):
    folder = tmp_path / "clf"
    write_finetuned(folder, "classifier", uncased_vocab, labels=["0", "1"])
    with pytest.raises(ValueError, match="--max_text_bytes must be >= 1, got 0"):
        export_for_serving(str(tmp_path / "serving"), model_dir=str(folder), max_text_bytes=0)
    model_file = folder / "model.keras"
    model_file.write_bytes(model_file.read_bytes()[:5000])  # cut short, as by an interrupted copy
    with pytest.raises(ValueError, match=r"clf/model\.keras cannot be read: it is not a complete \.keras zip archive "
                                         r"\(corrupt or truncated"):
        export_for_serving(str(tmp_path / "serving"), model_dir=str(folder))
    (folder / "task_info.json").write_text('{"task": "classifier",', encoding="utf-8")
    with pytest.raises(ValueError, match=r"clf/task_info\.json is not valid JSON"):
        export_for_serving(str(tmp_path / "serving"), model_dir=str(folder))
    assert not (tmp_path / "serving").exists()


def test_pretrained_export_fits_the_position_embeddings(tmp_path, uncased_vocab):
    """`--max_seq_length` defaults to min(128, max_position_embeddings) and may not exceed it; `--init_checkpoint`
    is a release folder or a prefix, and a missing prefix is named."""
    release = tmp_path / "release"
    write_random_release(release, tiny_config(max_position_embeddings=64))
    flags = {"bert_config_file": str(release / "bert_config.json"), "vocab_file": str(uncased_vocab)}
    base = tmp_path / "serving"
    with pytest.raises(ValueError, match=r"--max_seq_length 128 exceeds max_position_embeddings 64 of "
                                         r"--bert_config_file .*release/bert_config\.json; pass at most 64"):
        export_for_serving(str(base), init_checkpoint=str(release), max_seq_length=128, **flags)
    with pytest.raises(FileNotFoundError, match=r"BERT checkpoint not found: .*release/model\.ckpt"):
        export_for_serving(str(base), init_checkpoint=str(release / "model.ckpt"), **flags)
    assert not base.exists()  # both refused before any work
    written = export_for_serving(str(base), init_checkpoint=str(release), **flags)  # smoke-tested, with `.mlm`
    preprocessing = tf.saved_model.load(written["preprocessing"])
    assert preprocessing(tf.constant(["hello world"]))["input_word_ids"].shape == (1, 64)
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


def test_another_task_under_the_same_model_name_is_refused(tmp_path, uncased_vocab):
    """The issue's case: a second classifier with other labels exported to the same --export_base used to become
    version 2 of bert_classifier; now it is refused (nothing written) unless --overwrite_model."""
    write_finetuned(tmp_path / "sst2", "classifier", uncased_vocab, labels=["0", "1"], task_name="sst-2")
    write_finetuned(tmp_path / "mnli", "classifier", uncased_vocab, labels=["contradiction", "entailment", "neutral"],
                    task_name="mnli", pair_input=True)
    base = str(tmp_path / "serving")
    only_task = {"export_encoder": False, "export_preprocessing": False}
    export_for_serving(base, model_dir=str(tmp_path / "sst2"), **only_task)
    with pytest.raises(ValueError, match=r"serving/bert_classifier holds a model that serves other signatures or "
                                         r"labels than this export \(which would become version 2\) in "
                                         r".*serving/bert_classifier/1:\n  labels: \['0', '1'\] there, "
                                         r"\['contradiction', 'entailment', 'neutral'\] here\n"
                                         r"Pass --overwrite_model to replace that model, or another --model_name"):
        export_for_serving(base, model_dir=str(tmp_path / "mnli"), **only_task)
    assert sorted(p.name for p in (tmp_path / "serving" / "bert_classifier").iterdir()) == ["1"]
    written = export_for_serving(base, model_dir=str(tmp_path / "mnli"), overwrite_model=True, **only_task)
    assert written["task"].endswith("bert_classifier/2")
    assert sorted(p.name for p in (tmp_path / "serving" / "bert_classifier").iterdir()) == ["2"]
