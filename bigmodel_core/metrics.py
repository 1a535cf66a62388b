"""Scores for classification and regression, computed with scikit-learn.

`classification_metrics` and `regression_metrics` return plain dicts of floats
(JSON-ready); the confusion matrix and per-class accuracy come separately
because they are tables, not numbers.
"""
from __future__ import annotations

import numpy as np
from sklearn import metrics as skm


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def classification_metrics(y_true: np.ndarray, probs: np.ndarray) -> dict:
    """probs: [N, K] class probabilities. Adds ROC-AUC for binary tasks."""
    y_pred = probs.argmax(axis=1)
    out = {
        "accuracy": float(skm.accuracy_score(y_true, y_pred)),
        "macro_f1": float(skm.f1_score(y_true, y_pred, average="macro", zero_division=0)),
    }
    if probs.shape[1] == 2 and len(np.unique(y_true)) == 2:
        out["roc_auc"] = float(skm.roc_auc_score(y_true, probs[:, 1]))
    return out


def regression_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict:
    return {
        "r2": float(skm.r2_score(y_true, y_pred)),
        "rmse": float(np.sqrt(skm.mean_squared_error(y_true, y_pred))),
        "mae": float(skm.mean_absolute_error(y_true, y_pred)),
    }


def confusion(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> np.ndarray:
    return skm.confusion_matrix(y_true, y_pred, labels=list(range(num_classes)))


def per_class_accuracy(cm: np.ndarray) -> np.ndarray:
    totals = cm.sum(axis=1)
    return np.divide(np.diag(cm), totals, out=np.zeros(len(cm)), where=totals > 0)


def primary_metric(problem: str, num_classes: int | None = None) -> str:
    """The one number a card leads with."""
    if problem == "regression":
        return "r2"
    return "roc_auc" if num_classes == 2 else "accuracy"
