"""Model definitions: the seeds' LeNet and MLP, a modern small CNN, tabular nets.

Every image model takes float pixels in [0, 1], shape [N, C, H, W], and
normalises inside the graph, so the exported ONNX file needs no separate
normalisation step. Regression models de-standardise inside the graph, so the
ONNX output is in the target's own units. Text models live in `text_nets.py`.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


class Normalize(nn.Module):
    """(x - mean) / std per channel; x: [N, C, H, W] in [0, 1]."""

    def __init__(self, mean: list[float], std: list[float]):
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


class SeedLeNet(nn.Module):
    """The LeNet of seeds 000/004: conv(6,5x5) → pool → conv(16,5x5) → pool → 120 → 84 → classes.

    With in_channels=3, size=32 it is exactly the seeds' CIFAR-10 net (16·5·5 = 400
    features after the convolutions); with in_channels=1, size=28 it is the MNIST variant
    (16·4·4 = 256 features).
    """

    def __init__(self, in_channels: int = 3, size: int = 32, num_classes: int = 10, mean: list[float] | None = None,
                 std: list[float] | None = None):
        super().__init__()
        self.norm = Normalize(mean or [0.5] * in_channels, std or [0.5] * in_channels)
        self.conv1 = nn.Conv2d(in_channels, 6, 5)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        side = ((size - 4) // 2 - 4) // 2
        self.fc1 = nn.Linear(16 * side * side, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:    # x: [N, C, S, S]
        x = self.norm(x)
        x = self.pool(F.relu(self.conv1(x)))   # [N, 6, (S-4)/2, (S-4)/2]
        x = self.pool(F.relu(self.conv2(x)))   # [N, 16, side, side]
        x = torch.flatten(x, 1)                # [N, 16·side²]
        x = F.relu(self.fc1(x))                # [N, 120]
        x = F.relu(self.fc2(x))                # [N, 84]
        return self.fc3(x)                     # [N, classes] logits


class SeedMLP(nn.Module):
    """The MLP of seed 003: flatten 28×28 → 256 → 128 → 10, ReLU between layers."""

    def __init__(self, in_features: int = 784, hidden: tuple[int, ...] = (256, 128), num_classes: int = 10,
                 mean: list[float] | None = None, std: list[float] | None = None, in_channels: int = 1):
        super().__init__()
        self.norm = Normalize(mean or [0.5] * in_channels, std or [0.5] * in_channels)
        layers, width = [], in_features
        for h in hidden:
            layers += [nn.Linear(width, h), nn.ReLU()]
            width = h
        layers.append(nn.Linear(width, num_classes))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:    # x: [N, C, H, W]
        return self.net(torch.flatten(self.norm(x), 1))   # [N, classes]


class SmallCNN(nn.Module):
    """A modern small CNN: blocks of (conv-BN-ReLU)×2 + max-pool, global average pool, dropout, linear."""

    def __init__(self, in_channels: int = 3, num_classes: int = 10, widths: tuple[int, ...] = (32, 64, 128),
                 dropout: float = 0.2, mean: list[float] | None = None, std: list[float] | None = None):
        super().__init__()
        self.norm = Normalize(mean or [0.5] * in_channels, std or [0.5] * in_channels)
        blocks, c = [], in_channels
        for w in widths:
            blocks += [
                nn.Conv2d(c, w, 3, padding=1, bias=False), nn.BatchNorm2d(w), nn.ReLU(inplace=True),
                nn.Conv2d(w, w, 3, padding=1, bias=False), nn.BatchNorm2d(w), nn.ReLU(inplace=True),
                nn.MaxPool2d(2),
            ]
            c = w
        self.features = nn.Sequential(*blocks)
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(c, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:    # x: [N, C, H, W]
        x = self.features(self.norm(x))        # [N, widths[-1], H/2^k, W/2^k]
        x = x.mean(dim=(2, 3))                 # [N, widths[-1]] global average pool
        return self.head(x)                    # [N, classes]


class Denormalize(nn.Module):
    """y = z · std + mean: turns a standardised regression output into target units."""

    def __init__(self, mean: float, std: float):
        super().__init__()
        self.register_buffer("mean", torch.tensor(float(mean)))
        self.register_buffer("std", torch.tensor(float(std)))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return z * self.std + self.mean


class TabularNet(nn.Module):
    """Linear model (hidden=()) or MLP over encoded tabular features.

    Classification: logits [N, classes]. Regression: [N] in target units.
    """

    def __init__(self, in_features: int, out_features: int, hidden: tuple[int, ...] = (64, 64), dropout: float = 0.0,
                 target_mean: float = 0.0, target_std: float = 1.0, regression: bool = False):
        super().__init__()
        layers, width = [], in_features
        for h in hidden:
            layers += [nn.Linear(width, h), nn.ReLU()]
            if dropout:
                layers.append(nn.Dropout(dropout))
            width = h
        layers.append(nn.Linear(width, out_features))
        self.net = nn.Sequential(*layers)
        self.regression = regression
        self.out = Denormalize(target_mean, target_std) if regression else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:    # x: [N, F] float32
        y = self.net(x)                        # [N, out]
        if self.regression:
            y = y.squeeze(-1)                  # [N]
        return self.out(y)


class Ensemble(nn.Module):
    """The average of several trained copies of one architecture (different seeds).

    Classification: the mean of the members' log-probabilities, returned as logits (softmax
    gives the normalised geometric mean of their probabilities). Regression: the mean prediction.
    """

    def __init__(self, members: list[nn.Module], regression: bool = False):
        super().__init__()
        self.members = nn.ModuleList(members)
        self.regression = regression

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        outs = [m(*inputs) for m in self.members]              # K × [N, classes] or K × [N]
        if not self.regression:
            outs = [F.log_softmax(o, dim=-1) for o in outs]
        return torch.stack(outs).mean(0)                       # [N, classes] or [N]


class ClampOutput(nn.Module):
    """A regression model whose answers are kept inside [lo, hi]: the PyTorch twin of the `Clip`
    that `export.clip_output` appends to the ONNX graph. Either bound may be None. It holds no
    weights of its own: only the wrapped model's weights are ever saved (the card's architecture
    rebuilds them), and the wrapper is put back around it from the card's `target_range`."""

    def __init__(self, model: nn.Module, lo: float | None, hi: float | None):
        super().__init__()
        self.model, self.lo, self.hi = model, lo, hi

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        return self.model(*inputs).clamp(min=self.lo, max=self.hi)


def clamp_to_range(model: nn.Module, target_range: dict | None) -> nn.Module:
    """`model` wrapped in `ClampOutput` when a card's `target_range` is given, else `model` itself."""
    if not target_range:
        return model
    return ClampOutput(model, target_range.get("min"), target_range.get("max")).eval()


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
