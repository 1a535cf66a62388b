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
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
import torch.nn as nn

from bigmodel_core.errors import TrainingError


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
    eval_batch_size: int = 512         # rows per forward pass when the pipeline scores a split

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


class TimeLeft:
    """How long a training run has left, from what its steps and validation passes have taken so far.

    time left = training steps left × seconds per step
              + validation passes left × seconds per validation pass
              + `finish_evals` × seconds per validation pass (what the caller evaluates after the
                last epoch, e.g. scoring the validation and test splits once more)

    A step's time is everything between two optimiser steps (loading the batch included). The
    run's first step is left out of the rate: it carries one-off warm-up (allocations, lazy
    initialisation) and would make the estimate jump high and fall back. Until the first
    validation pass has been timed it is guessed as `eval_guess_steps` steps' worth of time.
    The rate is the mean of the latest `window` steps, so it follows a machine that gets busier.
    """

    def __init__(self, total_steps: int, epochs: int, *, validates: bool = True, finish_evals: float = 0.0,
                 eval_guess_steps: float = 1.0, window: int = 256):
        self.total_steps, self.epochs = max(1, total_steps), max(1, epochs)
        self.validates, self.finish_evals, self.eval_guess_steps = validates, max(0.0, finish_evals), eval_guess_steps
        self._steps: deque[float] = deque(maxlen=max(1, window))   # the latest steps (not the run's first)
        self._sum, self._seen = 0.0, 0
        self._val: list[float] = []

    def step(self, seconds: float) -> None:
        """One optimiser step took `seconds`."""
        self._seen += 1
        if self._seen == 1:                        # warm-up
            return
        if len(self._steps) == self._steps.maxlen:
            self._sum -= self._steps[0]            # about to drop out of the window
        self._steps.append(seconds)
        self._sum += seconds

    def validation(self, seconds: float) -> None:
        """One validation pass (with the epoch's bookkeeping) took `seconds`."""
        self._val.append(seconds)

    @property
    def step_s(self) -> float | None:
        return self._sum / len(self._steps) if self._steps else None

    @property
    def validation_s(self) -> float | None:
        if self._val:
            return sum(self._val[-5:]) / len(self._val[-5:])
        rate = self.step_s
        return None if rate is None else self.eval_guess_steps * rate

    def left(self, step: int, epoch: int, validated: bool = False) -> float | None:
        """Seconds left after `step` steps, in `epoch`, before (or after: `validated`) its validation pass.

        None while no step has been timed beyond the first."""
        rate = self.step_s
        if rate is None:
            return None
        passes = (self.epochs - epoch + (0 if validated else 1)) if self.validates else 0
        evals = max(0, passes) + self.finish_evals
        return max(0, self.total_steps - step) * rate + evals * (self.validation_s or 0.0)

    def finishing(self) -> float:
        """Seconds left once training has stopped: the caller's evaluation passes."""
        return self.finish_evals * (self.validation_s or 0.0)


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
    - `steps_per_epoch` is used for the time left (`TimeLeft`) and schedules; `finish_evals` is how
      many validation passes' worth of work the caller does after the last epoch (counted in the
      time left) and `eval_guess_steps` what one validation pass is guessed to cost, in steps,
      until one has been timed.
    """

    def __init__(self, model: nn.Module, config: TrainConfig, train_batches: Callable, steps_per_epoch: int,
                 loss_fn: Callable, evaluate: Callable | None = None, monitor: str = "accuracy",
                 augment: Callable | None = None, finish_evals: float = 0.0, eval_guess_steps: float = 1.0,
                 clock: Callable[[], float] = time.perf_counter):
        self.finish_evals, self.eval_guess_steps, self.clock = finish_evals, eval_guess_steps, clock
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

    def on(self, kind: str) -> Callable[[Callable], Callable]:
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
        bad_epochs, step, t0 = 0, 0, self.clock()
        left = TimeLeft(total, c.epochs, validates=self.evaluate is not None, finish_evals=self.finish_evals,
                        eval_guess_steps=self.eval_guess_steps)
        last = t0                                  # end of the previous step (or validation pass)
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
                now = self.clock()
                left.step(now - last)
                last = now
                self._emit(TrainEvent("batch_end", epoch, c.epochs, step, total, loss=losses[-1],
                                      elapsed_s=now - t0, eta_s=left.left(step, epoch)))
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
            now = self.clock()
            if self.evaluate and losses:
                left.validation(now - last)
            last = now
            elapsed = now - t0
            stopped = self._stop.is_set()
            eta = left.finishing() if stopped else left.left(step, epoch, validated=True)
            self._emit(TrainEvent("epoch_end", epoch, c.epochs, step, total, loss=mean_loss, val=val,
                                  elapsed_s=elapsed, eta_s=eta, stopped=stopped))
            if stopped:
                break
            if c.patience is not None and bad_epochs >= c.patience:
                self._emit(TrainEvent("early_stop", epoch, c.epochs, step, total, elapsed_s=elapsed,
                                      eta_s=left.finishing(),
                                      message=f"no validation improvement for {c.patience} epochs"))
                break
        if best_state is not None:
            model.load_state_dict(best_state)
        model.eval()
        self.history.stopped = self._stop.is_set()
        self.history.elapsed_s = self.clock() - t0
        self._emit(TrainEvent("train_end", len(self.history.epochs), c.epochs, step, total,
                              elapsed_s=self.history.elapsed_s, eta_s=left.finishing(),
                              stopped=self.history.stopped))
        return self.history
