#!/usr/bin/env bash
# The figures in docs/benchmarks.md: three batch-1 runs per target model (the targets are read
# from `bench --json`), then one full sweep each with machine info. Run on a quiet machine:
#   ./scripts/benchmarks.sh [OUT_DIR]        (default bench-out/; about 2 minutes on 2 cores)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh >/dev/null
out="${1:-bench-out}"
mkdir -p "$out"
models=(mnist-cnn sst2-tiny bike-demand-mlp)
for rep in 1 2 3; do
  for m in "${models[@]}"; do
    .venv/bin/python -m bigmodel_core bench "$m" --batches 1 --json > "$out/$m.b1.$rep.json"
  done
done
for m in "${models[@]}"; do
  .venv/bin/python -m bigmodel_core bench "$m" --report "$out/$m.full.json" > /dev/null
done
.venv/bin/python scripts/bench_table.py "$out"
