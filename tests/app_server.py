"""Start the real app the way ./run.sh does (on a free port, models copied to a scratch folder) for browser tests."""
from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running_app(tmp: Path, **extra_env: str):
    """Yield (url, process, log path) of a Streamlit server on app.py; stopped on exit."""
    models = tmp / "models"
    shutil.copytree(ROOT / "models", models)                 # the app writes here, never into the repo
    env = dict(os.environ, BIGMODEL_MODELS_DIR=str(models), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1",
               HF_HUB_DISABLE_TELEMETRY="1", **extra_env)
    shared = ROOT.parent / "shared" / "data"
    if "BIGMODEL_DATA_DIR" not in env and shared.is_dir():    # what scripts/setup.sh does for ./run.sh
        env["BIGMODEL_DATA_DIR"] = str(shared.resolve())
    python = ROOT / ".venv" / "bin" / "python"
    port = free_port()
    log_path = tmp / "streamlit.log"
    with open(log_path, "wb") as log:                        # the server writes through its own copy of the file
        proc = subprocess.Popen([str(python if python.exists() else sys.executable), "-m", "ui.server",
                                 "--server.headless", "true", "--server.port", str(port),
                                 "--browser.gatherUsageStats", "false"],
                                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                raise AssertionError(f"streamlit exited: {log_path.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError("streamlit did not answer within 90 s")
            time.sleep(0.5)
        yield url, proc, log_path
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()


CHROMIUM = "/usr/bin/chromium"


def app_for_browser(tmp: Path):
    """Yield the URL of a running app for a browser test; skip (saying what to install) without Chromium or
    playwright."""
    import pytest

    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's Chromium (apt-get install -y chromium) "
                    "to run browser tests")
    pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    with running_app(tmp) as (url, _, _):
        yield url


RUNNING = '[data-testid="stStatusWidget"], [data-testid="stSkeleton"]'   # Streamlit's "script is running" marks


class Quiet:
    """Whether the app has shown none of the RUNNING marks for `settle` seconds (fed one look at a time)."""

    def __init__(self, settle: float = 0.6):
        self.settle, self.since = settle, None

    def saw(self, running: bool) -> bool:
        if running:
            self.since = None
            return False
        if self.since is None:
            self.since = time.monotonic()
        return time.monotonic() - self.since > self.settle

