"""bigmodel_core.warm: one thread does the first imports; torch only when a page asks for it."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_light_stage_in_a_thread_then_torch_only_when_asked():
    code = """
import sys
from bigmodel_core import warm
warm.wait()
light = all(m in sys.modules for m in warm.LIGHT) and "torch" not in sys.modules
print(light, warm.torch_available(), all(m in sys.modules for m in warm.TORCH), warm._thread.name)
"""
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300,
                         check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["True", "True", "True", "bigmodel-preload"]


def test_home_imports_no_heavy_library():
    """What app.py and the home page import: none of the libraries the background thread loads late."""
    code = """
import sys
import bigmodel_core.app.domains, bigmodel_core.paths, bigmodel_core.serve.runtime, ui.i18n, ui.layout
print(sorted(m for m in ("torch", "sklearn", "transformers") if m in sys.modules))
"""
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300,
                         check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "[]"
