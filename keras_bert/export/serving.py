"""Exports for TensorFlow Serving, in `serving_layout`'s folders: a fine-tuning `--output_dir` (its task model,
plus the encoder and the preprocessing model), or a pretrained checkpoint, Google's or a Hugging Face folder
(encoder and preprocessing); a fine-tuned Hugging Face folder is exported by `keras_bert.export.huggingface`.

The fine-tuning folder is read through its typed contract, `keras_bert.training.outputs.TaskInfo`
(`task_info.json`), with the model from `model.keras`, else from `bert_model.ckpt` + `bert_config.json`.
"""
from __future__ import annotations

import os
import pathlib
import zipfile

import keras
import numpy as np
import tensorflow as tf

from keras_bert.checkpoints import huggingface as hf
from keras_bert.checkpoints.google import CONFIG_FILE, resolve_checkpoint
from keras_bert.config import BertConfig
from keras_bert.export.classifier import export_classifier
from keras_bert.export.encoder import export_encoder
from keras_bert.export.export_module import LENGTH_BUCKET, check_length_bucket
from keras_bert.export.precision import check_serving_dtype, serving_model
from keras_bert.export.preprocessing import export_preprocessing
from keras_bert.export.serving_layout import ModelVersion, write_models_config, write_versions
from keras_bert.export.squad import export_squad
from keras_bert.export.tagger import export_tagger
from keras_bert.models.classifier import BertClassifier
from keras_bert.models.encoder import BertEncoder
from keras_bert.models.pretrainer import BertPretrainer
from keras_bert.models.span_labeler import BertSpanLabeler
from keras_bert.models.token_classifier import BertTokenClassifier
from keras_bert.tokenization.preprocessor import BertPreprocessor
from keras_bert.tokenization.vocab import check_vocab_matches_config
from keras_bert.training import model_inputs
from keras_bert.training.outputs import CHECKPOINT_PREFIX, CLASSIFIER, MODEL_FILE, SQUAD, TAGGER, VOCAB_FILE, TaskInfo

TASK_MODELS = {CLASSIFIER: BertClassifier, SQUAD: BertSpanLabeler, TAGGER: BertTokenClassifier}
DEFAULT_MAX_SEQ_LENGTH = 128  # a pretrained export's, as the reference's fine-tuning programs default to

# Warm-up inputs: one short and one long request per signature, so the first real request finds
# the graph already built for both small and padded-out batches.
_WARMUP_TEXTS = ["This is a warm-up request.", "A longer warm-up request " * 40]


def _strings(texts: list[str]) -> np.ndarray:
    return np.array([t.encode("utf-8") for t in texts], dtype=object)


def load_task_model(model_dir: str | os.PathLike, info: TaskInfo) -> keras.Model:
    """The fine-tuned Keras model of a fine-tuning `--output_dir`: `model.keras`, else the Google checkpoint
    `bert_model.ckpt` + `bert_config.json` (head included)."""
    model_dir = pathlib.Path(model_dir)
    if (model_dir / MODEL_FILE).is_file():
        return _load_model_file(model_dir / MODEL_FILE)
    if not (model_dir / f"{CHECKPOINT_PREFIX}.index").is_file():
        raise FileNotFoundError(f"{model_dir} holds neither {MODEL_FILE} nor {CHECKPOINT_PREFIX}.index")
    config = BertConfig.from_json_file(model_dir / CONFIG_FILE)
    kwargs = {}
    if info.task == CLASSIFIER:
        kwargs["num_classes"] = info.num_outputs
    elif info.task == TAGGER:
        kwargs["num_labels"] = info.num_outputs
    return TASK_MODELS[info.task].from_google_checkpoint(model_dir / CHECKPOINT_PREFIX, config=config, **kwargs)


def _load_model_file(path: pathlib.Path) -> keras.Model:
    """`model.keras`; one that is not a complete zip archive (Keras would call it "File not found") or that Keras
    cannot read is an error naming it."""
    if not zipfile.is_zipfile(path):
        raise ValueError(f"{path} cannot be read: it is not a complete .keras zip archive (corrupt or truncated, "
                         f"e.g. by an interrupted copy); copy it again, or remove it to export {CHECKPOINT_PREFIX}")
    try:
        return keras.saving.load_model(path, compile=False)  # serving needs no optimizer
    except (OSError, ValueError, zipfile.BadZipFile) as error:
        raise ValueError(f"{path} cannot be read (corrupt or truncated?): {error}") from None


def export_finetuned(model_dir: str | os.PathLike, export_base: str | os.PathLike, model_name: str | None = None,
                     version: int | None = None, export_encoder: bool = True, export_preprocessing_model: bool = True,
                     pair_input: bool | None = None, max_text_bytes: int | None = None,
                     max_windows: int | None = None, overwrite: bool = False, *, length_bucket: int = LENGTH_BUCKET,
                     serving_dtype: str = "float32") -> dict[str, str]:
    """Exports a fine-tuning `--output_dir` for TF Serving.

    Args:
      model_dir: str or path, the fine-tuning `--output_dir` (`task_info.json`, the model, `vocab.txt`).
      export_base: str or path, the root TF Serving polls.
      model_name: str, the task model's serving name (default `bert_<task>`); the encoder and preprocessing
        models are `<model_name>_encoder` and `<model_name>_preprocessing`.
      version: int, or None for the next free version of each model.
      export_encoder: bool, also export the encoder (TF Hub encoder API).
      export_preprocessing_model: bool, also export the preprocessing model (TF Hub preprocessing API).
      pair_input: bool, a classifier's `serving_default` takes `text_a` + `text_b`; None: TaskInfo's `pair_input`.
      max_text_bytes: int, the bytes of each string the classifier, tagger and preprocessing model tokenize
        (None: `max_seq_length` × `export_module.BYTES_PER_PIECE`).
      max_windows: int, the most windows the SQuAD model scores per example (None: `squad.default_max_windows`).
      overwrite: bool, replace models of the same names that serve other signatures or labels (their earlier
        versions are removed); otherwise such a model is an error and nothing is written.
      length_bucket: int, the classifier and tagger run each request batch at its longest row rounded up to a
        multiple of it (at most max_seq_length: a bounded number of shapes); 0: at max_seq_length. The encoder
        and preprocessing models keep their fixed seq_length (TF Hub's API), SQuAD its fixed windows.
      serving_dtype: "float32", or "bfloat16" for a task model computing in bfloat16 (`keras_bert.export.precision`;
        inputs and outputs unchanged); the encoder export stays float32 (it is also for fine-tuning).

    Returns:
      {"task": dir, "encoder": dir, "preprocessing": dir, "models_config": path} for what was written.
    """
    check_length_bucket(length_bucket)  # bad options fail before the model is loaded
    check_serving_dtype(serving_dtype)
    model_dir = pathlib.Path(model_dir)
    info = TaskInfo.read(model_dir)
    model_name = model_name or f"bert_{info.task}"
    vocab_file = model_dir / VOCAB_FILE
    if not vocab_file.is_file():
        raise FileNotFoundError(f"{vocab_file} not found (fine-tuning copies --vocab_file there)")
    model = load_task_model(model_dir, info)
    check_vocab_matches_config(vocab_file, model.bert_config, model_dir / CONFIG_FILE)
    return export_task(model, info, vocab_file, export_base, model_name, version, export_encoder,
                       export_preprocessing_model, pair_input, max_text_bytes, max_windows, overwrite,
                       info.tokenizer_options, length_bucket=length_bucket, serving_dtype=serving_dtype)


def export_task(model: keras.Model, info: TaskInfo, vocab_file: str | os.PathLike, export_base: str | os.PathLike,
                model_name: str, version: int | None = None, export_encoder: bool = True,
                export_preprocessing_model: bool = True, pair_input: bool | None = None,
                max_text_bytes: int | None = None, max_windows: int | None = None, overwrite: bool = False,
                tokenizer_options: dict | None = None, *, length_bucket: int = LENGTH_BUCKET,
                serving_dtype: str = "float32") -> dict[str, str]:
    """Exports a fine-tuned task `model` described by `info`, with `vocab_file`, as `model_name` (and its encoder
    and preprocessing models); `tokenizer_options` are `BertPreprocessor`'s beyond vocabulary and casing (a Hugging
    Face folder's). The other arguments and the result are `export_finetuned`'s."""
    check_length_bucket(length_bucket)
    task_model = serving_model(model, serving_dtype)
    preprocessor = BertPreprocessor(vocab_file, info.do_lower_case, info.max_seq_length, **(tokenizer_options or {}))
    if info.task == CLASSIFIER:
        pair = info.pair_input if pair_input is None else pair_input
        texts = _strings(_WARMUP_TEXTS)
        warmup = [("classify_text", {"text": texts}), ("classify_pair", {"text_a": texts, "text_b": texts[::-1]})]
        warmup.append(("serving_default", warmup[1 if pair else 0][1]))

        def write(folder):
            export_classifier(task_model, preprocessor, info.labels, folder, is_regression=info.is_regression,
                              pair_input=pair, max_text_bytes=max_text_bytes, length_bucket=length_bucket)
    elif info.task == SQUAD:
        warmup = [("serving_default", {"question": _strings(["What is this?"] * 2),
                                       "context": _strings(_WARMUP_TEXTS)})]

        def write(folder):
            export_squad(task_model, preprocessor, folder, info.squad, max_windows)
    else:
        warmup = [("serving_default", {"text": _strings(_WARMUP_TEXTS)})]

        def write(folder):
            export_tagger(task_model, preprocessor, info.labels, folder, max_text_bytes, length_bucket)
    models = {"task": ModelVersion(model_name, write, warmup, None if info.task == SQUAD else info.labels)}
    if export_encoder:
        models["encoder"] = _encoder_version(model.encoder, preprocessor, f"{model_name}_encoder")
    if export_preprocessing_model:
        models["preprocessing"] = _preprocessing_version(preprocessor, f"{model_name}_preprocessing", max_text_bytes)
    return _write(export_base, models, version, overwrite)


def _write(export_base, models: dict[str, ModelVersion], version: int | None, overwrite: bool) -> dict[str, str]:
    """Writes the models all or none, then models.config; returns {key: folder, "models_config": path}."""
    written = dict(zip(models, write_versions(export_base, list(models.values()), version, overwrite)))
    written["models_config"] = write_models_config(export_base)
    return written


def _encoder_version(model, preprocessor: BertPreprocessor, model_name: str) -> ModelVersion:
    """The encoder (with `.mlm` for a `BertPretrainer`), warmed up with the warm-up texts as `preprocessor`
    packs them."""
    inputs = {name: ids.numpy() for name, ids in preprocessor(tf.constant(_WARMUP_TEXTS)).items()}
    warmup = [("serving_default", inputs)]
    if isinstance(model, BertPretrainer):
        warmup.append(("mlm", {**inputs, "masked_lm_positions": np.ones([len(_WARMUP_TEXTS), 1], np.int32)}))
    tokenizer = preprocessor.tokenizer
    return ModelVersion(model_name, lambda folder: export_encoder(model, tokenizer.vocab_file, tokenizer.lower_case,
                                                                  folder), warmup)


def _preprocessing_version(preprocessor: BertPreprocessor, model_name: str, max_text_bytes: int | None
                           ) -> ModelVersion:
    return ModelVersion(model_name, lambda folder: export_preprocessing(preprocessor, folder, max_text_bytes),
                        [("serving_default", {"text": _strings(_WARMUP_TEXTS)})])


def export_pretrained(bert_config_file: str | os.PathLike | None, init_checkpoint: str | os.PathLike,
                      vocab_file: str | os.PathLike | None, do_lower_case: bool | None, export_base: str | os.PathLike,
                      model_name: str = "bert", version: int | None = None, max_seq_length: int | None = None,
                      max_text_bytes: int | None = None, overwrite: bool = False) -> dict[str, str]:
    """Exports a pretrained checkpoint for TF Serving: Google format, or the encoder of a Hugging Face folder.

    Writes `<model_name>_encoder` (with `.mlm` when the checkpoint has the masked-LM head: Google's
    `cls/predictions/*`, a BertForPreTraining or BertForMaskedLM folder) and `<model_name>_preprocessing` (packing
    to `max_seq_length`: None for the smaller of 128 and the config's `max_position_embeddings`; a larger value is
    an error); returns {"encoder": dir, "preprocessing": dir, "models_config": path}. `init_checkpoint` is a
    checkpoint prefix, a release folder or a Hugging Face folder, whose config.json, vocab.txt and casing stand in
    for `bert_config_file`, `vocab_file` and `do_lower_case` when they are None (`model_inputs`);
    `max_text_bytes` and `overwrite` as in `export_finetuned`.
    """
    inputs = model_inputs.resolve_model_inputs(os.fspath(init_checkpoint), bert_config_file and os.fspath(
        bert_config_file), vocab_file and os.fspath(vocab_file), do_lower_case)
    source = (f"--bert_config_file {bert_config_file}" if bert_config_file
              else os.path.join(init_checkpoint, hf.CONFIG_FILE))
    max_seq_length = serving_seq_length(max_seq_length, inputs.config, source)
    if inputs.huggingface:
        architectures = model_inputs.huggingface_architectures(init_checkpoint)
        has_mlm = bool({"BertForPreTraining", "BertForMaskedLM"} & set(architectures))
        model = (BertPretrainer if has_mlm else BertEncoder).from_huggingface(init_checkpoint, config=inputs.config)
    else:
        prefix, _ = resolve_checkpoint(init_checkpoint)
        names = {name for name, _ in tf.train.list_variables(prefix)}
        model_class = BertPretrainer if "cls/predictions/output_bias" in names else BertEncoder
        model = model_class.from_google_checkpoint(prefix, config=inputs.config)
    preprocessor = BertPreprocessor(inputs.vocab_file, inputs.do_lower_case, max_seq_length,
                                    **inputs.tokenizer_options())
    return _write(export_base, {
        "encoder": _encoder_version(model, preprocessor, f"{model_name}_encoder"),
        "preprocessing": _preprocessing_version(preprocessor, f"{model_name}_preprocessing", max_text_bytes),
    }, version, overwrite)


def serving_seq_length(max_seq_length: int | None, config: BertConfig, source: str,
                           default: int = DEFAULT_MAX_SEQ_LENGTH) -> int:
    """--max_seq_length, by default the smaller of `default` and what the position embeddings of the config (read
    from `source`) cover (more fails on every request)."""
    limit = config.max_position_embeddings
    if max_seq_length is None:
        return min(default, limit)
    if max_seq_length > limit:
        raise ValueError(f"--max_seq_length {max_seq_length} exceeds max_position_embeddings {limit} of "
                         f"{source}; pass at most {limit}, or omit it for {min(default, limit)}")
    return max_seq_length
