"""The train/val/test split of a typed dataset: deterministic for a seed, stratified by class.

By default 20 % of the rows are the test set and 10 % (of all rows) the validation set, except:

- mnist: the 10k file, 2,000 test, 800 val, 7,200 train;
- cifar10-images: the official test batch (or the test folder) is the test set, 5,000 val
  carved from the training batches (or the train folder);
- sst2: dev.tsv (872) is the test set, 2,000 val carved from train.tsv.

`max_rows` takes a stratified sample first (for quick demos and tests); it then splits 70/10/20,
with the test rows taken from the official test set where there is one. The random draws are
`splits.train_rest` (scikit-learn's, without scikit-learn). `sentence_validation` re-carves
SST-2's validation split as whole sentences.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from bigmodel_core.data.splits import train_rest
from bigmodel_core.data.types import Dataset, ImageDataset, TabularDataset, TextDataset
from bigmodel_core.errors import DataError

SPLITS = ("train", "val", "test")
TEST_FRACTION = 0.2
VAL_FRACTION = 0.1  # of all rows, carved from what is left after the test set
MIN_ROWS = 10  # fewer rows cannot make a train, a val and a test set worth the name
# Full-size splits that differ from 20 % / 10 %: (test rows or None for the official test set, val rows).
DOCUMENTED_SPLITS = {"mnist": (2_000, 800), "cifar10-images": (None, 5_000), "sst2": (None, 2_000)}


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


def make_split(ds: Dataset, seed: int, max_rows: int | None, test_pool: np.ndarray | None) -> Dataset:
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
