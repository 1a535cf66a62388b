"""The Ray actor that runs one training on a cluster node (imported only where Ray is used).

`TrainingActor.run(spec_dict, data)` runs `worker.run` in one of the actor's
threads while the app polls `events()` (the batch and epoch events gathered since
the last poll), may call `stop()` (checked after every batch) and asks `where()`
it runs (node id, GPU or not). The result — the packed trained model with its
ONNX bytes — is the return value of `run`, so it reaches the app through Ray's
object store, never through a shared file system.
"""
from __future__ import annotations

import os
import threading
from collections import deque
from typing import TYPE_CHECKING, Any

import ray

if TYPE_CHECKING:
    from bigmodel_core.data.types import Dataset


@ray.remote(max_concurrency=4)          # run() holds one thread; events/stop/where are answered meanwhile
class TrainingActor:
    def __init__(self, threads: int):
        from bigmodel_core.workers import worker

        worker.limit_cpu(threads)
        self._events: deque = deque()
        self._lock = threading.Lock()
        self._stop = threading.Event()

    def where(self) -> dict:
        ctx = ray.get_runtime_context()
        gpus = [str(g) for g in ray.get_gpu_ids()]
        return dict(backend="ray", node=ctx.get_node_id(), gpu=bool(gpus), gpus=gpus, pid=os.getpid(),
                    ip=ray.util.get_node_ip_address())

    def _send(self, message) -> None:
        kind, events = message
        with self._lock:
            self._events.extend(events)

    def events(self) -> list[dict]:
        with self._lock:
            out = list(self._events)
            self._events.clear()
        return out

    def stop(self) -> None:
        self._stop.set()

    def run(self, spec_dict: dict, data: Dataset | None, with_onnx: bool = True) -> tuple[str, Any]:
        from bigmodel_core.workers import worker

        try:
            return "result", worker.run(spec_dict, data, self._send, self._stop.is_set, with_onnx=with_onnx)
        except worker.Cancelled:
            return "cancelled", None
        except BaseException as exc:  # noqa: BLE001 - every failure goes back as one line
            return "error", worker.failure(exc)
