"""Fetching dataset files into the data cache, verified by sha256.

`ensure_file` returns `<data_dir>/<id>/<name>`: from the cache when it is there
(its sha256 checked once per process), otherwise downloaded from the catalog's
URL, pulled out of its archive, checked, and moved into place atomically. A
file that fails its checksum is never left in the cache.
"""
from __future__ import annotations

import http.client
import os
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request
import zipfile
from pathlib import Path
from typing import Callable

from .catalog import DatasetInfo, RemoteFile, local_path
from .checksums import cached_sha256, remember, sha256_file
from .errors import DataError

TIMEOUT_S = 30
USER_AGENT = "bigmodel-studio/0.1 (dataset download; python urllib)"
CHUNK = 1 << 20
MIRROR_HINT = ("check the internet connection, or set BIGMODEL_DATA_DIR to a folder "
               "holding the dataset mirror (laid out as <dataset-id>/<file>)")

Progress = Callable[[int, int | None], None]  # (bytes done, total bytes or None)

def _check(path: Path, expected: str, what: str) -> None:
    got = cached_sha256(path)
    if got != expected:
        raise DataError(f"checksum mismatch for {what}: expected {expected}, got {got}",
                        hint="the file is damaged or not the one the catalog names; delete it to download it again")


def ensure_file(info: DatasetInfo, remote_file: RemoteFile, progress: Progress | None = None) -> Path:
    """Path of one dataset file in the data cache, downloading and verifying it if needed."""
    target = local_path(info, remote_file.name)
    if target.is_file():
        _check(target, remote_file.sha256, str(target))
        return target
    if remote_file.url is None:
        raise DataError(f"{info.id}/{remote_file.name} is not in the data cache ({target.parent}) "
                        "and has no public download", hint=MIRROR_HINT)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, download = tempfile.mkstemp(dir=target.parent, prefix=f".{remote_file.name}.", suffix=".part")
        os.close(fd)
    except OSError as e:
        raise DataError(f"cannot write to the data cache {target.parent}: {e.strerror or e}",
                        hint="set BIGMODEL_DATA_DIR to a writable folder (or to a folder holding the mirror)") from e
    temporary = [Path(download)]
    try:
        _download(remote_file.url, temporary[0], progress)
        final = temporary[0]
        for member in (remote_file.member, remote_file.inner_member):
            if member:
                extracted = Path(f"{temporary[0]}.{len(temporary)}")
                temporary.append(extracted)
                _extract(final, member, extracted, remote_file.url)
                final = extracted
        got = sha256_file(final)
        if got != remote_file.sha256:
            raise DataError(f"checksum mismatch for {remote_file.url} ({info.id}/{remote_file.name}): "
                            f"expected {remote_file.sha256}, got {got}",
                            hint="the server sent a different file; nothing was saved. " + MIRROR_HINT)
        os.chmod(final, 0o644)  # mkstemp makes it private; a cached dataset is not a secret
        os.replace(final, target)
        remember(target, got)
        return target
    finally:
        for path in temporary:
            path.unlink(missing_ok=True)


def ensure_dataset(info: DatasetInfo, progress: Progress | None = None) -> list[Path]:
    """Make every file of a dataset available; returns their paths (none for bundled data)."""
    missing = [f for f in info.folders if not local_path(info, f).is_dir()]
    if missing:
        raise DataError(f"{info.id} needs the folders {', '.join(missing)} in {local_path(info)}, "
                        "which cannot be downloaded automatically", hint=MIRROR_HINT)
    return [ensure_file(info, f, progress) for f in info.files]


def _download(url: str, out_path: Path, progress: Progress | None) -> None:
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response, open(out_path, "wb") as out:
            total = int(response.headers.get("Content-Length") or 0) or None
            done = 0
            while chunk := response.read(CHUNK):
                out.write(chunk)
                done += len(chunk)
                if progress:
                    progress(done, total)
    except urllib.error.HTTPError as e:
        raise DataError(f"download of {url} failed: HTTP {e.code} {e.reason}", hint=MIRROR_HINT) from e
    except (urllib.error.URLError, http.client.HTTPException, OSError) as e:
        reason = getattr(e, "reason", None) or e
        raise DataError(f"download of {url} failed: {reason}", hint=MIRROR_HINT) from e


def _extract(archive: Path, member: str, out_path: Path, url: str) -> None:
    """Copy `member` out of a zip or tar archive into `out_path`."""
    try:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as z, z.open(member) as src, open(out_path, "wb") as out:
                shutil.copyfileobj(src, out, CHUNK)
        elif tarfile.is_tarfile(archive):
            with tarfile.open(archive) as t:
                src = t.extractfile(member)
                if src is None:
                    raise KeyError(member)
                with src, open(out_path, "wb") as out:
                    shutil.copyfileobj(src, out, CHUNK)
        else:
            raise DataError(f"{url} is not a zip or tar archive, so {member!r} cannot be taken from it",
                            hint=MIRROR_HINT)
    except KeyError:
        raise DataError(f"the archive from {url} has no member {member!r}", hint=MIRROR_HINT) from None
    except (zipfile.BadZipFile, tarfile.TarError, EOFError) as e:
        raise DataError(f"the archive from {url} is damaged: {e}", hint=MIRROR_HINT) from e
