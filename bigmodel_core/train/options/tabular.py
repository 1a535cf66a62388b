"""Training options of the tabular architectures: the linear model and the MLP."""
from __future__ import annotations

from typing import ClassVar, Literal

from .base import Options, Slider


class LinearOptions(Options):
    """The linear model (no hidden layer) and what every tabular architecture accepts."""

    dropout: float = 0.0
    class_weight: Literal["balanced"] | None = None
    # picks the best epoch: accuracy, macro_f1, neg_log_loss, roc_auc or r2, as the problem allows
    # (checked with the data, which knows the problem)
    monitor: str | None = None
    derived_features: list[dict] | None = None    # extra columns: {name, op: difference | product, columns}
    bins: int = 0                                 # piecewise-linear bins per number (0: none)
    bin_edges: Literal["quantile", "tree"] = "quantile"


class MlpOptions(LinearOptions):
    """The multi-layer perceptron: hidden layer widths (all alike on the page) and dropout."""

    sliders: ClassVar[dict[str, Slider]] = {"width": Slider(8, 512, 8, 64), "depth": Slider(1, 4, 1, 2),
                               "dropout": Slider(0.0, 0.5, 0.05, 0.0)}
    hidden: list[int] = [128, 64]

    @classmethod
    def from_sliders(cls, width: int, depth: int, dropout: float, augment: str) -> dict:
        return dict(hidden=[int(width)] * int(depth), dropout=float(dropout))
