"""Writes small Google-format BERT checkpoints for tests: random values under the original TF1
variable names (listed here by hand from google-research/bert `modeling.py`, `run_pretraining.py`,
`run_classifier.py` and `run_squad.py`, independently of keras_bert's own mapping), saved with
`tf.compat.v1.train.Saver` exactly as the reference's Estimator does, plus Adam slots and
`global_step` like a real training checkpoint."""
from __future__ import annotations

import os

import numpy as np
import tensorflow as tf

from keras_bert.config import BertConfig


def reference_variable_shapes(config: BertConfig, head: str | None = "pretraining",
                              num_labels: int = 3) -> dict[str, tuple[int, ...]]:
    h, i = config.hidden_size, config.intermediate_size
    shapes = {
        "bert/embeddings/word_embeddings": (config.vocab_size, h),
        "bert/embeddings/token_type_embeddings": (config.type_vocab_size, h),
        "bert/embeddings/position_embeddings": (config.max_position_embeddings, h),
        "bert/embeddings/LayerNorm/gamma": (h,),
        "bert/embeddings/LayerNorm/beta": (h,),
        "bert/pooler/dense/kernel": (h, h),
        "bert/pooler/dense/bias": (h,),
    }
    for n in range(config.num_hidden_layers):
        p = f"bert/encoder/layer_{n}"
        for part in ("query", "key", "value"):
            shapes[f"{p}/attention/self/{part}/kernel"] = (h, h)
            shapes[f"{p}/attention/self/{part}/bias"] = (h,)
        shapes.update({
            f"{p}/attention/output/dense/kernel": (h, h), f"{p}/attention/output/dense/bias": (h,),
            f"{p}/attention/output/LayerNorm/gamma": (h,), f"{p}/attention/output/LayerNorm/beta": (h,),
            f"{p}/intermediate/dense/kernel": (h, i), f"{p}/intermediate/dense/bias": (i,),
            f"{p}/output/dense/kernel": (i, h), f"{p}/output/dense/bias": (h,),
            f"{p}/output/LayerNorm/gamma": (h,), f"{p}/output/LayerNorm/beta": (h,),
        })
    if head == "pretraining":
        shapes.update({
            "cls/predictions/transform/dense/kernel": (h, h), "cls/predictions/transform/dense/bias": (h,),
            "cls/predictions/transform/LayerNorm/gamma": (h,), "cls/predictions/transform/LayerNorm/beta": (h,),
            "cls/predictions/output_bias": (config.vocab_size,),
            "cls/seq_relationship/output_weights": (2, h), "cls/seq_relationship/output_bias": (2,),
        })
    elif head == "classifier":
        shapes.update({"output_weights": (num_labels, h), "output_bias": (num_labels,)})
    elif head == "squad":
        shapes.update({"cls/squad/output_weights": (2, h), "cls/squad/output_bias": (2,)})
    elif head is not None:
        raise ValueError(f"unknown head {head!r}")
    return shapes


def random_reference_arrays(config: BertConfig, seed: int = 0, head: str | None = "pretraining",
                            num_labels: int = 3) -> dict[str, np.ndarray]:
    """Random float32 arrays; LayerNorm gammas near 1 so activations stay in a realistic range."""
    rng = np.random.default_rng(seed)
    arrays = {}
    for name, shape in reference_variable_shapes(config, head, num_labels).items():
        scale = 0.1 if name.endswith("gamma") else config.initializer_range * 2
        base = 1.0 if name.endswith("gamma") else 0.0
        arrays[name] = (base + scale * rng.standard_normal(shape)).astype(np.float32)
    return arrays


def write_reference_checkpoint(folder: str | os.PathLike, arrays: dict[str, np.ndarray],
                               config: BertConfig | None = None, with_optimizer_slots: bool = True) -> str:
    """Saves `arrays` under their names with tf.compat.v1.train.Saver; returns the checkpoint prefix."""
    folder = os.fspath(folder)
    os.makedirs(folder, exist_ok=True)
    prefix = os.path.join(folder, "bert_model.ckpt")
    with tf.Graph().as_default():
        variables = [tf.compat.v1.Variable(value, name=name) for name, value in arrays.items()]
        if with_optimizer_slots:
            for name, value in list(arrays.items())[:3]:
                variables.append(tf.compat.v1.Variable(np.ones_like(value), name=f"{name}/adam_m"))
                variables.append(tf.compat.v1.Variable(np.ones_like(value), name=f"{name}/adam_v"))
            variables.append(tf.compat.v1.train.get_or_create_global_step())
        saver = tf.compat.v1.train.Saver(variables)
        with tf.compat.v1.Session() as session:
            session.run(tf.compat.v1.global_variables_initializer())
            saver.save(session, prefix, write_meta_graph=False, write_state=False)
    if config is not None:
        config.to_json_file(os.path.join(folder, "bert_config.json"))
    return prefix


def write_random_release(folder: str | os.PathLike, config: BertConfig, seed: int = 0,
                         head: str | None = "pretraining", num_labels: int = 3) -> dict[str, np.ndarray]:
    """A folder laid out like a Google release (bert_config.json + bert_model.ckpt.*); returns the arrays."""
    arrays = random_reference_arrays(config, seed, head, num_labels)
    write_reference_checkpoint(folder, arrays, config)
    return arrays
