"""Why a table model said what it said: which columns matter, for the model and for one row.

Model level: scikit-learn `permutation_importance` through ONNX Runtime on the card's evaluation
split (at most 500 rows, 3 repeats): the drop of the card's primary metric (R², ROC-AUC or accuracy)
when one input column is shuffled; a categorical column moves as one (all its one-hot features
together). Prediction level: captum `ShapleyValueSampling` over the input columns against a
baseline row (training mean for numbers, most common category for categories), through the saved
encoder and ONNX Runtime; the contributions add up to prediction − baseline prediction exactly
(every sampled ordering telescopes).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from bigmodel_core.data.types import DatasetKind
from bigmodel_core.errors import DataError
from bigmodel_core.explain.common import OrtForward, pick_target
from bigmodel_core.serve.card import ModelCard

if TYPE_CHECKING:
    from bigmodel_core.serve.preprocess import TabularEncoder
    from bigmodel_core.serve.runtime import Predictor

PERMUTATION = "permutation-importance"
SHAPLEY = "shapley-sampling"
MAX_ROWS = 500              # rows used for permutation importance
REPEATS = 3                 # shuffles per column
SHAPLEY_SAMPLES = 24        # sampled orderings of the columns


@dataclass
class TabularContributions:
    features: list[str]           # input columns
    values: list                  # this row's values
    baseline_values: list         # the baseline row's values
    contributions: np.ndarray     # [F], adds up to prediction − baseline_prediction
    prediction: float             # class probability or value for this row
    baseline_prediction: float
    target: int | None            # class index (None for regression)
    method: str = SHAPLEY


@dataclass
class FeatureImportance:
    features: list[str]           # input columns
    mean: np.ndarray              # [F] drop of the metric when the column is shuffled
    std: np.ndarray               # [F] across repeats
    metric: str                   # r2 | roc_auc | accuracy
    score: float                  # the metric on the unshuffled rows
    split: str
    rows: int
    repeats: int
    method: str = PERMUTATION
    notes: list[str] = field(default_factory=list)

    def ranking(self) -> list[str]:
        return [self.features[i] for i in np.argsort(-self.mean)]


def _card_features(card: ModelCard) -> dict[str, dict]:
    return {f["name"]: f for f in (card.preprocessing or {}).get("features", [])}


def baseline_row(encoder: TabularEncoder, card: ModelCard) -> dict:
    """Training mean for numeric columns, the most common training category for categorical ones."""
    spec = _card_features(card)
    row = {}
    for col in encoder.columns:
        if col in encoder.numeric:
            row[col] = float(encoder.numeric[col]["mean"])
        else:
            cats = encoder.categorical[col]
            default = str(spec.get(col, {}).get("default", cats[0] if cats else ""))
            row[col] = default if default in cats or not cats else cats[0]
    return row


def _row_dict(row) -> dict:
    if isinstance(row, pd.DataFrame):
        if len(row) != 1:
            raise DataError(f"Expected one row to explain, got {len(row)}.")
        return row.iloc[0].to_dict()
    if isinstance(row, pd.Series):
        return row.to_dict()
    return dict(row)


def _codes(encoder, row: dict) -> np.ndarray:
    """One raw row → float64 [F]: numbers as they are, categories as their index (-1 when unknown)."""
    from bigmodel_core.serve.preprocess import category_strings

    out = np.zeros(len(encoder.columns), dtype=np.float64)
    for j, col in enumerate(encoder.columns):
        if col not in row:
            raise DataError(f"Missing feature column: {col}.", hint=f"the model expects: {', '.join(encoder.columns)}")
        if col in encoder.numeric:
            v = pd.to_numeric(pd.Series([row[col]]), errors="coerce").iloc[0]
            out[j] = encoder.numeric[col]["median"] if pd.isna(v) else float(v)
        else:
            cats = encoder.categorical[col]
            value = category_strings(pd.Series([row[col]], dtype=object))[0]
            out[j] = cats.index(value) if value in cats else -1
    return out


def _decode(encoder, codes: np.ndarray) -> pd.DataFrame:
    """float [N, F] codes → the raw DataFrame the encoder reads."""
    data = {}
    for j, col in enumerate(encoder.columns):
        if col in encoder.numeric:
            data[col] = codes[:, j]
        else:
            cats = encoder.categorical[col]
            data[col] = [cats[int(k)] if 0 <= int(k) < len(cats) else "\x00unknown" for k in np.round(codes[:, j])]
    return pd.DataFrame(data, columns=encoder.columns)


def tabular_forward(predictor: Predictor) -> OrtForward:
    """Raw-column codes [N, F] → encoder → ONNX Runtime → class probabilities or values."""
    enc = predictor.encoder
    return OrtForward(predictor, lambda codes: {predictor.input_names[0]: enc.transform(
        _decode(enc, codes.detach().cpu().numpy().astype(np.float64)))})


def tabular_contributions(predictor: Predictor, row: dict | pd.Series | pd.DataFrame, target: int | None = None,
                          n_samples: int = SHAPLEY_SAMPLES,
                          seed: int = 0) -> TabularContributions:
    """Shapley value sampling of one row against the baseline row; contributions sum to pred − baseline pred."""
    import torch
    from captum.attr import ShapleyValueSampling

    enc = predictor.encoder
    row = _row_dict(row)
    base = baseline_row(enc, predictor.card)
    x = torch.from_numpy(_codes(enc, row)[None])
    b = torch.from_numpy(_codes(enc, base)[None])
    forward = tabular_forward(predictor)
    both = forward(torch.cat([x, b])).numpy()
    target = pick_target(both[:1], predictor.problem, target)
    pred = float(both[0] if target is None else both[0, target])
    base_pred = float(both[1] if target is None else both[1, target])
    torch.manual_seed(seed)
    attr = ShapleyValueSampling(forward).attribute(x, baselines=b, target=target, n_samples=n_samples,
                                                   perturbations_per_eval=max(1, len(enc.columns)))
    values = [row[c] for c in enc.columns]
    return TabularContributions(features=list(enc.columns), values=values,
                                baseline_values=[base[c] for c in enc.columns],
                                contributions=attr[0].detach().double().numpy(), prediction=pred,
                                baseline_prediction=base_pred, target=target)


class OrtEstimator:
    """The scikit-learn estimator protocol over a Predictor (the model is trained already: `fit` does nothing)."""

    def __init__(self, predictor: Predictor):
        self.predictor = predictor

    def fit(self, X: pd.DataFrame, y: np.ndarray | None = None) -> OrtEstimator:  # noqa: N803 - scikit-learn's names
        return self

    def predict_scores(self, X: pd.DataFrame) -> np.ndarray:  # noqa: N803
        return self.predictor.raw(X)

    def predict(self, X: pd.DataFrame) -> np.ndarray:  # noqa: N803
        out = self.predict_scores(X)
        return out if self.predictor.problem == "regression" else out.argmax(axis=1)


def _scorer(problem: str, y: np.ndarray, n_classes: int):
    """(metric name, scorer(estimator, X, y)) for the card's primary metric on these rows."""
    from sklearn import metrics as skm

    from bigmodel_core.serve.metrics import primary_metric

    metric = primary_metric(problem, n_classes or None)
    if metric == "roc_auc" and len(np.unique(y)) < 2:
        metric = "accuracy"

    def score(estimator, X, y_true):  # noqa: N803
        out = estimator.predict_scores(X)
        if metric == "r2":
            return float(skm.r2_score(y_true, out))
        if metric == "roc_auc":
            return float(skm.roc_auc_score(y_true, out[:, 1]))
        return float(skm.accuracy_score(y_true, out.argmax(axis=1)))
    return metric, score


def permutation_importances(predictor: Predictor, frame: pd.DataFrame, y: np.ndarray, split: str = "test",
                            n_repeats: int = REPEATS,
                            max_rows: int = MAX_ROWS, seed: int = 0) -> FeatureImportance:
    """scikit-learn `permutation_importance` of the raw input columns, through the encoder and ONNX Runtime."""
    from bigmodel_core.warm import SKLEARN, preload

    preload(SKLEARN)
    from sklearn.inspection import permutation_importance

    columns = list(predictor.encoder.columns)
    y = np.asarray(y)
    if len(frame) != len(y) or len(y) < 2:
        raise DataError("Permutation importance needs at least two rows with targets.")
    notes = []
    if len(y) > max_rows:
        pick = np.sort(np.random.default_rng(seed).choice(len(y), size=max_rows, replace=False))
        frame, y = frame.iloc[pick], y[pick]
        notes.append(f"{max_rows} rows sampled")
    X = frame[columns].reset_index(drop=True)  # noqa: N806
    est = OrtEstimator(predictor)
    y = y.astype(np.float64 if predictor.problem == "regression" else np.int64)
    metric, scorer = _scorer(predictor.problem, y, len(predictor.labels))
    result = permutation_importance(est, X, y, scoring=scorer, n_repeats=n_repeats, random_state=seed)
    return FeatureImportance(features=columns, mean=np.asarray(result.importances_mean, dtype=np.float64),
                             std=np.asarray(result.importances_std, dtype=np.float64), metric=metric,
                             score=float(scorer(est, X, y)), split=split, rows=len(y), repeats=n_repeats, notes=notes)


def evaluation_rows(card: ModelCard, split: str | None = None) -> tuple[pd.DataFrame, np.ndarray, str]:
    """(feature frame, targets, split name) of the split the card was evaluated on (as `evaluation.evaluate` loads it).

    Without the full dataset on this machine, the test rows are the model's built-in examples.
    """
    from bigmodel_core.serve.examples import dataset_or_examples

    split = split or (card.split or {}).get("evaluated_on", "test")
    data = dataset_or_examples(card.dataset, **card.split_args()).dataset
    if data.kind != DatasetKind.TABULAR:
        raise DataError(f"The dataset '{card.dataset}' is not a table.")
    if split not in data.split:
        raise DataError(f"No split '{split}'.", hint="use train, val or test")
    frame, y = data.subset(split)
    return frame, y, split


def model_importances(predictor: Predictor, split: str | None = None, **kwargs: Any) -> FeatureImportance:
    """Permutation importance of a registry model on its card's evaluation split (DataError if the data is absent)."""
    frame, y, split = evaluation_rows(predictor.card, split)
    return permutation_importances(predictor, frame, y, split=split, **kwargs)
