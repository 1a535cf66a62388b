"""Where things live on disk: the project, the shipped models, the data cache.

The settings that move them (the dataset cache, the derived-files cache, the model
registry) are declared and read in `config`: `DATA_DIR`, `CACHE_DIR`, `MODELS_DIR`.
"""
from __future__ import annotations

from pathlib import Path

from bigmodel_core import config

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _user_cache() -> Path:
    try:
        import platformdirs

        return Path(platformdirs.user_cache_dir("bigmodel-studio"))
    except ImportError:                      # minimal environments (e.g. a GPU box) lack platformdirs
        return (config.XDG_CACHE_HOME.get() or Path.home() / ".cache") / "bigmodel-studio"


def data_dir() -> Path:
    """Folder holding downloaded datasets, laid out as `<dataset-id>/<file>`."""
    return config.DATA_DIR.get() or _user_cache() / "data"


def cache_dir() -> Path:
    """Writable folder for derived files (decoded images, tokenised texts)."""
    path = config.CACHE_DIR.get() or _user_cache() / "derived"
    path.mkdir(parents=True, exist_ok=True)
    return path


def models_dir() -> Path:
    """The model registry: shipped models plus the ones users train."""
    return config.MODELS_DIR.get() or PROJECT_ROOT / "models"


def static_folder(name: str, files: dict[str, Path | bytes]) -> Path:
    """`cache_dir()/static/<name>/` holding `files` (name → source file or bytes), made once and atomically.

    For assets a web page serves from disk (a custom chart component and its script): the folder is
    built under a temporary name and renamed into place, so a reader never sees half of it. Give
    `name` a content tag so a changed asset gets a new folder.
    """
    import shutil
    import tempfile

    folder = cache_dir() / "static" / name
    if folder.is_dir():
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=folder.parent))
    try:
        for file_name, content in files.items():
            if isinstance(content, Path):
                shutil.copyfile(content, tmp / file_name)
            else:
                (tmp / file_name).write_bytes(content)
        tmp.rename(folder)
    except OSError:
        if not folder.is_dir():                   # not just another process winning the race
            raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return folder

