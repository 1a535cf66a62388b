"""splits.train_rest draws exactly the rows scikit-learn's train_test_split draws (the reference)."""
import numpy as np
import pytest
from sklearn.model_selection import train_test_split

from bigmodel_core.data.splits import train_rest


@pytest.mark.parametrize("seed", [0, 1, 7, 42])
@pytest.mark.parametrize("n, size, classes", [(100, 30, 0), (1000, 713, 0), (101, 50, 2), (997, 100, 10),
                                              (60, 41, 3), (5000, 1500, 7), (40, 20, 4)])
def test_same_rows_in_the_same_order_as_scikit_learn(seed, n, size, classes):
    rng = np.random.default_rng(seed + n)
    pool = np.sort(rng.choice(3 * n, size=n, replace=False)).astype(np.int64)
    strata = None
    if classes:
        strata = rng.choice(classes, size=n, p=np.linspace(1, 3, classes) / np.linspace(1, 3, classes).sum())
        strata[:2 * classes] = np.repeat(np.arange(classes), 2)            # every class has 2+ rows
    ours = train_rest(pool, size, seed, strata)
    theirs = train_test_split(pool, train_size=size, random_state=seed, stratify=strata)
    assert [a.tolist() for a in ours] == [b.tolist() for b in theirs]


def test_impossible_stratification_is_refused():
    with pytest.raises(ValueError):
        train_rest(np.arange(10), 5, 0, np.array([0] * 9 + [1]))
