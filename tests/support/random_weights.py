"""Random weights for layer and model tests: every variable (biases, LayerNorm γ/β included) drawn
from N(0, stddev²), so that a test notices any weight that is ignored, swapped or not restored."""
from __future__ import annotations

import keras
import numpy as np


def randomize_weights(layer: keras.layers.Layer, seed: int = 0, stddev: float = 0.5) -> None:
    """Assigns N(0, stddev²) values to every weight of `layer` (a built layer or model)."""
    rng = np.random.default_rng(seed)
    for weight in layer.weights:
        weight.assign(rng.normal(0.0, stddev, weight.shape).astype(weight.dtype))
