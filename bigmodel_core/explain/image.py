"""Why an image model said what it said: captum `Occlusion` through ONNX Runtime.

Works for every image model (with or without `weights.safetensors`, fp32 or int8): a square patch
of about a seventh of the picture's side, filled with the training mean colour (black where the
card has none), slides over the picture with a stride of half a patch; each pixel gets the average
drop of the explained class's probability while it is hidden (captum averages overlapping
windows). Positive = this region supports the class. Chosen over gradient saliency because it needs
no PyTorch weights, explains the very file that serves the predictions, and gives smooth maps a
person can read; about 200 small batched ONNX runs, well under a second on two CPU cores.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from bigmodel_core.errors import DataError
from bigmodel_core.explain.common import OrtForward, pick_target

if TYPE_CHECKING:
    from bigmodel_core.serve.runtime import Predictor

OCCLUSION = "occlusion"


@dataclass
class ImageExplanation:
    heatmap: np.ndarray           # [H, W]: drop of the class score while the pixel is hidden
    target: int                   # class index explained (0 for regression)
    score: float                  # the class probability (or value) for the full picture
    method: str = OCCLUSION
    window: int = 0
    stride: int = 0


def occlusion_window(height: int, width: int) -> tuple[int, int]:
    """(window, stride): a patch of about 1/7 of the shorter side (at least 2 pixels), stride half of it."""
    window = max(2, int(round(min(height, width) / 7)))
    return window, max(1, window // 2)


def image_occlusion(predictor: Predictor, x: np.ndarray, target: int | None = None, window: int | None = None,
                    stride: int | None = None) -> ImageExplanation:
    """Occlusion map of one picture `x` (float [C, H, W] in 0..1, as the model sees it) → [H, W]."""
    import torch
    from captum.attr import Occlusion

    x = np.asarray(x, dtype=np.float32)
    if x.ndim != 3:
        raise DataError(f"Expected one picture [C, H, W], got shape {x.shape}.")
    c, h, w = x.shape
    auto_w, auto_s = occlusion_window(h, w)
    window, stride = window or auto_w, stride or auto_s
    forward = OrtForward(predictor)
    inp = torch.from_numpy(x[None])
    scores = forward(inp).numpy()
    target = pick_target(scores, predictor.problem, target)
    mean = (predictor.card.preprocessing or {}).get("mean")
    fill = np.asarray(mean if mean is not None and len(mean) == c else [0.0] * c, dtype=np.float32)
    baseline = torch.from_numpy(np.broadcast_to(fill[:, None, None], (c, h, w)).copy()[None])
    attr = Occlusion(forward).attribute(inp, sliding_window_shapes=(c, window, window), strides=(c, stride, stride),
                                        baselines=baseline, target=target, perturbations_per_eval=64)
    heat = attr[0].sum(0).detach().numpy().astype(np.float64) / c        # [H, W]: same value in every channel
    score = float(scores[0] if target is None else scores[0, target])
    return ImageExplanation(heatmap=heat, target=target or 0, score=score, window=window, stride=stride)

