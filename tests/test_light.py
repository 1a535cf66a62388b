"""The light install (issue 19): every page renders without torch; where PyTorch is needed, one
friendly sentence in the visitor's language names the full install and its command.

In-suite: tests/light_pages.py renders every page in a subprocess whose sys.meta_path refuses the
packages only the full install has (torch, captum, transformers, …), as `./run.sh --light` would.
Slow (-m slow, needs PyPI): scripts/light_check.sh builds the light install in a fresh venv from
requirements-light.txt and renders every page there.
"""
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ui.i18n import table

ROOT = Path(__file__).resolve().parents[1]
NEEDS_TORCH = {"pages/train.py", "pages/playground.py", "pages/concepts.py", "pages/benchmark.py"}


def render(*args: str) -> list[dict]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, str(ROOT / "tests/light_pages.py"), "--block", *args], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=1200)
    assert out.returncode == 0, out.stderr[-3000:]
    return [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]


def test_without_torch_every_page_renders_and_says_where_the_full_install_is_needed():
    rows = render()
    assert len(rows) == 16                                  # home, concepts, playground, 8 domains, 5 tools
    for r in rows:
        assert not r["exceptions"] and not r["errors"], r
        assert r["needs_full"] == (r["page"] in NEEDS_TORCH), r
        assert "torch" not in r["heavy"], r


def test_the_sentence_is_in_chinese_for_a_chinese_visitor():
    rows = render("--lang=zh", "pages/train.py", "pages/playground.py", "pages/home.py")
    assert [(r["page"], r["needs_full"]) for r in rows] == [("pages/train.py", True), ("pages/playground.py", True),
                                                            ("pages/home.py", False)]
    assert all(not r["exceptions"] for r in rows)
    for lang in ("en", "zh"):
        assert "./run.sh" in table(lang)["light.needs_full"]


def test_pillow_decodes_cifar_jpegs_to_the_same_pixels_as_torchvision():
    import torch
    from PIL import Image
    from torchvision.io import ImageReadMode, decode_jpeg

    from bigmodel_core.data import catalog
    from bigmodel_core.data.cifar import decode_jpegs

    root = catalog.local_path(catalog.get("cifar10-images"))
    if not (root / "test").is_dir():
        pytest.skip("CIFAR-10 JPEG folders not in the data cache")
    files = [f for c in sorted((root / "test").iterdir()) for f in sorted(c.iterdir())[:20]]
    blobs = [f.read_bytes() for f in files]
    reference = torch.stack(decode_jpeg([torch.frombuffer(bytearray(b), dtype=torch.uint8) for b in blobs],
                                        mode=ImageReadMode.RGB)).numpy()
    pillow = np.stack([np.asarray(Image.open(io.BytesIO(b)).convert("RGB")).transpose(2, 0, 1) for b in blobs])
    assert np.array_equal(pillow, reference)
    assert np.array_equal(decode_jpegs(blobs), reference)


@pytest.mark.slow
def test_a_fresh_light_install_renders_every_page(tmp_path):
    """pip install -r requirements-light.txt into a new venv (about a minute with a fast link), then every page."""
    out = subprocess.run(["bash", str(ROOT / "scripts/light_check.sh"), str(tmp_path / "venv-light")], cwd=ROOT,
                         capture_output=True, text=True, timeout=1800)
    assert out.returncode == 0, (out.stdout[-3000:], out.stderr[-3000:])
    assert out.stdout.strip().splitlines()[-1] == "light-check: ok"
    size_mb = int(out.stdout.split("size ")[1].split(" MB")[0])
    assert size_mb <= 1024, f"the light install takes {size_mb} MB"
