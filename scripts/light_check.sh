#!/usr/bin/env bash
# Build the light install in a fresh venv from requirements-light.txt (needs PyPI) and check it:
# size on disk, install time, a CLI prediction without torch, and every page rendered with AppTest
# (tests/light_pages.py, both languages). Usage: scripts/light_check.sh [VENV_DIR]  (default: a temp dir)
# Prints "light-check: ok" last on success; for CI (.ci/run) and for tests/test_light.py (-m slow).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
VENV=${1:-$(mktemp -d)/venv-light}
start=$(date +%s)
"$PY" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-cache-dir -r requirements-light.txt
echo "light-check: install $(( $(date +%s) - start )) s, size $(du -sm "$VENV" | cut -f1) MB"
if "$VENV/bin/python" -c "import torch" 2>/dev/null; then echo "light-check: torch is installed" >&2; exit 1; fi
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 PYTHONPATH="$PWD"
"$VENV/bin/python" -m bigmodel_core predict sst2-tiny "a wonderful film" --json
"$VENV/bin/python" tests/light_pages.py --lang=en --lang=zh > "$VENV/pages.jsonl"
"$VENV/bin/python" - "$VENV/pages.jsonl" <<'PY'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1]) if line.startswith("{")]
bad = [r for r in rows if r["exceptions"] or r["errors"] or "torch" in r["heavy"]]
for r in bad:
    print("light-check: FAILED", r, file=sys.stderr)
print(f"light-check: {len(rows)} page renders, {sum(r['needs_full'] for r in rows)} with the full-install notice")
sys.exit(1 if bad or not rows else 0)
PY
echo "light-check: ok"
