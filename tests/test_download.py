"""Downloading into the data cache, against a loopback HTTP server: extraction, checksums, failures.

Everything goes through the real code path (urllib, the archive readers, the
converters, the atomic moves); only the URLs point at 127.0.0.1. Tests that need
the dataset mirror (BIGMODEL_DATA_DIR) skip without it.
"""
import hashlib
import io
import socket
import tarfile
import threading
import time
import zipfile
from dataclasses import replace
from functools import partial
from http.server import BaseHTTPRequestHandler, SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from bigmodel_core.data import catalog, cifar, download, loaders
from bigmodel_core.data.catalog import DatasetInfo, RemoteFile, availability, cached_form
from bigmodel_core.data.download import ensure_dataset, ensure_file, fetch
from bigmodel_core.errors import BigModelError, DataError
from bigmodel_core.paths import data_dir
from tests.conftest import requires_dataset

MIRROR = data_dir()  # read before a test points BIGMODEL_DATA_DIR elsewhere

PLAIN = b"label,review\n1,good\n0,bad\n"
INNER = b"school;G3\nGP;12\n"
TAR_MEMBER = b"a tar member\n"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def zip_bytes(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            z.writestr(name, data)
    return buffer.getvalue()


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def server(tmp_path):
    """Serves a plain file, a zip, a zip inside a zip and a tar.gz from 127.0.0.1."""
    served = tmp_path / "served"
    served.mkdir()
    (served / "plain.csv").write_bytes(PLAIN)
    (served / "outer.zip").write_bytes(zip_bytes({"data/inner.csv": PLAIN, "README": b"hi"}))
    (served / "nested.zip").write_bytes(zip_bytes({"student.zip": zip_bytes({"student-mat.csv": INNER})}))
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as t:
        info = tarfile.TarInfo("pack/member.txt")
        info.size = len(TAR_MEMBER)
        t.addfile(info, io.BytesIO(TAR_MEMBER))
    (served / "pack.tar.gz").write_bytes(buffer.getvalue())
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(QuietHandler, directory=str(served)))
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("BIGMODEL_DATA_DIR", str(folder))
    return folder


def dataset(*files: RemoteFile, **extra) -> DatasetInfo:
    return DatasetInfo(id="toy", title="Toy", domain="general", task="tabular", rows=2, licence="CC0",
                       citation="none", files=files, source="loopback", **extra)


def leftovers(cache: Path, dataset_id: str = "toy") -> list[str]:
    """Everything in the dataset's cache folder (temporary files included)."""
    folder = cache / dataset_id
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_downloads_plain_zip_member_nested_zip_and_tar(server, cache, tmp_path):
    info = dataset(
        RemoteFile("plain.csv", f"{server}/plain.csv", sha(PLAIN)),
        RemoteFile("inner.csv", f"{server}/outer.zip", sha(PLAIN), member="data/inner.csv"),
        RemoteFile("student-mat.csv", f"{server}/nested.zip", sha(INNER), member="student.zip",
                   inner_member="student-mat.csv"),
        RemoteFile("member.txt", f"{server}/pack.tar.gz", sha(TAR_MEMBER), member="pack/member.txt"),
    )
    served = sum((tmp_path / "served" / name).stat().st_size
                 for name in ("plain.csv", "outer.zip", "nested.zip", "pack.tar.gz"))
    info = replace(info, download_bytes=served)
    assert availability(info) == "needs download"
    seen = []
    paths = ensure_dataset(info, progress=lambda done, total: seen.append((done, total)))
    assert [p.read_bytes() for p in paths] == [PLAIN, PLAIN, INNER, TAR_MEMBER]
    assert [p.name for p in paths] == ["plain.csv", "inner.csv", "student-mat.csv", "member.txt"]
    assert all(p.parent == cache / "toy" for p in paths)
    assert sorted(p.name for p in (cache / "toy").iterdir()) == sorted(p.name for p in paths)  # no temp files left
    assert availability(info) == "cached"
    assert seen[0] == (len(PLAIN), served) and seen[-1] == (served, served)  # one total for the whole dataset
    assert all(a[0] < b[0] for a, b in zip(seen, seen[1:], strict=False)) and all(done <= total for done, total in seen)
    assert ensure_file(info, info.files[0]) == paths[0]  # second time: from the cache, no download


def test_checksum_mismatch_is_refused_and_leaves_nothing(server, cache):
    info = dataset(RemoteFile("plain.csv", f"{server}/plain.csv", "0" * 64),
                   RemoteFile("inner.csv", f"{server}/outer.zip", "1" * 64, member="data/inner.csv"))
    for remote in info.files:
        with pytest.raises(DataError) as err:
            ensure_file(info, remote)
        message = str(err.value)
        assert "checksum mismatch" in message and remote.sha256 in message and sha(PLAIN) in message
        assert err.value.reason == "checksum" and err.value.url == remote.url
    assert not (cache / "toy").exists() or list((cache / "toy").iterdir()) == []
    assert availability(info) == "needs download"


def test_damaged_cached_file_is_reported(cache):
    info = dataset(RemoteFile("plain.csv", "http://127.0.0.1:9/never-used", sha(PLAIN)))
    (cache / "toy").mkdir(parents=True)
    (cache / "toy" / "plain.csv").write_bytes(PLAIN.replace(b"good", b"gooD"))
    with pytest.raises(DataError, match="checksum mismatch") as err:
        ensure_file(info, info.files[0])
    assert err.value.reason == "checksum"


def test_missing_member_and_http_errors(server, cache):
    with pytest.raises(DataError, match="no member 'nope.csv'") as err:
        ensure_file(dataset(), RemoteFile("x.csv", f"{server}/outer.zip", sha(PLAIN), member="nope.csv"))
    assert err.value.reason == "archive"
    with pytest.raises(DataError, match="no member 'nope.txt'") as err:
        ensure_file(dataset(), RemoteFile("x.csv", f"{server}/pack.tar.gz", sha(PLAIN), member="nope.txt"))
    assert err.value.reason == "archive"
    with pytest.raises(DataError, match="not a zip or tar") as err:
        ensure_file(dataset(), RemoteFile("x.csv", f"{server}/plain.csv", sha(PLAIN), member="inner.csv"))
    assert err.value.reason == "archive"
    with pytest.raises(DataError, match="HTTP 404") as err:
        ensure_file(dataset(), RemoteFile("x.csv", f"{server}/missing.csv", sha(PLAIN)))
    assert (err.value.reason, err.value.status, err.value.url) == ("http", 404, f"{server}/missing.csv")
    assert leftovers(cache) == []


def test_unreachable_server_fails_fast_with_a_hint(cache):
    with socket.socket() as probe:  # a port that nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    info = dataset(RemoteFile("plain.csv", f"http://127.0.0.1:{closed_port}/plain.csv", sha(PLAIN)))
    start = time.perf_counter()
    with pytest.raises(DataError) as err:
        ensure_dataset(info)
    assert time.perf_counter() - start < 5
    assert "BIGMODEL_DATA_DIR" in str(err.value) and err.value.hint
    assert (err.value.reason, err.value.url) == ("offline", info.files[0].url)
    assert leftovers(cache) == []


def test_a_folder_only_dataset_or_no_download_allowed_is_reason_missing(cache):
    folders = DatasetInfo(id="pics", title="Pics", domain="general", task="image", rows=1, licence="CC0",
                          citation="none", files=(), source="loopback", folders=("train", "test"))
    with pytest.raises(DataError, match="train, test") as err:
        ensure_dataset(folders)
    assert err.value.reason == "missing"
    info = dataset(RemoteFile("plain.csv", "http://127.0.0.1:9/never-used", sha(PLAIN)))
    with pytest.raises(DataError, match="not in the data cache") as err:
        fetch(info, allow_download=False)
    assert err.value.reason == "missing" and "fetch toy" in err.value.hint
    assert download.TIMEOUT_S <= 60


# ----------------------------------------------------------------------------- a server that misbehaves on demand

class Routes:
    """What the loopback server serves, and what it was asked for."""

    def __init__(self):
        self.files: dict[str, bytes] = {}
        self.requests: list[str] = []
        self.cut_short: set[str] = set()   # paths whose next answer stops halfway
        self.stall_s = 0.0                 # seconds to wait before answering

    def count(self, path: str) -> int:
        return self.requests.count(path)


def routes_handler(routes: Routes):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            routes.requests.append(self.path)
            time.sleep(routes.stall_s)
            body = routes.files.get(self.path)
            if body is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.path in routes.cut_short:
                routes.cut_short.discard(self.path)
                body = body[: len(body) // 2]             # promised len(body), then hang up
                self.close_connection = True
            try:
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):  # the client stopped reading (a cancelled download)
                self.close_connection = True

        def log_message(self, *args):
            pass

    return Handler


@pytest.fixture
def routes():
    table = Routes()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), routes_handler(table))
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    table.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    yield table
    httpd.shutdown()
    httpd.server_close()


def tar_gz_bytes(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as t:
        for name, data in files.items():
            entry = tarfile.TarInfo(name)
            entry.size = len(data)
            t.addfile(entry, io.BytesIO(data))
    return buffer.getvalue()


def noise(n_bytes: int, seed: int = 0) -> bytes:
    return np.random.default_rng(seed).integers(0, 256, n_bytes, dtype=np.uint8).tobytes()


# ----------------------------------------------------------------------------- the catalog

def test_every_catalog_dataset_has_a_download_url_and_size():
    for info in catalog.list_datasets():
        if info.bundled:
            assert info.download_bytes is None and not info.files, info.id
            continue
        assert info.files, f"{info.id} has nothing to download"
        assert info.download_bytes and info.download_bytes > 0, info.id
        for remote in info.files:
            assert remote.url and remote.url.startswith("https://"), (info.id, remote.name)
            assert remote.convert is None or remote.convert in download.CONVERTERS
    assert catalog.get("cifar10-images").download_bytes == 170_052_171
    assert catalog.get("sst2").download_bytes == 7_439_277
    assert catalog.get("rt-polarity").download_bytes == 487_770
    assert {f.url for f in catalog.get("cifar10-images").files} == {catalog.CIFAR_BIN}


def test_data_error_keeps_its_old_signature():
    assert str(DataError("bad", "do this")) == "bad — do this"
    plain = BigModelError("message", "hint")
    assert (plain.message, plain.hint) == ("message", "hint")
    err = DataError("gone", hint="retry", reason="http", url="https://x", status=503)
    assert (err.reason, err.url, err.status, err.hint) == ("http", "https://x", 503, "retry")
    assert DataError("x").reason is None


# ----------------------------------------------------------------------------- failures leave nothing behind

def test_a_connection_cut_halfway_leaves_nothing_and_a_retry_succeeds(routes, cache):
    body = noise(3 << 20)
    routes.files["/big.bin"] = body
    routes.cut_short.add("/big.bin")
    info = dataset(RemoteFile("big.bin", f"{routes.url}/big.bin", sha(body)))
    with pytest.raises(DataError, match="closed after") as err:
        fetch(info)
    assert err.value.reason == "offline" and err.value.url == f"{routes.url}/big.bin"
    assert leftovers(cache) == [] and availability(info) == "needs download"
    assert fetch(info)[0].read_bytes() == body
    assert leftovers(cache) == ["big.bin"] and routes.count("/big.bin") == 2


def test_a_server_that_does_not_answer_in_time_is_offline(routes, cache, monkeypatch):
    monkeypatch.setattr(download, "TIMEOUT_S", 0.2)
    routes.stall_s = 1.0
    routes.files["/slow.csv"] = PLAIN
    with pytest.raises(DataError) as err:
        fetch(dataset(RemoteFile("slow.csv", f"{routes.url}/slow.csv", sha(PLAIN))))
    assert err.value.reason == "offline"
    assert leftovers(cache) == []


def test_an_unwritable_cache_is_reason_disk(routes, tmp_path, monkeypatch):
    (tmp_path / "a-file").write_text("not a folder")
    monkeypatch.setenv("BIGMODEL_DATA_DIR", str(tmp_path / "a-file" / "data"))
    routes.files["/plain.csv"] = PLAIN
    with pytest.raises(DataError, match="cannot write") as err:
        fetch(dataset(RemoteFile("plain.csv", f"{routes.url}/plain.csv", sha(PLAIN))))
    assert err.value.reason == "disk" and "BIGMODEL_DATA_DIR" in err.value.hint
    assert routes.requests == []  # refused before any download


@pytest.mark.parametrize("kind", ["event", "callable"])
def test_cancel_mid_download_leaves_nothing(routes, cache, kind):
    body = noise(4 << 20, seed=1)
    routes.files["/big.zip"] = zip_bytes({"inside/big.bin": body})
    info = dataset(RemoteFile("big.bin", f"{routes.url}/big.zip", sha(body), member="inside/big.bin"))
    stop = threading.Event()
    seen = []

    def progress(done, total):
        seen.append(done)
        stop.set()  # cancel as soon as the first chunk arrived

    with pytest.raises(DataError, match="cancelled") as err:
        fetch(info, progress=progress, cancel=stop if kind == "event" else stop.is_set)
    assert err.value.reason == "cancelled"
    assert len(seen) == 1 and seen[0] < len(routes.files["/big.zip"])
    assert leftovers(cache) == [] and availability(info) == "needs download"


def test_a_cancel_set_before_the_start_downloads_nothing(routes, cache):
    routes.files["/plain.csv"] = PLAIN
    with pytest.raises(DataError) as err:
        fetch(dataset(RemoteFile("plain.csv", f"{routes.url}/plain.csv", sha(PLAIN))), cancel=lambda: True)
    assert err.value.reason == "cancelled" and routes.requests == []


def test_a_damaged_archive_is_reason_archive(routes, cache):
    good = zip_bytes({"a.csv": PLAIN})
    routes.files["/damaged.zip"] = good[:30] + b"\0" * 20 + good[50:]      # the member's data overwritten
    routes.files["/damaged.tar.gz"] = tar_gz_bytes({"a.csv": PLAIN})[:40]    # cut off
    for path in ("/damaged.zip", "/damaged.tar.gz"):
        with pytest.raises(DataError) as err:
            fetch(dataset(RemoteFile("a.csv", f"{routes.url}{path}", sha(PLAIN), member="a.csv")))
        assert err.value.reason == "archive", str(err.value)
        assert leftovers(cache) == []


# ----------------------------------------------------------------------------- one download per archive

def test_a_multi_member_archive_is_downloaded_once(routes, cache):
    members = {"pack/hour.csv": b"hr,cnt\n1,5\n", "pack/day.csv": b"day,cnt\n1,50\n", "pack/Readme.txt": b"hi\n"}
    routes.files["/pack.zip"] = zip_bytes(members)
    routes.files["/extra.csv"] = PLAIN
    files = [RemoteFile(name.split("/")[1], f"{routes.url}/pack.zip", sha(data), member=name)
             for name, data in members.items()]
    info = dataset(*files, RemoteFile("extra.csv", f"{routes.url}/extra.csv", sha(PLAIN)),
                   download_bytes=len(routes.files["/pack.zip"]) + len(PLAIN))
    seen = []
    paths = fetch(info, progress=lambda done, total: seen.append((done, total)))
    assert [p.read_bytes() for p in paths] == [*members.values(), PLAIN]
    assert routes.requests == ["/pack.zip", "/extra.csv"]
    assert seen[-1] == (info.download_bytes, info.download_bytes)
    assert leftovers(cache) == sorted(p.name for p in paths)
    (cache / "toy" / "day.csv").unlink()                 # one file lost: only its archive is fetched again
    assert fetch(info)[1].read_bytes() == members["pack/day.csv"]
    assert routes.requests == ["/pack.zip", "/extra.csv", "/pack.zip"]


# ----------------------------------------------------------------------------- CIFAR-10, binary batches

def cifar_batch(records: int, seed: int) -> bytes:
    """`records` CIFAR-10 binary records: a label byte, then 3,072 pixel bytes (R, G, B planes)."""
    rng = np.random.default_rng(seed)
    labels = (np.arange(records) + seed) % 10
    pixels = rng.integers(0, 256, (records, 3 * 32 * 32), dtype=np.uint8)
    return np.concatenate([labels[:, None].astype(np.uint8), pixels], axis=1).tobytes()


@pytest.fixture
def cifar_archive(routes):
    """A small cifar-10-binary.tar.gz (20 records per batch) served, and the catalog entry pointed at it."""
    names = [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]
    batches = {name: cifar_batch(20, seed) for seed, name in enumerate(names)}
    archive = tar_gz_bytes({"cifar-10-batches-bin/batches.meta.txt": "\n".join(cifar.CIFAR10_CLASSES).encode(),
                            **{f"cifar-10-batches-bin/{name}": data for name, data in batches.items()},
                            "cifar-10-batches-bin/readme.html": b"<html></html>"})
    routes.files["/cifar-10-binary.tar.gz"] = archive
    real = catalog.get("cifar10-images")
    files = tuple(replace(f, url=f"{routes.url}/cifar-10-binary.tar.gz", sha256=sha(batches[f.name]),
                          archive_sha256=sha(archive)) for f in real.files)
    return replace(real, files=files, download_bytes=len(archive)), batches


def test_cifar_downloads_as_binary_batches_and_loads_them(routes, cache, cifar_archive):
    info, batches = cifar_archive
    assert [f.member for f in info.files] == [f"cifar-10-batches-bin/{name}" for name in batches]
    assert availability(info) == "needs download"
    ds, test_pool = loaders.LOADERS["cifar10-images"](info)   # downloads: one request for six files
    assert routes.requests == ["/cifar-10-binary.tar.gz"]
    assert leftovers(cache, "cifar10-images") == sorted(batches)
    assert availability(info) == "cached" and cached_form(info) == "files"
    assert ds.class_names == cifar.CIFAR10_CLASSES == sorted(cifar.CIFAR10_CLASSES)
    assert ds.images.shape == (120, 3, 32, 32) and ds.images.dtype == np.uint8
    assert test_pool.tolist() == list(range(100, 120))          # the official test batch is the test set
    for row, (name, start) in enumerate([("data_batch_1.bin", 0), ("data_batch_3.bin", 5 * 3073),
                                         ("test_batch.bin", 19 * 3073)]):
        record = np.frombuffer(batches[name], dtype=np.uint8)[start: start + 3073]
        index = {0: 0, 1: 40 + 5, 2: 100 + 19}[row]
        assert ds.labels[index] == record[0]
        assert np.array_equal(ds.images[index, 0], record[1:1025].reshape(32, 32))   # red plane, row by row
        assert np.array_equal(ds.images[index, 2], record[2049:].reshape(32, 32))    # blue plane
    loaders.LOADERS["cifar10-images"](info)                    # from the cache now
    assert routes.requests == ["/cifar-10-binary.tar.gz"]


def test_cifar_archive_with_the_wrong_sha256_is_refused_before_extraction(routes, cache, cifar_archive):
    info, _ = cifar_archive
    info = replace(info, files=tuple(replace(f, archive_sha256="0" * 64) for f in info.files))
    with pytest.raises(DataError, match="checksum mismatch") as err:
        fetch(info)
    assert err.value.reason == "checksum" and err.value.url.endswith("/cifar-10-binary.tar.gz")
    assert leftovers(cache, "cifar10-images") == []


def test_a_cifar_batch_of_the_wrong_size_is_a_clear_error(tmp_path):
    bad = tmp_path / "data_batch_1.bin"
    bad.write_bytes(cifar_batch(2, 0)[:-1])
    with pytest.raises(DataError, match="not a CIFAR-10 binary batch"):
        cifar.read_cifar_batch(bad)


# ----------------------------------------------------------------------------- credit-default: .xls → CSV

def xls_bytes(rows: list[list]) -> bytes:
    """An .xls workbook (BIFF, one sheet) holding `rows`, written with xlwt (a test-only dependency)."""
    xlwt = pytest.importorskip("xlwt", reason="xlwt (a test dependency in requirements.txt) writes the .xls")
    book = xlwt.Workbook()
    sheet = book.add_sheet("Data")
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            sheet.write(r, c, value)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def uci_like_rows(names: list[str], values: list[list[int]]) -> list[list]:
    """The layout of UCI's credit workbook: a row X1..Xn,Y, then ID and the names, then ID and the numbers."""
    codes = [""] + [f"X{i}" for i in range(1, len(names))] + ["Y"]
    return [codes, ["ID", *names]] + [[i + 1, *row] for i, row in enumerate(values)]


def test_xls_to_csv_writes_the_mirror_form(routes, cache):
    names = ["LIMIT_BAL", "SEX", "PAY_0", "default payment next month"]
    values = [[500000, 2, -1, 1], [20000, 1, 0, 0], [1000000, 2, 2, 0], [110000, 1, -2, 1]]
    expected = (b"LIMIT_BAL,SEX,PAY_0,default.payment.next.month\n"
                b"5.00E+05,2,-1,1\n20000,1,0,0\n1.00E+06,2,2,0\n110000,1,-2,1")   # no line end after the last row
    routes.files["/credit.zip"] = zip_bytes({"credit clients.xls": xls_bytes(uci_like_rows(names, values))})
    remote = RemoteFile("credit.csv", f"{routes.url}/credit.zip", sha(expected), member="credit clients.xls",
                        convert="xls-to-csv")
    assert fetch(dataset(remote))[0].read_bytes() == expected
    assert leftovers(cache) == ["credit.csv"]


def test_xls_that_converts_to_other_bytes_or_cannot_be_read_saves_nothing(routes, cache):
    names = ["LIMIT_BAL", "default payment next month"]
    routes.files["/credit.zip"] = zip_bytes({"c.xls": xls_bytes(uci_like_rows(names, [[20000, 1]]))})
    routes.files["/broken.zip"] = zip_bytes({"c.xls": b"this is not a workbook"})
    remote = RemoteFile("credit.csv", f"{routes.url}/credit.zip", sha(b"other"), member="c.xls", convert="xls-to-csv")
    with pytest.raises(DataError, match="checksum mismatch") as err:
        fetch(dataset(remote))
    assert err.value.reason == "checksum"
    with pytest.raises(DataError, match="cannot be read") as err:
        fetch(dataset(replace(remote, url=f"{routes.url}/broken.zip")))
    assert err.value.reason == "archive"
    assert leftovers(cache) == []


@requires_dataset("credit-default")
def test_the_credit_catalog_entry_reproduces_the_mirror_csv_byte_for_byte(routes, cache):
    """An .xls laid out like UCI's, built from every row of the mirror's CSV, converts back to the same bytes.

    This checks the converter against the catalog's real sha256. The real UCI file
    could not be checked here (no network): it is assumed to hold the same table.
    """
    source = MIRROR / "credit-default" / "UCI_Credit_Card.csv"
    lines = source.read_text().split("\n")
    names = lines[0].split(",")
    names[-1] = "default payment next month"                       # UCI's name for the target
    values = [[int(float(v)) for v in line.split(",")] for line in lines[1:]]
    workbook = xls_bytes(uci_like_rows(names, values))
    routes.files["/350/default+of+credit+card+clients.zip"] = zip_bytes(
        {"default of credit card clients.xls": workbook})
    real = catalog.get("credit-default")
    info = replace(real, files=tuple(replace(f, url=f"{routes.url}/350/default+of+credit+card+clients.zip")
                                     for f in real.files))
    assert info.files[0].sha256 == real.files[0].sha256 and real.files[0].sha256.startswith("78d4eb02")
    (path,) = fetch(info)
    assert path.read_bytes() == source.read_bytes()
    ds, _ = loaders.LOADERS["credit-default"](info)
    assert len(ds) == 30_000 and int(ds.frame["default.payment.next.month"].sum()) == 6_636
