"""The model registry: one folder per model under `models/`, each `model.onnx` + `card.json` + assets.

Writes are atomic (a complete temporary folder is renamed into place), the
sha256 of `model.onnx` is checked against the card at load, ids are validated
so no path can escape the registry, and one broken entry never hides the rest.
"""
from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import re
import shutil
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bigmodel_core.data.checksums import cached_sha256, sha256_file
from bigmodel_core.errors import ModelError
from bigmodel_core.paths import models_dir
from bigmodel_core.serve import predictors
from bigmodel_core.serve.card import ModelCard

ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}[a-z0-9]$|^[a-z0-9]$")
EXAMPLES_DIR = "examples"     # the one sub-folder an entry may have: its built-in examples (see examples.py)


def validate_id(model_id: str) -> str:
    """Lower-case letters, digits, '-' and '_' only (no dots, no slashes): safe as a folder name."""
    if not isinstance(model_id, str) or not ID_PATTERN.match(model_id):
        raise ModelError(f"'{model_id}' is not a valid model id.",
                         hint="use 1-64 lower-case letters, digits, '-' or '_' (e.g. my-mnist-cnn)")
    return model_id


@dataclass
class Entry:
    id: str
    folder: Path
    card: ModelCard


STALE_S = 600     # a temporary folder this old belongs to no save still running


def _stale(path: Path, age_s: float) -> bool:
    try:
        return time.time() - path.stat().st_mtime > age_s
    except FileNotFoundError:
        return False


LOCK_FILE = ".registry.lock"                 # hidden: never listed as a model


@contextlib.contextmanager
def _swap_lock(root: Path, blocking: bool = True) -> Iterator[None]:
    """An exclusive lock on the registry, held by a save only while it swaps folders.

    A `filelock` lock (flock on Linux/macOS, LockFileEx on Windows) is released by the
    operating system when its process dies, so a lock that can be taken means no swap
    is half done by a living process. Raises BlockingIOError when `blocking` is False
    and a swap is in progress.
    """
    from filelock import FileLock, Timeout

    lock = FileLock(root / LOCK_FILE, timeout=-1 if blocking else 0)
    try:
        lock.acquire()
    except Timeout as exc:
        raise BlockingIOError(f"the registry {root} is being swapped by another save") from exc
    try:
        yield
    finally:
        lock.release()


def _restore_old(root: Path, old: Path) -> None:
    model_id = old.name[len(".old-"):].rsplit("-", 1)[0]
    target = root / model_id
    if target.exists():
        shutil.rmtree(old, ignore_errors=True)         # the swap finished; only the clean-up was lost
    else:
        os.replace(old, target)                        # died between the two renames: put the old one back


def _recover(root: Path) -> None:
    """Finish or undo a save that was interrupted: restore `.old-*`, drop stale `.tmp-*`.

    A `.old-*` folder is handled at once when the registry's swap lock is free (no
    save is between its two renames, see `save`), else only once it is too old to
    belong to a running save. `.tmp-*` folders (unfinished copies, never visible as
    models) are removed when stale, so a save running elsewhere is never disturbed.
    """
    olds = sorted(root.glob(".old-*"))
    if olds:
        try:
            with _swap_lock(root, blocking=False):
                for old in olds:
                    if old.exists():
                        _restore_old(root, old)
                olds = []
        except BlockingIOError:
            pass                                       # a save is swapping right now
        except (OSError, ImportError):
            pass                                       # read-only registry or no flock: age rule below
        for old in olds:
            if _stale(old, 60) and old.exists():
                _restore_old(root, old)
    for tmp in root.glob(".tmp-*"):
        if _stale(tmp, STALE_S):
            shutil.rmtree(tmp, ignore_errors=True)


def resolve(model: str | Path, root: Path | None = None) -> Path:
    """A registry id or a folder path → the model folder. Raises ModelError when absent."""
    root = Path(root or models_dir())
    candidate = Path(model)
    if isinstance(model, Path) or os.sep in str(model) or (candidate.is_dir() and (candidate / "card.json").exists()):
        folder = candidate
    else:
        folder = root / validate_id(str(model))
    if not (folder / "card.json").exists() or not (folder / "model.onnx").exists():
        entries = (q.parent.name for q in root.glob("*/card.json")       # a plain listing, not list_models():
                   if (q.parent / "model.onnx").exists() and not q.parent.name.startswith("."))  # never recurses
        known = ", ".join(sorted(entries))[:500] or "none"
        raise ModelError(f"No model '{model}' (expected model.onnx and card.json in {folder}).",
                         hint=f"known models: {known}")
    return folder


def load(model: str | Path, root: Path | None = None, verify: bool = True) -> Entry:
    folder = resolve(model, root)
    card = ModelCard.read(folder / "card.json", folder.name)      # unknown, missing or mistyped fields: ModelError
    if verify and cached_sha256(folder / "model.onnx") != card.sha256:
        raise ModelError(f"model.onnx of '{folder.name}' does not match the sha256 in its card (changed or corrupt).",
                         hint="restore the file or re-export the model")
    return Entry(card.id, folder, card)


def list_models(root: Path | None = None, verify: bool = True) -> tuple[list[Entry], dict[str, str]]:
    """(usable entries sorted by id, {folder name: why it was refused})."""
    root = Path(root or models_dir())
    if not root.exists():
        return [], {}
    _recover(root)
    good, bad = [], {}
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        if not (folder / "card.json").exists():
            if (folder / "model.onnx").exists():
                bad[folder.name] = "card.json is missing"
            continue
        if not (folder / "model.onnx").exists():
            bad[folder.name] = "model.onnx is missing"
            continue
        try:
            good.append(load(folder, root, verify=verify))
        except ModelError as exc:
            bad[folder.name] = str(exc)
    return good, bad


def save(model_id: str, onnx_file: Path, card: ModelCard | dict, assets: dict[str, bytes | str | Path] | None = None,
         root: Path | None = None, overwrite: bool = True) -> Path:
    """Write a complete entry atomically and return its folder.

    The files go to `.tmp-<id>-<random>/` first; only a finished folder is renamed to
    `<id>/`. An existing entry is moved aside to `.old-…` and removed after the swap, and
    `_recover` puts it back if the process dies between the two renames. The card (a
    ModelCard or a dict of its fields) is completed and validated before anything is written.
    """
    root = Path(root or models_dir())
    validate_id(model_id)
    fields = card.to_dict() if isinstance(card, ModelCard) else dict(card)
    fields.update(id=model_id, sha256=sha256_file(Path(onnx_file)), onnx_bytes=Path(onnx_file).stat().st_size,
                  assets=sorted(name for name in (assets or {}) if "/" not in name))
    fields.setdefault("created", _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"))
    fields.setdefault("card_version", 1)
    card = ModelCard.from_dict(fields, model_id)
    root.mkdir(parents=True, exist_ok=True)
    target = root / model_id
    if target.exists() and not overwrite:
        raise ModelError(f"A model called '{model_id}' exists already.", hint="choose another id")
    if target.exists() and _is_shipped(target) and not card.shipped:
        raise ModelError(f"'{model_id}' is a shipped model and cannot be replaced.", hint="choose another id")
    with _staged(root, model_id) as tmp:
        shutil.copyfile(onnx_file, tmp / "model.onnx")
        _write_files(tmp, assets or {})
        _write_card(tmp, card)
    return target


def update(model_id: str, card_changes: ModelCard | dict, files: dict[str, bytes | str | Path] | None = None,
           replace_examples: bool = False, root: Path | None = None, onnx_file: Path | None = None) -> Path:
    """Change an entry's card and add files, atomically: a full copy is edited, then swapped in.

    `files` use the same names as `save`'s assets (`examples/<name>` included); with
    `replace_examples` the old `examples/` folder is dropped first. model.onnx is replaced
    only by `onnx_file`, and then the card's sha256 and onnx_bytes are those of the new file,
    so the card always tells the truth about the graph beside it. `card_changes` is a dict
    of changed fields or a whole new ModelCard; the new card is validated before anything is written.
    """
    root = Path(root or models_dir())
    target = root / validate_id(model_id)
    if not (target / "card.json").exists():
        raise ModelError(f"No model '{model_id}'.")
    changes = card_changes.to_dict() if isinstance(card_changes, ModelCard) else dict(card_changes)
    if onnx_file is not None:
        changes.update(sha256=sha256_file(Path(onnx_file)), onnx_bytes=Path(onnx_file).stat().st_size)
    card = ModelCard.read(target / "card.json", model_id).model_copy(update=changes)
    with _staged(root, model_id, copy_of=target) as tmp:
        if replace_examples:
            shutil.rmtree(tmp / EXAMPLES_DIR, ignore_errors=True)
        _write_files(tmp, files or {})
        if onnx_file is not None:
            shutil.copyfile(onnx_file, tmp / "model.onnx")
        _write_card(tmp, card)
    return target


@contextlib.contextmanager
def _staged(root: Path, model_id: str, copy_of: Path | None = None) -> Iterator[Path]:
    """A scratch folder (empty, or a copy of `copy_of`) that replaces the entry as a whole when the block
    ends, and is removed, leaving the old entry as it was, when the block fails."""
    tag = uuid.uuid4().hex[:8]
    tmp = root / f".tmp-{model_id}-{tag}"
    try:
        if copy_of is None:
            tmp.mkdir()
        else:
            shutil.copytree(copy_of, tmp)
        yield tmp
        _swap_into_place(root, model_id, tmp, tag)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _write_files(folder: Path, files: dict[str, bytes | str | Path]) -> None:
    """Write assets into a new entry folder: plain names, or `examples/<plain name>`."""
    for name, content in files.items():
        parts = Path(name).parts
        plain = len(parts) == 1 or (len(parts) == 2 and parts[0] == EXAMPLES_DIR)
        if not plain or name in ("model.onnx", "card.json") or parts[-1] in ("", ".", ".."):
            raise ModelError(f"Invalid asset name '{name}'.")
        path = folder / name
        path.parent.mkdir(exist_ok=True)
        if isinstance(content, Path):
            shutil.copyfile(content, path)
        else:
            path.write_bytes(content.encode() if isinstance(content, str) else content)


def _write_card(folder: Path, card: ModelCard) -> None:
    card.write(folder / "card.json")


def _swap_into_place(root: Path, model_id: str, tmp: Path, tag: str) -> None:
    """fsync the finished folder `tmp`, then rename it to `<root>/<model_id>` (the old one moved aside)."""
    for f in tmp.rglob("*"):
        if f.is_file():
            with open(f, "rb") as fh:
                os.fsync(fh.fileno())
    _fsync_dir(tmp)
    target = root / model_id
    old = None
    with _swap_lock(root):                  # see _recover: a dead swap is undone at the next listing
        if target.exists():
            old = root / f".old-{model_id}-{tag}"
            os.replace(target, old)
        os.replace(tmp, target)
        _fsync_dir(root)
    predictors.forget(target)               # the old model's session must not answer for the new one
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _fsync_dir(folder: Path) -> None:
    """Make renames inside `folder` durable (a no-op where directories cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _is_shipped(folder: Path) -> bool:
    try:
        return bool(json.loads((folder / "card.json").read_text(encoding="utf-8")).get("shipped"))
    except (OSError, ValueError):
        return False


def delete(model_id: str, root: Path | None = None) -> None:
    root = Path(root or models_dir())
    folder = root / validate_id(model_id)
    if not folder.exists():
        raise ModelError(f"No model '{model_id}'.")
    if _is_shipped(folder):
        raise ModelError(f"'{model_id}' is shipped with the app and cannot be deleted.")
    trash = root / f".tmp-del-{model_id}-{uuid.uuid4().hex[:8]}"
    os.replace(folder, trash)
    predictors.forget(folder)
    shutil.rmtree(trash, ignore_errors=True)
