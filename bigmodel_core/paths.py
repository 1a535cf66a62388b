"""Where things live on disk: the project, the shipped models, the data cache.

`BIGMODEL_DATA_DIR` points at the dataset cache (CI points it at the read-only
`../shared/data` mirror); `BIGMODEL_CACHE_DIR` at a writable folder for derived
files (decoded image tensors); `BIGMODEL_MODELS_DIR` at the model registry.
"""
from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _user_cache() -> Path:
    try:
        import platformdirs

        return Path(platformdirs.user_cache_dir("bigmodel-studio"))
    except ImportError:                      # minimal environments (e.g. a GPU box) lack platformdirs
        return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "bigmodel-studio"


def data_dir() -> Path:
    """Folder holding downloaded datasets, laid out as `<dataset-id>/<file>`."""
    env = os.environ.get("BIGMODEL_DATA_DIR")
    return Path(env).expanduser() if env else _user_cache() / "data"


def cache_dir() -> Path:
    """Writable folder for derived files (decoded images, tokenised texts)."""
    env = os.environ.get("BIGMODEL_CACHE_DIR")
    path = Path(env).expanduser() if env else _user_cache() / "derived"
    path.mkdir(parents=True, exist_ok=True)
    return path


def models_dir() -> Path:
    """The model registry: shipped models plus the ones users train."""
    env = os.environ.get("BIGMODEL_MODELS_DIR")
    return Path(env).expanduser() if env else PROJECT_ROOT / "models"
