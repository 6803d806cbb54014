"""Evaluation metrics of the GLUE/XNLI tasks, computed with scikit-learn and SciPy.

`classification_metrics(task, labels, predictions)` returns what GLUE reports for the task (each task's
`metrics` in `keras_bert.data.classification.glue`; the reference run_classifier's accuracy is among them
for every classification task): CoLA Matthews correlation, MRPC and QQP F1 and accuracy, STS-B Pearson and
Spearman correlations, accuracy elsewhere.
"""
from __future__ import annotations

import numpy as np
from scipy import stats
from sklearn import metrics as sk_metrics

from keras_bert.data.classification.glue import TASKS

# The metrics of `GenericTask`s (`--task_name generic`), by kind of task.
GENERIC_METRICS: dict[str, tuple[str, ...]] = {"classification": ("accuracy",), "regression": ("pearson", "spearman")}


def _check_pair(labels, predictions) -> tuple[np.ndarray, np.ndarray]:
    labels, predictions = np.asarray(labels), np.asarray(predictions)
    if labels.ndim != 1 or predictions.shape != labels.shape:
        raise ValueError(f"labels and predictions must be 1-D of one length, got shapes {labels.shape} "
                         f"and {predictions.shape}")
    if labels.size == 0:
        raise ValueError("no labels to evaluate")
    return labels, predictions


def accuracy(labels, predictions) -> float:
    """Share of predictions equal to the labels; labels/predictions: class ids [n]."""
    labels, predictions = _check_pair(labels, predictions)
    return float(sk_metrics.accuracy_score(labels, predictions))


def binary_f1(labels, predictions) -> float:
    """F1 of the positive class (id 1, e.g. MRPC "equivalent", QQP "duplicate"); class ids [n]."""
    labels, predictions = _check_pair(labels, predictions)
    return float(sk_metrics.f1_score(labels, predictions, pos_label=1, average="binary", zero_division=0.0))


def matthews_corrcoef(labels, predictions) -> float:
    """Matthews correlation coefficient (CoLA); 0.0 when a side is constant; class ids [n]."""
    labels, predictions = _check_pair(labels, predictions)
    return float(sk_metrics.matthews_corrcoef(labels, predictions))


def pearson(labels, predictions) -> float:
    """Pearson correlation of float scores [n]; NaN when a side is constant."""
    labels, predictions = _check_pair(labels, predictions)
    return float(stats.pearsonr(labels.astype(np.float64), predictions.astype(np.float64))[0])


def spearman(labels, predictions) -> float:
    """Spearman rank correlation of float scores [n]; NaN when a side is constant."""
    labels, predictions = _check_pair(labels, predictions)
    return float(stats.spearmanr(labels.astype(np.float64), predictions.astype(np.float64))[0])


# Metric name (the key in results and eval_results.txt) → function.
METRICS = {"accuracy": accuracy, "f1": binary_f1, "matthews_corrcoef": matthews_corrcoef, "pearson": pearson,
           "spearman": spearman}


def classification_metrics(task: str, labels, predictions) -> dict[str, float]:
    """The metrics GLUE reports for `task`.

    Args:
      task: a GLUE/XNLI `--task_name` or alias (a key of `glue.TASKS`, case-insensitive), or "classification" /
        "regression" for a `GenericTask`.
      labels: gold class ids (int [n]) or, for regression tasks, gold scores (float [n]).
      predictions: predicted class ids (argmax of the logits) or predicted scores, same shape.

    Returns:
      dict metric name → value, in the order GLUE lists them for the task.

    Example:
    >>> classification_metrics("MRPC", [1, 0, 1, 1], [1, 0, 0, 1])
    {'f1': 0.8, 'accuracy': 0.75}
    """
    key = task.lower()
    if key in GENERIC_METRICS:
        names = GENERIC_METRICS[key]
    elif key in TASKS:
        names = TASKS[key].metrics
    else:
        raise ValueError(f"no metrics defined for task {task!r}; known: {sorted([*TASKS, *GENERIC_METRICS])}")
    return {name: METRICS[name](labels, predictions) for name in names}
