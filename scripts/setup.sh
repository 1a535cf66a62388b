#!/usr/bin/env bash
# Shared set-up for run.sh and test.sh: create the venv if missing and install its requirements
# (skipped when the installed set already matches the files' hash).
# Full install: .venv from requirements.txt (runtime) + requirements-dev.txt (tests, lint).
# Light install (run.sh --light sets these): BIGMODEL_VENV=.venv-light
# BIGMODEL_REQUIREMENTS=requirements-light.txt — no torch; on a machine with an NVIDIA GPU,
# onnxruntime-gpu instead of onnxruntime (the CUDA probe decides at run time).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PY=${PYTHON:-python3}
VENV=${BIGMODEL_VENV:-.venv}
REQS=${BIGMODEL_REQUIREMENTS:-requirements.txt}
if [ ! -x "$VENV/bin/python" ]; then
  echo "[setup] creating $VENV with $($PY --version)"
  "$PY" -m venv "$VENV"
fi
if [ "$REQS" = requirements-light.txt ] && command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
  sed 's/^onnxruntime==/onnxruntime-gpu==/' "$REQS" > "$VENV/requirements-gpu.txt"
  REQS="$VENV/requirements-gpu.txt"
fi
ALL=("$REQS")
if [ "$REQS" = requirements.txt ]; then ALL+=(requirements-dev.txt); fi
want=$(cat "${ALL[@]}" | sha256sum | cut -d' ' -f1)
have=$(cat "$VENV/.requirements.sha256" 2>/dev/null || true)
if [ "$want" != "$have" ]; then
  echo "[setup] installing $REQS into $VENV (first run takes a few minutes)"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check $(printf -- "-r %s " "${ALL[@]}")
  echo "$want" > "$VENV/.requirements.sha256"
fi
# Offline by default: no model hub, ever.
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_HUB_DISABLE_TELEMETRY=1
# Use the mirrored datasets beside the checkout when there is no cache of one's own.
if [ -z "${BIGMODEL_DATA_DIR:-}" ] && [ -d ../shared/data ]; then
  BIGMODEL_DATA_DIR="$(cd ../shared/data && pwd)"
  export BIGMODEL_DATA_DIR
fi
