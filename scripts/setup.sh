#!/usr/bin/env bash
# Shared set-up for run.sh and test.sh: create .venv if missing and install requirements.txt (runtime)
# and requirements-dev.txt (tests, lint); skipped when the installed set already matches both files' hash.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "[setup] creating .venv with $($PY --version)"
  "$PY" -m venv .venv
fi
want=$(cat requirements.txt requirements-dev.txt | sha256sum | cut -d' ' -f1)
have=$(cat .venv/.requirements.sha256 2>/dev/null || true)
if [ "$want" != "$have" ]; then
  echo "[setup] installing requirements (first run takes a few minutes)"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.txt -r requirements-dev.txt
  echo "$want" > .venv/.requirements.sha256
fi
# Offline by default: no model hub, ever.
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_HUB_DISABLE_TELEMETRY=1
# Use the mirrored datasets beside the checkout when there is no cache of one's own.
if [ -z "${BIGMODEL_DATA_DIR:-}" ] && [ -d ../shared/data ]; then
  BIGMODEL_DATA_DIR="$(cd ../shared/data && pwd)"
  export BIGMODEL_DATA_DIR
fi
