"""Background training jobs: one process-wide `JobManager`, one thread per running job, a fair queue.

A page submits a `TrainSpec` (and, for uploads, the loaded dataset) and gets a
job id back. The training never runs in this (the web server's) process: the
job's thread hands it to a runner from `backends` — a spawned local worker
process by default, a Ray actor when `ray_address` is set — and records the
`Trainer` events that stream back as plain dicts, with where the job runs
(`Job.where`). Pages only read snapshots
(`Job.snapshot()`), so a rerun, a page switch or a second browser tab never
starts, kills or loses a job. At most `max_running` jobs train at once (env
`BIGMODEL_MAX_TRAININGS` or `[bigmodel] max_trainings` in bigmodel.toml, see
`config`; default 1 on machines with ≤ 4 cores); the others wait in a FIFO
queue whose position each job can show, and a queued job can be cancelled.

Jobs belong to an owner (the browser session): `jobs_for(owner)` lists only
that owner's jobs, and `cleanup(owner)` stops and forgets them. Pages call
`touch(owner)` as a heartbeat; `reap()` (run every few seconds by the thread
`watch_owners` starts) cleans up the jobs of owners unseen for longer than
`owner_timeout` s whom the optional liveness function does not vouch for — a
closed tab's training is stopped and removed. The clock is injectable for tests.
Everything here is thread-safe and knows nothing about Streamlit.
"""
from __future__ import annotations

import contextlib
import itertools
import logging
import math
import os
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bigmodel_core import config
from bigmodel_core.errors import BigModelError, TrainingError
from bigmodel_core.workers.worker import Cancelled as _Cancelled

if TYPE_CHECKING:
    from bigmodel_core.data.types import Dataset
    from bigmodel_core.train.spec import TrainSpec
    from bigmodel_core.train.trainer import TrainEvent

log = logging.getLogger(__name__)

QUEUED, RUNNING, STOPPING, DONE, FAILED, STOPPED = "queued", "running", "stopping", "done", "failed", "stopped"
ACTIVE = (QUEUED, RUNNING, STOPPING)
FINISHED = (DONE, FAILED, STOPPED)
MAX_EVENTS = 1500            # batch events are thinned beyond this; epoch events are always kept


def default_max_running() -> int:
    """`BIGMODEL_MAX_TRAININGS` / `[bigmodel] max_trainings`, else 1 on ≤ 4 cores (training uses every core),
    else cores // 4 (at most 4)."""
    configured = config.MAX_TRAININGS.get()
    if configured is not None and configured >= 1:
        return configured
    if configured is not None:
        log.warning("max_trainings=%r must be at least 1; using the default", configured)
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count() or 1
    return 1 if cores <= 4 else min(4, cores // 4)


def default_owner_timeout() -> float:
    """Seconds a closed tab's jobs live on: `BIGMODEL_OWNER_TIMEOUT_S` / `[bigmodel] owner_timeout_s`, else 90."""
    value = config.OWNER_TIMEOUT_S.get()
    return value if math.isfinite(value) and value >= 0 else 90.0


def _finite(x):
    return x if isinstance(x, (int, float)) and math.isfinite(x) else None


def event_to_dict(ev: TrainEvent) -> dict:
    """A `TrainEvent` as a JSON-ready dict (the form jobs keep and pages read)."""
    val = {k: _finite(v) for k, v in (ev.val or {}).items()} if ev.val else None
    return dict(kind=ev.kind, epoch=ev.epoch, epochs=ev.epochs, step=ev.step, total_steps=ev.total_steps,
                loss=_finite(ev.loss), val=val, elapsed=round(ev.elapsed_s, 3),
                eta=None if ev.eta_s is None else round(ev.eta_s, 3), stopped=ev.stopped,
                message=ev.message, time=time.time())


@dataclass
class Job:
    id: str
    owner: str
    spec: Any                                   # spec.TrainSpec
    data: Any = None                            # the dataset (kept for result galleries)
    label: str = ""
    status: str = QUEUED
    events: list[dict] = field(default_factory=list)
    result: Any = None                          # spec.TrainedModel once finished (also when stopped)
    error: str | None = None
    submitted: float = field(default_factory=time.time)
    started: float | None = None
    finished: float | None = None
    seq: int = 0
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    _stop: threading.Event = field(default_factory=threading.Event, repr=False)
    _trainer: Any = field(default=None, repr=False)
    _thin: int = field(default=1, repr=False)   # keep every _thin-th batch event
    _batches_seen: int = field(default=0, repr=False)
    # where it trains: {"backend": "local", "pid": …} or {"backend": "ray", …}
    where: dict | None = None

    # -- written by the worker thread ---------------------------------------------------------
    def _record(self, ev: dict) -> None:
        with self._lock:
            if ev["kind"] == "batch_end":
                self._batches_seen += 1
                if self._batches_seen % self._thin:
                    return
            self.events.append(ev)
            if len(self.events) > MAX_EVENTS:               # thin old batch events, keep the shape of the curve
                self._thin *= 2
                batch_i = itertools.count()
                self.events = [e for e in self.events
                               if e["kind"] != "batch_end" or next(batch_i) % 2 == 0]

    # -- read by pages -------------------------------------------------------------------------
    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    def latest(self, kind: str | None = None) -> dict | None:
        with self._lock:
            for ev in reversed(self.events):
                if kind is None or ev["kind"] == kind:
                    return ev
        return None

    def snapshot(self) -> dict:
        """A consistent copy of everything a page shows (events are copied, the result is shared)."""
        with self._lock:
            return dict(id=self.id, owner=self.owner, label=self.label, status=self.status,
                        events=list(self.events), result=self.result, error=self.error,
                        submitted=self.submitted, started=self.started, finished=self.finished,
                        dataset=getattr(self.spec, "dataset", None), where=self.where,
                        architecture=getattr(self.spec, "architecture", None))


class JobManager:
    """Runs training jobs in background threads, at most `max_running` at a time, the rest queued FIFO."""

    def __init__(self, max_running: int | None = None, keep_finished: int = 3, max_per_owner: int = 1,
                 runner: Callable | None = None, owner_timeout: float | None = None,
                 clock: Callable[[], float] = time.monotonic):
        self.max_running = max_running or default_max_running()
        self.owner_timeout = default_owner_timeout() if owner_timeout is None else float(owner_timeout)
        self._clock = clock                         # for heartbeats only (tests inject a fake one)
        self._seen: dict[str, float] = {}           # owner → last heartbeat (clock time)
        self.keep_finished = keep_finished          # finished jobs remembered per owner
        self.max_per_owner = max_per_owner          # active (queued or running) jobs per owner
        self._runner = runner                       # (spec, data, callbacks, on_trainer) → result; tests inject
        self._lock = threading.RLock()
        self._jobs: dict[str, Job] = {}
        self._queue: deque[str] = deque()
        self._running: set[str] = set()
        self._seq = itertools.count(1)
        self._watcher: threading.Thread | None = None
        self._alive: Callable[[str], bool] | None = None

    # -- submitting and scheduling -------------------------------------------------------------
    def submit(self, owner: str, spec: TrainSpec, data: Dataset | None = None, label: str = "") -> str:
        """Queue a training of `spec` (on `data`, or the catalog dataset `spec.dataset`) for `owner`."""
        with self._lock:
            active = [j for j in self._jobs.values() if j.owner == owner and j.active]
            if len(active) >= self.max_per_owner:
                raise TrainingError("A training of yours is already running or queued.",
                                    hint="stop it or wait until it finishes")
            job = Job(id=uuid.uuid4().hex[:12], owner=owner, spec=spec, data=data, label=label,
                      seq=next(self._seq))
            self._jobs[job.id] = job
            self._queue.append(job.id)
            self._seen[owner] = self._clock()
            self._forget_old(owner)
            self._pump()
            return job.id

    def _pump(self) -> None:
        """Start queued jobs while there is room (called with the lock held)."""
        while self._queue and len(self._running) < self.max_running:
            job = self._jobs.get(self._queue.popleft())
            if job is None or job.status != QUEUED:
                continue
            with job._lock:
                job.status, job.started = RUNNING, time.time()
            self._running.add(job.id)
            threading.Thread(target=self._work, args=(job,), name=f"train-{job.id}", daemon=True).start()

    def _work(self, job: Job) -> None:
        def on_trainer(trainer):
            with job._lock:
                job._trainer = trainer
            if job._stop.is_set():                 # stop pressed while the worker was starting
                trainer.request_stop()

        def on_placed(where):
            with job._lock:
                job.where = dict(where)

        callbacks = {kind: [lambda ev: job._record(event_to_dict(ev))]
                     for kind in ("batch_end", "epoch_end", "early_stop", "train_end")}
        callbacks["placed"] = [on_placed]
        result, error, status = None, None, DONE
        try:
            if job._stop.is_set():
                raise _Cancelled()
            if self._runner is not None:
                runner = self._runner
            else:
                from bigmodel_core.workers.backends import runner as backend_runner

                runner = backend_runner(self.max_running)
            result = runner(job.spec, job.data, callbacks, on_trainer)
            history = getattr(result, "history", None)
            if job._stop.is_set() or getattr(history, "stopped", False):
                status = STOPPED
            if self._runner is None and job.data is None:
                self._load_data(job)             # the worker loaded its own copy; the results pages need one here
        except _Cancelled:
            status = STOPPED
        except BigModelError as exc:
            error, status = str(exc), FAILED
        except MemoryError:
            error, status = "Training ran out of memory. — use a smaller batch size, model or row limit", FAILED
        except Exception as exc:  # noqa: BLE001 - a bug must not kill the thread silently
            log.exception("training job %s failed", job.id)
            error, status = f"Training failed unexpectedly: {type(exc).__name__}: {exc}", FAILED
        finally:
            with job._lock:
                job.result, job.error, job.status = result, error, status
                job.finished, job._trainer = time.time(), None
            with self._lock:
                self._running.discard(job.id)
                self._pump()

    @staticmethod
    def _load_data(job: Job) -> None:
        """The catalog dataset a finished job trained on (for its results: mistakes, galleries); None if unreadable."""
        from bigmodel_core.data.loaders import load_dataset

        try:
            data = load_dataset(job.spec.dataset, seed=job.spec.split_seed, max_rows=job.spec.max_rows)
        except BigModelError as exc:
            log.warning("results of job %s without their dataset: %s", job.id, exc)
            return
        with job._lock:
            job.data = data

    # -- control -------------------------------------------------------------------------------
    def stop(self, job_id: str, owner: str | None = None) -> bool:
        """Ask a job to stop: a queued one is cancelled, a running one stops after its current batch.

        Returns False when the job is unknown, belongs to another owner or has finished.
        """
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None or (owner is not None and job.owner != owner) or not job.active:
                return False
            job._stop.set()
            with job._lock:
                if job.status == QUEUED:
                    job.status, job.finished = STOPPED, time.time()
                    with contextlib.suppress(ValueError):
                        self._queue.remove(job_id)
                    return True
                job.status = STOPPING
                trainer = job._trainer
            if trainer is not None:
                trainer.request_stop()
            return True

    def forget(self, job_id: str, owner: str | None = None) -> None:
        """Drop a job (stopping it first if it still runs)."""
        self.stop(job_id, owner)
        with self._lock:
            job = self._jobs.get(job_id)
            if job is not None and (owner is None or job.owner == owner):
                del self._jobs[job_id]

    def cleanup(self, owner: str) -> int:
        """Stop and forget every job of `owner` (a closed browser session). Returns how many."""
        with self._lock:
            ids = [j.id for j in self._jobs.values() if j.owner == owner]
            for job_id in ids:
                self.forget(job_id)
            self._seen.pop(owner, None)
        if ids:
            log.info("cleaned up %d job(s) of owner %s", len(ids), owner)
        return len(ids)

    def _forget_old(self, owner: str) -> None:
        finished = sorted((j for j in self._jobs.values() if j.owner == owner and not j.active),
                          key=lambda j: j.seq)
        for job in finished[:max(0, len(finished) - self.keep_finished)]:
            del self._jobs[job.id]

    # -- reading -------------------------------------------------------------------------------
    def get(self, job_id: str, owner: str | None = None) -> Job | None:
        with self._lock:
            job = self._jobs.get(job_id)
        return job if job is not None and (owner is None or job.owner == owner) else None

    def jobs_for(self, owner: str) -> list[Job]:
        """The owner's jobs, oldest first."""
        with self._lock:
            return sorted((j for j in self._jobs.values() if j.owner == owner), key=lambda j: j.seq)

    def running_count(self) -> int:
        """How many jobs are training right now (anyone's; queued ones do not count): a benchmark beside them
        is noisy."""
        with self._lock:
            return len(self._running)

    def queued_count(self) -> int:
        with self._lock:
            return len(self._queue)

    def queue_position(self, job_id: str) -> int | None:
        """1 for the next job to start, None when the job is not waiting."""
        with self._lock:
            try:
                return list(self._queue).index(job_id) + 1
            except ValueError:
                return None

    def stats(self) -> dict:
        with self._lock:
            return dict(running=len(self._running), queued=len(self._queue), max_running=self.max_running,
                        jobs=len(self._jobs), owners=len({j.owner for j in self._jobs.values()}))

    def wait(self, job_id: str, timeout: float | None = None) -> Job | None:
        """Block until the job has finished (for the CLI and tests). Returns the job."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            job = self.get(job_id)
            if job is None or not job.active:
                return job
            if deadline is not None and time.monotonic() > deadline:
                return job
            time.sleep(0.02)

    # -- closed sessions -----------------------------------------------------------------------
    def touch(self, owner: str) -> None:
        """Heartbeat: `owner` is still there (pages call it on every run; cheap). Owners without jobs are ignored."""
        with self._lock:
            if owner in self._seen or any(j.owner == owner for j in self._jobs.values()):
                self._seen[owner] = self._clock()

    def last_seen(self, owner: str) -> float | None:
        """The clock time of `owner`'s latest heartbeat (None when unknown)."""
        with self._lock:
            return self._seen.get(owner)

    def watch_owners(self, alive: Callable[[str], bool] | None = None, interval: float = 15.0) -> None:
        """Every `interval` s, `reap()`: clean up the jobs of owners that are gone.

        `alive(owner)` (optional) vouches for an owner whose heartbeat is older than the timeout
        (e.g. an open tab that sits on another page). Idempotent: the latest `alive` is used; one
        watcher thread per manager.
        """
        with self._lock:
            self._alive = alive
            if self._watcher is not None and self._watcher.is_alive():
                return
            self._watcher = threading.Thread(target=self._watch, args=(interval,), name="job-owner-watch",
                                             daemon=True)
            self._watcher.start()

    def is_gone(self, owner: str) -> bool:
        """Unseen for longer than `owner_timeout` s and not vouched for by the liveness function."""
        seen = self.last_seen(owner)
        if seen is not None and self._clock() - seen <= self.owner_timeout:
            return False
        alive = self._alive
        if alive is None:
            return True
        try:
            return not alive(owner)
        except Exception:  # noqa: BLE001 - a broken liveness check must not kill jobs
            log.exception("liveness check failed for %s", owner)
            return False

    def reap(self) -> list[str]:
        """Stop and forget the jobs of owners that are gone now (see `is_gone`). Returns those owners."""
        with self._lock:
            owners = sorted({j.owner for j in self._jobs.values()})
            for owner in [o for o in self._seen if o not in owners]:      # no jobs left: forget the heartbeat
                del self._seen[owner]
        gone = []
        for owner in owners:
            if not self.is_gone(owner):
                continue
            with self._lock:                    # a heartbeat that came in meanwhile wins
                seen = self._seen.get(owner)
                if seen is not None and self._clock() - seen <= self.owner_timeout:
                    continue
                self.cleanup(owner)
            gone.append(owner)
        return gone

    def _watch(self, interval: float) -> None:
        while True:
            time.sleep(interval)
            try:
                self.reap()
            except Exception:  # noqa: BLE001
                log.exception("job owner watcher failed")


def _default_runner(spec, data, callbacks, on_trainer):
    """Train in this process (tests that need a training they can hold at a gate; the app never does)."""
    from bigmodel_core.train.pipeline import train

    return train(spec, data=data, callbacks=callbacks, on_trainer=on_trainer)


_MANAGER: JobManager | None = None
_MANAGER_LOCK = threading.Lock()


def manager() -> JobManager:
    """The process-wide manager (created on first use)."""
    global _MANAGER
    with _MANAGER_LOCK:
        if _MANAGER is None:
            _MANAGER = JobManager()
        return _MANAGER
