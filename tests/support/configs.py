"""Tiny BERT configs for tests: one definition, varied per test by keyword."""
from __future__ import annotations

from keras_bert.config import BertConfig

UNCASED_VOCAB_SIZE = 30522  # ../shared/data/vocab/uncased_vocab.txt


def tiny_config(vocab_size: int = UNCASED_VOCAB_SIZE, **overrides) -> BertConfig:
    """Hidden 32, 2 layers, 2 heads, intermediate 64, 64 positions; any field overridden by keyword."""
    fields = dict(vocab_size=vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                  intermediate_size=64, max_position_embeddings=64)
    fields.update(overrides)
    return BertConfig(**fields)
