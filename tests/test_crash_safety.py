"""Crash safety of the model registry: a save killed at any moment never leaves a broken entry.

A child process saves models in a loop (several MB each, so the copy, the fsyncs
and the renames all take real time) and is SIGKILLed after a random delay. The
registry must then hold the previous complete model or the new complete one —
never a half-written entry, never nothing — and `list_models()` must still work.
The two most delicate moments (between the two renames of a replacement, and
after them but before the old copy is removed) are also hit deterministically.
"""
import hashlib
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from bigmodel_core.serve import registry
from bigmodel_core.serve.card import ModelCard

ROOT = Path(__file__).resolve().parent.parent
CARD = dict(task="tabular", problem="regression", labels=[], input_spec=[], preprocessing={})
PAYLOAD_MB = 6

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL and flock are POSIX")


def _payloads(tmp_path: Path) -> dict[str, Path]:
    """Three model files of a few MB with different contents: the old one and two new ones."""
    out = {}
    for i, name in enumerate(("old", "new-a", "new-b")):
        path = tmp_path / f"{name}.onnx"
        path.write_bytes(bytes([i]) * 16 + os.urandom(PAYLOAD_MB * 1024 * 1024))
        out[name] = path
    return out


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _child(root: Path, script: str, *args) -> subprocess.Popen:
    code = textwrap.dedent("""
        import os, signal, sys, time
        from pathlib import Path
        from bigmodel_core.serve import registry
        root = Path(sys.argv[1])
        CARD = dict(task="tabular", problem="regression", labels=[], input_spec=[], preprocessing={})
        """) + textwrap.dedent(script)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.Popen([sys.executable, "-c", code, str(root), *map(str, args)], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_ready(proc: subprocess.Popen) -> None:
    line = proc.stdout.readline()
    assert line.strip() == "ready", (line, proc.stderr.read() if proc.poll() is not None else "")


def _check_registry(root: Path, allowed: dict[str, set[str]]) -> dict[str, str]:
    """Every visible entry is complete and verified, and holds one of the allowed contents."""
    good, bad = registry.list_models(root)                     # must work, whatever the kill left
    assert bad == {}, bad
    found = {}
    for entry in good:
        assert entry.id in allowed, entry.id
        entry = registry.load(entry.id, root)                  # sha256 of model.onnx matches its card
        digest = _sha(entry.folder / "model.onnx")
        assert digest == entry.card.sha256 and digest in allowed[entry.id]
        assert ModelCard.read(entry.folder / "card.json").id == entry.id
        found[entry.id] = digest
    visible = sorted(p.name for p in root.iterdir() if not p.name.startswith("."))
    assert visible == sorted(found), visible                   # no half-made folder under a model's name
    return found


SAVE_LOOP = """
    files = [Path(p) for p in sys.argv[2:]]
    print("ready", flush=True)
    i = 0
    while True:                                   # replace "m" and create "fresh-<i>" until killed
        registry.save("m", files[i % len(files)], dict(CARD, notes=f"save {i}"), {"encoder.json": "{}"}, root=root)
        registry.save(f"fresh-{i % 3}", files[i % len(files)], CARD, root=root)
        i += 1
"""


@pytest.mark.parametrize("trial", range(8))
def test_sigkill_at_a_random_moment_leaves_old_or_new_complete(trial, tmp_path):
    root = tmp_path / "models"
    files = _payloads(tmp_path)
    registry.save("m", files["old"], CARD, root=root)
    shas = {name: _sha(p) for name, p in files.items()}
    proc = _child(root, SAVE_LOOP, files["new-a"], files["new-b"])
    try:
        _wait_ready(proc)
        rng = random.Random(1000 + trial)
        time.sleep(rng.uniform(0.0, 0.8))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read()
    allowed = {"m": set(shas.values())} | {f"fresh-{k}": {shas["new-a"], shas["new-b"]} for k in range(3)}
    found = _check_registry(root, allowed)
    assert "m" in found                                        # replacing never loses the model
    # and the registry keeps working afterwards: another save, a listing, a delete
    registry.save("m", files["old"], CARD, root=root)
    assert _check_registry(root, allowed)["m"] == shas["old"]
    for name in [n for n in found if n.startswith("fresh-")]:
        registry.delete(name, root)
    assert [e.id for e in registry.list_models(root)[0]] == ["m"]


KILL_AT_RENAME = """
    n = int(sys.argv[3])
    real, calls = os.replace, []
    def replace(src, dst):
        real(src, dst)
        calls.append(dst)
        if len(calls) == n:                       # die right after the n-th rename
            os.kill(os.getpid(), signal.SIGKILL)
    os.replace = replace
    print("ready", flush=True)
    registry.save("m", Path(sys.argv[2]), dict(CARD, notes="new"), root=root)
"""


@pytest.mark.parametrize("renames, expect", [(1, "old"), (2, "new-a")])
def test_kill_between_and_after_the_renames_is_recovered_at_once(renames, expect, tmp_path):
    """1: old moved aside, new not yet in place → the old comes back; 2: new in place, old not removed → new."""
    root = tmp_path / "models"
    files = _payloads(tmp_path)
    registry.save("m", files["old"], CARD, root=root)
    proc = _child(root, KILL_AT_RENAME, files["new-a"], renames)
    _wait_ready(proc)
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read()
    assert any(p.name.startswith(".old-m-") for p in root.iterdir())        # the crash left its trace
    found = _check_registry(root, {"m": {_sha(files[expect])}})              # no waiting for a stale age
    assert found == {"m": _sha(files[expect])}
    assert not any(p.name.startswith(".old-") for p in root.iterdir())


def test_a_swap_in_progress_elsewhere_is_not_undone(tmp_path):
    """While a save holds the swap lock (between its renames), a listing must not move its folders."""
    root = tmp_path / "models"
    files = _payloads(tmp_path)
    registry.save("m", files["old"], CARD, root=root)
    (root / "m").rename(root / ".old-m-12345678")             # what a running save has just done
    with registry._swap_lock(root):                             # ...and it still holds the lock
        good, _ = registry.list_models(root)
        assert good == [] and (root / ".old-m-12345678").exists()
    good, _ = registry.list_models(root)                        # the lock is free: recovered
    assert [e.id for e in good] == ["m"] and not (root / ".old-m-12345678").exists()


def test_killed_first_save_leaves_nothing_visible(tmp_path):
    """A brand-new id killed mid-copy: no entry at all (the temporary folder is hidden and later removed)."""
    root = tmp_path / "models"
    root.mkdir()
    files = _payloads(tmp_path)
    proc = _child(root, """
        real = __import__("shutil").copyfile
        def copyfile(src, dst, **kw):
            real(src, dst, **kw)
            os.kill(os.getpid(), signal.SIGKILL)     # killed right after model.onnx was copied
        __import__("shutil").copyfile = copyfile
        print("ready", flush=True)
        registry.save("n", Path(sys.argv[2]), CARD, root=root)
    """, files["new-a"])
    _wait_ready(proc)
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    assert registry.list_models(root) == ([], {})
    leftovers = [p for p in root.iterdir() if p.name.startswith(".tmp-n-")]
    assert leftovers                                            # hidden, not an entry
    old = time.time() - registry.STALE_S - 5
    for p in leftovers:
        os.utime(p, (old, old))
    registry.list_models(root)
    assert not any(p.name.startswith(".tmp-") for p in root.iterdir())
