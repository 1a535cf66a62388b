"""Import the heavy libraries once, in one background thread, before the app's sessions need them.

Python imports are not safe against circular imports done by two threads at once:
two Streamlit sessions opening pages at the same moment on a cold server both
start importing scikit-learn, and one of them sees a partially initialised module
("cannot import name 'clone' from partially initialized module 'sklearn.base'",
found by tests/test_load.py). So one thread does the first import of everything,
in two stages: LIGHT (what every page and the home page need: numpy, pandas,
plotly, ONNX Runtime) and HEAVY (scikit-learn, torch and the library modules
built on them). `start()` begins it (ui/server.py calls it as the server starts,
so the imports overlap the server's own start-up); `wait(heavy)` blocks until a
stage is done (app.py: the light stage on every page, the heavy one on every page
but home), so the first page is drawn while torch is still loading and no page
imports a heavy library while that thread does. The heavy stage holds Python's
GIL for seconds, which would slow the first page's script and the server's
sending of it: it begins when a page asks for it, when a page has been drawn
(`release()`, app.py), or HEAVY_AFTER_S after the light stage, whichever is first.
Once all is loaded the objects made so far are frozen for the garbage collector.
"""
from __future__ import annotations

import gc
import importlib
import logging
import threading

log = logging.getLogger(__name__)

LIGHT = ("numpy", "pandas", "plotly.graph_objects", "plotly.subplots", "onnxruntime")
HEAVY = (
    "sklearn", "sklearn.base", "sklearn.model_selection", "sklearn.metrics", "sklearn.inspection", "torch",
    "bigmodel_core.catalog", "bigmodel_core.datasets", "bigmodel_core.metrics", "bigmodel_core.pipeline",
    "bigmodel_core.registry", "bigmodel_core.runtime", "bigmodel_core.explain", "bigmodel_core.jobs",
)
MODULES = LIGHT + HEAVY
HEAVY_AFTER_S = 3.0
_LOCK = threading.Lock()
_light, _heavy, _go = threading.Event(), threading.Event(), threading.Event()
_thread: threading.Thread | None = None


def _import(modules) -> None:
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception as exc:  # noqa: BLE001 - an optional library missing is not fatal here
            log.warning("preloading %s failed: %s", name, exc)


def _run() -> None:
    try:
        _import(LIGHT)
    finally:
        _light.set()
    _go.wait(HEAVY_AFTER_S)
    try:
        _import(HEAVY)
        gc.collect()
        gc.freeze()      # the libraries' ~0.4 M objects out of the collector's sight (see below)
    finally:
        _heavy.set()


# Why gc.freeze(): with torch, scikit-learn and plotly loaded, one full (generation 2) collection
# walks every object they made and took about 170-200 ms on this 2-core machine. Reruns allocate a
# lot (plotly figures), so now and then one landed inside a click → answer and added ~200 ms to it
# (the measured times fell in two groups ~200 ms apart; docs/benchmarks.md "In the browser"). Frozen
# objects are never collected, which is right for modules loaded for the life of the server.


def start() -> None:
    """Begin the imports in one background thread (once per process; later calls do nothing)."""
    global _thread
    with _LOCK:
        if _thread is None:
            _thread = threading.Thread(target=_run, name="bigmodel-preload", daemon=True)
            _thread.start()


def wait(heavy: bool = True) -> None:
    """Start the imports if nobody has, and block until the light stage (and with `heavy`, all) is done."""
    start()
    if heavy:
        _go.set()
        _heavy.wait()
    else:
        _light.wait()


def release() -> None:
    """A page is drawn: the heavy stage may begin now (it would anyway, HEAVY_AFTER_S after the light one)."""
    _go.set()


def preload(modules=MODULES) -> None:
    """Import `modules` once per process, one thread at a time (others wait for the first)."""
    if modules is MODULES:
        wait(heavy=True)
        return
    with _LOCK:
        _import(modules)
