"""Downloading into the data cache, against a loopback HTTP server: extraction, checksums, failures."""
import hashlib
import io
import socket
import tarfile
import threading
import time
import zipfile
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bigmodel_core import download
from bigmodel_core.catalog import DatasetInfo, RemoteFile, availability
from bigmodel_core.download import ensure_dataset, ensure_file
from bigmodel_core.errors import DataError

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


def dataset(*files: RemoteFile) -> DatasetInfo:
    return DatasetInfo(id="toy", title="Toy", domain="general", task="tabular", rows=2, licence="CC0",
                       citation="none", files=files, source="loopback")


def test_downloads_plain_zip_member_nested_zip_and_tar(server, cache):
    info = dataset(
        RemoteFile("plain.csv", f"{server}/plain.csv", sha(PLAIN)),
        RemoteFile("inner.csv", f"{server}/outer.zip", sha(PLAIN), member="data/inner.csv"),
        RemoteFile("student-mat.csv", f"{server}/nested.zip", sha(INNER), member="student.zip",
                   inner_member="student-mat.csv"),
        RemoteFile("member.txt", f"{server}/pack.tar.gz", sha(TAR_MEMBER), member="pack/member.txt"),
    )
    assert availability(info) == "needs download"
    seen = []
    paths = ensure_dataset(info, progress=lambda done, total: seen.append((done, total)))
    assert [p.read_bytes() for p in paths] == [PLAIN, PLAIN, INNER, TAR_MEMBER]
    assert [p.name for p in paths] == ["plain.csv", "inner.csv", "student-mat.csv", "member.txt"]
    assert all(p.parent == cache / "toy" for p in paths)
    assert sorted(p.name for p in (cache / "toy").iterdir()) == sorted(p.name for p in paths)  # no temp files left
    assert availability(info) == "cached"
    assert seen and seen[0][1] == len(PLAIN) and seen[0][0] == len(PLAIN)
    assert ensure_file(info, info.files[0]) == paths[0]  # second time: from the cache, no download


def test_checksum_mismatch_is_refused_and_leaves_nothing(server, cache):
    info = dataset(RemoteFile("plain.csv", f"{server}/plain.csv", "0" * 64),
                   RemoteFile("inner.csv", f"{server}/outer.zip", "1" * 64, member="data/inner.csv"))
    for remote in info.files:
        with pytest.raises(DataError) as err:
            ensure_file(info, remote)
        message = str(err.value)
        assert "checksum mismatch" in message and remote.sha256 in message and sha(PLAIN) in message
    assert not (cache / "toy").exists() or list((cache / "toy").iterdir()) == []
    assert availability(info) == "needs download"


def test_damaged_cached_file_is_reported(cache):
    info = dataset(RemoteFile("plain.csv", "http://127.0.0.1:9/never-used", sha(PLAIN)))
    (cache / "toy").mkdir(parents=True)
    (cache / "toy" / "plain.csv").write_bytes(PLAIN.replace(b"good", b"gooD"))
    with pytest.raises(DataError, match="checksum mismatch"):
        ensure_file(info, info.files[0])


def test_missing_member_and_http_errors(server, cache):
    with pytest.raises(DataError, match="no member 'nope.csv'"):
        ensure_file(dataset(), RemoteFile("x.csv", f"{server}/outer.zip", sha(PLAIN), member="nope.csv"))
    with pytest.raises(DataError, match="HTTP 404"):
        ensure_file(dataset(), RemoteFile("x.csv", f"{server}/missing.csv", sha(PLAIN)))
    assert list((cache / "toy").iterdir()) == []


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
    assert list((cache / "toy").iterdir()) == []


def test_mirror_only_file_and_folder_datasets_explain_where_to_get_them(cache):
    with pytest.raises(DataError, match="no public download") as err:
        ensure_file(dataset(), RemoteFile("UCI_Credit_Card.csv", None, sha(PLAIN)))
    assert "BIGMODEL_DATA_DIR" in str(err.value)
    folders = DatasetInfo(id="pics", title="Pics", domain="general", task="image", rows=1, licence="CC0",
                          citation="none", files=(), source="loopback", folders=("train", "test"))
    with pytest.raises(DataError, match="train, test"):
        ensure_dataset(folders)
    assert download.TIMEOUT_S <= 60
