"""sha256 of files, computed once per process for a given (path, mtime, size).

Shared by the data cache (dataset files) and the registry (model.onnx files).
"""
from __future__ import annotations

import hashlib
from pathlib import Path

_known: dict[tuple[str, int, int], str] = {}   # (path, mtime_ns, size) -> sha256 hex


def sha256_file(path: Path) -> str:
    """sha256 of the file at `path`, as hex."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _key(path: Path) -> tuple[str, int, int]:
    st = Path(path).stat()
    return str(path), st.st_mtime_ns, st.st_size


def cached_sha256(path: Path) -> str:
    """sha256 of `path`; recomputed only when the file's mtime or size changes."""
    key = _key(path)
    if key not in _known:
        _known[key] = sha256_file(path)
    return _known[key]


def remember(path: Path, digest: str) -> None:
    """Record a digest just computed for a file written by us."""
    _known[_key(path)] = digest
