"""The page's "Download the full dataset" button: progress, Cancel, and the full data afterwards.

The education page's dataset is served from 127.0.0.1 in its canonical form (a zip holding
student.zip, built from the mirror's files), and the catalog entry is pointed at that server,
so the download goes through the real code path: URL → archive → member → sha256 → cache.
"""
import io
import threading
import time
import zipfile
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bigmodel_core.data import catalog
from bigmodel_core.paths import data_dir
from tests.conftest import missing_dataset
from tests.helpers import EN
from tests.test_fresh_machine import fresh_machine, open_fresh  # noqa: F401 - the fixture is used by name

DATASET = "student-performance"
MIRROR, NO_DATA = data_dir(), missing_dataset(DATASET)                 # read before a fixture empties the cache
PAGE = "pages/domain_education.py"
KEY = f"explore:{DATASET}"


def canonical_zip() -> bytes:
    """student+performance.zip as UCI serves it: a zip with student.zip inside, from the mirror's files."""
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as z:
        for name in ("student-mat.csv", "student-por.csv", "student.txt"):
            z.write(MIRROR / DATASET / name, name)
    outer = io.BytesIO()
    with zipfile.ZipFile(outer, "w") as z:
        z.writestr("student.zip", inner.getvalue())
    return outer.getvalue()


class Slow(BaseHTTPRequestHandler):
    """Sends the archive in small pieces, `delay` seconds apart (long enough to press Cancel)."""
    body, delay = b"", 0.0

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        try:
            for i in range(0, len(self.body), 4096):
                self.wfile.write(self.body[i:i + 4096])
                self.wfile.flush()
                time.sleep(self.delay)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, *args):
        pass


@pytest.fixture
def served(monkeypatch, request):
    if NO_DATA:                                                         # its files are what the server serves
        pytest.skip(NO_DATA)
    handler = type("Handler", (Slow,), {"body": canonical_zip(), "delay": request.param})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    url = f"http://127.0.0.1:{httpd.server_address[1]}/student+performance.zip"
    info = catalog.get(DATASET)
    monkeypatch.setitem(catalog.CATALOG, DATASET, replace(info, files=tuple(replace(f, url=url) for f in info.files)))
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    yield url
    httpd.shutdown()
    httpd.server_close()


def run_until(at, done, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while not done(at):
        assert time.monotonic() < deadline, "the download did not end"
        time.sleep(0.2)
        at.run()
    return at


def download_button(at):
    return next(b for b in at.button if b.key == f"download:{KEY}")


@pytest.mark.parametrize("served", [0.0], indirect=True)
def test_download_from_the_page_brings_the_full_dataset(fresh_machine, served):  # noqa: F811 - the imported fixture
    at = open_fresh(PAGE, "en")
    assert any(EN["data.sample_of"].split("{")[0] in i.value for i in at.info)          # a sample, at first
    assert "KB" in download_button(at).label or "MB" in download_button(at).label      # its size is said
    download_button(at).click().run()
    run_until(at, lambda a: any(EN["data.downloaded"] in s.value for s in a.success) or a.exception)
    assert not at.exception, [e.value for e in at.exception]
    at.run()
    assert not any(EN["data.sample_of"].split("{")[0] in i.value for i in at.info)      # the full data now
    assert catalog.availability(catalog.get(DATASET)) == "cached"
    for f in catalog.get(DATASET).files:
        assert (fresh_machine / "data" / DATASET / f.name).is_file()


@pytest.mark.parametrize("served", [0.05], indirect=True)
def test_cancel_stops_the_download_and_leaves_nothing(fresh_machine, served):  # noqa: F811 - the imported fixture
    at = open_fresh(PAGE, "en")
    download_button(at).click().run()
    progress = [p for p in at.get("progress")]
    assert progress, "no progress bar while downloading"
    at.button(key=f"cancel:{KEY}").click().run()
    run_until(at, lambda a: any(EN["data.problem.cancelled"] in i.value for i in a.info))
    assert not at.exception, [e.value for e in at.exception]
    assert catalog.availability(catalog.get(DATASET)) == "needs download"
    left = [p for p in (fresh_machine / "data").rglob("*") if p.is_file()]
    assert not left, left
    assert download_button(at)                                                          # and it can try again
