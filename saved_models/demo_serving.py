"""The demo's serving check: the exported models answer in one fresh Python process that imports only tensorflow and
tensorflow_text (and numpy, which TensorFlow brings), as TensorFlow Serving would load them — no keras_bert, no
Keras objects:

- the classifier: `serving_default` on the showcase texts → labels and probabilities;
- the embedder: semantic search, the served model embeds the sentences and each query, the nearest sentences by
  cosine similarity come back;
- the fill-mask model: `serving_default` on masked texts → the top-k tokens and scores of each text's first mask.

The requests go to the process as JSON on stdin (a list of thousands of sentences exceeds a command-line argument).
"""
from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence
from typing import Any

FRESH_PROCESS = """
import json, sys
import numpy as np
import tensorflow as tf
import tensorflow_text  # noqa: F401  TF-Text ops, as TensorFlow Serving has them built in

def serve(folder):
    return tf.saved_model.load(folder).signatures["serving_default"]

def embed(signature, texts, batch_size=64):
    # Batches of similar lengths: the served embedder runs each batch at its longest text.
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    rows = [None] * len(texts)
    for start in range(0, len(order), batch_size):
        chunk = order[start:start + batch_size]
        vectors = signature(text=tf.constant([texts[i] for i in chunk]))["embeddings"].numpy()
        for i, vector in zip(chunk, vectors):
            rows[i] = vector
    rows = np.array(rows, np.float64)
    return rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-12)

requests, answers = json.load(sys.stdin), {}
if "classify" in requests:
    outputs = serve(requests["classify"]["model"])(text=tf.constant(requests["classify"]["texts"]))
    answers["classify"] = {"label": [label.decode() for label in outputs["label"].numpy()],
                           "probabilities": [[round(p, 3) for p in row]
                                             for row in outputs["probabilities"].numpy().tolist()]}
if "search" in requests:
    search = requests["search"]
    signature = serve(search["model"])
    sentences, queries = embed(signature, search["sentences"]), embed(signature, search["queries"])
    similarity = queries @ sentences.T
    answers["search"] = [[[int(i), float(row[i])] for i in np.argsort(-row, kind="stable")[:search["top_k"]]]
                         for row in similarity]
if "fill_mask" in requests:
    outputs = serve(requests["fill_mask"]["model"])(text=tf.constant(requests["fill_mask"]["texts"]))
    answers["fill_mask"] = {"tokens": [[t.decode() for t in row[0]] for row in outputs["tokens"].numpy()],
                            "token_ids": [row[0] for row in outputs["token_ids"].numpy().tolist()],
                            "scores": [row[0] for row in outputs["scores"].numpy().tolist()]}
answers["keras_bert_imported"] = "keras_bert" in sys.modules
print(json.dumps(answers))
"""


def answer_requests(classifier: str | None = None, texts: Sequence[str] = (), embedder: str | None = None,
                    queries: Sequence[str] = (), sentences: Sequence[str] = (), top_k: int = 3,
                    fill_mask: str | None = None, masked_texts: Sequence[str] = ()) -> dict[str, Any]:
    """Sends requests to exported SavedModels loaded in one fresh process (tensorflow + tensorflow_text only).

    Args:
      classifier: a classifier's SavedModel version folder (None: not asked), and `texts` for it.
      embedder: an embedder's version folder (None: not asked); `queries` are searched among `sentences`.
      top_k: int, the sentences returned per query.
      fill_mask: a fill-mask version folder (None: not asked); `masked_texts` each hold a `[MASK]`.

    Returns:
      {"classify": {"label": [str], "probabilities": [[float] rounded to 3 places]},
       "search": [[[sentence index, cosine similarity] × top_k] per query],
       "fill_mask": {"tokens": [[str] × k], "token_ids": [[int] × k], "scores": [[float] × k]}
         (each text's first mask),
       "keras_bert_imported": False} — the keys of the models asked.

    Example:
    >>> answer_requests(fill_mask="demo_output/serving/bert_fill_mask/1", masked_texts=["Acquire a [MASK]."])
    {'fill_mask': {'tokens': [['lock', ...]], 'token_ids': [[812, ...]], 'scores': [[0.61, ...]]},
     'keras_bert_imported': False}
    """
    requests: dict[str, Any] = {}
    if classifier:
        requests["classify"] = {"model": classifier, "texts": list(texts)}
    if embedder:
        requests["search"] = {"model": embedder, "queries": list(queries), "sentences": list(sentences),
                              "top_k": top_k}
    if fill_mask:
        requests["fill_mask"] = {"model": fill_mask, "texts": list(masked_texts)}
    run = subprocess.run([sys.executable, "-c", FRESH_PROCESS], input=json.dumps(requests), capture_output=True,
                         text=True, timeout=900)
    if run.returncode:
        models = ", ".join(request["model"] for request in requests.values())
        raise RuntimeError(f"the fresh process serving {models} failed:\n{run.stderr[-3000:]}")
    return json.loads(run.stdout.strip().splitlines()[-1])
