"""Built-in examples: every shipped model carries a sample of its own test split that no training saw."""
import json
import shutil

import numpy as np
import pandas as pd
import pytest

from bigmodel_core.cli import main
from bigmodel_core.data.loaders import load_dataset
from bigmodel_core.data.types import ImageDataset, TabularDataset, TextDataset
from bigmodel_core.errors import ModelError
from bigmodel_core.paths import PROJECT_ROOT
from bigmodel_core.serve import examples, registry
from bigmodel_core.serve.card import ModelCard
from tests.conftest import requires_dataset

SHIPPED = PROJECT_ROOT / "models"
CARDS = {p.parent.name: ModelCard.read(p) for p in sorted(SHIPPED.glob("*/card.json"))}
MIN_SIZE = {"image": 24, "text": 40, "tabular": 200}


@pytest.mark.parametrize("model_id", sorted(CARDS))
def test_every_shipped_model_has_examples_of_every_class(model_id):
    card = CARDS[model_id]
    meta = card.examples
    ds = examples.load(model_id, root=SHIPPED)
    assert meta["split"] == "test" and meta["dataset"] == card.dataset and len(ds) == meta["count"]
    assert meta["licence"] and meta["source"] and meta["citation"]
    assert len(ds.split["test"]) == len(ds) and len(ds.split["train"]) == len(ds.split["val"]) == 0
    # as many as the issue asks, or the whole test split where it is smaller (small tables)
    assert len(ds) >= min(MIN_SIZE[card.task], meta["test_rows"])
    if card.problem == "classification":
        labels = ds.labels if card.task != "tabular" else ds.frame[ds.target].to_numpy()
        assert set(np.unique(labels)) == set(range(len(card.labels))), "a class has no example"
        assert sum(meta["per_class"].values()) == len(ds)


def test_every_example_fits_its_model(tmp_path):
    """The examples load as the dataset type of their task, with the card's input columns or image size."""
    for model_id, card in CARDS.items():
        ds = examples.load(model_id, root=SHIPPED)
        expected = {"image": ImageDataset, "text": TextDataset, "tabular": TabularDataset}[card.task]
        assert isinstance(ds, expected), model_id
        if card.task == "image":
            spec = card.preprocessing
            assert ds.images.dtype == np.uint8 and ds.images.shape[1] == spec["channels"], model_id
        if card.task == "tabular":
            needed = {f["name"] for f in card.preprocessing["features"]} | {card.preprocessing["target"]}
            assert needed <= set(ds.frame.columns), model_id
        if card.task == "text":
            assert all(t.strip() for t in ds.texts) and ds.language == card.preprocessing.get("language", "en")


def test_all_samples_together_stay_small():
    total = sum(f.stat().st_size for f in SHIPPED.glob("*/examples/*") if f.is_file())
    assert total <= 3 * 1024 * 1024, f"{total / 1e6:.2f} MB of examples"


@pytest.mark.parametrize("model_id", [pytest.param(m, marks=requires_dataset(CARDS[m].dataset), id=m)
                                      for m in sorted(CARDS)])
def test_no_example_is_in_the_train_or_validation_split(model_id):
    """Every example is a test row of the model's own split, and its content is nowhere in train or val."""
    card = CARDS[model_id]
    dataset_id = card.dataset
    split = card.split
    full = load_dataset(dataset_id, seed=split["seed"], max_rows=split["max_rows"])
    keys = examples.item_keys(full)
    test_keys = {keys[i] for i in full.split["test"]}
    seen = {keys[i] for part in ("train", "val") for i in full.split[part]}
    sample = examples.item_keys(examples.load(model_id, root=SHIPPED))
    assert set(sample) <= test_keys
    assert not set(sample) & seen
    assert len(set(sample)) == len(sample)


# ----------------------------------------------------------------------------- picking, on toy data

def _toy_texts():
    texts = [f"review number {i}" for i in range(100)]
    labels = np.array([i % 2 for i in range(100)], dtype=np.int64)
    split = {"train": np.arange(0, 60), "val": np.arange(60, 70), "test": np.arange(70, 100)}
    texts[75] = texts[3]              # a test sentence that is also a train sentence
    texts[80] = "  REVIEW   number 5 "    # the same sentence as train row 5, up to case and spaces
    return TextDataset("toy", texts, labels, ["negative", "positive"], "en", split=split)


def test_pick_never_takes_a_test_row_whose_content_was_trained_on():
    ds = _toy_texts()
    pool = examples.unseen_test_rows(ds)
    assert 75 not in pool and 80 not in pool and len(pool) == 28
    rows = examples.pick(ds, "text", size=20)
    assert len(rows) == 20 and not {75, 80} & set(rows)
    assert set(rows) <= set(range(70, 100))
    assert np.bincount(ds.labels[rows]).tolist() == [10, 10]          # equal per class
    assert np.array_equal(rows, examples.pick(ds, "text", size=20))    # deterministic


def test_pick_keeps_a_rare_class_in_a_table_sample():
    n = 1000
    frame = pd.DataFrame({"x": np.arange(n, dtype=float), "y": (np.arange(n) % 50 == 0).astype(np.int64)})
    rows = np.arange(n)
    ds = TabularDataset("toy", frame, "y", "classification", {"x": "numeric"}, ["ok", "rare"],
                        split={"train": rows[:600], "val": rows[600:700], "test": rows[700:]})
    picked = examples.pick(ds, "tabular", size=100)
    assert len(picked) == 100
    assert frame["y"].to_numpy()[picked].sum() == min(examples.MIN_PER_CLASS_TABLE, 6)   # 6 rare rows in test
    assert set(picked) <= set(range(700, 1000))


# ----------------------------------------------------------------------------- writing

def test_write_round_trips_images_exactly_and_leaves_the_model_untouched(tmp_registry):
    shutil.copytree(SHIPPED / "mnist-cnn", tmp_registry / "mnist-cnn")
    (tmp_registry / "mnist-cnn" / "examples" / "stale.png").write_bytes(b"old")
    onnx_before = (tmp_registry / "mnist-cnn" / "model.onnx").read_bytes()
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, size=(60, 1, 28, 28), dtype=np.uint8)
    labels = np.tile(np.arange(10), 6).astype(np.int64)
    idx = np.arange(60)
    ds = ImageDataset("mnist", images, labels, [str(d) for d in range(10)],
                      split={"train": idx[:20], "val": idx[20:30], "test": idx[30:]})
    meta = examples.write("mnist-cnn", ds=ds)
    back = examples.load("mnist-cnn")
    assert meta["count"] == 30 == len(back) and meta["per_class"] == {str(d): 3 for d in range(10)}
    # each example is one of the test images, exactly
    for image, label in zip(back.images, back.labels, strict=False):
        match = [i for i in range(30, 60) if np.array_equal(images[i], image)]
        assert len(match) == 1 and labels[match[0]] == label
    folder = tmp_registry / "mnist-cnn"
    assert not (folder / "examples" / "stale.png").exists()
    assert (folder / "model.onnx").read_bytes() == onnx_before
    assert registry.load("mnist-cnn").card.examples == meta          # sha256 still verified
    assert not list(tmp_registry.glob(".tmp-*")) and not list(tmp_registry.glob(".old-*"))


def test_update_refuses_names_outside_the_examples_folder(tmp_registry):
    shutil.copytree(SHIPPED / "diabetes-mlp", tmp_registry / "diabetes-mlp")
    before = (tmp_registry / "diabetes-mlp" / "card.json").read_text()
    for bad in ("../evil.csv", "other/x.csv", "examples/../../x", "model.onnx", "examples/a/b.csv"):
        with pytest.raises(ModelError, match="Invalid asset name"):
            registry.update("diabetes-mlp", {"notes": "x"}, {bad: b"1"})
    assert (tmp_registry / "diabetes-mlp" / "card.json").read_text() == before
    assert not list(tmp_registry.glob(".tmp-*"))


def test_cli_examples_only_resamples_without_training(tmp_registry, capsys):
    shutil.copytree(SHIPPED / "diabetes-mlp", tmp_registry / "diabetes-mlp")     # bundled data: always here
    shutil.rmtree(tmp_registry / "diabetes-mlp" / "examples")
    assert main(["build-defaults", "--examples-only", "--only", "diabetes-mlp", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out[0]["id"] == "diabetes-mlp" and out[0]["count"] == 88
    assert len(pd.read_csv(tmp_registry / "diabetes-mlp" / "examples" / "examples.csv")) == 88
    assert main(["build-defaults", "--examples-only", "--only", "no-such-model"]) != 0
