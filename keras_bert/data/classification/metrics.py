"""Evaluation metrics of the GLUE/XNLI tasks, computed with scikit-learn and SciPy.

`classification_metrics(task, labels, predictions)` returns what GLUE reports for the task (plus the
reference run_classifier's accuracy for every classification task): CoLA Matthews correlation, MRPC and
QQP F1 and accuracy, STS-B Pearson and Spearman correlations, accuracy elsewhere.
"""
from __future__ import annotations

import numpy as np
from scipy import stats
from sklearn import metrics as sk_metrics

ACCURACY = "accuracy"
F1 = "f1"
MATTHEWS = "matthews_corrcoef"
PEARSON = "pearson"
SPEARMAN = "spearman"

_ACCURACY_ONLY = (ACCURACY,)
# Keys: the `TASKS` names of keras_bert.data.classification.glue, plus "classification" and "regression" for GenericTask.
METRICS_BY_TASK: dict[str, tuple[str, ...]] = {
    "cola": (MATTHEWS, ACCURACY),
    "sst-2": _ACCURACY_ONLY, "sst2": _ACCURACY_ONLY,
    "mrpc": (F1, ACCURACY),
    "sts-b": (PEARSON, SPEARMAN), "stsb": (PEARSON, SPEARMAN),
    "qqp": (ACCURACY, F1),
    "mnli": _ACCURACY_ONLY, "mnli-m": _ACCURACY_ONLY, "mnli_matched": _ACCURACY_ONLY,
    "mnli-mm": _ACCURACY_ONLY, "mnli_mismatched": _ACCURACY_ONLY,
    "qnli": _ACCURACY_ONLY, "rte": _ACCURACY_ONLY, "wnli": _ACCURACY_ONLY, "xnli": _ACCURACY_ONLY,
    "classification": _ACCURACY_ONLY,
    "regression": (PEARSON, SPEARMAN),
}


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


_FUNCTIONS = {ACCURACY: accuracy, F1: binary_f1, MATTHEWS: matthews_corrcoef, PEARSON: pearson,
              SPEARMAN: spearman}


def classification_metrics(task: str, labels, predictions) -> dict[str, float]:
    """The metrics GLUE reports for `task` (a `--task_name`, case-insensitive, or "classification"/"regression").

    Args:
      task: key of `METRICS_BY_TASK`.
      labels: gold class ids (int [n]) or, for regression tasks, gold scores (float [n]).
      predictions: predicted class ids (argmax of the logits) or predicted scores, same shape.

    Returns:
      dict metric name → value, in the order GLUE lists them for the task.
    """
    key = task.lower()
    if key not in METRICS_BY_TASK:
        raise ValueError(f"no metrics defined for task {task!r}; known: {sorted(METRICS_BY_TASK)}")
    return {name: _FUNCTIONS[name](labels, predictions) for name in METRICS_BY_TASK[key]}
