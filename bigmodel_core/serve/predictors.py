"""The one cache of `Predictor`s in a process (web server, worker): one ONNX Runtime session per model file.

Keyed by model folder + the model's sha256 + device, so a re-exported model never serves stale
answers. The registry calls `forget(folder)` whenever it deletes or replaces a model, so a deleted
model's session is closed at once and a replaced one is rebuilt on the next prediction.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bigmodel_core.serve.runtime import Predictor

MAX_PREDICTORS = 24

_lock = threading.Lock()
_cache: OrderedDict[tuple[str, str, str], object] = OrderedDict()


def _folder_key(folder) -> str:
    return str(Path(folder).resolve())


def get(folder: str | Path, sha256: str | None = None, device: str = "auto") -> Predictor:
    """The `runtime.Predictor` of the registry model in `folder`, built (and its checksum verified) on first use."""
    from bigmodel_core.serve import registry
    from bigmodel_core.serve.runtime import Predictor

    entry = None
    if sha256 is None:
        entry = registry.load(Path(folder))
        sha256 = entry.card.sha256
    key = (_folder_key(folder), sha256, device)
    with _lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    entry = entry or registry.load(Path(folder))          # ModelError for a missing or altered model
    predictor = Predictor(entry.folder, entry.card, device=device)
    key = (key[0], entry.card.sha256, device)
    with _lock:
        predictor = _cache.setdefault(key, predictor)     # two threads racing keep one session
        _cache.move_to_end(key)
        while len(_cache) > MAX_PREDICTORS:
            _cache.popitem(last=False)
    return predictor


def forget(folder: str | Path | None = None) -> int:
    """Drop every cached predictor of the model in `folder` (all of them when None); how many were dropped."""
    with _lock:
        keys = [k for k in _cache if folder is None or k[0] == _folder_key(folder)]
        for k in keys:
            del _cache[k]
    return len(keys)


def cached_folders() -> list[str]:
    """Folders with a cached predictor, oldest use first."""
    with _lock:
        return [k[0] for k in _cache]
