"""Random (optionally stratified) train/rest splits, index for index what scikit-learn's `train_test_split` draws.

Every dataset's train/val/test split was drawn with `train_test_split(pool, train_size=n,
stratify=…, random_state=seed)`; the shipped cards are scored on those rows. This module draws the
same rows with numpy's legacy `RandomState` in the same order of calls (ShuffleSplit /
StratifiedShuffleSplit with `_approximate_mode`), so loading a dataset to evaluate or show a model
never imports scikit-learn. tests/test_splits.py compares it with scikit-learn on many cases.
"""
from __future__ import annotations

import numpy as np


def _approximate_mode(class_counts: np.ndarray, n_draws: int, rng: np.random.RandomState) -> np.ndarray:
    """How many rows to draw from each class: the floored shares, plus the largest remainders (ties at random)."""
    continuous = class_counts / class_counts.sum() * n_draws
    floored = np.floor(continuous)
    need_to_add = int(n_draws - floored.sum())
    if need_to_add > 0:
        remainder = continuous - floored
        for value in np.sort(np.unique(remainder))[::-1]:
            (inds,) = np.where(remainder == value)
            add_now = min(len(inds), need_to_add)
            floored[rng.choice(inds, size=add_now, replace=False)] += 1
            need_to_add -= add_now
            if need_to_add == 0:
                break
    return floored.astype(int)


def train_rest(pool: np.ndarray, train_size: int, seed: int, stratify: np.ndarray | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
    """(`train_size` items of `pool`, the others) — `train_test_split(pool, train_size=…, stratify=…,
    random_state=seed)`. With `stratify`, every class needs ≥ 2 rows and ≥ 1 row on each side."""
    pool = np.asarray(pool)
    n_samples = len(pool)
    n_train = int(train_size)
    n_test = n_samples - n_train
    if not 0 < n_train < n_samples:
        raise ValueError(f"train_size={train_size} must be between 1 and {n_samples - 1}")
    rng = np.random.RandomState(seed)
    if stratify is None:
        permutation = rng.permutation(n_samples)
        return pool[permutation[n_test:n_test + n_train]], pool[permutation[:n_test]]
    classes, y_indices, class_counts = np.unique(np.asarray(stratify), return_inverse=True, return_counts=True)
    if class_counts.min() < 2 or min(n_train, n_test) < len(classes):
        raise ValueError("every class needs at least 2 rows and one on each side of the split")
    class_indices = np.split(np.argsort(y_indices, kind="stable"), np.cumsum(class_counts)[:-1])
    n_i = _approximate_mode(class_counts, n_train, rng)
    t_i = _approximate_mode(class_counts - n_i, n_test, rng)
    train, test = [], []
    for i in range(len(classes)):
        members = class_indices[i].take(rng.permutation(class_counts[i]), mode="clip")
        train.extend(members[:n_i[i]])
        test.extend(members[n_i[i]:n_i[i] + t_i[i]])
    return pool[rng.permutation(train)], pool[rng.permutation(test)]
