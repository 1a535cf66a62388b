#!/usr/bin/env bash
# Run ./test.sh as a new user would: on a fresh clone of this checkout's HEAD, with no dataset
# mirror beside it, an empty home folder and caches, and no network. Extra arguments go to pytest,
# e.g.  scripts/fresh_machine.sh tests/test_shipped_models.py
#
# Only committed work is tested (the clone is of HEAD). Nothing is installed and nothing installed is
# changed: the clone's .venv links to the parts of this checkout's virtualenv (or of $FRESH_VENV),
# which must already hold every pin of requirements.txt and requirements-dev.txt (run ./test.sh once
# first); the clone's own requirements stamp is written only after checking that. Outbound connections go to a closed local port through the proxy
# variables; as root, where `unshare --net` works, the run is also inside a network namespace with
# only loopback up. The temporary folder is removed at the end, whatever happens.
set -euo pipefail
SRC="$(cd "$(dirname "$0")/.." && pwd)"
VENV="${FRESH_VENV:-$SRC/.venv}"
if [ ! -x "$VENV/bin/python" ]; then
  echo "[fresh] no virtualenv at $VENV: run ./test.sh once, or set FRESH_VENV=/path/to/.venv" >&2
  exit 2
fi
VENV="$(cd "$VENV" && pwd -P)"

TMP="$(mktemp -d "${TMPDIR:-/tmp}/bigmodel-fresh.XXXXXX")"
cleanup() { rm -rf "$TMP"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

# $TMP/repo is the clone; $TMP holds nothing else a test could mistake for ../shared/data.
git clone --quiet --no-hardlinks "$SRC" "$TMP/repo"
# Every pin of the clone's requirements.txt and requirements-dev.txt must be installed as pinned: test.sh
# would otherwise try to pip-install, which fails with no network (and must not change someone else's virtualenv anyway).
if ! "$VENV/bin/python" - "$TMP/repo/requirements.txt" "$TMP/repo/requirements-dev.txt" <<'PY'
import re
import sys
from importlib.metadata import PackageNotFoundError, version

wrong = []
for line in (line for path in sys.argv[1:] for line in open(path, encoding="utf-8")):
    pin = re.fullmatch(r"([A-Za-z0-9_.-]+)(?:\[[^]]*\])?==(\S+)", line.split("#")[0].strip())
    if pin:
        try:
            have = version(pin[1])
        except PackageNotFoundError:
            have = "missing"
        if have != pin[2]:
            wrong.append(f"{pin[1]} {have}, not {pin[2]}")
if wrong:
    sys.exit("[fresh] the virtualenv does not match requirements.txt (" + "; ".join(wrong) + "): run ./test.sh once first")
PY
then
  exit 2
fi
mkdir "$TMP/repo/.venv"
ln -s "$VENV"/* "$TMP/repo/.venv/"                      # bin, lib, pyvenv.cfg, …: not the hidden stamp
cat "$TMP/repo/requirements.txt" "$TMP/repo/requirements-dev.txt" | sha256sum | cut -d' ' -f1 \
  > "$TMP/repo/.venv/.requirements.sha256"                # the same stamp as scripts/setup.sh
mkdir -p "$TMP/home/.cache" "$TMP/home/.config" "$TMP/home/.local/share" "$TMP/tmp"
echo "[fresh] clone of $(git -C "$SRC" rev-parse --short HEAD) in $TMP/repo; HOME=$TMP/home"

# Which network isolation this machine allows.
NETNS=0
if [ "$(id -u)" = 0 ] && command -v unshare >/dev/null 2>&1 && command -v ip >/dev/null 2>&1 \
   && unshare --net sh -c 'ip link set lo up' >/dev/null 2>&1; then
  NETNS=1
  echo "[fresh] network: new network namespace with only loopback up, plus proxy variables to 127.0.0.1:9"
else
  echo "[fresh] network: proxy variables to 127.0.0.1:9 only (no network namespace: needs root and unshare --net)"
fi

NOPROXY=127.0.0.1,localhost,::1
PROXY=http://127.0.0.1:9               # the discard port: nothing listens, every connection is refused
ENVS=(
  -i
  PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
  HOME="$TMP/home" USER="${USER:-$(id -un)}" LANG="${LANG:-C.UTF-8}" TERM="${TERM:-dumb}"
  TMPDIR="$TMP/tmp"
  XDG_CACHE_HOME="$TMP/home/.cache" XDG_CONFIG_HOME="$TMP/home/.config" XDG_DATA_HOME="$TMP/home/.local/share"
  http_proxy="$PROXY" https_proxy="$PROXY" ftp_proxy="$PROXY" all_proxy="$PROXY"
  HTTP_PROXY="$PROXY" HTTPS_PROXY="$PROXY" FTP_PROXY="$PROXY" ALL_PROXY="$PROXY"
  no_proxy="$NOPROXY" NO_PROXY="$NOPROXY"
  FRESH_MACHINE=1
)
# Pass through only what decides how the suite runs, never a data or cache folder.
for keep in CI HYPOTHESIS_PROFILE; do
  if [ -n "${!keep:-}" ]; then ENVS+=("$keep=${!keep}"); fi
done

cd "$TMP/repo"
start=$(date +%s)
set +e
if [ "$NETNS" = 1 ]; then
  # "$@" reaches ./test.sh as the inner shell's positional parameters.
  unshare --net sh -c 'ip link set lo up && exec "$@"' fresh env "${ENVS[@]}" ./test.sh "$@"
else
  env "${ENVS[@]}" ./test.sh "$@"
fi
rc=$?
set -e
echo "[fresh] ./test.sh exited $rc after $(( $(date +%s) - start )) s"
exit "$rc"
