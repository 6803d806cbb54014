"""GLUE metrics against scikit-learn/SciPy on fixed arrays and against hand-computed values."""
import numpy as np
import pytest
from scipy import stats
from sklearn import metrics as sk

from keras_bert.data.classification import metrics

RNG = np.random.default_rng(7)
LABELS = RNG.integers(0, 2, size=200)
PREDICTIONS = np.where(RNG.random(200) < 0.8, LABELS, 1 - LABELS)
SCORES = RNG.uniform(0, 5, size=100)
PREDICTED_SCORES = SCORES + RNG.normal(0, 1.0, size=100)


def test_against_sklearn_and_scipy():
    assert metrics.accuracy(LABELS, PREDICTIONS) == sk.accuracy_score(LABELS, PREDICTIONS)
    assert metrics.binary_f1(LABELS, PREDICTIONS) == sk.f1_score(LABELS, PREDICTIONS)
    assert metrics.matthews_corrcoef(LABELS, PREDICTIONS) == sk.matthews_corrcoef(LABELS, PREDICTIONS)
    assert metrics.pearson(SCORES, PREDICTED_SCORES) == pytest.approx(stats.pearsonr(SCORES, PREDICTED_SCORES)[0])
    assert metrics.spearman(SCORES, PREDICTED_SCORES) == pytest.approx(
        stats.spearmanr(SCORES, PREDICTED_SCORES)[0])


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
    assert metrics.matthews_corrcoef([0, 1, 1], [1, 1, 1]) == 0.0  # constant predictions


@pytest.mark.parametrize("task,keys", [
    ("CoLA", ["matthews_corrcoef", "accuracy"]),
    ("sst-2", ["accuracy"]),
    ("MRPC", ["f1", "accuracy"]),
    ("qqp", ["accuracy", "f1"]),
    ("mnli-mm", ["accuracy"]),
    ("xnli", ["accuracy"]),
    ("classification", ["accuracy"]),
])
def test_classification_metrics_per_task(task, keys):
    result = metrics.classification_metrics(task, [1, 0, 1, 1, 0], [1, 0, 0, 1, 1])
    assert list(result) == keys
    expected = {"accuracy": 0.6, "f1": 2 / 3, "matthews_corrcoef": 1 / 6}
    assert result == pytest.approx({k: expected[k] for k in keys})


def test_regression_metrics():
    result = metrics.classification_metrics("STS-B", [1, 2, 3, 4], [10, 30, 20, 40])
    assert list(result) == ["pearson", "spearman"]
    assert result["spearman"] == pytest.approx(0.8)
    assert result["pearson"] == pytest.approx(stats.pearsonr([1, 2, 3, 4], [10, 30, 20, 40])[0])


def test_bad_inputs():
    with pytest.raises(ValueError, match="no metrics defined for task 'squad'"):
        metrics.classification_metrics("squad", [1], [1])
    with pytest.raises(ValueError, match=r"shapes \(3,\) and \(2,\)"):
        metrics.accuracy([1, 0, 1], [1, 0])
    with pytest.raises(ValueError, match="1-D"):
        metrics.accuracy([[1, 0]], [[1, 0]])
    with pytest.raises(ValueError, match="no labels"):
        metrics.accuracy([], [])
