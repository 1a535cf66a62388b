"""A gallery of real test images for image models: a fixed, honest selection and each model's answers.

One random picture says little: a wrong answer on it looks like a broken model, a right
one like luck. A gallery shows a dozen test images with their true labels and what the
model answers, mistakes included, beside the model's accuracy on the whole test split.

The selection never looks at any model's answers: the test rows are shuffled with a
fixed seed, the first image of each class in that order is taken (so every class shows
up where there is room), then the next images in the same order fill up to `SIZE`.
The images come from the full test split when the dataset is on this machine, else
from the model's built-in examples (`examples.dataset_or_examples`).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from bigmodel_core.errors import BigModelError
from bigmodel_core.serve.card import ModelCard

if TYPE_CHECKING:
    from bigmodel_core.data.types import ImageDataset
    from bigmodel_core.serve.runtime import Predictor

SIZE = 12
SEED = 0


def pick(labels: np.ndarray, rows: np.ndarray, size: int = SIZE, seed: int = SEED) -> np.ndarray:
    """Gallery rows among `rows`: in a seeded shuffle, each class's first image, then the next ones.

    Returned in shuffle order; depends on the labels and the seed only, never on answers.
    """
    order = np.random.default_rng(seed).permutation(np.asarray(rows, dtype=np.int64))
    if len(order) <= size:
        return order
    chosen, classes = [], set()
    for row in order:                                     # one of each class first
        if len(chosen) == size:
            break
        if int(labels[row]) not in classes:
            classes.add(int(labels[row]))
            chosen.append(int(row))
    taken = set(chosen)
    for row in order:                                     # then the next ones, in the same order
        if len(chosen) == size:
            break
        if int(row) not in taken:
            chosen.append(int(row))
            taken.add(int(row))
    position = {int(row): i for i, row in enumerate(order)}
    return np.array(sorted(chosen, key=position.__getitem__), dtype=np.int64)


@dataclass(frozen=True)
class Gallery:
    images: np.ndarray            # uint8 [n, C, H, W]
    labels: np.ndarray            # int64 [n]
    class_names: list[str]
    dataset: str
    full: bool                    # drawn from the full test split (else from built-in examples)
    pool: int                     # test images it was drawn from
    rows_in_full: int             # rows of the whole dataset
    seed: int = SEED

    def __len__(self) -> int:
        return len(self.labels)


def from_dataset(ds: ImageDataset, dataset_id: str, full: bool, rows_in_full: int, size: int = SIZE,
                 seed: int = SEED) -> Gallery:
    rows = np.asarray(ds.split["test"])
    chosen = pick(ds.labels, rows, size, seed)
    return Gallery(np.ascontiguousarray(ds.images[chosen]), np.asarray(ds.labels[chosen], dtype=np.int64),
                   list(ds.class_names), dataset_id, full, int(len(rows)), int(rows_in_full), seed)


def build(dataset_id: str, split_seed: int = 0, max_rows: int | None = None, size: int = SIZE) -> Gallery:
    """The gallery of a catalog dataset: its full test split when here, else built-in examples.

    Raises DataError (reason "missing") when neither is on this machine.
    """
    from bigmodel_core.serve.examples import dataset_or_examples

    got = dataset_or_examples(dataset_id, seed=split_seed, max_rows=max_rows)
    return from_dataset(got.dataset, dataset_id, got.full, got.rows_in_full, size)


def for_model(folder: Path, card: ModelCard, size: int = SIZE) -> Gallery | None:
    """The gallery a model is shown with: its dataset's test split (the card's split), else its own examples.

    None when there is neither (a model trained on an upload, without examples).
    """
    from bigmodel_core.serve import examples

    args = card.split_args()
    try:
        return build((card.dataset or ""), args["seed"], args["max_rows"], size)
    except BigModelError:
        pass
    try:
        ds = examples.load(Path(folder))
    except BigModelError:
        return None
    return from_dataset(ds, (card.dataset or ""), False, len(ds), size)


@dataclass(frozen=True)
class Answers:
    """One model's answers on a gallery: predicted class indices and their probabilities."""
    predicted: np.ndarray         # int64 [n]
    confidence: np.ndarray        # float [n]
    right: np.ndarray             # bool [n]

    @property
    def n_right(self) -> int:
        return int(self.right.sum())


def answer(predictor: Predictor, gallery: Gallery) -> Answers:
    """Run a `runtime.Predictor` (ONNX Runtime) on every gallery image, as the app prepares a picture."""
    from bigmodel_core.serve.ood import model_inputs

    x = model_inputs(gallery.images, predictor.card.preprocessing)
    probs = predictor.scores_of({predictor.input_names[0]: x})
    labels = [str(x) for x in predictor.labels]
    names = [str(x) for x in gallery.class_names]
    predicted = probs.argmax(axis=1)
    if labels != names:                                    # a model whose classes differ: match by name
        right = np.array([labels[p] == names[t] for p, t in zip(predicted, gallery.labels, strict=False)])
    else:
        right = predicted == gallery.labels
    return Answers(predicted.astype(np.int64), probs.max(axis=1), np.asarray(right, dtype=bool))


def card_accuracy(card: ModelCard) -> tuple[float | None, int | None]:
    """(accuracy on the whole test split, its number of images) from the card."""
    acc = ((card.metrics or {}).get("test") or {}).get("accuracy")
    rows = (card.examples or {}).get("test_rows")
    return (float(acc) if acc is not None else None), (int(rows) if rows else None)
