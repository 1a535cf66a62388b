"""A shipped model's built-in examples: a small sample of its own test split, committed beside it.

They make every page complete on a machine with no dataset cache and no network:
the domain pages' "Real example" and explorer, predict's example inputs and the
shipped-model tests all fall back to them. Layout inside a model folder:

    examples/examples.csv   tables: the dataset's columns (target last)
                            texts:  text,label,class
                            images: file,label,class   (+ examples/NNN.png, 8-bit grey or RGB)

and `card.examples` = {"file", "count", "per_class", "split": "test", "test_rows",
"dataset", "seed", "source", "licence", "citation"}.

Only test rows are sampled, and a test row whose content also appears in the
train or validation split (a duplicate image, sentence or feature row) is never
picked, so no example was seen in training. Sizes: `SIZES` per task, or the whole
test split where it is smaller (small tables).
"""
from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from bigmodel_core.data import catalog
from bigmodel_core.data.types import DatasetKind
from bigmodel_core.errors import BigModelError, DataError
from bigmodel_core.paths import models_dir
from bigmodel_core.serve import registry

if TYPE_CHECKING:
    from bigmodel_core.data.types import Dataset

SIZES = {"image": 30, "text": 40, "tabular": 200}   # items per model (images and texts: equal per class)
MIN_PER_CLASS_TABLE = 8                              # a rare class still shows up in a table sample
FOLDER = registry.EXAMPLES_DIR
INDEX = f"{FOLDER}/examples.csv"
SEED = 0


# ----------------------------------------------------------------------------- picking

def item_keys(ds: Dataset) -> list[str]:
    """One content key per row: equal keys mean the same image, sentence or feature row."""
    if ds.kind == DatasetKind.IMAGE:
        return [hashlib.sha1(np.ascontiguousarray(img).tobytes()).hexdigest() for img in ds.images]
    if ds.kind == DatasetKind.TEXT:
        return [" ".join(text.split()).lower() for text in ds.texts]
    features = ds.frame[ds.features].astype(str)
    return ["\x1f".join(row) for row in features.itertuples(index=False, name=None)]


def unseen_test_rows(ds: Dataset) -> np.ndarray:
    """Test rows whose content appears in neither the train nor the validation split."""
    keys = item_keys(ds)
    seen = {keys[i] for part in ("train", "val") for i in ds.split[part]}
    return np.array([i for i in ds.split["test"] if keys[i] not in seen], dtype=np.int64)


def _labels(ds) -> np.ndarray | None:
    if ds.kind == DatasetKind.TABULAR:
        return ds.frame[ds.target].to_numpy().astype(np.int64) if ds.problem == "classification" else None
    return ds.labels


def _quotas(counts: dict[int, int], total: int, equal: bool) -> dict[int, int]:
    """How many rows to take from each class: equal shares, or shares like the data's with a floor."""
    if equal:
        base = {c: min(n, total // len(counts)) for c, n in counts.items()}
    else:
        all_rows = sum(counts.values())
        base = {c: min(n, max(MIN_PER_CLASS_TABLE, int(total * n / all_rows))) for c, n in counts.items()}
    left = total - sum(base.values())
    for c in sorted(counts, key=lambda c: -counts[c]):          # fill up from the largest classes
        extra = min(left, counts[c] - base[c])
        base[c] += extra
        left -= extra
    return base


def pick(ds: Dataset, task: str, size: int | None = None, seed: int = SEED) -> np.ndarray:
    """Row indices of the sample: unseen test rows, stratified by class, sorted."""
    size = size or SIZES[task]
    pool = unseen_test_rows(ds)
    if len(pool) <= size:
        return pool
    rng = np.random.default_rng(seed)
    labels = _labels(ds)
    if labels is None:
        return np.sort(rng.choice(pool, size=size, replace=False))
    by_class = {int(c): pool[labels[pool] == c] for c in np.unique(labels[pool])}
    quotas = _quotas({c: len(rows) for c, rows in by_class.items()}, size, equal=task != "tabular")
    chosen = [rng.choice(rows, size=quotas[c], replace=False) for c, rows in by_class.items() if quotas[c]]
    return np.sort(np.concatenate(chosen))


# ----------------------------------------------------------------------------- writing

def _csv_bytes(rows: list[list], header: list[str]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def _png(image: np.ndarray) -> bytes:
    from PIL import Image

    array = image[0] if image.shape[0] == 1 else image.transpose(1, 2, 0)      # [C, H, W] → [H, W(, C)]
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(array)).save(buffer, "PNG", optimize=True)
    return buffer.getvalue()


def sample_files(ds: Dataset, rows: np.ndarray, class_names: list[str] | None) -> dict[str, bytes]:
    """The files of a sample: examples.csv (+ one PNG per image)."""
    if ds.kind == DatasetKind.IMAGE:
        files = {f"{FOLDER}/{n:03d}.png": _png(ds.images[i]) for n, i in enumerate(rows)}
        table = [[f"{n:03d}.png", int(ds.labels[i]), class_names[ds.labels[i]]] for n, i in enumerate(rows)]
        return dict(files, **{INDEX: _csv_bytes(table, ["file", "label", "class"])})
    if ds.kind == DatasetKind.TEXT:
        table = [[ds.texts[i], int(ds.labels[i]), class_names[ds.labels[i]]] for i in rows]
        return {INDEX: _csv_bytes(table, ["text", "label", "class"])}
    buffer = io.StringIO()
    ds.frame.iloc[rows].to_csv(buffer, index=False, lineterminator="\n")
    return {INDEX: buffer.getvalue().encode("utf-8")}


def write(model: str, ds: Dataset | None = None, root: Path | None = None) -> dict:
    """Sample the model's test split into `examples/` and record it in the card. Returns the card field.

    `ds` is the model's dataset with the card's split (loaded when not given).
    """
    from bigmodel_core.data.loaders import load_dataset

    entry = registry.load(model, root, verify=False)
    card = entry.card
    if ds is None:
        ds = load_dataset(card.dataset, **card.split_args())
    rows = pick(ds, card.task)
    if len(rows) == 0:
        raise DataError(f"{card.dataset} has no test rows to sample for {entry.id}.")
    labels = _labels(ds)
    class_names = card.labels
    info = catalog.CATALOG.get(card.dataset)
    meta = dict(
        file=INDEX, count=int(len(rows)), split="test", test_rows=int(len(ds.split["test"])),
        dataset=card.dataset, seed=SEED,
        per_class=({class_names[int(c)]: int((labels[rows] == c).sum()) for c in np.unique(labels[rows])}
                   if labels is not None and class_names else None),
        source=info.source if info else None, licence=info.licence if info else None,
        citation=info.citation if info else None,
    )
    registry.update(entry.id, {"examples": meta}, sample_files(ds, rows, class_names),
                    replace_examples=True, root=root)
    return meta


def write_all(only: list[str] | None = None, root: Path | None = None,
              log: Callable[[str], object] = print) -> list[dict]:
    """Re-sample the built-in examples of every shipped model (or those in `only`), without retraining."""
    entries, _ = registry.list_models(root, verify=False)
    shipped = [e for e in entries if e.card.shipped and (not only or e.id in only)]
    unknown = sorted(set(only or ()) - {e.id for e in shipped})
    if unknown:
        raise DataError(f"No shipped model called {', '.join(unknown)}.")
    results = []
    for entry in shipped:
        meta = write(entry.id, root=root)
        log(f"[{entry.id}] {meta['count']} examples from the {meta['dataset']} test split")
        results.append(dict(id=entry.id, **meta))
    return results


# ----------------------------------------------------------------------------- reading

def _split_all(n: int) -> dict[str, np.ndarray]:
    empty = np.zeros(0, dtype=np.int64)
    return {"train": empty, "val": empty.copy(), "test": np.arange(n, dtype=np.int64)}


def load(model: str | Path, root: Path | None = None) -> Dataset:
    """The model's examples as the dataset type `loaders.load_dataset` returns (every row in "test")."""
    from bigmodel_core.data.types import ImageDataset, TextDataset, tabular_dataset

    entry = registry.load(model, root, verify=False)
    card, meta = entry.card, entry.card.examples
    index = entry.folder / INDEX
    if not meta or not index.is_file():
        raise DataError(f"{entry.id} has no built-in examples.",
                        hint=f"python -m bigmodel_core build-defaults --examples-only --only {entry.id}")
    note = (f"built-in sample of {meta['count']} test rows",)
    class_names = list(card.labels or [])
    if card.task == "image":
        table = pd.read_csv(index)
        channels = (card.preprocessing or {}).get("channels", 1)
        images = np.stack([_read_png(entry.folder / FOLDER / name, channels) for name in table["file"]])
        return ImageDataset(card.dataset, images, table["label"].to_numpy(np.int64), class_names,
                            split=_split_all(len(table)), notes=note)
    if card.task == "text":
        table = pd.read_csv(index, keep_default_na=False, dtype={"text": str})
        language = (card.preprocessing or {}).get("language", "en")
        return TextDataset(card.dataset, table["text"].tolist(), table["label"].to_numpy(np.int64),
                           class_names, language, split=_split_all(len(table)), notes=note)
    frame = pd.read_csv(index)
    target = frame.columns[-1]
    ds = tabular_dataset(card.dataset, frame, target, card.problem,
                         class_names if card.problem == "classification" else None, notes=note)
    return replace(ds, split=_split_all(len(frame)))


def _read_png(path: Path, channels: int) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as img:
        array = np.asarray(img.convert("L" if channels == 1 else "RGB"))
    return array[None] if array.ndim == 2 else array.transpose(2, 0, 1)        # → [C, H, W]


def model_with_examples(dataset_id: str, root: Path | None = None) -> str | None:
    """The id of the first shipped model (by id) trained on `dataset_id` that has built-in examples."""
    root = Path(root or models_dir())
    for card_path in sorted(root.glob("*/card.json")):
        try:
            entry = registry.load(card_path.parent, root, verify=False)
        except BigModelError:                      # one broken entry never hides the rest
            continue
        if entry.card.dataset == dataset_id and entry.card.examples \
                and (entry.folder / INDEX).is_file():
            return entry.id
    return None


def for_dataset(dataset_id: str, root: Path | None = None) -> Dataset | None:
    """The built-in examples standing in for `dataset_id` when it is not in the data cache (None if none)."""
    model_id = model_with_examples(dataset_id, root)
    return load(model_id, root) if model_id else None


@dataclass(frozen=True)
class Data:
    """What a page shows of a dataset: the full one when it is on this machine, else built-in examples.

    `problem` is the DataError that made a cached dataset unusable (damaged file), if any.
    """
    dataset: object
    full: bool
    rows_in_full: int
    problem: BigModelError | None = None


def dataset_or_examples(dataset_id: str, seed: int = 0, max_rows: int | None = None) -> Data:
    """The full dataset when it is bundled or cached (never downloads), else a shipped model's examples.

    Raises DataError (reason "missing") when neither is there.
    """
    from bigmodel_core.data.loaders import load_dataset

    info = catalog.get(dataset_id)
    problem = None
    if catalog.availability(info) != "needs download":
        try:
            return Data(load_dataset(dataset_id, seed=seed, max_rows=max_rows), True, info.rows)
        except DataError as exc:            # e.g. a damaged file in the cache: fall back, and say why
            problem = exc
    sample = for_dataset(dataset_id)
    if sample is None:
        raise problem or DataError(f"The dataset {dataset_id} is not on this machine and no model ships "
                                   "examples of it.",
                                   hint=f"python -m bigmodel_core fetch {dataset_id}", reason="missing")
    return Data(sample, False, info.rows, problem)
