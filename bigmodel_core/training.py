"""The training loop: a minGPT-style `Trainer` that reports through callbacks and knows no UI.

A page, the CLI or a test subscribes to events (`batch_end`, `epoch_end`,
`train_end`); another thread may call `request_stop()` and the loop stops after
the current batch. The best weights on the validation split are kept (early
stopping), and a NaN/inf loss stops training with a `TrainingError`.
"""
from __future__ import annotations

import copy
import math
import random
import threading
import time
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from typing import Callable

import numpy as np
import torch
import torch.nn as nn

from .errors import TrainingError


@dataclass
class TrainConfig:
    epochs: int = 5
    batch_size: int = 64
    lr: float = 1e-3
    optimizer: str = "adam"            # adam | adamw | sgd
    momentum: float = 0.9              # sgd only
    weight_decay: float = 0.0
    scheduler: str = "none"            # none | onecycle | cosine
    grad_clip: float | None = None
    label_smoothing: float = 0.0
    patience: int | None = None        # early stopping: epochs without validation improvement
    seed: int = 0
    device: str = "auto"               # auto | cpu | cuda
    threads: int | None = None         # torch intra-op threads (None: torch's default)
    eval_batch_size: int = 512

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class TrainEvent:
    kind: str                 # batch_end | epoch_end | train_end
    epoch: int                # 1-based
    epochs: int
    step: int                 # global optimiser steps done
    total_steps: int
    loss: float | None = None             # last batch loss (batch_end) / mean train loss (epoch_end)
    val: dict | None = None               # validation metrics (epoch_end)
    elapsed_s: float = 0.0
    eta_s: float | None = None
    stopped: bool = False
    message: str = ""

    @property
    def progress(self) -> float:
        return min(1.0, self.step / max(1, self.total_steps))


@dataclass
class TrainHistory:
    epochs: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    val: list[dict] = field(default_factory=list)
    best_epoch: int = 0
    stopped: bool = False
    elapsed_s: float = 0.0
    device: str = "cpu"


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def pick_device(choice: str = "auto") -> torch.device:
    if choice == "cuda" or (choice == "auto" and torch.cuda.is_available()):
        if not torch.cuda.is_available():
            raise TrainingError("CUDA was requested but no GPU is usable here.", hint="use --device cpu")
        return torch.device("cuda")
    return torch.device("cpu")


class Trainer:
    """Trains `model` on batches from `train_batches` and scores it with `evaluate` after each epoch.

    - `train_batches(epoch, generator)` yields `(inputs: tuple[Tensor, ...], target: Tensor)`;
    - `loss_fn(output, target)` returns a scalar tensor;
    - `evaluate(model, device)` returns a dict of validation metrics; `monitor` names the one
      to maximise (e.g. "accuracy", "r2") for early stopping and the best checkpoint;
    - `steps_per_epoch` is used for ETA and schedules.
    """

    def __init__(self, model: nn.Module, config: TrainConfig, train_batches: Callable, steps_per_epoch: int,
                 loss_fn: Callable, evaluate: Callable | None = None, monitor: str = "accuracy",
                 augment: Callable | None = None):
        self.model, self.config = model, config
        self.train_batches, self.steps_per_epoch = train_batches, max(1, steps_per_epoch)
        self.loss_fn, self.evaluate, self.monitor, self.augment = loss_fn, evaluate, monitor, augment
        self.callbacks: dict[str, list[Callable]] = defaultdict(list)
        self._stop = threading.Event()
        self.history = TrainHistory()
        self.device = pick_device(config.device)

    # -- events ------------------------------------------------------------------------------
    def add_callback(self, kind: str, fn: Callable[[TrainEvent], None]) -> None:
        self.callbacks[kind].append(fn)

    def on(self, kind: str):
        def register(fn):
            self.add_callback(kind, fn)
            return fn
        return register

    def _emit(self, event: TrainEvent) -> None:
        for fn in self.callbacks[event.kind] + self.callbacks["*"]:
            fn(event)

    def request_stop(self) -> None:
        """Ask the loop to stop after the current batch (safe from any thread)."""
        self._stop.set()

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    # -- loop --------------------------------------------------------------------------------
    def _optimizer(self):
        c, params = self.config, [p for p in self.model.parameters() if p.requires_grad]
        if c.optimizer == "sgd":
            return torch.optim.SGD(params, lr=c.lr, momentum=c.momentum, weight_decay=c.weight_decay)
        if c.optimizer == "adamw":
            return torch.optim.AdamW(params, lr=c.lr, weight_decay=c.weight_decay)
        if c.optimizer == "adam":
            return torch.optim.Adam(params, lr=c.lr, weight_decay=c.weight_decay)
        raise TrainingError(f"Unknown optimizer '{c.optimizer}'.", hint="choose adam, adamw or sgd")

    def _scheduler(self, opt, total_steps):
        c = self.config
        if c.scheduler == "onecycle":
            return torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=c.lr, total_steps=total_steps, pct_start=0.25)
        if c.scheduler == "cosine":
            return torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=total_steps)
        if c.scheduler == "warmup-linear":
            warm = max(1, total_steps // 10)
            return torch.optim.lr_scheduler.LambdaLR(
                opt, lambda s: min((s + 1) / warm, max(0.0, (total_steps - s) / max(1, total_steps - warm))))
        return None

    def run(self) -> TrainHistory:
        c, model, dev = self.config, self.model, self.device
        seed_everything(c.seed)
        if c.threads:
            torch.set_num_threads(c.threads)
        gen = torch.Generator().manual_seed(c.seed)
        model.to(dev)
        opt = self._optimizer()
        total = c.epochs * self.steps_per_epoch
        sched = self._scheduler(opt, total)
        best_score, best_state = -math.inf, None
        bad_epochs, step, t0 = 0, 0, time.perf_counter()
        self.history.device = dev.type
        for epoch in range(1, c.epochs + 1):
            model.train()
            losses = []
            for inputs, target in self.train_batches(epoch, gen):
                inputs = tuple(x.to(dev, non_blocking=True) for x in inputs)
                target = target.to(dev, non_blocking=True)
                if self.augment is not None:
                    inputs = self.augment(inputs, gen)
                out = model(*inputs)
                loss = self.loss_fn(out, target)
                if not torch.isfinite(loss):
                    raise TrainingError(
                        f"Training diverged at epoch {epoch}, step {step + 1}: the loss became {loss.item()}.",
                        hint="lower the learning rate (try 10× smaller) or use gradient clipping")
                opt.zero_grad(set_to_none=True)
                loss.backward()
                if c.grad_clip:
                    nn.utils.clip_grad_norm_(model.parameters(), c.grad_clip)
                opt.step()
                if sched is not None and step < total - 1:
                    sched.step()
                step += 1
                losses.append(loss.item())
                elapsed = time.perf_counter() - t0
                self._emit(TrainEvent("batch_end", epoch, c.epochs, step, total, loss=losses[-1],
                                      elapsed_s=elapsed, eta_s=elapsed / step * (total - step)))
                if self._stop.is_set():
                    break
            mean_loss = float(np.mean(losses)) if losses else float("nan")
            val = self.evaluate(model, dev) if self.evaluate and losses else {}
            model.train()
            self.history.epochs.append(epoch)
            self.history.train_loss.append(mean_loss)
            self.history.val.append(val)
            score = val.get(self.monitor, -mean_loss) if val else -mean_loss
            if score is None or not math.isfinite(score):
                score = -math.inf
            if score > best_score or best_state is None:
                best_score, bad_epochs, self.history.best_epoch = score, 0, epoch
                best_state = copy.deepcopy(model.state_dict())
            else:
                bad_epochs += 1
            elapsed = time.perf_counter() - t0
            stopped = self._stop.is_set()
            self._emit(TrainEvent("epoch_end", epoch, c.epochs, step, total, loss=mean_loss, val=val,
                                  elapsed_s=elapsed, eta_s=0.0 if stopped else elapsed / step * (total - step),
                                  stopped=stopped))
            if stopped:
                break
            if c.patience is not None and bad_epochs >= c.patience:
                self._emit(TrainEvent("early_stop", epoch, c.epochs, step, total, elapsed_s=elapsed,
                                      message=f"no validation improvement for {c.patience} epochs"))
                break
        if best_state is not None:
            model.load_state_dict(best_state)
        model.eval()
        self.history.stopped = self._stop.is_set()
        self.history.elapsed_s = time.perf_counter() - t0
        self._emit(TrainEvent("train_end", len(self.history.epochs), c.epochs, step, total,
                              elapsed_s=self.history.elapsed_s, stopped=self.history.stopped))
        return self.history
