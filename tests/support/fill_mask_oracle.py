"""Oracles of the fill-mask tests, written from the reference formulas, never from keras_bert's fill-mask code:
token ids from Hugging Face's Rust `tokenizers` (which matches `[MASK]` as its special token), the masked-LM
probabilities from `numpy_bert` (float64), Google variable names renamed to transformers' by the published
convention, and the filled text by Python string operations on BERT's detokenization rule (`" ##"` joins)."""
from __future__ import annotations

import re

import numpy as np
from tokenizers import BertWordPieceTokenizer

from support import numpy_bert
from support.reference_formulas import softmax

MASK = "[MASK]"
# BERT's whitespace (google-research/bert `_is_whitespace`: space, tab, newline, return, Unicode Zs).
_TRAILING_WHITESPACE = re.compile(r"[ \t\n\r\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]+$")


def huggingface_names(google_arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Google checkpoint arrays under transformers' names: `/` → `.`, `layer_N` → `layer.N`, dense `kernel` →
    `weight` transposed to [out, in], LayerNorm `gamma`/`beta` → `weight`/`bias`, embedding tables get `.weight`,
    `cls/predictions/output_bias` → `cls.predictions.bias` (the NSP head is left out)."""
    renamed = {}
    for name, value in google_arrays.items():
        if name.startswith("cls/seq_relationship"):
            continue
        if name == "cls/predictions/output_bias":
            renamed["cls.predictions.bias"] = value
            continue
        new = re.sub(r"layer_(\d+)", r"layer.\1", name).replace("/", ".")
        if new.endswith(".kernel"):
            new, value = new.removesuffix(".kernel") + ".weight", value.T
        elif new.endswith(".gamma"):
            new = new.removesuffix(".gamma") + ".weight"
        elif new.endswith(".beta"):
            new = new.removesuffix(".beta") + ".bias"
        elif new.endswith("_embeddings"):
            new += ".weight"
        renamed[new] = value
    return renamed


def encode(vocab_file, text: str, lower_case: bool, seq_length: int) -> list[int]:
    """The ids of `[CLS] text [SEP]`, truncated to `seq_length`, as Hugging Face's tokenizer gives them."""
    tokenizer = BertWordPieceTokenizer(str(vocab_file), lowercase=lower_case)
    tokenizer.enable_truncation(max_length=seq_length)
    return tokenizer.encode(text).ids


def mask_probabilities(weights: dict[str, np.ndarray], config: dict, ids: list[int], mask_id: int) -> np.ndarray:
    """float64 [masks, vocab]: softmax of the masked-LM logits at each `mask_id` of one packed, unpadded input."""
    outputs = numpy_bert.bert_forward(weights, config, np.array([ids]))
    positions = [i for i, token in enumerate(ids) if token == mask_id]
    return softmax(numpy_bert.mlm_logits(weights, config, outputs["sequence_output"][0, positions]))


def assert_top_k(token_ids, scores, probabilities: np.ndarray, rtol: float = 1e-4) -> None:
    """Our top-k ids and scores against the oracle's probabilities of one mask: each score is the oracle's
    probability of its id, best first, and no id left out is more probable (up to float32 near-ties)."""
    token_ids, scores = list(token_ids), np.asarray(scores, np.float64)
    np.testing.assert_allclose(scores, probabilities[token_ids], rtol=rtol, atol=1e-7)
    assert list(scores) == sorted(scores, reverse=True)
    kth = np.sort(probabilities)[::-1][len(token_ids) - 1]
    assert probabilities[token_ids].min() >= kth * (1 - rtol) - 1e-7
    assert len(set(token_ids)) == len(token_ids)


def filled_text(text: str, index: int, token: str) -> str:
    """`text` with its `index`-th `[MASK]` replaced by `token`; a `##` piece joins the word before it."""
    parts = text.split(MASK)
    before, after = MASK.join(parts[:index + 1]), MASK.join(parts[index + 1:])
    if token.startswith("##") and len(token) > 2:
        before, token = _TRAILING_WHITESPACE.sub("", before), token[2:]
    return before + token + after
