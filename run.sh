#!/usr/bin/env bash
# Set up (first run only) and start BigModel Studio on http://localhost:${PORT:-8501}
#   ./run.sh           full install (.venv, requirements.txt): training, explanations, benchmarks
#   ./run.sh --light   light install (.venv-light, requirements-light.txt): show and predict, no torch
set -euo pipefail
cd "$(dirname "$0")"
if [ "${1:-}" = "--light" ]; then
  shift
  export BIGMODEL_VENV=.venv-light BIGMODEL_REQUIREMENTS=requirements-light.txt
fi
source scripts/setup.sh
exec "$VENV/bin/python" -m ui.server --server.headless true --server.port "${PORT:-8501}" \
  --browser.gatherUsageStats false "$@"
