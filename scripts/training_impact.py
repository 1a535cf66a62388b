"""How much one running training slows other people's predictions: p50/p95 round trips, idle vs training, one run.

    flock /work/cpu.lock .venv/bin/python scripts/training_impact.py [--app-root DIR] [--rounds 20] [--out FILE]

Starts the app from `--app-root` (default: this checkout; point it at a copy of an
older commit to measure "before") on a free port with a scratch copy of its models,
and opens two headless Chromium sessions. Session P predicts on the predict page —
alternately a table row with diabetes-mlp (BMI to its other end, then Predict) and a
sentence with sst2-tiny (Ctrl+Enter) — timing each round trip from the action to the
new answer on the screen (the load test's helpers, tests/test_load.py). Phases, each
`--rounds` predictions after a warm-up: idle; while session T trains an MLP on credit-card
default with batch size 8 (its live panel redrawing every second); idle again after
T stopped it. Prints and writes (`--out`) the p50/p95/max per phase and the ratio of
the training phase's p95 to the idle phases' p95.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(HERE))

from tests.app_server import running_app  # noqa: E402
from tests.test_browser import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from tests.test_load import (  # noqa: E402
    Stats,
    go,
    new_session,
    percentile,
    predict_row,
    predict_text,
    start_long_training,
    wait_idle,
)


def summary(values: list[float]) -> dict:
    ms = [1000 * v for v in values]
    return dict(n=len(ms), p50=round(percentile(ms, 50)), p95=round(percentile(ms, 95)), max=round(max(ms)),
                samples=[round(x) for x in ms])


async def predictions(page, n: int, who: str) -> list[float]:
    stats = Stats()
    stats.measuring = True
    for i in range(n):
        step = predict_row if i % 2 == 0 else predict_text
        try:
            await step(page, stats, who, None)
        except Exception:  # noqa: BLE001 - a lost input under load: repeat once, as the load test does
            await step(page, stats, who, None)
    return stats.rounds["tabular"] + stats.rounds["text"]


async def measure(url: str, rounds: int) -> dict:
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        p_ctx, predictor = await new_session(browser, url)
        t_ctx, trainer = await new_session(browser, url)
        await go(predictor, "predict")
        await predictions(predictor, 4, "warm-up")
        out = {"idle": summary(await predictions(predictor, rounds, "idle"))}
        try:
            await start_long_training(trainer)
        except Exception:
            await trainer.screenshot(path="/tmp/training-impact-failure.png", full_page=True)
            raise
        # wait until the training loop itself runs (the progress bar shows an epoch), not only its start-up
        await trainer.get_by_text(re.compile(r"Epoch \d+/\d+ · step")).first.wait_for(timeout=120_000)
        t0 = time.monotonic()
        out["training"] = summary(await predictions(predictor, rounds, "training"))
        out["training"]["seconds"] = round(time.monotonic() - t0, 1)
        still = await trainer.get_by_text(re.compile(r"Epoch \d+/\d+ · step")).count()
        if still:
            out["training"]["progress_at_the_end"] = await trainer.get_by_text(
                re.compile(r"Epoch \d+/\d+ · step")).first.inner_text()
        out["training"]["still_training_at_the_end"] = bool(still)
        if await trainer.locator("[class*='st-key-stop_'] button").count():
            await trainer.locator("[class*='st-key-stop_'] button").first.click()
        await trainer.locator("[class*='st-key-clear_'] button").first.wait_for(timeout=120_000)
        page_text = await trainer.locator('[data-testid="stMain"]').inner_text()
        out["training"]["result"] = [line for line in page_text.splitlines()
                                     if re.search(r"epoch|stopped|trained", line, re.I)][:4]
        await wait_idle(trainer)
        out["idle_after"] = summary(await predictions(predictor, rounds, "idle-after"))
        for ctx in (p_ctx, t_ctx):
            await ctx.close()
        await browser.close()
    idle_p95 = max(out["idle"]["p95"], out["idle_after"]["p95"])
    out["ratio_p95_training_vs_idle"] = round(out["training"]["p95"] / idle_p95, 2)
    out["ratio_p95_training_vs_first_idle"] = round(out["training"]["p95"] / out["idle"]["p95"], 2)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--app-root", default=str(HERE))
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--out")
    args = ap.parse_args()
    root = Path(args.app_root).resolve()
    with tempfile.TemporaryDirectory() as tmp:
        with running_app(Path(tmp), root) as (url, _, log_path):
            result = asyncio.run(measure(url, args.rounds))
        log = log_path.read_text(errors="replace")
    commit = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    result = dict(app_root=str(root), commit=commit or None, cores=os.cpu_count(),
                  load_average=os.getloadavg(), server_log_errors=len(re.findall(r"Traceback", log)), **result)
    print(json.dumps(result, indent=2))
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
