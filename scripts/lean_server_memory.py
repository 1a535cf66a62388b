"""Memory of the web server after a visitor opens home, a domain page and predict (issue 19 target ≤ 400 MB).

Starts the real app (tests/app_server.running_app) on a free port, opens the three pages in headless
Chromium one after the other, waits until each has finished running, then reads the server's
resident memory (VmRSS) and its peak (VmHWM) from /proc, and which heavy modules it loaded.
`--root DIR` measures another checkout (e.g. an export of an older commit) with this venv.
Run alone: `flock /work/cpu.lock .venv/bin/python scripts/lean_server_memory.py`.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
PAGES = ("", "/transport", "/predict")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run"]


def status(pid: int) -> dict:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0]) // 1024
    maps = Path(f"/proc/{pid}/maps").read_text()
    fields["libraries"] = [name for name, mark in (("torch", "libtorch"), ("sklearn", "/sklearn/"), ("scipy", "/scipy"))
                           if mark in maps]
    return fields


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--root", default=str(HERE))
    args = ap.parse_args()
    sys.path.insert(0, str(HERE / "tests"))
    import app_server
    from playwright.sync_api import sync_playwright

    app_server.ROOT = Path(args.root).resolve()
    with tempfile.TemporaryDirectory() as tmp, app_server.running_app(Path(tmp)) as (url, proc, _), \
            sync_playwright() as p:
        browser = p.chromium.launch(executable_path=app_server.CHROMIUM, args=FLAGS)
        page = browser.new_page()
        for path in PAGES:
            page.goto(url + path, wait_until="domcontentloaded")
            page.locator("h1").first.wait_for(timeout=120_000)
            time.sleep(1.0)
            page.locator(app_server.RUNNING).first.wait_for(state="detached", timeout=180_000)
            time.sleep(2.0)
            print(f"after {path or '/'}: {status(proc.pid)}", flush=True)
        browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
