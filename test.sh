#!/usr/bin/env bash
# Set up (first run only), lint with ruff (rules in pyproject.toml), then run the whole default test suite
# (what CI runs). Extra arguments go to pytest (e.g. ./test.sh -m slow for the long trainings and
# benchmarks; --lf reruns what failed).
#   ./test.sh --fast   the quick tier: no browser, no slow and no heavy tests (about 2 minutes on 2 cores)
set -euo pipefail
cd "$(dirname "$0")"
args=()
for a in "$@"; do
  if [ "$a" = --fast ]; then args+=(-m "not browser and not slow and not heavy"); else args+=("$a"); fi
done
set -- "${args[@]+"${args[@]}"}"
source scripts/setup.sh
if [ -x .venv/bin/ruff ]; then
  .venv/bin/ruff check --quiet . || { echo "[test] lint failed: ruff check . found the problems above" >&2; exit 1; }
else
  echo "[test] ruff is not installed in .venv: lint skipped (pip install -r requirements-dev.txt)"
fi
# Browser tests drive Debian's Chromium; install it when missing and we may (root).
# Fonts: CJK for the 中文 pages, colour emoji for the page icons.
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
   { ! command -v chromium >/dev/null 2>&1 || ! fc-list 2>/dev/null | grep -i "Noto Sans CJK" >/dev/null; }; then
  echo "[test] installing chromium and fonts for the browser tests"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
     chromium fonts-noto-cjk fonts-noto-color-emoji >/dev/null) \
    || echo "[test] chromium could not be installed; browser tests will be skipped"
fi
export BIGMODEL_CACHE_DIR="${BIGMODEL_CACHE_DIR:-$PWD/.cache/derived}"
exec .venv/bin/python -m pytest "$@"
