"""How long the visitor waits, measured in a real browser: click → answer, page switches, the cold first page.

Starts the real app (`python -m ui.server`, as ./run.sh and tests/app_server.py do, on its own free port,
models copied to a scratch folder) and drives it in headless Debian Chromium through Playwright:

- interactions, each timed from the action (key press, file set, click, slider key, mouse up) until the
  new answer is in the DOM: `predict_text` (a sentence, Ctrl+Enter), `predict_upload` (an uploaded digit),
  `predict_tabular` (the form's Predict), `domain_slider` (a slider on healthcare's hands-on model),
  `canvas_stroke` (a stroke on the digit canvas);
- page switches (`page_<name>`): a click on the sidebar link until the page's own heading is drawn and
  Streamlit no longer shows it is running;
- `cold_start`: from starting the server process to the first page fully drawn (a new server each try).

Prints a table of p50/p95/max per measurement, and JSON with `--json PATH`. Example:

    flock /work/cpu.lock .venv/bin/python scripts/ui_latency.py --tries 30 --json /tmp/after.json
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.app_server import CHROMIUM, free_port, start_server, stop, wait_healthy  # noqa: E402 - needs sys.path

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
PAGES = {"home": "", "domains": "healthcare", "concepts": "concepts", "playground": "playground", "train": "train",
         "predict": "predict", "models": "models", "benchmark": "benchmark", "inspector": "onnx-inspector"}
INTERACTIONS = ("predict_text", "predict_upload", "predict_tabular", "domain_slider", "canvas_stroke")
NAMES = (*INTERACTIONS, *(f"page_{p}" for p in PAGES), "cold_start")
DRAWN = """(want) => {
  if (document.querySelector('[data-testid="stStatusWidget"], [data-testid="stSkeleton"]')) return false;
  const h = document.querySelector('[data-testid="stMain"] h1');
  return !!h && (want === null || h.innerText.trim() === want) && performance.now();
}"""
CHANGED = """([sel, before]) => {
  const e = document.querySelector(sel);
  return !!e && e.innerText.trim() !== before && performance.now();
}"""
HAS_TEXT = """([sel, want]) => {
  const e = document.querySelector(sel);
  return !!e && e.innerText.trim() === want && performance.now();
}"""
METRIC = '[data-testid="stMain"] [data-testid="stMetricValue"]'
# Every page keeps the time of its last DOM change outside the header (whose running-man icon and 200 ms
# fade-out are no content): the page is fully drawn at its last change once the app has been quiet a while.
WATCH = """(() => {
  window.__lastMut = performance.now();
  const start = () => new MutationObserver((muts) => {
    for (const m of muts) {
      const el = m.target.nodeType === 1 ? m.target : m.target.parentElement;
      if (el && el.closest && el.closest('[data-testid="stHeader"], [data-testid="stStatusWidget"]')) continue;
      window.__lastMut = performance.now();
      return;
    }
  }).observe(document.documentElement, {subtree: true, childList: true, attributes: true, characterData: true});
  if (document.documentElement) start(); else document.addEventListener('DOMContentLoaded', start);
})();"""
QUIET = """(ms) => !document.querySelector('[data-testid="stStatusWidget"], [data-testid="stSkeleton"]')
  && performance.now() - window.__lastMut > ms"""
TIMEOUT_MS = 60_000


# ---------------------------------------------------------------------------- the server
@contextlib.contextmanager
def server(models: Path):
    port = free_port()
    proc = start_server(models, port)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(proc, url)
        yield url
    finally:
        stop(proc)


# ---------------------------------------------------------------------------- helpers in the page
def wait_drawn(page, heading: str | None = None) -> None:
    page.wait_for_function(DRAWN, arg=heading, polling="raf", timeout=TIMEOUT_MS)


def wait_idle(page, settle: float = 0.3) -> None:
    """Until no 'running' mark has been seen for `settle` seconds (between tries, never timed)."""
    since, deadline = None, time.monotonic() + 60
    while time.monotonic() < deadline:
        busy = page.locator('[data-testid="stStatusWidget"], [data-testid="stSkeleton"]').count() > 0
        if busy:
            since = None
        elif since is None:
            since = time.monotonic()
        elif time.monotonic() - since > settle:
            return
        time.sleep(0.03)


def text_of(page, selector: str) -> str:
    return page.evaluate("(s) => { const e = document.querySelector(s); return e ? e.innerText.trim() : ''; }",
                         selector)


def timed(page, action, condition: str, arg, drawn: bool = False) -> float:
    """Milliseconds, on the page's clock, from just before the action until `condition` holds (checked every
    animation frame); with `drawn`, until the page's last change once it has been quiet for SETTLE_MS."""
    t0 = page.evaluate("performance.now()")
    action()
    held = page.wait_for_function(condition, arg=arg, polling="raf", timeout=TIMEOUT_MS).json_value()
    if not drawn:
        return held - t0
    try:
        page.wait_for_function(QUIET, arg=SETTLE_MS, polling="raf", timeout=SETTLE_MAX_MS)
    except Exception:  # noqa: BLE001 - a page that never rests (a live chart) counts from its heading
        return held - t0
    return max(held, page.evaluate("window.__lastMut")) - t0


SETTLE_MS, SETTLE_MAX_MS = 600, 8000


def goto(page, url: str) -> None:
    page.goto(url, wait_until="domcontentloaded")
    wait_drawn(page)
    wait_idle(page)


# ---------------------------------------------------------------------------- interactions
def predict_text(page, url: str, tries: int) -> list[float]:
    goto(page, f"{url}/predict?model=sst2-tiny")
    box = page.locator(".st-key-predict_text_sst2-tiny textarea")
    sentences = [("An absolutely wonderful film, moving and funny.", "positive"),
                 ("A dull, tedious mess that wastes its cast.", "negative")]
    out = []
    for i in range(tries + 2):                       # two warm-up tries, not counted
        text, label = sentences[i % 2]
        box.fill(text)
        ms = timed(page, lambda: box.press("Control+Enter"), HAS_TEXT, [METRIC, label])
        wait_idle(page)
        if i >= 2:
            out.append(ms)
    return out


def _digits(folder: Path, model: str) -> list[tuple[Path, str]]:
    from PIL import Image

    from bigmodel_core.serve import examples

    images, labels = examples.load(model, ROOT / "models").subset("test")
    picked, seen = [], set()
    for i in range(len(labels)):
        if int(labels[i]) not in seen:
            png = folder / f"digit{i}.png"
            Image.fromarray(images[i, 0]).save(png)
            picked.append((png, str(labels[i])))
            seen.add(int(labels[i]))
        if len(picked) == 2:
            return picked
    raise SystemExit(f"{model}: its examples hold fewer than two classes")


def predict_upload(page, url: str, tries: int, scratch: Path) -> list[float]:
    model = "mnist-cnn"
    digits = _digits(scratch, model)
    goto(page, f"{url}/predict?model={model}")
    page.locator(f".st-key-predict_src_{model}").get_by_text("Upload").click()
    wait_idle(page)
    chooser = page.locator(f".st-key-predict_upload_{model} input[type=file]")
    out = []
    for i in range(tries + 2):
        png, label = digits[i % 2]
        ms = timed(page, lambda png=png: chooser.set_input_files(str(png)), HAS_TEXT, [METRIC, label])
        wait_idle(page)
        if i >= 2:
            out.append(ms)
    return out


def _slider_moves(page, slider, condition_sel: str, tries: int) -> list[float]:
    """Press End / Home on a slider in turn; each time until the answer at `condition_sel` has changed."""
    out = []
    for i in range(tries + 2):
        before = text_of(page, condition_sel)
        ms = timed(page, lambda key="End" if i % 2 == 0 else "Home": slider.press(key), CHANGED,
                   [condition_sel, before])
        wait_idle(page)
        if i >= 2:
            out.append(ms)
    return out


def predict_tabular(page, url: str, tries: int) -> list[float]:
    model = "bike-demand-mlp"
    goto(page, f"{url}/predict?model={model}")
    form = page.locator('[data-testid="stForm"]').first
    sliders = form.locator("input[type=range] >> visible=true")
    slider = sliders.first
    submit = form.locator('[data-testid="stBaseButton-primaryFormSubmit"], button[kind="primaryFormSubmit"]').first
    if submit.count() == 0:
        submit = form.get_by_role("button").last
    out = []
    for i in range(tries + 2):
        slider.press("End" if i % 2 == 0 else "Home")               # inside the form: no rerun yet
        before = text_of(page, METRIC)
        ms = timed(page, lambda: submit.click(), CHANGED, [METRIC, before])
        wait_idle(page)
        if i >= 2:
            out.append(ms)
    return out


def domain_slider(page, url: str, tries: int) -> list[float]:
    goto(page, f"{url}/healthcare")                 # diabetes-mlp: a regression, so any move moves the answer
    slider = page.locator('[data-testid="stMain"] [data-testid="stSlider"] input[type=range] >> visible=true').first
    slider.scroll_into_view_if_needed()
    return _slider_moves(page, slider, METRIC, tries)


STROKES = ((0.3, 0.15, 0.3, 0.85), (0.7, 0.15, 0.7, 0.85), (0.15, 0.3, 0.85, 0.3), (0.15, 0.7, 0.85, 0.7))


def canvas_stroke(page, url: str, tries: int) -> list[float]:
    """A line drawn on the digit canvas, timed from the mouse's release until the answer has changed.

    Each of STROKES (four lines apart from each other) changes the picture; after the four the page
    is opened anew (untimed), so the canvas is blank again and never fills up."""
    model = "mnist-cnn"
    answer = ('[data-testid="stMain"] [data-testid="stMetric"], '
              '[data-testid="stMain"] [data-testid="stCaptionContainer"]')
    changed = """([sel, before]) => {
      const m = document.querySelector('[data-testid="stMain"] [data-testid="stMetric"]');
      return !!m && [...document.querySelectorAll(sel)].map(e => e.innerText).join('|') !== before
        && performance.now();
    }"""
    out, canvas = [], None
    for i in range(tries + 2):
        if i % len(STROKES) == 0:
            goto(page, f"{url}/predict?model={model}")
            canvas = page.locator(f".st-key-predict_canvas_{model} canvas").last     # fabric's top canvas
            canvas.wait_for(state="visible", timeout=TIMEOUT_MS)
            canvas.scroll_into_view_if_needed()
            wait_idle(page)
        box = canvas.bounding_box()
        x0, y0, x1, y1 = STROKES[i % len(STROKES)]
        page.mouse.move(box["x"] + box["width"] * x0, box["y"] + box["height"] * y0)
        page.mouse.down()
        for k in range(1, 9):
            page.mouse.move(box["x"] + box["width"] * (x0 + (x1 - x0) * k / 8),
                            box["y"] + box["height"] * (y0 + (y1 - y0) * k / 8))
        before = page.evaluate("(s) => [...document.querySelectorAll(s)].map(e => e.innerText).join('|')", answer)
        ms = timed(page, lambda: page.mouse.up(), changed, [answer, before])
        wait_idle(page)
        if i >= 2:
            out.append(ms)
    return out


# ---------------------------------------------------------------------------- page switches, cold start
def headings(page, url: str, names: list[str]) -> dict[str, str]:
    """Each page's own heading, read once by opening it."""
    out = {}
    for name in names:
        path = PAGES[name]
        goto(page, f"{url}/{path}")
        out[name] = text_of(page, '[data-testid="stMain"] h1')
    return out


def page_switches(page, url: str, tries: int, only: set[str]) -> dict[str, list[float]]:
    wanted = [n for n in PAGES if f"page_{n}" in only]
    names = wanted if len(wanted) > 1 else [*wanted, "home" if wanted != ["home"] else "predict"]
    titles = headings(page, url, names)                             # switched in turn, each from the one before
    goto(page, f"{url}/{PAGES[names[-1]]}")
    out = {n: [] for n in names}
    for i in range(tries + 1):                                         # one warm-up round
        for name in names:
            link = page.locator(f'[data-testid="stSidebarNav"] a[href$="/{PAGES[name]}"]').first
            if name == "home":
                link = page.locator('[data-testid="stSidebarNav"] a').first
            ms = timed(page, link.click, DRAWN, titles[name], drawn=True)
            wait_idle(page)
            if i >= 1:
                out[name].append(ms)
    return {n: out[n] for n in wanted}


def cold_start(browser, models: Path, tries: int) -> list[float]:
    out = []
    for _ in range(tries):
        ctx = browser.browser.new_context(viewport={"width": 1280, "height": 800})    # empty cache, like a visitor
        ctx.add_init_script(WATCH)
        page = ctx.new_page()
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        t0 = time.time() * 1000
        proc = start_server(models, port)
        try:
            wait_healthy(proc, url, poll=0.02)
            page.goto(url, wait_until="domcontentloaded")
            wait_drawn(page)
            page.wait_for_function(QUIET, arg=SETTLE_MS, polling="raf", timeout=TIMEOUT_MS)
            out.append(page.evaluate("performance.timeOrigin + window.__lastMut") - t0)
        finally:
            stop(proc)
            ctx.close()
    return out


# ---------------------------------------------------------------------------- report
def summary(samples: list[float]) -> dict:
    s = sorted(samples)
    q = statistics.quantiles(s, n=20, method="inclusive") if len(s) > 1 else [s[0]] * 19
    return {"n": len(s), "p50_ms": round(statistics.median(s), 1), "p95_ms": round(q[18], 1),
            "max_ms": round(s[-1], 1), "samples_ms": [round(x, 1) for x in samples]}


def table(results: dict) -> str:
    lines = ["| measurement | n | p50 ms | p95 ms | max ms |", "|---|---|---|---|---|"]
    for name in NAMES:
        if name in results:
            r = results[name]
            lines.append(f"| {name} | {r['n']} | {r['p50_ms']:.0f} | {r['p95_ms']:.0f} | {r['max_ms']:.0f} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tries", type=int, default=30, help="timed tries per measurement (default 30)")
    ap.add_argument("--cold-tries", type=int, help="server starts for cold_start (default: --tries)")
    ap.add_argument("--only", action="append", help=f"measure only these (repeatable, comma lists): {', '.join(NAMES)}"
                    " or 'pages' for every page switch")
    ap.add_argument("--json", type=Path, help="also write the results here as JSON")
    args = ap.parse_args(argv)
    if not Path(CHROMIUM).exists():
        print(f"{CHROMIUM} is missing: install Debian's Chromium (apt-get install -y chromium)", file=sys.stderr)
        return 2
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print("the playwright package is not installed", file=sys.stderr)
        return 2
    only = set()
    for item in args.only or [",".join(NAMES)]:
        for name in item.split(","):
            name = name.strip()
            if name == "pages":
                only |= {f"page_{p}" for p in PAGES}
            elif name in NAMES:
                only.add(name)
            elif name:
                print(f"unknown measurement {name!r}; one of: {', '.join(NAMES)}, pages", file=sys.stderr)
                return 2
    if args.tries < 1:
        print("--tries must be at least 1", file=sys.stderr)
        return 2
    results: dict[str, dict] = {}
    failed: list[str] = []
    with tempfile.TemporaryDirectory(prefix="ui-latency-") as tmp, sync_playwright() as p:
        scratch = Path(tmp)
        models = scratch / "models"
        shutil.copytree(ROOT / "models", models)           # the app writes here, never into the repo
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        browser = browser.new_context(viewport={"width": 1280, "height": 800})
        browser.add_init_script(WATCH)
        if "cold_start" in only:
            results["cold_start"] = summary(cold_start(browser, models, args.cold_tries or args.tries))
        warm = [n for n in only if n != "cold_start"]
        if warm:
            with server(models) as url:
                page = browser.new_page()
                page.set_default_timeout(TIMEOUT_MS)
                goto(page, url)
                for name in INTERACTIONS:
                    if name not in only:
                        continue
                    try:
                        if name == "predict_upload":
                            samples = predict_upload(page, url, args.tries, scratch)
                        else:
                            samples = globals()[name](page, url, args.tries)
                    except Exception as exc:  # noqa: BLE001 - say which one failed, measure the rest
                        print(f"{name}: failed: {str(exc).splitlines()[0]}", file=sys.stderr)
                        failed.append(name)
                        page = browser.new_page()
                        page.set_default_timeout(TIMEOUT_MS)
                        continue
                    results[name] = summary(samples)
                    print(f"{name}: p50 {results[name]['p50_ms']:.0f} ms, p95 {results[name]['p95_ms']:.0f} ms",
                          file=sys.stderr)
                if any(n.startswith("page_") for n in only):
                    for name, samples in page_switches(page, url, args.tries, only).items():
                        results[f"page_{name}"] = summary(samples)
        browser.browser.close()
    print(table(results))
    doc = {"tries": args.tries, "machine": f"{os.cpu_count()} cores", "results": results, "failed": failed}
    print(json.dumps({k: {kk: vv for kk, vv in v.items() if kk != "samples_ms"} for k, v in results.items()}))
    if args.json:
        args.json.write_text(json.dumps(doc, indent=1))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
