"""A loopback HTTP server for the download tests, and what they share: archives, checksums, the cache fixture.

`Routes` is what the `routes` fixture (tests/conftest.py) serves from 127.0.0.1: whatever a test
puts in `routes.files`, misbehaving on demand (an answer cut short, a stall before answering).
"""
import hashlib
import io
import tarfile
import time
import zipfile
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import numpy as np

from bigmodel_core.data.catalog import DatasetInfo, RemoteFile


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def zip_bytes(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            z.writestr(name, data)
    return buffer.getvalue()


def dataset(*files: RemoteFile, **extra) -> DatasetInfo:
    return DatasetInfo(id="toy", title="Toy", domain="general", task="tabular", rows=2, licence="CC0",
                       citation="none", files=files, source="loopback", **extra)


def leftovers(cache: Path, dataset_id: str = "toy") -> list[str]:
    """Everything in the dataset's cache folder (temporary files included)."""
    folder = cache / dataset_id
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


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
