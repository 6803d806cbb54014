"""`BertTaskModel`: what every task model shares (an encoder, a head, `.keras` config, checkpoint names).

Every task model takes the encoder's input dict (int32 [batch, seq] `input_word_ids`, `input_mask`,
`input_type_ids`) and exposes the encoder as `.encoder`; outputs are float32 logits.
"""
from __future__ import annotations

from typing import Any, ClassVar

import keras

from keras_bert.models.encoder import BertEncoder
from keras_bert.models.pretrained_loading import LoadsCheckpoints


class BertTaskModel(LoadsCheckpoints, keras.Model):
    """Base of the task models: a functional `keras.Model` around a `BertEncoder` and one or two heads.

    Subclasses build their graph, then call `_finish`. Each declares, so that checkpoint formats never need
    to know the model classes: in `google_checkpoint_heads` the prefix of its heads' variables in Google
    checkpoints ({head layer name: prefix}, see `keras_bert.checkpoints.google`); in
    `huggingface_checkpoint_heads` the same for transformers' names, with `huggingface_architecture` its
    transformers class, `huggingface_has_pooler` whether that class has a pooler, and
    `huggingface_labels_argument` the constructor argument that counts its labels (see
    `keras_bert.checkpoints.huggingface`).
    """

    google_checkpoint_heads: ClassVar[dict[str, str]]
    huggingface_checkpoint_heads: ClassVar[dict[str, str]]
    huggingface_architecture: ClassVar[str]
    huggingface_has_pooler: ClassVar[bool] = True
    huggingface_labels_argument: ClassVar[str | None] = None

    @property
    def google_checkpoint_names(self) -> dict[str, str]:
        """The encoder's names (as they are, `bert/...`), then the heads'."""
        return {self.encoder.name: "", **self.google_checkpoint_heads}

    def _finish(self, encoder: BertEncoder, inputs: dict, outputs: dict, options: dict, **kwargs: Any) -> None:
        """Initializes the functional model; `options` are the constructor arguments `get_config` returns."""
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)
        self.encoder = encoder
        self.bert_config = encoder.bert_config
        self._options = options

    def get_config(self) -> dict[str, Any]:
        return {"config": self.bert_config.to_dict(), **self._options, "name": self.name,
                "trainable": self.trainable}

    @classmethod
    def from_config(cls, config: dict[str, Any]):
        return cls(**config)
