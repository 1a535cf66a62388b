"""scripts/ui_latency.py runs end to end: the real app in Chromium, a few tries, a table and valid JSON.

Slow (a server start, a browser); no timed assertion: the figures go to docs/benchmarks.md.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.app_server import CHROMIUM

pytestmark = [pytest.mark.slow, pytest.mark.browser]
ROOT = Path(__file__).resolve().parent.parent


def test_script_measures_a_sentence_and_writes_json(tmp_path):
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's Chromium to run browser tests")
    pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    out = tmp_path / "latency.json"
    run = subprocess.run([sys.executable, "scripts/ui_latency.py", "--tries", "3", "--only", "predict_text",
                          "--json", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)
    assert run.returncode == 0, run.stderr[-2000:]
    printed = json.loads(run.stdout.strip().splitlines()[-1])            # the last line is the JSON summary
    assert set(printed) == {"predict_text"}
    saved = json.loads(out.read_text())
    r = saved["results"]["predict_text"]
    assert r["n"] == 3 and len(r["samples_ms"]) == 3
    assert all(x > 0 for x in r["samples_ms"]) and 0 < r["p50_ms"] <= r["p95_ms"] <= r["max_ms"]
    assert "| predict_text | 3 |" in run.stdout                           # and the table a person reads


def test_script_refuses_an_unknown_measurement():
    run = subprocess.run([sys.executable, "scripts/ui_latency.py", "--only", "nonsense"], cwd=ROOT,
                         capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 2
    assert "unknown measurement 'nonsense'" in run.stderr and "Traceback" not in run.stderr
