"""Cold-start cost of one CLI prediction: median wall time, peak memory and heavy imports (issue 19).

Runs each case once to warm the disk cache, then N times under /usr/bin/time -v; prints a Markdown
table. Run it alone on the machine: `flock /work/cpu.lock .venv/bin/python scripts/lean_bench.py`.
"""
from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "sklearn", "scipy", "transformers", "captum", "onnx", "skimage")
PROBE = ("import atexit, runpy, sys\n"
         "atexit.register(lambda: print('HEAVY=' + ','.join(m for m in {heavy!r} if m in sys.modules),\n"
         "                              file=sys.stderr))\n"
         "sys.argv = ['bigmodel_core'] + sys.argv[1:]\n"
         "runpy.run_module('bigmodel_core', run_name='__main__', alter_sys=True)\n")


def cases(tmp: Path) -> list[tuple[str, list[str]]]:
    rows = (ROOT / "models/bike-demand-mlp/examples/examples.csv").read_text().splitlines()[:2]
    csv = tmp / "rows.csv"
    csv.write_text("\n".join(rows) + "\n")
    return [("text (sst2-tiny)", ["predict", "sst2-tiny", "a wonderful film"]),
            ("image (cifar10-cnn)", ["predict", "cifar10-cnn", str(ROOT / "models/cifar10-cnn/examples/000.png")]),
            ("table row (bike-demand-mlp)", ["predict", "bike-demand-mlp", "--csv", str(csv)])]


def one(python: str, argv: list[str]) -> tuple[float, float]:
    cmd = ["/usr/bin/time", "-v", python, "-m", "bigmodel_core", *argv]
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=True)
    wall = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?([\d.]+)", out.stderr)
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", out.stderr)
    return float(wall.group(2)) + 60 * float(wall.group(1) or 0), int(rss.group(1)) / 1024


def heavy_imports(python: str, argv: list[str], probe: Path) -> str:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run([python, str(probe), *argv], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    return re.search(r"HEAVY=(.*)", out.stderr).group(1)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--python", default=sys.executable)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        probe = Path(tmp) / "probe.py"
        probe.write_text(PROBE.format(heavy=HEAVY))
        print("| case | median wall | peak memory (max RSS) | heavy imports |\n|---|---|---|---|")
        for name, argv in cases(Path(tmp)):
            one(args.python, argv)                      # warm-up
            runs = [one(args.python, argv) for _ in range(args.runs)]
            wall = statistics.median(r[0] for r in runs)
            rss = statistics.median(r[1] for r in runs)
            heavy = heavy_imports(args.python, argv, probe) or "none"
            print(f"| {name} | {wall:.2f} s | {rss:.0f} MB | {heavy} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
