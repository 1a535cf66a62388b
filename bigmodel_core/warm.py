"""Import libraries once, in one thread, before the app's sessions run pages side by side.

Python imports are not safe against circular imports done by two threads at once:
two Streamlit sessions opening pages at the same moment on a cold server both
start importing scikit-learn, and one of them sees a partially initialised module
("cannot import name 'clone' from partially initialized module 'sklearn.base'",
found by tests/test_load.py). `preload(group)` does the first import of a group under one lock.

Three groups, so that a server that only shows and predicts never loads torch (issue 19):
`MODULES` (app.py, every run; a no-op after the first) is what every page needs; `SKLEARN` is
preloaded where a dataset ships inside scikit-learn or an explanation uses it; `TORCH` by
`torch_available()`, which the pages that train or take gradients ask first (the light install
has no torch: they then say that they need the full install).
"""
from __future__ import annotations

import importlib
import logging
import threading

log = logging.getLogger(__name__)

MODULES = (
    "numpy", "pandas", "onnxruntime", "plotly.graph_objects", "plotly.subplots",
    "bigmodel_core.catalog", "bigmodel_core.datasets", "bigmodel_core.metrics",
    "bigmodel_core.registry", "bigmodel_core.runtime", "bigmodel_core.predictors",
)
SKLEARN = ("sklearn", "sklearn.base", "sklearn.model_selection", "sklearn.metrics", "sklearn.inspection",
           "sklearn.datasets")
TORCH = SKLEARN + ("torch", "bigmodel_core.pipeline", "bigmodel_core.explain", "bigmodel_core.jobs")
_LOCK = threading.Lock()
_done = False                   # the first preload (app.py's) has run
_imported: set[str] = set()
_failed: set[str] = set()


def preload(modules: tuple[str, ...] = MODULES) -> bool:
    """Import `modules` once per process, one thread at a time (others wait); True when all are importable."""
    global _done
    if any(m not in _imported and m not in _failed for m in modules):
        with _LOCK:
            for name in modules:
                if name in _imported or name in _failed:
                    continue
                try:
                    importlib.import_module(name)
                    _imported.add(name)
                except ImportError as exc:               # the light install: no torch, by design
                    _failed.add(name)
                    log.info("not installed: %s (%s)", name, exc)
                except Exception as exc:  # noqa: BLE001 - a broken optional library is not fatal here
                    _failed.add(name)
                    log.warning("preloading %s failed: %s", name, exc)
    _done = True
    return all(m in _imported for m in modules)


def torch_available() -> bool:
    """torch (and the training side of the core) imported, once, under the lock; False in the light install."""
    preload(TORCH)
    return "torch" in _imported and "bigmodel_core.pipeline" in _imported


def torch_installed() -> bool:
    """torch can be imported here (without importing it): False in the light install."""
    import importlib.util

    try:
        return importlib.util.find_spec("torch") is not None
    except (ImportError, ValueError):
        return False
