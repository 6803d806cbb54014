"""A BERT encoder forward pass in plain numpy (float64) over Hugging Face weight names: the oracle of the
Hugging Face checkpoint tests.

Written from the published formulas (Vaswani et al. 2017; google-research/bert `modeling.py`; the
sentence-transformers mean pooling), not from keras_bert, which it never imports. Weights are a dict of
arrays under transformers' names and layouts: `embeddings.word_embeddings.weight`,
`encoder.layer.{i}.attention.self.query.weight` ([out, in], torch's `nn.Linear` layout), ..., with or without
the `bert.` prefix that transformers' task models put on the encoder. `config` is the dict of a config.json.
"""
from __future__ import annotations

import math

import numpy as np

from support.reference_formulas import gelu_erf, gelu_tanh, softmax

# transformers' names for the activations a BERT config.json may give ("gelu" is the exact, erf form there,
# unlike Google's configs where it is the tanh approximation).
ACTIVATIONS = {"gelu": gelu_erf, "gelu_new": gelu_tanh, "gelu_pytorch_tanh": gelu_tanh,
               "relu": lambda x: np.maximum(x, 0.0), "tanh": np.tanh}


def encoder_weights(weights: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The encoder's arrays as float64 under names without the `bert.` prefix (heads dropped)."""
    prefixed = any(name.startswith("bert.") for name in weights)
    return {name.removeprefix("bert."): np.asarray(value, np.float64) for name, value in weights.items()
            if name.startswith("bert.") or not prefixed}


def layer_norm(x, weight, bias, eps):
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * weight + bias


def linear(x, w, name):
    """torch's nn.Linear: x @ weight.T + bias, weight stored [out, in]."""
    return x @ w[f"{name}.weight"].T + w[f"{name}.bias"]


def activation(config: dict):
    name = config.get("hidden_act", "gelu")
    if name not in ACTIVATIONS:
        raise ValueError(f"numpy_bert: hidden_act {name!r} is not one of {sorted(ACTIVATIONS)}")
    return ACTIVATIONS[name]


def attention(x, mask, w, prefix, num_heads):
    """Scaled dot-product self-attention over all heads; x [B, T, H], mask [B, T] (1 = real key)."""
    batch, seq, hidden = x.shape
    size = hidden // num_heads

    def heads(t):  # [B, T, H] → [B, N, T, size]
        return t.reshape(batch, seq, num_heads, size).transpose(0, 2, 1, 3)

    q, k, v = (heads(linear(x, w, f"{prefix}.self.{part}")) for part in ("query", "key", "value"))
    scores = q @ k.transpose(0, 1, 3, 2) / math.sqrt(size)  # [B, N, T, T]
    # Padding keys get no weight at all (a row always has its [CLS] key to attend to).
    probs = softmax(np.where(mask[:, None, None, :] > 0, scores, -np.inf))
    context = (probs @ v).transpose(0, 2, 1, 3).reshape(batch, seq, hidden)
    return linear(context, w, f"{prefix}.output.dense")


def bert_forward(weights: dict[str, np.ndarray], config: dict, input_ids, attention_mask=None,
                 token_type_ids=None) -> dict[str, np.ndarray]:
    """The encoder (post-LayerNorm transformer, tanh pooler on the first token).

    Args:
        weights: arrays under transformers' names (optionally `bert.`-prefixed); task heads are ignored.
        config: the config.json dict: num_attention_heads, num_hidden_layers, hidden_act, layer_norm_eps.
        input_ids, attention_mask, token_type_ids: int [batch, seq]; mask defaults to all ones, types to zeros.

    Returns:
        {"sequence_output": [B, T, H], "pooled_output": [B, H] (absent without pooler weights),
         "encoder_outputs": list of each layer's [B, T, H]}, float64.
    """
    w = encoder_weights(weights)
    input_ids = np.asarray(input_ids)
    mask = np.ones_like(input_ids) if attention_mask is None else np.asarray(attention_mask)
    types = np.zeros_like(input_ids) if token_type_ids is None else np.asarray(token_type_ids)
    eps = config.get("layer_norm_eps", 1e-12)
    act = activation(config)
    seq = input_ids.shape[1]
    x = (w["embeddings.word_embeddings.weight"][input_ids]
         + w["embeddings.token_type_embeddings.weight"][types]
         + w["embeddings.position_embeddings.weight"][:seq])
    x = layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], eps)
    layers = []
    for i in range(config["num_hidden_layers"]):
        p = f"encoder.layer.{i}"
        attended = attention(x, mask, w, f"{p}.attention", config["num_attention_heads"])
        x = layer_norm(x + attended, w[f"{p}.attention.output.LayerNorm.weight"],
                       w[f"{p}.attention.output.LayerNorm.bias"], eps)
        ffn = linear(act(linear(x, w, f"{p}.intermediate.dense")), w, f"{p}.output.dense")
        x = layer_norm(x + ffn, w[f"{p}.output.LayerNorm.weight"], w[f"{p}.output.LayerNorm.bias"], eps)
        layers.append(x)
    outputs = {"sequence_output": x, "encoder_outputs": layers}
    if "pooler.dense.weight" in w:
        outputs["pooled_output"] = np.tanh(linear(x[:, 0], w, "pooler.dense"))
    return outputs


def mlm_logits(weights: dict[str, np.ndarray], config: dict, sequence_output) -> np.ndarray:
    """The masked-LM head: dense → activation → LayerNorm → tied word embeddings + output bias.

    Args:
        weights: arrays under transformers' names, with `cls.predictions.*` and the word embeddings.
        config: the config.json dict (hidden_act, layer_norm_eps).
        sequence_output: [..., H] hidden states of the positions to predict.

    Returns:
        [..., vocab_size] float64 logits.
    """
    w = {name: np.asarray(value, np.float64) for name, value in weights.items()}
    h = activation(config)(linear(np.asarray(sequence_output, np.float64), w, "cls.predictions.transform.dense"))
    h = layer_norm(h, w["cls.predictions.transform.LayerNorm.weight"],
                   w["cls.predictions.transform.LayerNorm.bias"], config.get("layer_norm_eps", 1e-12))
    embeddings = encoder_weights(weights)["embeddings.word_embeddings.weight"]
    bias = w["cls.predictions.bias"] if "cls.predictions.bias" in w else w["cls.predictions.decoder.bias"]
    return h @ embeddings.T + bias


def mean_pooled_embedding(sequence_output, attention_mask) -> np.ndarray:
    """sentence-transformers' mean pooling over real tokens, then L2 normalisation: [B, T, H] → [B, H]."""
    mask = np.asarray(attention_mask, np.float64)[..., None]
    mean = (np.asarray(sequence_output, np.float64) * mask).sum(1) / np.maximum(mask.sum(1), 1e-9)
    return mean / np.maximum(np.linalg.norm(mean, axis=-1, keepdims=True), 1e-12)
