"""What every explanation method shares: a `Predictor`'s ONNX Runtime session as a captum forward
function, the choice of the class to explain, and the PyTorch model rebuilt from a registry folder.

Classification explains the probability (0..1) of one class — the predicted one unless `target`
is given; regression explains the predicted value in the target's units.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from bigmodel_core.errors import ModelError
from bigmodel_core.serve.card import ModelCard

if TYPE_CHECKING:
    from collections.abc import Callable

    import torch

    from bigmodel_core.serve.runtime import Predictor


class OrtForward:
    """A captum forward function over a `Predictor`'s ONNX Runtime session: torch tensors in, torch scores out.

    `to_feed(*tensors)` builds the ONNX feed (default: the first input is the tensor as float32).
    No gradients flow through it, so it serves perturbation methods (occlusion, ablation, Shapley).
    """

    def __init__(self, predictor: Predictor, to_feed: Callable[..., dict[str, np.ndarray]] | None = None):
        self.predictor, self.to_feed = predictor, to_feed
        self.calls = 0

    def __call__(self, *tensors: torch.Tensor) -> torch.Tensor:
        import torch

        if self.to_feed is not None:
            feed = self.to_feed(*tensors)
        else:
            feed = {self.predictor.input_names[0]: np.ascontiguousarray(tensors[0].detach().cpu().numpy(),
                                                                         dtype=np.float32)}
        self.calls += 1
        return torch.from_numpy(self.predictor.scores_of(feed))


def pick_target(scores: np.ndarray, problem: str, target: int | None) -> int | None:
    if problem == "regression":
        return None
    return int(np.argmax(scores[0])) if target is None else int(target)


def load_torch_model(folder: Path, card: ModelCard) -> torch.nn.Module | None:
    """The PyTorch model rebuilt from `weights.safetensors` in eval mode, or None when it cannot be.

    A regression model whose card gives a `target_range` comes back clamped to it, as its ONNX
    graph is (`nets.ClampOutput`), so the two answer alike.

    None when the folder keeps no weights (shipped ONNX-only and int8 models) or the
    architecture cannot be rebuilt on this machine (MiniLM without its config files).
    """
    weights = Path(folder) / (card.weights or "weights.safetensors")
    if not card.weights or not weights.exists() or card.quantized_from:
        return None
    try:
        from safetensors.torch import load_file

        from bigmodel_core.nn.zoo import build_model

        model = build_model(card.architecture, dict(card.arch_config, pretrained=False))
        model.load_state_dict(load_file(str(weights)))
    except (ModelError, KeyError, OSError, RuntimeError, ValueError):   # ValueError: a card naming no known option
        return None
    from bigmodel_core.nn.nets import clamp_to_range

    return clamp_to_range(model.eval(), card.target_range)
