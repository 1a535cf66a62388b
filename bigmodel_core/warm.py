"""Import the heavy libraries once, in one thread, before the app's sessions run pages side by side.

Python imports are not safe against circular imports done by two threads at once:
two Streamlit sessions opening pages at the same moment on a cold server both
start importing scikit-learn, and one of them sees a partially initialised module
("cannot import name 'clone' from partially initialized module 'sklearn.base'",
found by tests/test_load.py). `preload()` (called by app.py on every run; a no-op
after the first) does the first import of everything heavy under one lock.
"""
from __future__ import annotations

import importlib
import logging
import threading

log = logging.getLogger(__name__)

MODULES = (
    "numpy", "pandas", "sklearn", "sklearn.base", "sklearn.model_selection", "sklearn.metrics",
    "sklearn.inspection", "torch", "onnxruntime", "plotly.graph_objects", "plotly.subplots",
    "bigmodel_core.catalog", "bigmodel_core.datasets", "bigmodel_core.metrics", "bigmodel_core.pipeline",
    "bigmodel_core.registry", "bigmodel_core.runtime", "bigmodel_core.explain", "bigmodel_core.jobs",
)
_LOCK = threading.Lock()
_done = False


def preload(modules: tuple[str, ...] = MODULES) -> None:
    """Import `modules` once per process, one thread at a time (others wait for the first)."""
    global _done
    if _done:
        return
    with _LOCK:
        if _done:
            return
        for name in modules:
            try:
                importlib.import_module(name)
            except Exception as exc:  # noqa: BLE001 - an optional library missing is not fatal here
                log.warning("preloading %s failed: %s", name, exc)
        _done = True
