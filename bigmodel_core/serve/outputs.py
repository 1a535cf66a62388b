"""From a model's raw output to what a user sees: the one place that turns logits into probabilities.

Every prediction, evaluation, explanation, gallery and benchmark calls `scores` (or `probabilities`),
whether the logits came from ONNX Runtime or, during training, from PyTorch. numpy only: importing
this costs nothing on the inference path.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from numpy.typing import ArrayLike


def probabilities(logits: ArrayLike, keep_if_normalised: bool = False) -> np.ndarray:
    """Softmax over the last axis, in float64, stable for any finite logits.

    `keep_if_normalised`: an unknown model (the ONNX inspector) may already end in a softmax; a row
    that is non-negative and sums to 1 is then returned as it is.
    """
    z = np.asarray(logits, dtype=np.float64)
    if keep_if_normalised and z.size and z.min() >= 0 and np.allclose(z.sum(axis=-1), 1.0, atol=1e-3):
        return z
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def scores(raw: ArrayLike, problem: str) -> np.ndarray:
    """Raw model outputs → probabilities [N, K] (classification) or values [N] (regression), float64."""
    if problem == "regression":
        out = np.asarray(raw, dtype=np.float64)
        return out.reshape(len(out), -1)[:, 0]
    return probabilities(raw)
