"""Downloading into the data cache, against a loopback HTTP server: extraction, checksums, failures.

Everything goes through the real code path (urllib, the archive readers, the
converters, the atomic moves); only the URLs point at 127.0.0.1. Tests that need
the dataset mirror (BIGMODEL_DATA_DIR) skip without it.
"""
import io
import socket
import tarfile
import threading
import time
from dataclasses import replace
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bigmodel_core.data import catalog, download
from bigmodel_core.data.catalog import DatasetInfo, RemoteFile, availability
from bigmodel_core.data.download import ensure_dataset, ensure_file, fetch
from bigmodel_core.errors import BigModelError, DataError
from bigmodel_core.paths import data_dir
from tests.loopback_http import (
    dataset,
    leftovers,
    noise,
    sha,
    tar_gz_bytes,
    zip_bytes,
)

MIRROR = data_dir()  # read before a test points BIGMODEL_DATA_DIR elsewhere

PLAIN = b"label,review\n1,good\n0,bad\n"
INNER = b"school;G3\nGP;12\n"
TAR_MEMBER = b"a tar member\n"


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
