#!/usr/bin/env bash
# Set up (first run only) and start BigModel Studio on http://localhost:${PORT:-8501}
set -euo pipefail
cd "$(dirname "$0")"
source scripts/setup.sh
exec .venv/bin/python -m ui.server --server.headless true --server.port "${PORT:-8501}" \
  --browser.gatherUsageStats false "$@"
