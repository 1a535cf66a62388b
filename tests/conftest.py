"""Test set-up: offline, the shared dataset mirror as the data cache, a private model registry per test."""
import os
import struct
import zlib
from pathlib import Path

import pytest
from hypothesis import settings

# CI runs the fuzz tests on a fixed set of examples (HYPOTHESIS_PROFILE=ci, set by .ci/run), so a
# landing never depends on luck; locally every run draws new ones.
settings.register_profile("ci", derandomize=True, database=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data"

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
if "BIGMODEL_DATA_DIR" not in os.environ and SHARED.is_dir():
    os.environ["BIGMODEL_DATA_DIR"] = str(SHARED)
os.environ.setdefault("BIGMODEL_CACHE_DIR", str(ROOT / ".cache" / "derived"))


@pytest.fixture
def tmp_registry(tmp_path, monkeypatch):
    """An empty model registry for one test."""
    root = tmp_path / "models"
    root.mkdir()
    monkeypatch.setenv("BIGMODEL_MODELS_DIR", str(root))
    return root


def mirror_has(dataset_id: str) -> bool:
    return (Path(os.environ.get("BIGMODEL_DATA_DIR", "")) / dataset_id).exists()


def bilevel_png(width: int, height: int) -> bytes:
    """A valid all-black 1-bit PNG of any size, compressed row by row (never held decoded in memory)."""
    row = b"\x00" * (1 + (width + 7) // 8)                  # filter byte + packed bits
    z = zlib.compressobj(9)
    idat = b"".join(z.compress(row) for _ in range(height)) + z.flush()

    def chunk(tag, body):
        return struct.pack(">I", len(body)) + tag + body + struct.pack(">I", zlib.crc32(tag + body))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0))
            + chunk(b"IDAT", idat) + chunk(b"IEND", b""))
