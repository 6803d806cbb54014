"""Masked-word prediction (`keras_bert.models.fill_mask.FillMask`) as a SavedModel for TensorFlow Serving.

`serving_default`: `text` string [batch], each holding literal mask tokens (`[MASK]`) →
  `tokens` string [batch, P, k], `scores` float32 [batch, P, k] (probabilities, best first), `token_ids` int32
  [batch, P, k], `filled` string [batch, P, k] (the text with that mask replaced by each token),
  `mask_positions` int32 [batch, P] (in the packed input), `num_predictions` int32 [batch], `num_masks` int32 [batch].
P is the most masks predicted for a text of the batch, k the `top_k` fixed at export. Entries past a text's
`num_predictions` are padding ("", 0.0, -1). The same graph as the Python call, so the answers are the same.

Defined behaviour on bad input: a text without a mask token (an empty text too) gets no predictions
(`num_predictions` 0; a batch of only such texts has P = 0); masks beyond the first `max_predictions`, or cut off by
the truncation to `max_seq_length` − 2 pieces, are not predicted (`num_predictions` < `num_masks` says so); invalid
UTF-8 bytes are dropped (also from `filled`). Each text is first cut to `max_text_bytes` bytes
(`export_module.cut_texts`); mask tokens after the cut are not counted (with the default budget they lie far
beyond `max_seq_length`).

Each batch is packed to `max_seq_length`, then run at its longest row rounded up to a multiple of `length_bucket`
(`FillMask.outputs`; every predicted mask lies before that row's end), in `serving_dtype`
(`keras_bert.export.precision`).
"""
from __future__ import annotations

import os
import pathlib

import numpy as np
import tensorflow as tf

from keras_bert.export.export_module import (
    LENGTH_BUCKET,
    ExportModule,
    check_length_bucket,
    cut_texts,
    string_spec,
    text_byte_budget,
)
from keras_bert.export.precision import check_serving_dtype, serving_model
from keras_bert.export.serving_layout import ModelVersion, write_models_config, write_versions
from keras_bert.models.fill_mask import FillMask

DEFAULT_TOP_K = 5
WARMUP_TEXTS = ["The capital of France is [MASK] .", "There is no mask token here.", "",
                "A longer warm-up request with a [MASK] word. " * 30]


class _FillMaskModule(ExportModule):
    def __init__(self, fill_mask: FillMask, top_k: int, max_text_bytes: int | None,
                 length_bucket: int = LENGTH_BUCKET):
        packer = fill_mask.packer
        super().__init__(packer.tokenizer.vocab_file, packer.tokenizer.lower_case, fill_mask.pretrainer)
        if isinstance(top_k, bool) or not isinstance(top_k, int) or not 1 <= top_k <= len(fill_mask.vocab):
            raise ValueError(f"top_k must be an int from 1 to the vocabulary size {len(fill_mask.vocab)}, "
                             f"got {top_k!r}")
        self.pretrainer = fill_mask.pretrainer
        self.packer = packer  # tracked: the tokenizer's tables
        # The same computation as the Python call (`FillMask.outputs`), at fixed length when length_bucket is 0.
        self._length_bucket = check_length_bucket(length_bucket)
        self._fill_mask = FillMask(fill_mask.pretrainer, packer, fixed_length=not self._length_bucket)
        self._top_k = top_k
        self.max_text_bytes = text_byte_budget(max_text_bytes, packer.seq_length)
        self.fill = tf.function(self._fill, input_signature=[string_spec("text")])

    def _fill(self, text):
        return self._fill_mask.outputs(cut_texts(text, self.max_text_bytes), self._top_k,
                                       length_multiple=self._length_bucket or 1)


def export_fill_mask(fill_mask: FillMask, export_dir: str | os.PathLike, top_k: int = DEFAULT_TOP_K,
                     max_text_bytes: int | None = None, length_bucket: int = LENGTH_BUCKET,
                     serving_dtype: str = "float32") -> None:
    """Writes the fill-mask SavedModel (module docstring).

    Args:
      fill_mask: a `FillMask` (pretrainer with its trained masked-LM head + packer: vocabulary, casing,
        max_seq_length, max_predictions).
      export_dir: str or path, the SavedModel folder to write.
      top_k: int, candidates per mask, 1 to the vocabulary size.
      max_text_bytes: int, the bytes of each text that are tokenized; None: `max_seq_length` ×
        `export_module.BYTES_PER_PIECE`.
      length_bucket: int, each batch runs at its longest row rounded up to a multiple of it; 0: at max_seq_length.
      serving_dtype: "float32" or "bfloat16", the model's compute precision (`keras_bert.export.precision`).

    Example:
    >>> export_fill_mask(FillMask.from_pretrained("uncased_L-12_H-768_A-12"), "/tmp/bert_fill_mask/1")
    """
    fill_mask = FillMask(serving_model(fill_mask.pretrainer, serving_dtype), fill_mask.packer)
    module = _FillMaskModule(fill_mask, top_k, max_text_bytes, length_bucket)
    module.save(export_dir, {"serving_default": module.fill.get_concrete_function()})


def fill_mask_version(fill_mask: FillMask, model_name: str = "bert_fill_mask", top_k: int = DEFAULT_TOP_K,
                      max_text_bytes: int | None = None, length_bucket: int = LENGTH_BUCKET,
                      serving_dtype: str = "float32") -> ModelVersion:
    """The fill-mask model as a `serving_layout.ModelVersion` (written by `export_fill_mask`, warmed up with
    `WARMUP_TEXTS`: masks, no mask, empty, and more masks than fit), for `serving_layout.write_versions`."""
    texts = np.array([t.encode("utf-8") for t in WARMUP_TEXTS], dtype=object)
    return ModelVersion(model_name, lambda folder: export_fill_mask(fill_mask, folder, top_k, max_text_bytes,
                                                                    length_bucket, serving_dtype),
                        [("serving_default", {"text": texts})])


def export_fill_mask_for_serving(init_checkpoint: str | os.PathLike, export_base: str | os.PathLike,
                                 model_name: str = "bert_fill_mask", version: int | None = None,
                                 bert_config_file: str | None = None, vocab_file: str | None = None,
                                 do_lower_case: bool | None = None, max_seq_length: int | None = None,
                                 top_k: int = DEFAULT_TOP_K, max_text_bytes: int | None = None,
                                 overwrite: bool = False, *, length_bucket: int = LENGTH_BUCKET,
                                 serving_dtype: str = "float32") -> dict[str, str]:
    """Exports the fill-mask model of a checkpoint with the masked-LM head (Google, or a Hugging Face
    BertForMaskedLM/BertForPreTraining folder) for TF Serving: `<export_base>/<model_name>/<version>/`,
    smoke-tested with its warm-up requests, and `<export_base>/models.config`.

    Args:
      init_checkpoint, vocab_file, do_lower_case, max_seq_length (`seq_length`), bert_config_file (`config`):
        as `FillMask.from_pretrained`'s.
      top_k: int, the candidates served per mask.
      export_base, model_name, version, max_text_bytes, overwrite, length_bucket, serving_dtype: as
        `serving.export_finetuned`'s.

    Returns:
      {"fill_mask": version folder, "models_config": path}.
    """
    check_length_bucket(length_bucket)  # bad options fail before the checkpoint is loaded
    check_serving_dtype(serving_dtype)
    fill_mask = FillMask.from_pretrained(init_checkpoint, vocab_file, do_lower_case, max_seq_length,
                                         config=bert_config_file)
    [folder] = write_versions(export_base, [fill_mask_version(fill_mask, model_name, top_k, max_text_bytes,
                                                              length_bucket, serving_dtype)], version, overwrite)
    return {"fill_mask": folder, "models_config": write_models_config(pathlib.Path(export_base))}
