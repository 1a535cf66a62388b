"""Scores: logits → probabilities (outputs.py), classification and regression metrics, confusion tables.

The metrics are numpy (the inference path must not import scikit-learn); scikit-learn is the reference."""
import warnings

import numpy as np
import pytest
import torch

from bigmodel_core.serve.outputs import probabilities, scores
from bigmodel_core.train import metrics as M


def test_softmax_matches_torch_and_rows_sum_to_one():
    logits = np.random.default_rng(0).normal(0, 3, (20, 7))
    p = probabilities(logits)
    np.testing.assert_allclose(p, torch.softmax(torch.from_numpy(logits), dim=-1).numpy(), atol=1e-12)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-12)
    assert (p > 0).all()


def test_softmax_is_stable_for_huge_logits():
    logits = np.array([[1000.0, 1001.0, 1002.0], [-1e4, 0.0, 1e4], [1e300, 1e300, -1e300]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")                      # no overflow warnings either
        p = probabilities(logits)
    assert np.isfinite(p).all()
    np.testing.assert_allclose(p[0], torch.softmax(torch.tensor([0.0, 1.0, 2.0], dtype=torch.float64), 0).numpy())
    np.testing.assert_allclose(p[1], [0, 0, 1], atol=1e-12)
    np.testing.assert_allclose(p[2], [0.5, 0.5, 0.0])
    p32 = probabilities(np.array([[88.0, 89.0, 90.0]], dtype=np.float32))       # exp(89) overflows float32
    assert np.isfinite(p32).all() and p32.sum() == pytest.approx(1.0, abs=1e-6)


def test_classification_metrics_on_a_tiny_example():
    y_true = np.array([0, 0, 1, 1, 2, 2])
    y_pred = np.array([0, 1, 1, 1, 0, 2])
    probs = np.eye(3)[y_pred] * 0.7 + 0.1                  # argmax = y_pred
    m = M.classification_metrics(y_true, probs)
    assert set(m) == {"accuracy", "macro_f1"}               # three classes: no ROC-AUC
    assert m["accuracy"] == pytest.approx(4 / 6)
    # per class: precision/recall — 0: 1/2, 1/2; 1: 2/3, 2/2; 2: 1/1, 1/2
    f1 = [0.5, 2 * (2 / 3) * 1 / (2 / 3 + 1), 2 * 1 * 0.5 / 1.5]
    assert m["macro_f1"] == pytest.approx(np.mean(f1))


def test_macro_f1_counts_a_never_predicted_class_as_zero():
    y_true = np.array([0, 1, 2])
    probs = np.eye(3)[[0, 1, 1]]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m = M.classification_metrics(y_true, probs)
    assert m["macro_f1"] == pytest.approx((1 + 2 / 3 + 0) / 3)


def test_roc_auc_only_for_binary_tasks_with_both_classes():
    y = np.array([0, 0, 1, 1])
    probs = np.array([[0.9, 0.1], [0.6, 0.4], [0.65, 0.35], [0.2, 0.8]])
    m = M.classification_metrics(y, probs)
    assert m["roc_auc"] == pytest.approx(0.75)              # 3 of the 4 (neg, pos) pairs ranked right
    assert m["accuracy"] == pytest.approx(0.75)
    assert "roc_auc" not in M.classification_metrics(np.array([1, 1, 1]), probs[:3])     # one class only
    three = np.array([[0.5, 0.3, 0.2], [0.1, 0.8, 0.1], [0.3, 0.3, 0.4], [0.2, 0.2, 0.6]])
    assert "roc_auc" not in M.classification_metrics(np.array([0, 1, 0, 1]), three)


def test_regression_metrics_match_numpy_formulas():
    rng = np.random.default_rng(1)
    y = rng.normal(100, 20, 50)
    pred = y + rng.normal(0, 5, 50)
    m = M.regression_metrics(y, pred)
    err = pred - y
    assert m["rmse"] == pytest.approx(np.sqrt(np.mean(err ** 2)))
    assert m["mae"] == pytest.approx(np.mean(np.abs(err)))
    assert m["r2"] == pytest.approx(1 - np.sum(err ** 2) / np.sum((y - y.mean()) ** 2))
    assert all(isinstance(v, float) for v in m.values())
    perfect = M.regression_metrics(y, y)
    assert perfect == {"r2": 1.0, "rmse": 0.0, "mae": 0.0}
    mean_only = M.regression_metrics(y, np.full_like(y, y.mean()))
    assert mean_only["r2"] == pytest.approx(0.0, abs=1e-12)


def test_confusion_and_per_class_accuracy_with_an_empty_class():
    y_true = np.array([0, 0, 0, 1, 1, 3])
    y_pred = np.array([0, 0, 1, 1, 3, 3])
    cm = M.confusion(y_true, y_pred, num_classes=4)          # class 2 never occurs
    assert cm.shape == (4, 4) and cm.sum() == 6
    assert cm[0].tolist() == [2, 1, 0, 0] and cm[2].tolist() == [0, 0, 0, 0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")                      # no division-by-zero warning
        acc = M.per_class_accuracy(cm)
    np.testing.assert_allclose(acc, [2 / 3, 1 / 2, 0.0, 1.0])
    assert np.isfinite(acc).all()


def test_primary_metric():
    assert M.primary_metric("regression") == "r2"
    assert M.primary_metric("classification", 2) == "roc_auc"
    assert M.primary_metric("classification", 10) == "accuracy"


def test_probabilities_keep_an_already_normalised_row_only_when_asked():
    p = np.array([[0.2, 0.3, 0.5]])
    np.testing.assert_allclose(probabilities(p, keep_if_normalised=True), p)
    assert not np.allclose(probabilities(p), p)                  # logits by default
    np.testing.assert_allclose(scores(np.array([[3.0], [4.5]], dtype=np.float32), "regression"), [3.0, 4.5])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_numpy_metrics_agree_with_scikit_learn(seed):
    from sklearn import metrics as skm

    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, 300)
    probs = probabilities(rng.normal(0, 1, (300, 2)) + np.eye(2)[y])
    probs[:40] = probs[0]                                        # ties in the scores
    m = M.classification_metrics(y, probs)
    assert m["accuracy"] == pytest.approx(skm.accuracy_score(y, probs.argmax(1)), abs=1e-12)
    assert m["macro_f1"] == pytest.approx(skm.f1_score(y, probs.argmax(1), average="macro", zero_division=0), abs=1e-12)
    assert m["roc_auc"] == pytest.approx(skm.roc_auc_score(y, probs[:, 1]), abs=1e-12)
    y5, p5 = rng.integers(0, 5, 200), rng.integers(0, 6, 200)      # a predicted class the truth never has
    assert M.macro_f1(y5, p5) == pytest.approx(skm.f1_score(y5, p5, average="macro", zero_division=0), abs=1e-12)
    assert (M.confusion(y5, p5, 6) == skm.confusion_matrix(y5, p5, labels=list(range(6)))).all()
    t, v = rng.normal(0, 3, 100), rng.normal(0, 3, 100)
    r = M.regression_metrics(t, v)
    assert r["r2"] == pytest.approx(skm.r2_score(t, v), abs=1e-12)
    assert r["rmse"] == pytest.approx(np.sqrt(skm.mean_squared_error(t, v)), abs=1e-12)
    assert r["mae"] == pytest.approx(skm.mean_absolute_error(t, v), abs=1e-12)
    const = np.full(10, 2.0)
    assert M.regression_metrics(const, const + 1)["r2"] == skm.r2_score(const, const + 1)
