"""The typed datasets every loader returns: images, texts or a table, each with its train/val/test split.

Each class names its kind in `kind` (a `DatasetKind`: "image", "text" or "tabular", the same word
as a model's task), so code that treats the three differently asks `ds.kind`, never the class name.
`notes` say what a loader changed or dropped, for the user to read (`plural` words them).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import ClassVar

import numpy as np
import pandas as pd
from pandas.api.types import is_numeric_dtype


class DatasetKind(StrEnum):
    """What a dataset holds; equal to the task name of the models trained on it."""
    IMAGE = "image"
    TEXT = "text"
    TABULAR = "tabular"


@dataclass(frozen=True)
class ImageDataset:
    """Images as uint8 [N, C, H, W] with int64 labels indexing `class_names`."""
    kind: ClassVar[DatasetKind] = DatasetKind.IMAGE
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
    kind: ClassVar[DatasetKind] = DatasetKind.TEXT
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
    kind: ClassVar[DatasetKind] = DatasetKind.TABULAR
    id: str
    frame: pd.DataFrame
    target: str
    problem: str  # "classification" | "regression"
    feature_types: dict[str, str]  # column -> "numeric" | "categorical"
    class_names: list[str] | None
    split: dict[str, np.ndarray] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    # Regression: the target's known physical bounds (None where there is none, e.g. no upper limit
    # on a count) and why they hold. A model's answers are kept inside them (train.tasks.target_range).
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


def tabular_dataset(dataset_id: str, frame: pd.DataFrame, target: str, problem: str,
                    class_names: list[str] | None = None, notes: tuple[str, ...] = (),
                    bounds: tuple[float | None, float | None] = (None, None),
                    bounds_why: str = "") -> TabularDataset:
    """A `TabularDataset` of `frame`: the target put last, every feature typed by its pandas dtype."""
    frame = frame[[c for c in frame.columns if c != target] + [target]].reset_index(drop=True)
    feature_types = {c: "numeric" if is_numeric_dtype(frame[c]) else "categorical"
                     for c in frame.columns if c != target}
    return TabularDataset(dataset_id, frame, target, problem, feature_types, class_names, notes=notes,
                          target_bounds=bounds, target_bounds_why=bounds_why)


def plural(n: int, word: str) -> str:
    """ "1 row", "3 rows": notes and errors are read by people."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"

