"""Activation functions and their derivatives, written out in numpy.

Each activation f comes with its derivative f' so a page can draw the curve,
the slope curve and the tangent line at any point x0:

    tangent(x) = f(x0) + f'(x0) · (x − x0)

Softmax turns a vector of logits into probabilities. Dividing the logits by a
temperature T first makes the distribution sharper (T < 1) or flatter (T > 1):

    p_i = exp(z_i / T) / Σ_j exp(z_j / T)
    ∂p_i / ∂z_j = p_i · (δ_ij − p_j) / T
"""
from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

_erf = np.vectorize(math.erf, otypes=[float])


# ----------------------------------------------------------------------------- element-wise functions

def sigmoid(x: ArrayLike) -> np.ndarray:
    """σ(x) = 1 / (1 + e^−x), computed without overflow for large |x|."""
    x = np.asarray(x, dtype=float)
    e = np.exp(-np.abs(x))                               # always ≤ 1
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def sigmoid_grad(x: ArrayLike) -> np.ndarray:
    """σ'(x) = σ(x) · (1 − σ(x)); at most 0.25 (at x = 0)."""
    s = sigmoid(x)
    return s * (1.0 - s)


def tanh(x: ArrayLike) -> np.ndarray:
    return np.tanh(np.asarray(x, dtype=float))


def tanh_grad(x: ArrayLike) -> np.ndarray:
    """tanh'(x) = 1 − tanh²(x)."""
    return 1.0 - np.tanh(np.asarray(x, dtype=float)) ** 2


def relu(x: ArrayLike) -> np.ndarray:
    return np.maximum(np.asarray(x, dtype=float), 0.0)


def relu_grad(x: ArrayLike) -> np.ndarray:
    """1 for x > 0, else 0 (at x = 0 the slope is undefined; 0 is used, as PyTorch does)."""
    return (np.asarray(x, dtype=float) > 0).astype(float)


def normal_cdf(x: ArrayLike) -> np.ndarray:
    """Φ(x), the standard normal cumulative distribution."""
    return 0.5 * (1.0 + _erf(np.asarray(x, dtype=float) / math.sqrt(2.0)))


def normal_pdf(x: ArrayLike) -> np.ndarray:
    """φ(x), the standard normal density."""
    x = np.asarray(x, dtype=float)
    return np.exp(-0.5 * x ** 2) / math.sqrt(2.0 * math.pi)


def gelu(x: ArrayLike) -> np.ndarray:
    """GELU(x) = x · Φ(x) (the exact form, not the tanh approximation)."""
    x = np.asarray(x, dtype=float)
    return x * normal_cdf(x)


def gelu_grad(x: ArrayLike) -> np.ndarray:
    """GELU'(x) = Φ(x) + x · φ(x) (product rule)."""
    x = np.asarray(x, dtype=float)
    return normal_cdf(x) + x * normal_pdf(x)


ACTIVATIONS = {                       # name → (f, f')
    "sigmoid": (sigmoid, sigmoid_grad),
    "tanh": (tanh, tanh_grad),
    "relu": (relu, relu_grad),
    "gelu": (gelu, gelu_grad),
}


def curve(name: str, lo: float = -5.0, hi: float = 5.0, points: int = 401) -> dict:
    """x, f(x), f'(x) over [lo, hi] for plotting."""
    f, df = ACTIVATIONS[name]
    xs = np.linspace(lo, hi, points)                     # [points]
    return {"x": xs, "y": f(xs), "dy": df(xs)}


def tangent(name: str, x0: float, xs: ArrayLike) -> dict:
    """Value, slope and the tangent line at x0, evaluated over xs."""
    f, df = ACTIVATIONS[name]
    y0, slope = float(f(x0)), float(df(x0))
    xs = np.asarray(xs, dtype=float)
    return {"x0": float(x0), "y0": y0, "slope": slope, "line": y0 + slope * (xs - x0)}


# ----------------------------------------------------------------------------- softmax

def softmax(z: ArrayLike, temperature: float = 1.0) -> np.ndarray:
    """Softmax of z / T along the last axis; the max is subtracted first so exp never overflows."""
    if temperature <= 0:
        raise ValueError("temperature must be positive")
    z = np.asarray(z, dtype=float) / temperature         # [..., K]
    e = np.exp(z - z.max(axis=-1, keepdims=True))        # [..., K], largest entry is exp(0) = 1
    return e / e.sum(axis=-1, keepdims=True)


def softmax_jacobian(z: ArrayLike, temperature: float = 1.0) -> np.ndarray:
    """J[i, j] = ∂p_i/∂z_j = p_i (δ_ij − p_j) / T for one logit vector z [K] → [K, K]."""
    p = softmax(z, temperature)                           # [K]
    return (np.diag(p) - np.outer(p, p)) / temperature    # [K, K]
