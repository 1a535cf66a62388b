"""Backpropagation by hand for a 3-4-2 network: sigmoid hidden layer, softmax output, cross-entropy loss.

Forward pass for one example x [3] with target distribution y [2]:

    z1 = W1 · x + b1          W1 [4, 3], b1 [4]    → z1 [4]
    a1 = σ(z1)                                     → a1 [4]
    z2 = W2 · a1 + b2         W2 [2, 4], b2 [2]    → z2 [2]
    p  = softmax(z2)                               → p  [2]
    L  = − Σ_k y_k ln p_k                          (≥ 0)

Backward pass (chain rule, from the loss back to the first layer):

    dL/dz2 = p · Σ_k y_k − y                       (= p − y when y sums to 1)
    dL/dW2 = dL/dz2 ⊗ a1                           (outer product) [2, 4]
    dL/db2 = dL/dz2                                [2]
    dL/da1 = W2ᵀ · dL/dz2                          [4]
    dL/dz1 = dL/da1 ⊙ a1 ⊙ (1 − a1)                (σ' = σ(1 − σ)) [4]
    dL/dW1 = dL/dz1 ⊗ x                            [4, 3]
    dL/db1 = dL/dz1                                [4]
"""
from __future__ import annotations

import numpy as np

from bigmodel_core.teach.activations import sigmoid, softmax
from bigmodel_core.teach.losses import EPS

SIZES = (3, 4, 2)                       # inputs, hidden units, outputs
PARAMS = ("W1", "b1", "W2", "b2")


def default_example(seed: int = 0) -> dict:
    """A fixed-seed starting point: x, y and small random weights (biases 0)."""
    rng = np.random.default_rng(seed)
    n_in, n_hidden, n_out = SIZES
    return {
        "x": np.array([1.0, 0.5, -1.0]),
        "y": np.array([1.0, 0.0]),
        "W1": np.round(rng.normal(0, 0.5, (n_hidden, n_in)), 2),
        "b1": np.zeros(n_hidden),
        "W2": np.round(rng.normal(0, 0.5, (n_out, n_hidden)), 2),
        "b2": np.zeros(n_out),
    }


def forward(params: dict, x: np.ndarray, y: np.ndarray) -> dict:
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    z1 = params["W1"] @ x + params["b1"]                 # [4]
    a1 = sigmoid(z1)                                     # [4]
    z2 = params["W2"] @ a1 + params["b2"]                # [2]
    p = softmax(z2)                                      # [2]
    loss = float(-np.sum(y * np.log(np.maximum(p, EPS))))
    return {"x": x, "y": y, "z1": z1, "a1": a1, "z2": z2, "p": p, "loss": loss}


def backward(params: dict, fwd: dict) -> dict:
    """Every gradient of the loss, in the order backpropagation computes them."""
    y, a1, x = fwd["y"], fwd["a1"], fwd["x"]
    dz2 = fwd["p"] * y.sum() - y                         # [2]
    dW2 = np.outer(dz2, a1)                              # [2, 4]
    db2 = dz2                                            # [2]
    da1 = params["W2"].T @ dz2                           # [4]
    dz1 = da1 * a1 * (1.0 - a1)                          # [4]
    dW1 = np.outer(dz1, x)                               # [4, 3]
    db1 = dz1                                            # [4]
    return {"z2": dz2, "W2": dW2, "b2": db2, "a1": da1, "z1": dz1, "W1": dW1, "b1": db1}


def sgd_update(params: dict, grads: dict, lr: float) -> dict:
    """One gradient-descent step on every weight: θ ← θ − η · dL/dθ."""
    return {name: params[name] - lr * grads[name] for name in PARAMS}


def numerical_gradient(params: dict, x: np.ndarray, y: np.ndarray, name: str, h: float = 1e-6) -> np.ndarray:
    """dL/d(param) by central differences, (L(θ + h) − L(θ − h)) / 2h, to check the chain rule."""
    grad = np.zeros_like(params[name], dtype=float)
    for idx in np.ndindex(grad.shape):
        shifted = {k: np.array(v, dtype=float) for k, v in params.items()}
        shifted[name][idx] += h
        up = forward(shifted, x, y)["loss"]
        shifted[name][idx] -= 2 * h
        down = forward(shifted, x, y)["loss"]
        grad[idx] = (up - down) / (2 * h)
    return grad


def gradient_check(params: dict, x: np.ndarray, y: np.ndarray) -> float:
    """Largest |analytic − numerical| gradient over all weights."""
    grads = backward(params, forward(params, x, y))
    return max(float(np.abs(grads[n] - numerical_gradient(params, x, y, n)).max()) for n in PARAMS)
