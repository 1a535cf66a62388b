"""Scoring a registry model through ONNX Runtime on a dataset split — what the cards promise.

This path uses only the exported artefacts (model.onnx + preprocessing assets),
so a passing evaluation proves the shipped files, not the training process.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from bigmodel_core.data.types import DatasetKind
from bigmodel_core.errors import DataError
from bigmodel_core.serve import metrics as M
from bigmodel_core.serve import registry
from bigmodel_core.serve.runtime import Predictor

if TYPE_CHECKING:
    import pandas as pd

    from bigmodel_core.data.types import Dataset


def _batches(n: int, size: int):
    for i in range(0, n, size):
        yield slice(i, min(n, i + size))


def dataset_inputs(predictor: Predictor, data: Dataset,
                   split: str) -> tuple[np.ndarray | list[str] | pd.DataFrame, np.ndarray]:
    """(inputs object to feed `Predictor.raw` in slices, y_true) for one split."""
    idx = data.split[split]
    if predictor.task == "image" and data.kind == DatasetKind.IMAGE:
        spec = predictor.card.preprocessing
        images = data.images[idx]
        if images.shape[2:] == (spec["height"], spec["width"]) and images.shape[1] == spec["channels"]:
            arrays = images.astype(np.float32) / 255.0                          # [N, C, H, W]
        else:
            from bigmodel_core.serve.preprocess import prepare_images

            arrays = prepare_images([im for im in images], spec)
        return arrays, data.labels[idx]
    if predictor.task == "text" and data.kind == DatasetKind.TEXT:
        return [data.texts[i] for i in idx], data.labels[idx]
    if predictor.task == "tabular" and data.kind == DatasetKind.TABULAR:
        return data.frame.iloc[idx], data.frame[data.target].to_numpy()[idx]
    raise DataError(f"The dataset '{data.id}' does not fit a {predictor.task} model.",
                    hint="pick a dataset of the same task")


def evaluate(model: str, dataset: str | None = None, split: str = "test", device: str = "cpu",
             batch_size: int = 256, data: Dataset | None = None) -> dict:
    """Metrics of `model` (id or folder) on `split` of `dataset` (default: the card's), through ORT."""
    from bigmodel_core.data.loaders import load_dataset

    entry = registry.load(model)
    card = entry.card
    dataset = dataset or card.dataset
    if data is None:
        args = card.split_args()
        data = load_dataset(dataset, seed=args["seed"],           # every row of another dataset
                            max_rows=args["max_rows"] if dataset == card.dataset else None)
    if split not in data.split:
        raise DataError(f"No split '{split}'.", hint="use train, val or test")
    predictor = Predictor(entry.folder, card, device=device)
    result = score_split(predictor, data, split, batch_size)
    result.update(dataset=dataset, provider=predictor.provider)
    return result


def predict_split(predictor: Predictor, data: Dataset, split: str,
                  batch_size: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """(model outputs, y_true) of one split through ONNX Runtime: values [N] for regression, probabilities [N, K]."""
    inputs, y_true = dataset_inputs(predictor, data, split)
    outs = []
    for sl in _batches(len(y_true), batch_size):
        if predictor.task == "image":
            outs.append(predictor.run({predictor.input_names[0]: np.ascontiguousarray(inputs[sl])}))
        else:
            outs.append(predictor.run(predictor.prepare(inputs[sl])))
    if predictor.problem == "regression":
        pred = np.concatenate([o.reshape(len(o), -1)[:, 0] for o in outs]) if outs else np.zeros(0)
        return pred, y_true
    return predictor.scores(np.concatenate(outs)), y_true


def score_split(predictor: Predictor, data: Dataset, split: str, batch_size: int = 256) -> dict:
    """Metrics of one split of `data` through `predictor`'s ONNX Runtime session."""
    if split not in data.split:
        raise DataError(f"No split '{split}'.", hint="use train, val or test")
    out, y_true = predict_split(predictor, data, split, batch_size)
    if predictor.problem == "regression":
        result = M.regression_metrics(y_true.astype(np.float64), out)
    else:
        result = M.classification_metrics(y_true.astype(np.int64), out)
    result.update(n=int(len(y_true)), split=split, dataset=data.id, provider=predictor.provider)
    return result
