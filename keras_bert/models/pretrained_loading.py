"""The class methods every keras_bert model has for building itself from a released checkpoint."""
from __future__ import annotations

import os
from typing import Any

from keras_bert.checkpoints import google, huggingface, pretrained
from keras_bert.config import ConfigLike


class LoadsCheckpoints:
    """`from_google_checkpoint`, `from_huggingface` and `from_pretrained` (either, detected) for a model class.

    `config`: a BertConfig, its dict or the path of a bert_config.json; by default the checkpoint's own.
    Encoder weights must all be present; head weights are loaded when the checkpoint has them (a fine-tuned
    checkpoint) and start from their initializers otherwise (a pretrained one), with a logged warning.
    """

    @classmethod
    def from_google_checkpoint(cls, path: str | os.PathLike, config: ConfigLike | None = None, **kwargs: Any):
        """From a Google release folder or checkpoint prefix (see `keras_bert.checkpoints.google`)."""
        return google.load_google_checkpoint(cls, path, config=config, **kwargs)

    @classmethod
    def from_huggingface(cls, path: str | os.PathLike, config: ConfigLike | None = None, **kwargs: Any):
        """From a local Hugging Face folder (see `keras_bert.checkpoints.huggingface`)."""
        return huggingface.load_huggingface_checkpoint(cls, path, config=config, **kwargs)

    @classmethod
    def from_pretrained(cls, path: str | os.PathLike, config: ConfigLike | None = None, **kwargs: Any):
        """From a Google checkpoint or a Hugging Face folder, whichever `path` holds."""
        return pretrained.load_pretrained(cls, path, config=config, **kwargs)
