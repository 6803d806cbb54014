"""Which checkpoint format a path holds (Google's TF1 release or a Hugging Face folder), and loading either.

Programs and `from_pretrained` take one `--init_checkpoint`/`path` for both: a Google release folder or
checkpoint prefix (`bert_config.json`, `*.ckpt.index`), or a Hugging Face folder (`config.json` + weights).
"""
from __future__ import annotations

import logging
import os
from typing import Any

from keras_bert.checkpoints import google, huggingface
from keras_bert.config import ConfigLike

logger = logging.getLogger(__name__)

GOOGLE = "google"
HUGGINGFACE = "huggingface"


def checkpoint_format(path: str | os.PathLike) -> str:
    """`GOOGLE` or `HUGGINGFACE` for the checkpoint at `path`.

    A folder with both a Google checkpoint and Hugging Face weights counts as Google (the reference format).
    Raises FileNotFoundError naming the path when it holds neither.
    """
    path = os.fspath(path)
    try:
        google.resolve_checkpoint(path)
    except FileNotFoundError as google_error:
        if huggingface.is_huggingface_folder(path):
            return HUGGINGFACE
        if os.path.isdir(path):
            raise FileNotFoundError(f"{path} holds neither a Google BERT checkpoint (bert_model.ckpt.index) nor "
                                    f"a Hugging Face model (config.json and model.safetensors, tf_model.h5 or "
                                    f"pytorch_model.bin)") from None
        raise google_error from None
    if huggingface.is_huggingface_folder(path):
        logger.info("%s holds both a Google checkpoint and Hugging Face weights; loading the Google checkpoint", path)
    return GOOGLE


def load_pretrained(model_class, path: str | os.PathLike, config: ConfigLike | None = None,
                    required_heads: tuple[str, ...] = (), **model_kwargs: Any):
    """`model_class` loaded from a Google checkpoint or a Hugging Face folder, whichever `path` holds (see
    `load_google_checkpoint` and `load_huggingface_checkpoint` for `config`, `required_heads`, `model_kwargs`)."""
    loader = (huggingface.load_huggingface_checkpoint if checkpoint_format(path) == HUGGINGFACE
              else google.load_google_checkpoint)
    return loader(model_class, path, config=config, required_heads=required_heads, **model_kwargs)
