"""Fetching datasets into the data cache, verified by sha256.

The API, for the CLI and for a page that downloads in a background thread:

    fetch(dataset, progress=None, cancel=None, allow_download=True) -> list[Path]

`dataset` is a catalog id or a `DatasetInfo`. The result is the paths of the
dataset's files in the data cache (`<data_dir>/<id>/<name>`); for a dataset the
cache holds in its folder form (CIFAR-10 as JPEG folders) the paths of those
folders; for bundled data an empty list. Files already in the cache are checked
(sha256, once per process) and never downloaded again.

What is missing is downloaded one URL at a time, each URL exactly once however
many files come out of it, into a temporary folder inside the cache folder. Each
file is taken out of its archive (and converted when its `RemoteFile.convert`
says so: `CONVERTERS`), its sha256 checked, and only then moved into place
(`os.replace`, atomic). Whatever goes wrong, cancelling included, the temporary
folder is removed: the cache never holds a half-written or unchecked file.

- `progress(bytes_done, bytes_total)` is called after every chunk with the bytes
  received so far for the whole dataset; `bytes_total` is None when unknown (it
  uses the servers' Content-Length, and `DatasetInfo.download_bytes` for the URLs
  not started yet, so it may change a little as the download goes on).
- `cancel` is a `threading.Event` or a callable returning True to stop; it is
  checked between chunks, and stopping raises `DataError(reason="cancelled")`.
- `allow_download=False` only looks in the cache: `DataError(reason="missing")`.

Every failure is a `DataError` whose `reason` a caller can map to a sentence:
"offline" (the host cannot be reached, or the connection broke off), "http" (the
server answered with an error; `status` holds the code), "checksum" (the bytes
are not the catalog's), "archive" (damaged, or without the expected member),
"cancelled", "disk" (the cache folder cannot be written) or "missing"; `url` is
set where a URL is involved. `ensure_dataset` and `ensure_file` (one file) are
the same machinery under the names the loaders use.
"""
from __future__ import annotations

import csv
import http.client
import io
import os
import shutil
import tarfile
import tempfile
import threading
import urllib.error
import urllib.request
import zipfile
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from bigmodel_core.data.catalog import DatasetInfo, RemoteFile, cached_form, get, local_path
from bigmodel_core.data.checksums import cached_sha256, remember, sha256_file
from bigmodel_core.errors import DataError

TIMEOUT_S = 30
USER_AGENT = "bigmodel-studio/0.1 (dataset download; python urllib)"
CHUNK = 1 << 20
MIRROR_HINT = ("check the internet connection, or set BIGMODEL_DATA_DIR to a folder "
               "holding the dataset mirror (laid out as <dataset-id>/<file>)")
DISK_HINT = "set BIGMODEL_DATA_DIR to a writable folder (or to a folder holding the mirror)"

Progress = Callable[[int, int | None], None]  # (bytes done, total bytes or None)
Cancel = threading.Event | Callable[[], bool] | None


# ----------------------------------------------------------------------------- the API

def fetch(dataset: str | DatasetInfo, progress: Progress | None = None, cancel: Cancel = None,
          allow_download: bool = True) -> list[Path]:
    """Make a dataset available in the data cache and return its paths (see the module docstring)."""
    info = get(dataset) if isinstance(dataset, str) else dataset
    if info.bundled:
        return []
    if cached_form(info) == "folders":
        return [local_path(info, folder) for folder in info.folders]
    if not info.files:
        raise DataError(f"{info.id} needs the folders {', '.join(info.folders)} in {local_path(info)}, "
                        "which cannot be downloaded", hint=MIRROR_HINT, reason="missing")
    return _ensure_files(info, info.files, progress, cancel, allow_download)


def ensure_dataset(info: DatasetInfo, progress: Progress | None = None, cancel: Cancel = None) -> list[Path]:
    """Every file of a dataset, downloaded if needed; the same as `fetch(info, ...)`."""
    return fetch(info, progress, cancel)


def ensure_file(info: DatasetInfo, remote_file: RemoteFile, progress: Progress | None = None, cancel: Cancel = None,
                allow_download: bool = True) -> Path:
    """One file of a dataset, from the cache or downloaded. `info` needs only an `id`."""
    return _ensure_files(info, (remote_file,), progress, cancel, allow_download)[0]


# ----------------------------------------------------------------------------- cache, then download

def _ensure_files(info, files: Iterable[RemoteFile], progress: Progress | None, cancel: Cancel,
                  allow_download: bool) -> list[Path]:
    files = tuple(files)
    targets = [local_path(info, f.name) for f in files]
    missing = [f for f, target in zip(files, targets, strict=True) if not target.is_file()]
    for remote, target in zip(files, targets, strict=True):
        if remote not in missing:
            _check_cached(target, remote.sha256)
    if missing and not allow_download:
        names = ", ".join(f.name for f in missing)
        raise DataError(f"{info.id} is not in the data cache ({local_path(info)} lacks {names})",
                        hint=f"run python -m bigmodel_core fetch {info.id}, or set BIGMODEL_DATA_DIR to a "
                             "folder holding the dataset mirror",
                        reason="missing")
    if missing:
        _download_missing(info, missing, progress, _as_check(cancel))
    return targets


def _check_cached(path: Path, expected: str) -> None:
    got = cached_sha256(path)
    if got != expected:
        raise DataError(f"checksum mismatch for {path}: expected {expected}, got {got}",
                        hint="the file is damaged or not the one the catalog names; delete it to download it again",
                        reason="checksum")


def _as_check(cancel: Cancel) -> Callable[[], bool]:
    """`cancel` as a function: an Event's is_set, a callable as it is, None as never."""
    if cancel is None:
        return lambda: False
    return cancel.is_set if hasattr(cancel, "is_set") else cancel


def _by_url(files: list[RemoteFile]) -> dict[str, list[RemoteFile]]:
    groups: dict[str, list[RemoteFile]] = {}
    for remote in files:
        groups.setdefault(remote.url, []).append(remote)
    return groups


def _download_missing(info, missing: list[RemoteFile], progress: Progress | None,
                      cancelled: Callable[[], bool]) -> None:
    """Download each URL once, take out and check its files, move them into place; clean up always."""
    folder = local_path(info)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(dir=folder, prefix=".download-"))
    except OSError as e:
        raise DataError(f"cannot write to the data cache {folder}: {e.strerror or e}",
                        hint=DISK_HINT, reason="disk") from e
    groups = _by_url(missing)
    meter = _Meter(progress, getattr(info, "download_bytes", None), len(groups))
    try:
        for number, (url, group) in enumerate(groups.items()):
            archive = work / f"download-{number}"
            _download(url, archive, meter, cancelled)
            _check_archive(url, archive, group)
            staged = _stage_files(info, url, archive, group, work / f"files-{number}", cancelled)
            _move_into_place(info, staged)
            archive.unlink()
    finally:
        shutil.rmtree(work, ignore_errors=True)


class _Meter:
    """Adds up the bytes of every URL of one dataset for the `progress` callback."""

    def __init__(self, progress: Progress | None, estimate: int | None, urls: int):
        self.progress, self.estimate, self.pending = progress, estimate, urls
        self.finished = 0                 # bytes of the URLs already downloaded
        self.current: int | None = 0      # Content-Length of the URL being downloaded
        self.done = 0

    def start(self, content_length: int | None) -> None:
        self.pending -= 1
        self.current = content_length

    def advance(self, n: int) -> None:
        self.done += n
        if self.progress:
            self.progress(self.done, self.total())

    def finish(self) -> None:
        self.finished = self.done

    def total(self) -> int | None:
        if self.current is None:
            return None
        known = self.finished + self.current
        if self.pending:
            if self.estimate is None:
                return None
            known = max(known, self.estimate)
        return max(known, self.done)


def _download(url: str, out_path: Path, meter: _Meter, cancelled: Callable[[], bool]) -> None:
    """Stream `url` into `out_path`; every failure becomes a DataError with its reason."""
    if cancelled():
        raise _cancelled(url)
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    try:
        response = urllib.request.urlopen(request, timeout=TIMEOUT_S)
    except urllib.error.HTTPError as e:
        raise DataError(f"download of {url} failed: HTTP {e.code} {e.reason}", hint=MIRROR_HINT,
                        reason="http", url=url, status=e.code) from e
    except (urllib.error.URLError, http.client.HTTPException, OSError) as e:
        raise _offline(url, getattr(e, "reason", None) or e) from e
    with response:
        total = int(response.headers.get("Content-Length") or 0) or None
        meter.start(total)
        received = 0
        with _open_for_writing(out_path) as out:
            while True:
                if cancelled():
                    raise _cancelled(url)
                try:
                    chunk = response.read(CHUNK)
                except (http.client.HTTPException, OSError) as e:
                    raise _offline(url, f"the connection broke off after {received} bytes ({e})") from e
                if not chunk:
                    break
                _write(out, chunk, out_path)
                received += len(chunk)
                meter.advance(len(chunk))
    if total is not None and received < total:
        raise _offline(url, f"the connection closed after {received} of {total} bytes")
    meter.finish()


def _offline(url: str, why) -> DataError:
    return DataError(f"download of {url} failed: {why}", hint=MIRROR_HINT, reason="offline", url=url)


def _cancelled(url: str) -> DataError:
    return DataError(f"download of {url} cancelled; nothing was saved", hint="start it again to download",
                     reason="cancelled", url=url)


def _disk(path: Path, e: OSError) -> DataError:
    return DataError(f"cannot write {path}: {e.strerror or e}", hint=DISK_HINT, reason="disk")


def _open_for_writing(path: Path):
    try:
        return open(path, "wb")
    except OSError as e:
        raise _disk(path, e) from e


def _write(out, data: bytes, path: Path) -> None:
    try:
        out.write(data)
    except OSError as e:
        raise _disk(path, e) from e


def _check_archive(url: str, archive: Path, group: list[RemoteFile]) -> None:
    expected = {f.archive_sha256 for f in group if f.archive_sha256}
    if not expected:
        return
    got = sha256_file(archive)
    if got not in expected:
        raise DataError(f"checksum mismatch for {url}: expected {' or '.join(sorted(expected))}, got {got}",
                        hint="the server sent a different file; nothing was saved. " + MIRROR_HINT,
                        reason="checksum", url=url)


# ----------------------------------------------------------------------------- from the download to the files

@dataclass
class _Staged:
    remote: RemoteFile
    path: Path      # the final bytes, checked, in the temporary folder
    sha256: str


def _stage_files(info, url: str, download: Path, group: list[RemoteFile], work: Path,
                 cancelled: Callable[[], bool]) -> list[_Staged]:
    """Take every file of `group` out of one download, convert and check each; nothing is moved yet."""
    _make_folder(work)
    members = _extract(download, {f.member for f in group if f.member}, work / "members", url, cancelled)
    staged = []
    for number, remote in enumerate(group):
        source = members[remote.member] if remote.member else download
        if remote.inner_member:
            inner = _extract(source, {remote.inner_member}, work / f"inner-{number}", url, cancelled)
            source = inner[remote.inner_member]
        final = work / f"final-{number}"
        if remote.convert:
            _convert(remote, source, final, url)
        else:
            _copy_file(source, final)
        got = sha256_file(final)
        if got != remote.sha256:
            raise DataError(f"checksum mismatch for {url} ({info.id}/{remote.name}): "
                            f"expected {remote.sha256}, got {got}",
                            hint="the server sent a different file; nothing was saved. " + MIRROR_HINT,
                            reason="checksum", url=url)
        staged.append(_Staged(remote, final, got))
    return staged


def _make_folder(path: Path) -> None:
    try:
        path.mkdir(exist_ok=True)
    except OSError as e:
        raise _disk(path, e) from e


def _copy_file(source: Path, final: Path) -> None:
    """Hard-link when possible (same folder, no copy of a large file), copy otherwise."""
    try:
        os.link(source, final)
    except OSError:
        try:
            shutil.copyfile(source, final)
        except OSError as e:
            raise _disk(final, e) from e


def _move_into_place(info, staged: list[_Staged]) -> None:
    for item in staged:
        target = local_path(info, item.remote.name)
        try:
            os.chmod(item.path, 0o644)  # mkdtemp's folder is private; a cached dataset is not a secret
            os.replace(item.path, target)
        except OSError as e:
            raise _disk(target, e) from e
        remember(target, item.sha256)


# What reading a damaged (or encrypted, or oddly compressed) archive raises.
ARCHIVE_ERRORS = (zipfile.BadZipFile, tarfile.TarError, EOFError, zlib.error, OSError, ValueError, RuntimeError,
                  NotImplementedError)


def _extract(archive: Path, members: set[str], folder: Path, url: str,
             cancelled: Callable[[], bool]) -> dict[str, Path]:
    """Copy each of `members` out of a zip or tar archive into `folder`; {member: its copy}."""
    if not members:
        return {}
    _make_folder(folder)
    out = {member: folder / f"member-{i}" for i, member in enumerate(sorted(members))}
    try:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as z:
                for member, path in out.items():
                    if member not in z.namelist():
                        raise _no_member(url, member)
                    with z.open(member) as src:
                        _copy_stream(src, path, cancelled, url)
        elif tarfile.is_tarfile(archive):
            found = set()
            with tarfile.open(archive, "r|*") as t:   # one pass over the stream, however many members
                for entry in t:
                    if entry.name in out and entry.isfile():
                        _copy_stream(t.extractfile(entry), out[entry.name], cancelled, url)
                        found.add(entry.name)
            if found != set(out):
                raise _no_member(url, min(set(out) - found))
        else:
            raise DataError(f"{url} is not a zip or tar archive, so {min(members)!r} cannot be taken from it",
                            hint=MIRROR_HINT, reason="archive", url=url)
    except ARCHIVE_ERRORS as e:
        raise DataError(f"the archive from {url} is damaged: {e}", hint=MIRROR_HINT,
                        reason="archive", url=url) from e
    return out


def _no_member(url: str, member: str) -> DataError:
    return DataError(f"the archive from {url} has no member {member!r}", hint=MIRROR_HINT,
                     reason="archive", url=url)


def _copy_stream(src, path: Path, cancelled: Callable[[], bool], url: str) -> None:
    """Copy an archive member chunk by chunk; reading errors escape as archive errors, writing ones as disk."""
    with _open_for_writing(path) as out:
        while chunk := src.read(CHUNK):
            _write(out, chunk, path)
            if cancelled():
                raise _cancelled(url)


# ----------------------------------------------------------------------------- converters

def _convert(remote: RemoteFile, source: Path, final: Path, url: str) -> None:
    try:
        converter = CONVERTERS[remote.convert]
    except KeyError:
        raise DataError(f"unknown converter {remote.convert!r} for {remote.name}",
                        hint="known converters: " + ", ".join(CONVERTERS)) from None
    converter(source, final, url)


def _xls_to_csv(source: Path, final: Path, url: str) -> None:
    """The first sheet of a BIFF .xls workbook as the CSV the mirror's `UCI_Credit_Card.csv` is.

    That CSV is UCI's credit-card table re-saved: the column names are the row
    just above the first row of numbers, so the rows above them (UCI's "X1 … X23, Y")
    are left out, and so are the ID column and columns without a name; spaces in column
    names become dots ("default.payment.next.month");
    whole numbers are written as integers, except that non-zero multiples of
    100,000 are written in the spreadsheet's scientific form ("5.00E+05"), a trace
    of how the mirror's file was saved (true of all its 720,000 values); lines end
    in "\\n" and the last line has no line end.
    """
    try:
        import xlrd
    except ImportError as e:
        raise DataError("reading an .xls workbook needs the xlrd package", hint="pip install xlrd==2.0.2") from e
    try:
        book = xlrd.open_workbook(str(source), on_demand=True)
        sheet = book.sheet_by_index(0)
        rows = [sheet.row_values(r) for r in range(sheet.nrows)]
        book.release_resources()
    except (xlrd.XLRDError, AssertionError, IndexError, ValueError, EOFError, OSError) as e:
        raise DataError(f"the workbook from {url} cannot be read: {e}", hint=MIRROR_HINT,
                        reason="archive", url=url) from e
    first_data = next((i for i, row in enumerate(rows) if row and isinstance(row[0], float)), 0)
    if first_data == 0:
        raise DataError(f"the workbook from {url} has no row of column names above rows of numbers",
                        hint=MIRROR_HINT, reason="archive", url=url)
    header_at = first_data - 1
    names = [str(c).strip().replace(" ", ".") for c in rows[header_at]]
    keep = [i for i, name in enumerate(names) if name and name != "ID"]
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow([names[i] for i in keep])
    for row in rows[header_at + 1:]:
        writer.writerow([_spreadsheet_number(row[i]) for i in keep])
    try:
        final.write_text(text.getvalue().removesuffix("\n"), encoding="utf-8", newline="")
    except OSError as e:
        raise _disk(final, e) from e


def _spreadsheet_number(value) -> str:
    """A cell as the mirror's CSV writes it (see `_xls_to_csv`)."""
    if isinstance(value, float) and value.is_integer():
        whole = int(value)
        scientific = f"{value:.2E}"
        if whole and whole % 100_000 == 0 and float(scientific) == value:
            return scientific
        return str(whole)
    return str(value)


CONVERTERS: dict[str, Callable[[Path, Path, str], None]] = {
    "xls-to-csv": _xls_to_csv,
}
