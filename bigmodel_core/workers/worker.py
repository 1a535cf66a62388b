"""What runs inside a training worker (a local worker process or a Ray actor): one training, reported as plain data.

`run(spec_dict, data, send, stop_requested)` trains `pipeline.train` on `data`
(or loads the catalog dataset itself), sends its events as plain dicts through
`send(("events", [...]))` — batch events gathered for `FLUSH_S` seconds and thinned
to one per `BATCH_EVERY_S` (a chart needs no more, and a fast training would
otherwise keep the server busy reading thousands a second), epoch and end events
at once — and returns the trained model packed by `portable.pack`.
`stop_requested()` is checked after every batch (and while the data loads), so
a Stop reaches the loop within one batch. Errors come back as one line, never a
traceback: `failure(exc)` words them.

`limit_cpu(threads)` lowers the worker's CPU priority (nice 19 and, on Linux, the idle
scheduling class: it runs only when no other process wants the core) and caps torch's
threads, so the web server keeps a core for answering while a training runs.
"""
from __future__ import annotations

import contextlib
import math
import os
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bigmodel_core.data.types import Dataset
    from bigmodel_core.train.trainer import TrainEvent

FLUSH_S = 0.05                    # events are sent in bunches at most this often (epoch and end events at once)
BATCH_EVERY_S = 0.2               # at most one batch event per this many seconds (the first and each epoch's last kept)
NICE = 19                         # the lowest CPU priority: the server (and its visitors) always come first


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def default_threads(trainings: int = 1) -> int:
    """Torch threads per training: every core but one (kept for the server), shared by `trainings` at once; ≥ 1."""
    return max(1, (cores() - 1) // max(1, trainings))


def limit_cpu(threads: int, nice: int = NICE) -> None:
    """Lower this process's priority and cap its math threads (call before the training starts)."""
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[name] = str(threads)
    if nice and hasattr(os, "nice"):
        with contextlib.suppress(OSError):
            os.nice(nice)
    if nice >= NICE and hasattr(os, "SCHED_IDLE"):     # Linux: run only on a core nobody else wants
        with contextlib.suppress(OSError):
            os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    import torch

    torch.set_num_threads(threads)
    with contextlib.suppress(RuntimeError):   # already set in this process (e.g. a reused Ray worker)
        torch.set_num_interop_threads(1)


def _finite(x):
    return x if isinstance(x, (int, float)) and math.isfinite(x) else None


def event_dict(ev: TrainEvent) -> dict:
    """A `TrainEvent` as a plain dict (no clock time: the app stamps events when they arrive)."""
    return dict(kind=ev.kind, epoch=ev.epoch, epochs=ev.epochs, step=ev.step, total_steps=ev.total_steps,
                loss=_finite(ev.loss), val={k: _finite(v) for k, v in ev.val.items()} if ev.val else ev.val,
                elapsed_s=ev.elapsed_s, eta_s=ev.eta_s, stopped=ev.stopped, message=ev.message)


def to_event(d: dict) -> TrainEvent:
    """The `TrainEvent` a plain dict from `event_dict` stands for."""
    from bigmodel_core.train.trainer import TrainEvent

    return TrainEvent(d["kind"], d["epoch"], d["epochs"], d["step"], d["total_steps"], loss=d["loss"], val=d["val"],
                      elapsed_s=d["elapsed_s"], eta_s=d["eta_s"], stopped=d["stopped"], message=d["message"])


class Cancelled(Exception):
    """Stop was pressed before the training began: there is no result."""


def run(spec_dict: dict, data: Dataset | None, send: Callable, stop_requested: Callable[[], bool],
        with_onnx: bool = False, between_batches: Callable[[], object] | None = None) -> dict:
    """Train `spec_dict` (a `TrainSpec.to_dict()`) and return the packed result; events go to `send`.

    `between_batches` is called after every batch (a local worker passes `courtesy.pause_while_answering`)."""
    from bigmodel_core.train.pipeline import train
    from bigmodel_core.train.spec import TrainSpec
    from bigmodel_core.workers.portable import pack

    spec = TrainSpec.from_dict(spec_dict)
    pending: list[dict] = []
    last_flush = [time.monotonic()]
    trainer_box: list = []
    lock = threading.Lock()

    def flush() -> None:
        with lock:
            if pending:
                send(("events", list(pending)))
                pending.clear()
            last_flush[0] = time.monotonic()

    last_batch = [-1.0]

    def on_event(ev) -> None:
        if ev.kind == "batch_end" and between_batches is not None:
            between_batches()
        now = time.monotonic()
        if ev.kind == "batch_end":
            last_of_epoch = ev.step % max(1, ev.total_steps // max(1, ev.epochs)) == 0
            if now - last_batch[0] < BATCH_EVERY_S and not last_of_epoch and not stop_requested():
                return
            last_batch[0] = now
        with lock:
            pending.append(event_dict(ev))
        if ev.kind != "batch_end" or time.monotonic() - last_flush[0] >= FLUSH_S:
            flush()
        if stop_requested() and trainer_box:
            trainer_box[-1].request_stop()

    def on_trainer(trainer) -> None:
        trainer_box.append(trainer)
        if stop_requested():
            trainer.request_stop()

    if data is None:
        from bigmodel_core.data.loaders import load_dataset

        data = load_dataset(spec.dataset, seed=spec.split_seed, max_rows=spec.max_rows)
    if stop_requested():
        raise Cancelled()
    callbacks = {kind: [on_event] for kind in ("batch_end", "epoch_end", "early_stop", "train_end")}
    trained = train(spec, data=data, callbacks=callbacks, on_trainer=on_trainer)
    flush()
    return pack(trained, with_onnx=with_onnx)


def failure(exc: BaseException) -> str:
    """One line saying why a training failed (the project's own message for a `BigModelError`)."""
    from bigmodel_core.errors import BigModelError

    if isinstance(exc, BigModelError):
        return str(exc)
    if isinstance(exc, MemoryError):
        return "Training ran out of memory. — use a smaller batch size, model or row limit"
    return f"Training failed unexpectedly: {type(exc).__name__}: {exc}"
