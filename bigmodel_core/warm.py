"""Import libraries once, in one thread, before the app's sessions need them.

Python imports are not safe against circular imports done by two threads at once:
two Streamlit sessions opening pages at the same moment on a cold server both
start importing scikit-learn, and one of them sees a partially initialised module
("cannot import name 'clone' from partially initialized module 'sklearn.base'",
found by tests/test_load.py). So every first import of a group happens under one lock.

Three groups:
- `LIGHT` (numpy, pandas, plotly, ONNX Runtime and the inference side of the core): what every
  page needs. `start()` imports it in a background thread as the server starts (ui/server.py), so
  the imports overlap the server's own start-up; app.py's `wait()` blocks until it is done.
- `SKLEARN`: preloaded where a dataset ships inside scikit-learn or an explanation uses it.
- `TORCH`: by `torch_available()`, which the pages that train or take gradients ask first. A server
  that only shows and predicts never loads torch (issue 19: ≤ 400 MB); the light install has no
  torch at all, and those pages then say that they need the full install.

After each group the objects made so far are frozen for the garbage collector (see below).
"""
from __future__ import annotations

import gc
import importlib
import logging
import threading

log = logging.getLogger(__name__)

LIGHT = (
    "numpy", "pandas", "onnxruntime", "plotly.graph_objects", "plotly.subplots",
    "bigmodel_core.data.catalog", "bigmodel_core.data.loaders", "bigmodel_core.data.uploads",
    "bigmodel_core.serve.metrics", "bigmodel_core.serve.registry", "bigmodel_core.serve.runtime",
    "bigmodel_core.serve.predictors",
)
MODULES = LIGHT
SKLEARN = ("sklearn", "sklearn.base", "sklearn.model_selection", "sklearn.metrics", "sklearn.inspection",
           "sklearn.datasets")
TORCH = SKLEARN + ("torch", "bigmodel_core.train.pipeline", "bigmodel_core.explain", "bigmodel_core.app.jobs")
_LOCK = threading.Lock()
_imported: set[str] = set()
_failed: set[str] = set()
_light = threading.Event()
_thread: threading.Thread | None = None


# Why gc.freeze(): with torch, scikit-learn and plotly loaded, one full (generation 2) collection
# walks every object they made and took about 170-200 ms on this 2-core machine. Reruns allocate a
# lot (plotly figures), so now and then one landed inside a click → answer and added ~200 ms to it
# (the measured times fell in two groups ~200 ms apart; docs/benchmarks.md "In the browser"). Frozen
# objects are never collected, which is right for modules loaded for the life of the server.


def preload(modules: tuple[str, ...] = MODULES) -> bool:
    """Import `modules` once per process, one thread at a time (others wait); True when all are importable."""
    if any(m not in _imported and m not in _failed for m in modules):
        with _LOCK:
            new = False
            for name in modules:
                if name in _imported or name in _failed:
                    continue
                new = True
                try:
                    importlib.import_module(name)
                    _imported.add(name)
                except ImportError as exc:               # the light install: no torch, by design
                    _failed.add(name)
                    log.info("not installed: %s (%s)", name, exc)
                except Exception as exc:  # noqa: BLE001 - a broken optional library is not fatal here
                    _failed.add(name)
                    log.warning("preloading %s failed: %s", name, exc)
            if new:
                gc.collect()
                gc.freeze()      # the libraries' objects out of the collector's sight
    return all(m in _imported for m in modules)


def _run() -> None:
    try:
        preload(LIGHT)
    finally:
        _light.set()


def start() -> None:
    """Begin the light imports in one background thread (once per process; later calls do nothing)."""
    global _thread
    with _LOCK:
        if _thread is None:
            _thread = threading.Thread(target=_run, name="bigmodel-preload", daemon=True)
            _thread.start()


def wait() -> None:
    """Start the light imports if nobody has, and block until they are done."""
    start()
    _light.wait()


def torch_available() -> bool:
    """torch (and the training side of the core) imported, once, under the lock; False in the light install."""
    wait()
    preload(TORCH)
    return "torch" in _imported and "bigmodel_core.train.pipeline" in _imported


def torch_installed() -> bool:
    """torch can be imported here (without importing it): False in the light install."""
    import importlib.util

    try:
        return importlib.util.find_spec("torch") is not None
    except (ImportError, ValueError):
        return False
