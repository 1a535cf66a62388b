"""What to train and what a training gives back: `TrainSpec` (dataset, architecture, config, options)
and `TrainedModel` (the PyTorch model with everything the export and the model card need).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from bigmodel_core.train.trainer import TrainConfig, TrainHistory

if TYPE_CHECKING:
    import torch


@dataclass
class TrainSpec:
    dataset: str                                  # catalog id (or a label for uploaded data)
    architecture: str
    config: TrainConfig = field(default_factory=TrainConfig)
    options: dict = field(default_factory=dict)   # architecture/data options (widths, hidden, vocab, augment …)
    max_rows: int | None = None                   # stratified subsample for quick runs
    split_seed: int = 0

    def to_dict(self) -> dict:
        return dict(dataset=self.dataset, architecture=self.architecture, config=self.config.to_dict(),
                    options=self.options, max_rows=self.max_rows, split_seed=self.split_seed)

    @classmethod
    def from_dict(cls, d: dict) -> TrainSpec:
        return cls(d["dataset"], d["architecture"], TrainConfig(**d["config"]), d.get("options", {}),
                   d.get("max_rows"), d.get("split_seed", 0))


@dataclass
class TrainedModel:
    spec: TrainSpec
    model: torch.nn.Module
    task: str
    problem: str
    labels: list[str]
    arch_config: dict
    preprocessing: dict
    input_spec: list[dict]
    assets: dict[str, bytes]
    history: TrainHistory
    metrics: dict                                 # {"val": {...}, "test": {...}}
    baseline: dict | None
    example_feed: dict[str, np.ndarray]           # a real batch of test inputs, for parity
    test_true: np.ndarray | None = None
    test_scores: np.ndarray | None = None         # probabilities [N, K] or predictions [N]
    test_index: np.ndarray | None = None
    target_range: dict | None = None              # regression: the range every answer is kept in (see target_range)
    onnx: bytes | None = None                     # the ONNX file, when a worker exported it already (see portable)
