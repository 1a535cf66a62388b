"""Markdown tables for docs/benchmarks.md from the files scripts/benchmarks.sh writes."""
import json
import sys
from pathlib import Path

out = Path(sys.argv[1] if len(sys.argv) > 1 else "bench-out")
print("| model | run | torch p50 (ms) | ORT CPU p50 (ms) | ORT ÷ torch | int8 p50 (ms) | int8 vs ORT fp32 |")
print("|---|---|---|---|---|---|---|")
for f in sorted(out.glob("*.b1.*.json")):
    model, _, run, _ = f.name.rsplit(".", 3)
    p = {r["engine"]: r["p50_ms"] for r in json.loads(f.read_text())}
    int8 = (f"{p['ort-int8']:.3f}", f"{p['ort-cpu'] / p['ort-int8']:.2f}×") if "ort-int8" in p else ("—", "—")
    print(f"| {model} | {run} | {p['torch']:.3f} | {p['ort-cpu']:.3f} | **{p['torch'] / p['ort-cpu']:.1f}×** "
          f"| {int8[0]} | {int8[1]} |")
for f in sorted(out.glob("*.full.json")):
    rep = json.loads(f.read_text())
    m = rep["machine"]
    print(f"\n**{rep['model']}** — {m['cpu']}, {m['cores']} cores, {rep['threads']} threads, onnxruntime "
          f"{m['onnxruntime']}, torch {m['torch']}, GPU: {m['gpu'] or 'none'}; largest |Δ| vs torch: "
          + ", ".join(f"{k} {v:.1e}" for k, v in rep["agreement"].items() if k != "torch") + "\n")
    print("| engine | batch | p50 (ms) | p90 (ms) | p99 (ms) | items/s |")
    print("|---|---|---|---|---|---|")
    for r in rep["results"]:
        print(f"| {r['engine']} | {r['batch']} | {r['p50_ms']:.3f} | {r['p90_ms']:.3f} | {r['p99_ms']:.3f} "
              f"| {r['throughput']:,.0f} |")
