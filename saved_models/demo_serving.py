"""The demo's serving check: the exported classifier answers in a fresh Python process that imports only
tensorflow and tensorflow_text, as TensorFlow Serving would load it (no keras_bert, no Keras objects)."""
from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence
from typing import Any

FRESH_REQUESTS = """
import json, sys
import tensorflow as tf
import tensorflow_text  # noqa: F401  TF-Text ops, as TensorFlow Serving has them built in
model = tf.saved_model.load(sys.argv[1])
outputs = model.signatures["serving_default"](text=tf.constant(json.loads(sys.argv[2])))
print(json.dumps({"label": [l.decode() for l in outputs["label"].numpy()],
                  "probabilities": [[round(p, 3) for p in row] for row in outputs["probabilities"].numpy().tolist()],
                  "keras_bert_imported": "keras_bert" in sys.modules}))
"""


def answer_requests(saved_model_dir: str, texts: Sequence[str]) -> dict[str, Any]:
    """Calls `serving_default` of the exported classifier in a fresh process (tensorflow + tensorflow_text only);
    returns {"label": [...], "probabilities": [[...] rounded to 3 places], "keras_bert_imported": False}."""
    run = subprocess.run([sys.executable, "-c", FRESH_REQUESTS, saved_model_dir, json.dumps(list(texts))],
                         capture_output=True, text=True, timeout=300)
    if run.returncode:
        raise RuntimeError(f"loading {saved_model_dir} in a fresh process failed:\n{run.stderr[-3000:]}")
    return json.loads(run.stdout.strip().splitlines()[-1])
