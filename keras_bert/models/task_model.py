"""`BertTaskModel`: what every task model shares (an encoder, a head, `.keras` config, checkpoint loading).

Every task model takes the encoder's input dict (int32 [batch, seq] `input_word_ids`, `input_mask`,
`input_type_ids`) and exposes the encoder as `.encoder`; outputs are float32 logits.
"""
from __future__ import annotations

import os
from typing import Any, ClassVar

import keras

from keras_bert.checkpoints import google
from keras_bert.config import ConfigLike
from keras_bert.models.encoder import BertEncoder


class BertTaskModel(keras.Model):
    """Base of the task models: a functional `keras.Model` around a `BertEncoder` and one or two heads.

    Subclasses build their graph, then call `_finish`. Each declares in `google_checkpoint_heads` the
    prefix of its heads' variables in Google checkpoints ({head layer name: prefix}, see
    `keras_bert.checkpoints.google`), so checkpoint formats never need to know the model classes.
    """

    google_checkpoint_heads: ClassVar[dict[str, str]]

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

    @classmethod
    def from_google_checkpoint(cls, path: str | os.PathLike, config: ConfigLike | None = None, **kwargs: Any):
        """Builds the model from a Google release folder or checkpoint prefix (see `keras_bert.checkpoints.google`).

        `config`: a BertConfig, its dict or the path of a bert_config.json; by default the folder's bert_config.json.
        Encoder variables must all be present; head variables are loaded when the checkpoint has
        them (a fine-tuned checkpoint) and keep their initial values otherwise (a pretrained one).
        """
        return google.load_google_checkpoint(cls, path, config=config, **kwargs)
