"""GLUE metrics against hand-computed values and the textbook formulas written here in numpy (confusion-matrix
counts, covariance over standard deviations, Pearson of average ranks), and GLUE's choice of metrics per task."""
import warnings

import numpy as np
import pytest

from keras_bert.data.classification import glue, metrics


def _confusion(labels, predictions):
    labels, predictions = np.asarray(labels), np.asarray(predictions)
    tp = np.sum((labels == 1) & (predictions == 1))
    tn = np.sum((labels == 0) & (predictions == 0))
    fp = np.sum((labels == 0) & (predictions == 1))
    fn = np.sum((labels == 1) & (predictions == 0))
    return tp, tn, fp, fn


def _textbook_pearson(x, y):
    dx, dy = np.asarray(x, float) - np.mean(x), np.asarray(y, float) - np.mean(y)
    return np.sum(dx * dy) / np.sqrt(np.sum(dx * dx) * np.sum(dy * dy))


def _average_ranks(values):
    """1-based ranks; tied values share the mean of the ranks they occupy."""
    values = np.asarray(values)
    ranks = np.empty(len(values))
    for value in np.unique(values):
        places = np.flatnonzero(np.sort(values) == value) + 1
        ranks[values == value] = places.mean()
    return ranks


def test_hand_computed_tiny_case():
    labels, predictions = [1, 0, 1, 1, 0], [1, 0, 0, 1, 1]
    # TP 2, TN 1, FP 1, FN 1.
    assert metrics.accuracy(labels, predictions) == pytest.approx(3 / 5)
    assert metrics.binary_f1(labels, predictions) == pytest.approx(2 * 2 / (2 * 2 + 1 + 1))
    assert metrics.matthews_corrcoef(labels, predictions) == pytest.approx((2 * 1 - 1 * 1) / np.sqrt(3 * 3 * 2 * 2))
    # Deviations (-1, 0, 1) and (-1, 1, 0): covariance 1, variances 2 and 2.
    assert metrics.pearson([1, 2, 3], [1, 3, 2]) == pytest.approx(0.5)
    # Ranks (1, 2, 3, 4) and (1, 3, 2, 4): sum d^2 = 2, rho = 1 - 6 * 2 / (4 * 15).
    assert metrics.spearman([1, 2, 3, 4], [10, 30, 20, 40]) == pytest.approx(0.8)
    # Ranks (1, 2.5, 2.5, 4) and (1, 2, 3, 4): covariance 4.5, variances 4.5 and 5.
    assert metrics.spearman([1, 2, 2, 3], [1, 2, 3, 4]) == pytest.approx(4.5 / np.sqrt(4.5 * 5))


def test_edge_cases_by_hand():
    assert metrics.matthews_corrcoef([0, 1, 1], [1, 1, 1]) == 0.0  # constant predictions
    assert metrics.matthews_corrcoef([0, 1, 1, 0], [0, 1, 1, 0]) == pytest.approx(1.0)
    assert metrics.matthews_corrcoef([0, 1, 1, 0], [1, 0, 0, 1]) == pytest.approx(-1.0)
    assert metrics.binary_f1([1, 1, 0], [0, 0, 0]) == 0.0  # no positive prediction: TP 0
    assert metrics.binary_f1([0, 1, 1], [1, 1, 1]) == pytest.approx(2 * 2 / (2 * 2 + 1))  # FP 1, FN 0
    assert metrics.accuracy(["a", "b", "b"], ["a", "b", "a"]) == pytest.approx(2 / 3)  # any hashable class
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert np.isnan(metrics.pearson([2.0, 2.0, 2.0], [1.0, 2.0, 3.0]))  # no variance
        assert np.isnan(metrics.spearman([1.0, 2.0, 3.0], [5.0, 5.0, 5.0]))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_binary_metrics_against_the_confusion_matrix_formulas(seed):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, size=200)
    predictions = np.where(rng.random(200) < 0.75, labels, 1 - labels)
    tp, tn, fp, fn = _confusion(labels, predictions)
    assert metrics.accuracy(labels, predictions) == pytest.approx((tp + tn) / 200)
    assert metrics.binary_f1(labels, predictions) == pytest.approx(2 * tp / (2 * tp + fp + fn))
    mcc = (tp * tn - fp * fn) / np.sqrt(float((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn)))
    assert metrics.matthews_corrcoef(labels, predictions) == pytest.approx(mcc)


@pytest.mark.parametrize("seed", [0, 1])
def test_correlations_against_the_textbook_formulas(seed):
    rng = np.random.default_rng(seed)
    scores = rng.integers(0, 11, size=120) / 2  # STS-B-like scores in [0, 5], with many ties
    predicted = scores + rng.normal(0, 1.0, size=120)
    assert metrics.pearson(scores, predicted) == pytest.approx(_textbook_pearson(scores, predicted))
    expected = _textbook_pearson(_average_ranks(scores), _average_ranks(predicted))
    assert metrics.spearman(scores, predicted) == pytest.approx(expected)


# The metrics of the GLUE paper's table 1 (Wang et al. 2019) per task, accuracy for XNLI and generic classification,
# Pearson/Spearman for generic regression: every name `glue.TASKS` knows, aliases included.
GLUE_METRICS = {
    "cola": ["matthews_corrcoef", "accuracy"],
    "sst-2": ["accuracy"], "sst2": ["accuracy"],
    "mrpc": ["f1", "accuracy"],
    "sts-b": ["pearson", "spearman"], "stsb": ["pearson", "spearman"],
    "qqp": ["accuracy", "f1"],
    "mnli": ["accuracy"], "mnli-m": ["accuracy"], "mnli_matched": ["accuracy"],
    "mnli-mm": ["accuracy"], "mnli_mismatched": ["accuracy"],
    "qnli": ["accuracy"], "rte": ["accuracy"], "wnli": ["accuracy"], "xnli": ["accuracy"],
}
GENERIC = {"classification": ["accuracy"], "regression": ["pearson", "spearman"]}


def test_every_task_name_has_its_metrics():
    assert set(glue.TASKS) == set(GLUE_METRICS)


@pytest.mark.parametrize("task", [*GLUE_METRICS, *GENERIC, "CoLA", "SST-2", "MNLI-MM"])
def test_classification_metrics_per_task(task):
    keys = {**GLUE_METRICS, **GENERIC}[task.lower()]
    if "pearson" in keys:
        # Both correlations 0.8: deviations (-1.5, -0.5, 0.5, 1.5) and (-15, 5, -5, 15), ranks as above.
        expected = {"pearson": 0.8, "spearman": 0.8}
        result = metrics.classification_metrics(task, [1, 2, 3, 4], [10, 30, 20, 40])
    else:
        expected = {"accuracy": 0.6, "f1": 2 / 3, "matthews_corrcoef": 1 / 6}  # the tiny case above
        result = metrics.classification_metrics(task, [1, 0, 1, 1, 0], [1, 0, 0, 1, 1])
    assert list(result) == keys
    assert result == pytest.approx({k: expected[k] for k in keys})


def test_bad_inputs():
    with pytest.raises(ValueError, match="no metrics defined for task 'squad'"):
        metrics.classification_metrics("squad", [1], [1])
    with pytest.raises(ValueError, match=r"shapes \(3,\) and \(2,\)"):
        metrics.accuracy([1, 0, 1], [1, 0])
    with pytest.raises(ValueError, match="1-D"):
        metrics.accuracy([[1, 0]], [[1, 0]])
    with pytest.raises(ValueError, match="no labels"):
        metrics.accuracy([], [])
