"""Loss functions: mean squared error and cross-entropy.

For a target vector y and a prediction ŷ with n entries:

    MSE(y, ŷ) = (1/n) Σ_i (y_i − ŷ_i)²
    CE(y, ŷ)  = − Σ_i y_i · ln ŷ_i          (ŷ a probability vector)

Cross-entropy is never negative: every ŷ_i lies in (0, 1], so ln ŷ_i ≤ 0 and
−y_i · ln ŷ_i ≥ 0 for targets y_i ≥ 0. It is 0 only when the true class gets
probability 1. Worked example (y = [1, 0], ŷ = [0.9, 0.1]):

    MSE = ((1 − 0.9)² + (0 − 0.1)²) / 2 = (0.01 + 0.01) / 2 = 0.01
    CE  = −(1 · ln 0.9 + 0 · ln 0.1) = −ln 0.9 ≈ 0.1054
"""
from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

EXAMPLE_Y = (1.0, 0.0)
EXAMPLE_P = (0.9, 0.1)
EPS = 1e-12                # keeps ln(0) finite when a probability is exactly 0


def mse(y: ArrayLike, y_hat: ArrayLike) -> float:
    y, y_hat = np.asarray(y, dtype=float), np.asarray(y_hat, dtype=float)   # [n], [n]
    return float(np.mean((y - y_hat) ** 2))


def cross_entropy(y: ArrayLike, p: ArrayLike) -> float:
    """−Σ y_i ln p_i for a target distribution y and predicted probabilities p (both [n])."""
    y, p = np.asarray(y, dtype=float), np.asarray(p, dtype=float)
    if np.any(p < 0) or np.any(p > 1):
        raise ValueError("probabilities must lie in [0, 1]")
    return float(-np.sum(y * np.log(np.clip(p, EPS, 1.0))))


def squared_terms(y: ArrayLike, y_hat: ArrayLike) -> np.ndarray:
    """(y_i − ŷ_i)² for each entry, the pieces MSE averages."""
    return (np.asarray(y, dtype=float) - np.asarray(y_hat, dtype=float)) ** 2


def log_terms(y: ArrayLike, p: ArrayLike) -> np.ndarray:
    """−y_i ln p_i for each entry, the pieces CE adds up (each ≥ 0)."""
    y, p = np.asarray(y, dtype=float), np.asarray(p, dtype=float)
    return -y * np.log(np.clip(p, EPS, 1.0))


def example() -> dict:
    """The worked example: y = [1, 0], ŷ = [0.9, 0.1]."""
    return {"y": EXAMPLE_Y, "p": EXAMPLE_P,
            "squared": squared_terms(EXAMPLE_Y, EXAMPLE_P), "mse": mse(EXAMPLE_Y, EXAMPLE_P),
            "log_terms": log_terms(EXAMPLE_Y, EXAMPLE_P), "ce": cross_entropy(EXAMPLE_Y, EXAMPLE_P)}


def binary_curves(points: int = 199) -> dict:
    """Both losses for y = [1, 0] as the predicted probability q of the true class goes 0 → 1.

    ŷ = [q, 1 − q], so MSE = (1 − q)² and CE = −ln q (which grows without bound as q → 0).
    """
    q = np.linspace(0.005, 0.995, points)                # [points]
    return {"q": q, "mse": (1.0 - q) ** 2, "ce": -np.log(q)}


def binary_losses(q: float) -> dict:
    """MSE and CE for y = [1, 0] and ŷ = [q, 1 − q]."""
    p = (q, 1.0 - q)
    return {"mse": mse(EXAMPLE_Y, p), "ce": cross_entropy(EXAMPLE_Y, p)}
