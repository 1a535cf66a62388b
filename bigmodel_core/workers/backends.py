"""Where trainings run: a local worker process (the default) or a Ray cluster, chosen by the settings.

`ray_address()` is `BIGMODEL_RAY_ADDRESS` or `[bigmodel] ray_address` in
bigmodel.toml (`auto`, `host:port` or `ray://host:port`; empty: no Ray).
`runner(trainings=1, address=None)` returns the `jobs` runner to use: a
`ray_backend.RayRunner` when there is an address, else a
`local_workers.LocalProcessRunner` whose torch threads leave the server a core
(shared by `trainings` at once). Optional: `ray_cpus` (CPUs each training
declares, default 1) and `ray_resources` (custom resources each training needs,
a JSON object such as {"trainer_node": 1}).

    # bigmodel.toml
    [bigmodel]
    ray_address = "ray://head.example.org:10001"
    ray_cpus = 4
    ray_resources = {trainer = 1}
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from bigmodel_core import config

if TYPE_CHECKING:
    from bigmodel_core.workers.local import LocalProcessRunner
    from bigmodel_core.workers.ray_backend import RayRunner

log = logging.getLogger(__name__)


def ray_address() -> str | None:
    return config.RAY_ADDRESS.get() or None


def runner(trainings: int = 1, address: str | None = None,
           threads: int | None = None) -> RayRunner | LocalProcessRunner:
    """The runner for the next training (see the module's docstring)."""
    address = address or ray_address()
    if address:
        from bigmodel_core.workers.ray_backend import RayRunner

        return RayRunner(address, num_cpus=config.RAY_CPUS.get(), resources=config.RAY_RESOURCES.get())
    from bigmodel_core.workers.local import LocalProcessRunner
    from bigmodel_core.workers.worker import default_threads

    return LocalProcessRunner(threads=threads or default_threads(trainings))


def describe(where: dict | None) -> dict | None:
    """{"kind": "local"} or {"kind": "ray", "node": short id, "device": "CPU"|"GPU"} for a job's `where`."""
    if not where:
        return None
    if where.get("backend") == "ray":
        return dict(kind="ray", node=str(where.get("node", "?"))[:8], device="GPU" if where.get("gpu") else "CPU")
    return dict(kind="local")
