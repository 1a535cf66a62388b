"""Trainings on a Ray cluster: a `jobs` runner that submits each training to a `ray_actor.TrainingActor`.

`connect(address)` joins the cluster once per process (`auto`, `host:port` of a
head's GCS, or `ray://host:port` for Ray Client) and ships this package's code
to the nodes with the job (`runtime_env.py_modules`), so the nodes need only the
same Python packages, not this checkout. `RayRunner(address)(spec, data,
callbacks, on_trainer)` starts one actor per training, declaring its resources
(`num_cpus`; `num_gpus=1` when the training asks for CUDA; optional custom
resources such as `{"trainer_node": 1}`), polls its events every `POLL_S`,
forwards Stop, and unpacks the trained model that comes back through the object
store. A node that dies under a training, or an actor that cannot be placed
within `place_timeout_s`, becomes a `TrainingError` that says so.
"""
from __future__ import annotations

import contextlib
import logging
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from bigmodel_core.errors import TrainingError
from bigmodel_core.workers.local import deliver, placed, warm_imports

if TYPE_CHECKING:
    from collections.abc import Callable
    from types import ModuleType

    from ray.actor import ActorHandle

    from bigmodel_core.data.types import Dataset
    from bigmodel_core.train.spec import TrainedModel, TrainSpec

log = logging.getLogger(__name__)

POLL_S = 0.2
_LOCK = threading.Lock()
_ADDRESS: str | None = None


def connect(address: str) -> ModuleType:
    """Join the Ray cluster at `address` (once per process); returns the `ray` module."""
    global _ADDRESS
    try:
        import ray
    except ImportError as exc:
        raise TrainingError("Ray is not installed here.", hint="pip install ray==2.60.0, or unset ray_address") from exc
    with _LOCK:
        if ray.is_initialized():
            if _ADDRESS not in (None, address):
                log.warning("already connected to Ray at %s; ignoring %s", _ADDRESS, address)
            return ray
        package = Path(__file__).resolve().parent.parent          # bigmodel_core, shipped whole to the nodes
        try:
            ray.init(address=address, namespace="bigmodel", log_to_driver=False, logging_level=logging.WARNING,
                     runtime_env={"py_modules": [str(package)],
                                  "excludes": ["__pycache__", "*.pyc"]})
        except Exception as exc:  # noqa: BLE001 - ray raises many kinds (ConnectionError, RuntimeError …)
            first = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
            raise TrainingError(f"Cannot reach the Ray cluster at {address}: {first}",
                                hint="start it with `ray start --head`, or check ray_address") from exc
        _ADDRESS = address
        return ray


def disconnect() -> None:
    """Leave the cluster (tests; the app stays connected for its lifetime)."""
    global _ADDRESS
    import ray

    with _LOCK:
        if ray.is_initialized():
            ray.shutdown()
        _ADDRESS = None


class RayHandle:
    """What the job holds while an actor trains: `request_stop()` and where it runs."""

    def __init__(self, actor: ActorHandle):
        self.actor, self.where = actor, None
        self.stop_asked: float | None = None

    def request_stop(self) -> None:
        if self.stop_asked is None:
            self.stop_asked = time.monotonic()
        try:
            self.actor.stop.remote()
        except Exception:  # noqa: BLE001 - the actor may be gone already; the runner reports that
            log.debug("stop could not reach the actor", exc_info=True)


class RayRunner:
    """Runs each training as a Ray actor on the cluster at `address`."""

    def __init__(self, address: str, num_cpus: float = 1, resources: dict | None = None,
                 place_timeout_s: float = 120.0, stop_grace_s: float = 30.0, with_onnx: bool = True):
        self.address, self.num_cpus, self.resources = address, num_cpus, dict(resources or {})
        self.place_timeout_s, self.stop_grace_s, self.with_onnx = place_timeout_s, stop_grace_s, with_onnx

    def options(self, spec: TrainSpec) -> dict:
        gpus = 1 if getattr(spec.config, "device", "auto") == "cuda" else 0
        return dict(num_cpus=self.num_cpus, num_gpus=gpus, resources=self.resources)

    def __call__(self, spec: TrainSpec, data: Dataset | None, callbacks: dict[str, list[Callable]],
                 on_trainer: Callable[[RayHandle], None] | None) -> TrainedModel:
        ray = connect(self.address)
        from ray.exceptions import GetTimeoutError, RayError

        from bigmodel_core.workers.portable import unpack
        from bigmodel_core.workers.ray_actor import TrainingActor
        from bigmodel_core.workers.worker import Cancelled

        threads = max(1, int(self.num_cpus))
        actor = TrainingActor.options(**self.options(spec)).remote(threads)
        handle = RayHandle(actor)
        if on_trainer:
            on_trainer(handle)
        result_ref = actor.run.remote(spec.to_dict(), data, self.with_onnx)
        where_ref = actor.where.remote()
        submitted = time.monotonic()
        try:
            warm_imports()
            while True:
                done, _ = ray.wait([result_ref], timeout=POLL_S)
                if handle.where is None:
                    if ray.wait([where_ref], timeout=0)[0]:
                        handle.where = ray.get(where_ref)
                        placed(callbacks, handle.where)
                    elif time.monotonic() - submitted > self.place_timeout_s:
                        raise TrainingError(f"No Ray node could take this training within {self.place_timeout_s:.0f} s "
                                            f"(it needs {self.options(spec)}).",
                                            hint="add a node with those resources, or ask for fewer")
                if handle.where is not None:
                    deliver(ray.get(actor.events.remote(), timeout=30), callbacks)
                if done:
                    kind, payload = ray.get(result_ref)
                    if kind == "result":
                        return unpack(payload)
                    if kind == "cancelled":
                        raise Cancelled()
                    raise TrainingError(payload)
                if handle.stop_asked is not None and time.monotonic() - handle.stop_asked > self.stop_grace_s:
                    log.warning("Ray training ignored Stop for %.0f s; killing its actor", self.stop_grace_s)
                    ray.kill(actor)
                    raise Cancelled()
        except (TrainingError, Cancelled):
            raise
        except GetTimeoutError as exc:
            raise TrainingError("The Ray node running this training stopped answering.",
                                hint="check the cluster (`ray status`) and start the training again") from exc
        except RayError as exc:
            if handle.stop_asked is not None:
                raise Cancelled() from None
            node = (handle.where or {}).get("node", "?")
            first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
            raise TrainingError(f"the Ray node {node[:12]} running this training was lost ({first}).",
                                hint="start it again; the cluster places it on a node that is up") from None
        finally:
            with contextlib.suppress(Exception):    # already gone
                ray.kill(actor)
