#!/usr/bin/env bash
# Everything issue 18 measures on a GPU machine, in one go (about 8 minutes on a GPU):
#   1. the GPU tests (pytest -m gpu, as ./test.sh -m gpu),
#   2. the fair GPU benchmark on mnist-cnn, cifar10-cnn, sst2-tiny, sst2-minilm,
#   3. the fp16 checks (agreement with fp32 and accuracy on the test split, on the CPU and on CUDA),
# each result written as JSON to OUTDIR (summary.json lists them). Without a usable GPU the GPU parts
# are skipped with the reason (in the JSON too) and the benchmark runs its CPU engines with few calls.
# Usage: scripts/gpu_check.sh OUTDIR   (CALLS=N: timed calls at batch 1; GPU_CHECK_MODELS="a b": other models)
set -uo pipefail
cd "$(dirname "$0")/.."
out="${1:?usage: scripts/gpu_check.sh OUTDIR}"
mkdir -p "$out" || { echo "error: cannot create $out" >&2; exit 2; }
out="$(cd "$out" && pwd)"
py=.venv/bin/python
[ -x "$py" ] || py=python3
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 PYTHONUNBUFFERED=1 PYTHONWARNINGS=ignore
export BIGMODEL_CACHE_DIR="${BIGMODEL_CACHE_DIR:-$PWD/.cache/derived}"
read -r -a models <<< "${GPU_CHECK_MODELS:-mnist-cnn cifar10-cnn sst2-tiny sst2-minilm}"
log() { echo "[gpu_check] $*"; }

if "$py" -c "from bigmodel_core.serve.gpu_bench import cuda_ready; ok, why = cuda_ready(); print(why); raise SystemExit(0 if ok else 1)" \
     > "$out/cuda_ready.txt" 2>/dev/null; then
  gpu=1; calls="${CALLS:-1000}"; log "CUDA is usable: full run"
  nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem --format=csv > "$out/nvidia-smi.csv" 2>&1
else
  gpu=0; calls="${CALLS:-20}"; why="$(cat "$out/cuda_ready.txt")"
  log "SKIPPING the GPU parts: ${why:-no usable CUDA GPU}. The CPU engines run with $calls calls at batch 1."
fi

# 1. GPU tests
if [ "$gpu" = 1 ]; then
  log "GPU tests"
  # what `./test.sh -m gpu` runs, without test.sh's set-up step (it may try to apt-get Chromium for the
  # browser tests, and a lent GPU machine has no network)
  timeout 240 "$py" -m pytest -m gpu -q --junitxml="$out/gpu-tests.xml" > "$out/gpu-tests.txt" 2>&1
  rc=$?
  tail -3 "$out/gpu-tests.txt"
  "$py" -c "import json,sys; json.dump({'ran': True, 'exit_code': int(sys.argv[1]), 'log': 'gpu-tests.txt'}, open(sys.argv[2], 'w'))" \
    "$rc" "$out/gpu-tests.json"
else
  "$py" -c "import json,sys; json.dump({'ran': False, 'skipped': 'no usable CUDA GPU: ' + sys.argv[1]}, open(sys.argv[2], 'w'))" \
    "$(cat "$out/cuda_ready.txt")" "$out/gpu-tests.json"
fi

# 2. the benchmark (a scratch registry: fp16 siblings are generated there, never in models/)
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
for m in "${models[@]}"; do [ -d "models/$m" ] && cp -r "models/$m" "$scratch/"; done
export BIGMODEL_MODELS_DIR="$scratch"
if [ "$gpu" = 1 ]; then batches=1,8,64,256; else batches=1,8; fi
for m in "${models[@]}"; do
  log "benchmark $m (batches $batches, $calls calls at batch 1)"
  timeout 150 "$py" -m bigmodel_core gpu-bench "$m" --batches "$batches" --calls "$calls" --out "$out/bench-$m.json" \
    > "$out/bench-$m.txt" 2>&1 || log "benchmark $m failed: $(tail -1 "$out/bench-$m.txt")"
done

# 3. fp16 checks (on the CPU always; on CUDA too where there is one)
if [ "$gpu" = 1 ]; then device=cuda; else device=cpu; fi
for m in "${models[@]}"; do
  log "fp16 check $m"
  timeout 120 "$py" -m bigmodel_core fp16 "$m" --device "$device" --json > "$out/fp16-$m.json" 2> "$out/fp16-$m.err" \
    || log "fp16 $m failed: $(tail -1 "$out/fp16-$m.err")"
done

"$py" - "$out" "$gpu" <<'EOF'
import json, sys
from pathlib import Path
out, gpu = Path(sys.argv[1]), sys.argv[2] == "1"
files = sorted(p.name for p in out.glob("*.json") if p.name != "summary.json")
summary = {"gpu": gpu, "cuda_ready": (out / "cuda_ready.txt").read_text().strip() or "yes", "files": files}
for p in out.glob("fp16-*.json"):
    try:
        report = json.loads(p.read_text())
        rows = {}
        for where in ("check", "check_cuda"):                 # on the CPU; on CUDA where there is one
            c = report.get(where)
            if not c:
                continue
            row = {k: c.get(k) for k in ("agreement", "accuracy_drop", "passed")}
            if c.get("vs_dequantized_fp32"):
                row["vs_dequantized_fp32"] = {k: c["vs_dequantized_fp32"].get(k) for k in ("agreement", "passed")}
            rows["cpu" if where == "check" else "cuda"] = row
        summary.setdefault("fp16", {})[p.stem[5:]] = rows
    except (ValueError, KeyError, TypeError):
        summary.setdefault("fp16", {})[p.stem[5:]] = "failed (see the .err file)"
(out / "summary.json").write_text(json.dumps(summary, indent=1))
print(json.dumps(summary))
EOF
