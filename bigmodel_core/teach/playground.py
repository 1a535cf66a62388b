"""A neural-network playground in the spirit of TensorFlow Playground, without any user interface.

Toy data, a small network and a training loop that can be advanced a few
epochs at a time, so a page can train, pause, step and redraw live:

- `make_dataset(name, n, noise, seed)`: seeded numpy generators for four 2-D
  classification sets (circles, XOR, spirals, two gaussian blobs, labels 0/1)
  and the 1-D regression of the seeds' example, y = 2x + noise · U(0, 1) with
  x ~ U(0, 1) (noise 1.0 is exactly `y = 2 * x + np.random.rand(100)`).
- `split(x, y, train_pct, seed)`: a seeded shuffle into train and test.
- `build_mlp(...)`: Linear layers with tanh / ReLU / sigmoid between them;
  0 hidden layers is a linear model (logistic regression for classes).
- `Playground(config)`: the data, the model, an optimizer and the loss history;
  `step(epochs)` trains full-batch and returns train/test loss and accuracy.
- `grid_predictions(model, ...)`: the model's output over a grid, for the
  decision boundary (P(class 1)) or the fitted curve.
- `to_query_params` / `from_query_params`: the whole `Config` as URL parameters.

Training is full-batch Adam (`torch.optim.Adam`): it is quick to converge for
every learning rate a slider offers. L2 regularisation is Adam's
`weight_decay` on the weight matrices only (biases are not penalised, as in
TensorFlow Playground): it adds `reg · w` to each weight's gradient, which is
the gradient of `l2_penalty(model, reg) = reg / 2 · Σ w²`. The losses reported
are the data losses (binary cross-entropy or mean squared error) without that
term; `Playground.evaluate` also reports the penalty itself.
"""
from __future__ import annotations

import math
import threading
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace

import numpy as np
import torch
from torch import nn

CLASSIFICATION = ("circles", "xor", "spirals", "gaussian")
REGRESSION = ("regression",)
DATASETS = CLASSIFICATION + REGRESSION
ACTIVATIONS = {"tanh": nn.Tanh, "relu": nn.ReLU, "sigmoid": nn.Sigmoid}
LEARNING_RATES = (0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0)
REGULARISATION = (0.0, 0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0)
MAX_LAYERS, MAX_WIDTH = 6, 8
POINTS = {"classification": 200, "regression": 100}   # the seeds' example has 100 points
BOUNDS = {"classification": (-1.2, 1.2), "regression": (0.0, 1.0)}


def is_regression(dataset: str) -> bool:
    return dataset in REGRESSION


# ----------------------------------------------------------------------------- data

def _circles(rng, n: int, noise: float):
    """Class 1: a disc of radius 0.5 in the middle; class 0: a ring from 0.7 to 1.0 around it."""
    half = n // 2
    radius = np.concatenate([rng.uniform(0.0, 0.5, half), rng.uniform(0.7, 1.0, n - half)])
    angle = rng.uniform(0.0, 2 * math.pi, n)
    x = np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1)
    y = np.concatenate([np.ones(half), np.zeros(n - half)])
    return x + noise * 0.15 * rng.standard_normal(x.shape), y


def _xor(rng, n: int, noise: float):
    """Points in the square, a little away from the axes; class 1 (half of them) where x1 and x2 share a sign."""
    half = n // 2
    y = np.concatenate([np.ones(half), np.zeros(n - half)])
    sign1 = rng.choice([-1.0, 1.0], n)
    signs = np.stack([sign1, np.where(y == 1, sign1, -sign1)], axis=1)
    x = rng.uniform(0.05, 1.0, (n, 2)) * signs
    return x + noise * 0.15 * rng.standard_normal(x.shape), y


def _spirals(rng, n: int, noise: float):
    """Two interleaved spirals, one per class, each turning 1.75 times around the centre."""
    half = n // 2
    xs, ys = [], []
    for label, count, shift in ((1.0, half, 0.0), (0.0, n - half, math.pi)):
        r = np.arange(count) / count
        angle = 1.75 * 2 * math.pi * r + shift
        xs.append(np.stack([r * np.sin(angle), r * np.cos(angle)], axis=1))
        ys.append(np.full(count, label))
    x = np.concatenate(xs)
    return x + noise * 0.1 * rng.standard_normal(x.shape), np.concatenate(ys)


def _gaussian(rng, n: int, noise: float):
    """Two round blobs around (0.5, 0.5) (class 1) and (−0.5, −0.5) (class 0); noise widens them."""
    half = n // 2
    spread = 0.1 + 0.3 * noise
    centres = np.concatenate([np.full((half, 2), 0.5), np.full((n - half, 2), -0.5)])
    y = np.concatenate([np.ones(half), np.zeros(n - half)])
    return centres + spread * rng.standard_normal((n, 2)), y


def _regression(rng, n: int, noise: float):
    """The seeds' example: x = rand(n), y = 2x + noise · rand(n)."""
    x = rng.random(n)
    return x[:, None], 2 * x + noise * rng.random(n)


GENERATORS = {"circles": _circles, "xor": _xor, "spirals": _spirals, "gaussian": _gaussian,
              "regression": _regression}


def make_dataset(name: str, n: int | None = None, noise: float = 0.2, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """`(x, y)` as float32 numpy arrays: x is [n, 2] (classes) or [n, 1] (regression), y is [n].

    The same name, n, noise and seed always give the same points; noise 0 gives clean data.
    """
    if name not in GENERATORS:
        raise ValueError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}")
    n = n or POINTS["regression" if is_regression(name) else "classification"]
    rng = np.random.default_rng(seed)
    x, y = GENERATORS[name](rng, n, float(noise))
    return x.astype(np.float32), y.astype(np.float32)


def split(x: np.ndarray, y: np.ndarray, train_pct: int, seed: int = 0) -> tuple[np.ndarray, ...]:
    """A seeded shuffle: (x_train, y_train, x_test, y_test) with round(n · train_pct / 100) training points."""
    n = len(x)
    n_train = min(max(int(round(n * train_pct / 100)), 1), n - 1)
    order = np.random.default_rng(seed + 1).permutation(n)
    train, test = order[:n_train], order[n_train:]
    return x[train], y[train], x[test], y[test]


# ----------------------------------------------------------------------------- model

def build_mlp(in_dim: int, layers: int, width: int, activation: str = "tanh") -> nn.Sequential:
    """`layers` hidden layers of `width` units with the activation between them, one output (a logit or y)."""
    if activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}; choose one of {', '.join(ACTIVATIONS)}")
    modules, size = [], in_dim
    for _ in range(layers):
        modules += [nn.Linear(size, width), ACTIVATIONS[activation]()]
        size = width
    modules.append(nn.Linear(size, 1))
    return nn.Sequential(*modules)


def weights(model: nn.Module) -> list[torch.Tensor]:
    """The weight matrices (what L2 regularisation penalises); biases are left out."""
    return [p for name, p in model.named_parameters() if name.endswith("weight")]


def biases(model: nn.Module) -> list[torch.Tensor]:
    return [p for name, p in model.named_parameters() if not name.endswith("weight")]


def l2_penalty(model: nn.Module, reg: float) -> torch.Tensor:
    """reg / 2 · Σ w² over the weight matrices; its gradient, reg · w, is what `weight_decay=reg` adds."""
    return reg / 2 * sum((w ** 2).sum() for w in weights(model))


def make_optimizer(model: nn.Module, lr: float, reg: float) -> torch.optim.Optimizer:
    """Adam with L2 (`weight_decay`) on the weights only."""
    return torch.optim.Adam([{"params": weights(model), "weight_decay": reg},
                             {"params": biases(model), "weight_decay": 0.0}], lr=lr)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


# ----------------------------------------------------------------------------- state

@dataclass(frozen=True)
class Config:
    """Everything that defines a run: change any of it and the playground starts again."""
    dataset: str = "circles"
    noise: float = 0.2
    train_pct: int = 50
    layers: int = 2
    width: int = 4
    activation: str = "tanh"
    lr: float = 0.03
    reg: float = 0.0
    seed: int = 0


class Playground:
    """The data, the network, its optimizer and the loss history for one `Config`.

    `lock` serialises training and reading: a web page may step it from one thread while another draws it.
    """

    def __init__(self, config: Config = Config()):
        self.config = config
        self.regression = is_regression(config.dataset)
        x, y = make_dataset(config.dataset, noise=config.noise, seed=config.seed)
        self.x_train, self.y_train, self.x_test, self.y_test = (
            torch.from_numpy(a) for a in split(x, y, config.train_pct, config.seed))
        generator_state = torch.random.get_rng_state()
        torch.manual_seed(config.seed)                      # the same seed, the same starting weights
        self.model = build_mlp(x.shape[1], config.layers, config.width, config.activation)
        torch.random.set_rng_state(generator_state)
        self.optimizer = make_optimizer(self.model, config.lr, config.reg)
        self.loss_fn = nn.MSELoss() if self.regression else nn.BCEWithLogitsLoss()
        self.epoch = 0
        self.lock = threading.RLock()
        self.history = [self.evaluate()]

    def _outputs(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x).squeeze(1)

    def evaluate(self) -> dict:
        """Loss (and accuracy for classes) on train and test, at the current epoch."""
        row = {"epoch": self.epoch}
        with self.lock, torch.no_grad():
            for part, x, y in (("train", self.x_train, self.y_train), ("test", self.x_test, self.y_test)):
                out = self._outputs(x)
                row[f"{part}_loss"] = float(self.loss_fn(out, y))
                if not self.regression:
                    row[f"{part}_acc"] = float(((out > 0).float() == y).float().mean())
            row["l2"] = float(l2_penalty(self.model, self.config.reg))
        return row

    def step(self, epochs: int = 1) -> dict:
        """Train `epochs` full-batch epochs; returns (and records) the new `evaluate()` row."""
        with self.lock:
            for _ in range(epochs):
                self.optimizer.zero_grad()
                loss = self.loss_fn(self._outputs(self.x_train), self.y_train)
                loss.backward()
                self.optimizer.step()
                self.epoch += 1
            row = self.evaluate()
            self.history.append(row)
            return row

    @property
    def latest(self) -> dict:
        return self.history[-1]

    def line(self) -> tuple[float, float] | None:
        """(slope, intercept) of a model with no hidden layer on 1-D data, else None."""
        if self.config.layers or not self.regression:
            return None
        layer = self.model[0]
        return float(layer.weight.detach()[0, 0]), float(layer.bias.detach()[0])


def grid_predictions(model: nn.Module, regression: bool = False, resolution: int = 60,
                     bounds: tuple[float, float] | None = None) -> tuple[np.ndarray, ...]:
    """The model over a grid: (xs, ys, P(class 1) as [len(ys), len(xs)]) in 2-D, or (xs, ŷ) in 1-D."""
    low, high = bounds or BOUNDS["regression" if regression else "classification"]
    xs = np.linspace(low, high, resolution, dtype=np.float32)
    with torch.no_grad():
        if regression:
            return xs, model(torch.from_numpy(xs[:, None])).squeeze(1).numpy()
        g1, g2 = np.meshgrid(xs, xs)
        points = torch.from_numpy(np.stack([g1.ravel(), g2.ravel()], axis=1))
        probs = torch.sigmoid(model(points)).squeeze(1).numpy().reshape(g1.shape)
    return xs, xs, probs


# ----------------------------------------------------------------------------- sharing

PARAMS = {"dataset": "dataset", "noise": "noise", "train_pct": "split", "layers": "layers", "width": "width",
          "activation": "activation", "lr": "lr", "reg": "reg", "seed": "seed"}


def to_query_params(config: Config) -> dict[str, str]:
    """The config as URL query parameters (strings), e.g. {'dataset': 'xor', 'split': '50', …}."""
    return {PARAMS[k]: (f"{v:g}" if isinstance(v, float) else str(v)) for k, v in asdict(config).items()}


def _nearest(value: float, options) -> float:
    return min(options, key=lambda o: abs(o - value))


def from_query_params(params: Mapping[str, str]) -> Config:
    """A `Config` from URL parameters; missing or unreadable values keep their defaults, others are clamped."""
    config, values = Config(), {}
    for field in fields(Config):
        raw = params.get(PARAMS[field.name])
        if raw is None:
            continue
        if isinstance(raw, list):
            raw = raw[-1]
        default = getattr(config, field.name)
        if isinstance(default, str):
            values[field.name] = str(raw)
            continue
        try:
            number = float(raw)
        except (TypeError, ValueError):
            continue
        if math.isfinite(number):
            values[field.name] = type(default)(number)
    config = replace(config, **values)
    return replace(
        config,
        dataset=config.dataset if config.dataset in DATASETS else Config.dataset,
        activation=config.activation if config.activation in ACTIVATIONS else Config.activation,
        noise=round(round(min(max(config.noise, 0.0), 1.0) * 20) / 20, 2),     # the slider's 0.05 steps
        train_pct=min(max(int(round(config.train_pct / 10)) * 10, 10), 90),
        layers=min(max(config.layers, 0), MAX_LAYERS),
        width=min(max(config.width, 1), MAX_WIDTH),
        lr=_nearest(config.lr, LEARNING_RATES),
        reg=_nearest(config.reg, REGULARISATION),
        seed=min(max(config.seed, 0), 9999),
    )
