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


def app_env(models: Path, **extra_env: str) -> dict:
    """The environment ./run.sh gives the app, with its registry in `models` (and the mirror as data cache)."""
    env = dict(os.environ, BIGMODEL_MODELS_DIR=str(models), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1",
               HF_HUB_DISABLE_TELEMETRY="1", **extra_env)
    shared = ROOT.parent / "shared" / "data"
    if "BIGMODEL_DATA_DIR" not in env and shared.is_dir():    # what scripts/setup.sh does for ./run.sh
        env["BIGMODEL_DATA_DIR"] = str(shared.resolve())
    return env


def start_server(models: Path, port: int, log: Path | None = None, root: Path = ROOT,
                 **extra_env: str) -> subprocess.Popen:
    """`python -m ui.server` of the checkout at `root` on `port` (output to `log`, or nowhere)."""
    python = ROOT / ".venv" / "bin" / "python"
    out = open(log, "wb") if log else subprocess.DEVNULL          # noqa: SIM115 - the server keeps its own copy
    try:
        return subprocess.Popen([str(python if python.exists() else sys.executable), "-m", "ui.server",
                                 "--server.headless", "true", "--server.port", str(port),
                                 "--browser.gatherUsageStats", "false"],
                                cwd=root, env=app_env(models, **extra_env), stdout=out, stderr=subprocess.STDOUT)
    finally:
        if log:
            out.close()


def wait_healthy(proc: subprocess.Popen, url: str, timeout: float = 90, poll: float = 0.05,
                 log: Path | None = None) -> None:
    """Until the server answers its health check; an error naming why (its log's end) if it exits or hangs."""
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            tail = log.read_text(errors="replace")[-2000:] if log else ""
            raise AssertionError(f"streamlit exited with code {proc.returncode}: {tail}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"streamlit did not answer within {timeout:.0f} s")
        time.sleep(poll)


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()


@contextlib.contextmanager
def running_app(tmp: Path, root: Path = ROOT, **extra_env: str):
    """Yield (url, process, log path) of a Streamlit server on `root`'s app.py; stopped on exit."""
    models = tmp / "models"
    shutil.copytree(root / "models", models)                 # the app writes here, never into the repo
    port = free_port()
    log_path = tmp / "streamlit.log"
    proc = start_server(models, port, log_path, root, **extra_env)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(proc, url, poll=0.5, log=log_path)
        yield url, proc, log_path
    finally:
        stop(proc)


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

