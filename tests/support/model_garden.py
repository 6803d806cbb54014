"""Model Garden's BertEncoder (tf-models-official), restored from a Google TF1 checkpoint by Model Garden's
own converter: the independent reference our encoder is compared with (tests and benchmarks)."""
from __future__ import annotations

import os

import tensorflow as tf
import tf_keras
from official.nlp.modeling import networks
from official.nlp.tools import tf1_bert_checkpoint_converter_lib as converter

from keras_bert.config import BertConfig


def model_garden_encoder(config: BertConfig, prefix: str, workdir: str):
    """Model Garden's encoder (tanh GELU), restored from the TF1 checkpoint at `prefix` by its converter;
    `workdir` receives the converted checkpoints."""
    def build():
        return networks.BertEncoder(
            vocab_size=config.vocab_size, hidden_size=config.hidden_size,
            num_layers=config.num_hidden_layers, num_attention_heads=config.num_attention_heads,
            max_sequence_length=config.max_position_embeddings, type_vocab_size=config.type_vocab_size,
            inner_dim=config.intermediate_size,
            inner_activation=lambda x: tf_keras.activations.gelu(x, approximate=True),
            output_dropout=0.0, attention_dropout=0.0, dict_outputs=True)

    renamed = os.path.join(workdir, "renamed", "ckpt")
    converter.convert(checkpoint_from_path=prefix, checkpoint_to_path=renamed,
                      num_heads=config.num_attention_heads,
                      name_replacements=converter.BERT_V2_NAME_REPLACEMENTS,
                      permutations=converter.BERT_V2_PERMUTATIONS, exclude_patterns=["adam", "Adam"])
    converter.create_v2_checkpoint(build(), renamed, os.path.join(workdir, "v2", "ckpt"), "encoder")
    encoder = build()
    v2 = tf.train.latest_checkpoint(os.path.join(workdir, "v2"))
    tf.train.Checkpoint(encoder=encoder).read(v2).assert_existing_objects_matched()
    return encoder
