"""Downloads that convert what they fetch, against a loopback HTTP server: CIFAR-10's binary batches, and
credit-card default's .xls turned into the mirror's CSV byte for byte (that one needs the mirror)."""
import io
from dataclasses import replace

import numpy as np
import pytest

from bigmodel_core.data import catalog, cifar, loaders
from bigmodel_core.data.catalog import RemoteFile, availability, cached_form
from bigmodel_core.data.download import fetch
from bigmodel_core.errors import DataError
from bigmodel_core.paths import data_dir
from tests.conftest import requires_dataset
from tests.loopback_http import (
    dataset,
    leftovers,
    sha,
    tar_gz_bytes,
    zip_bytes,
)

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

MIRROR = data_dir()  # read before a test points BIGMODEL_DATA_DIR elsewhere


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
