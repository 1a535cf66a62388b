"""Local training workers: each training in its own spawned OS process, never in the web server's process.

`LocalProcessRunner()(spec, data, callbacks, on_trainer)` is a `jobs` runner: it
spawns one process (multiprocessing's "spawn" start method: a fresh interpreter,
no copy of the server's threads), which lowers its CPU priority, caps torch's
threads (`worker.limit_cpu`) and runs `worker.run`. Events and the final result
come back through a one-way `Pipe`, read by the calling thread (the job's own
thread in the server), which hands them to the job's callbacks as `TrainEvent`s.

Stop sets a shared `Event` that the worker checks after every batch; a worker
that has not ended `stop_grace_s` after a Stop is killed. A worker that dies —
kill -9, the kernel's out-of-memory killer, a crash — closes its end of the pipe,
and the call raises a `TrainingError` that says so: never a job that hangs. The
worker also dies with its parent (Linux `PR_SET_PDEATHSIG`), so a killed server
leaves no orphan trainings behind.
"""
from __future__ import annotations

import contextlib
import logging
import multiprocessing as mp
import os
import signal
import sys
import threading
import time
import types
from collections.abc import Callable
from typing import TYPE_CHECKING

from bigmodel_core.errors import TrainingError
from bigmodel_core.workers import courtesy

if TYPE_CHECKING:
    from multiprocessing.process import BaseProcess
    from multiprocessing.synchronize import Event

    from bigmodel_core.data.types import Dataset
    from bigmodel_core.train.spec import TrainedModel, TrainSpec

log = logging.getLogger(__name__)

_CTX = mp.get_context("spawn")
POLL_S = 0.1
_START_LOCK = threading.Lock()


def start_clean(proc: BaseProcess) -> None:
    """`proc.start()` without the child re-running this process's `__main__`.

    spawn re-imports the parent's main module in the child. In the app that is Streamlit's
    module for the page script last run (it sets `sys.modules["__main__"]` on every run), so
    every worker would run app.py — seconds of work, at full priority, and warnings. A bare
    placeholder stands in while the process starts (the worker needs nothing from `__main__`).
    """
    with _START_LOCK:
        saved = sys.modules.get("__main__")
        placeholder = types.ModuleType("__main__")
        sys.modules["__main__"] = placeholder
        try:
            proc.start()
        finally:
            if sys.modules.get("__main__") is placeholder and saved is not None:
                sys.modules["__main__"] = saved


class WorkerHandle:
    """What the job holds while a worker runs: `request_stop()` and where it runs."""

    def __init__(self, stop: Event, pid: int | None, where: dict):
        self._stop, self.pid, self.where = stop, pid, where
        self.stop_asked: float | None = None

    def request_stop(self) -> None:
        if self.stop_asked is None:
            self.stop_asked = time.monotonic()
        self._stop.set()


def warm_imports() -> None:
    """Import what unpacking a result needs, while the worker starts (once per process; a no-op later)."""
    import safetensors.torch  # noqa: F401

    from bigmodel_core.data import loaders  # noqa: F401
    from bigmodel_core.nn import zoo  # noqa: F401


def _die_with_parent() -> None:
    """Linux: the kernel sends this process SIGKILL when the thread that started it ends."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)      # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _child(conn, stop, spec_dict: dict, data, threads: int, clock) -> None:
    """The worker process's body (top-level, so that spawn can find it)."""
    _die_with_parent()
    from bigmodel_core.workers import courtesy, worker

    try:
        worker.limit_cpu(threads)
        package = worker.run(spec_dict, data, conn.send, stop.is_set,
                             between_batches=lambda: courtesy.pause_while_answering(clock))
        conn.send(("result", package))
    except worker.Cancelled:
        conn.send(("cancelled", None))
    except BaseException as exc:  # noqa: BLE001 - every failure goes back as one line
        with contextlib.suppress(OSError):
            conn.send(("error", worker.failure(exc)))
    finally:
        conn.close()
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        os._exit(0)                    # everything is sent: skip the interpreter's slow teardown (seconds with torch)


def death_message(exitcode: int | None, pid: int | None) -> str:
    """Why a worker ended without a result, in words."""
    if exitcode is not None and exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        why = f"was killed ({name})"
        if -exitcode == signal.SIGKILL:
            why += " — the machine may have run out of memory, or someone ended it"
    else:
        why = f"ended unexpectedly (exit code {exitcode})"
    return f"the training worker process {pid} {why}."


def deliver(events: list[dict], callbacks: dict[str, list[Callable]] | None) -> None:
    """Hand plain-dict events to the job's callbacks as `TrainEvent`s."""
    from bigmodel_core.workers.worker import to_event

    for d in events:
        for fn in (callbacks or {}).get(d["kind"], []):
            fn(to_event(d))


def placed(callbacks: dict | None, where: dict) -> None:
    for fn in (callbacks or {}).get("placed", []):
        fn(where)


class LocalProcessRunner:
    """Runs each training in a new spawned process with `threads` torch threads at lower priority."""

    def __init__(self, threads: int | None = None, stop_grace_s: float = 30.0):
        from bigmodel_core.workers.worker import default_threads

        self.threads = threads or default_threads()
        self.stop_grace_s = stop_grace_s

    def __call__(self, spec: TrainSpec, data: Dataset | None, callbacks: dict[str, list[Callable]],
                 on_trainer: Callable[[WorkerHandle], None] | None) -> TrainedModel:
        from bigmodel_core.workers.portable import unpack
        from bigmodel_core.workers.worker import Cancelled

        receive, send = _CTX.Pipe(duplex=False)
        stop = _CTX.Event()
        proc = _CTX.Process(target=_child, name="bigmodel-train", daemon=True,
                            args=(send, stop, spec.to_dict(), data, self.threads, courtesy.shared_clock()))
        start_clean(proc)
        send.close()                              # only the child writes: its death closes the pipe
        where = dict(backend="local", pid=proc.pid, threads=self.threads)
        handle = WorkerHandle(stop, proc.pid, where)
        placed(callbacks, where)
        if on_trainer:
            on_trainer(handle)
        try:
            warm_imports()
            while True:
                if not receive.poll(POLL_S):
                    if handle.stop_asked is not None and time.monotonic() - handle.stop_asked > self.stop_grace_s:
                        log.warning("training worker %s ignored Stop for %.0f s; killing it", proc.pid,
                                    self.stop_grace_s)
                        proc.kill()
                    continue
                try:
                    kind, payload = receive.recv()
                except (EOFError, OSError):
                    proc.join(5)
                    if handle.stop_asked is not None:
                        raise Cancelled() from None
                    raise TrainingError(death_message(proc.exitcode, proc.pid),
                                        hint="start it again; a smaller batch size or row limit needs less memory") \
                        from None
                if kind == "events":
                    deliver(payload, callbacks)
                elif kind == "result":
                    return unpack(payload)
                elif kind == "cancelled":
                    raise Cancelled()
                else:
                    raise TrainingError(payload)
        finally:
            receive.close()
            proc.join(10)
            if proc.is_alive():
                proc.kill()
                proc.join(5)
