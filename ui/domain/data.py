"""The domain pages' cached loads: a dataset's rows, images or texts (or a shipped model's built-in examples),
and the ONNX Runtime predictors of the hands-on models."""
from __future__ import annotations

import base64
import io
import time

import numpy as np
import streamlit as st

from bigmodel_core.errors import ModelError
from bigmodel_core.paths import models_dir
from bigmodel_core.serve import registry

SAMPLE_ROWS = 300          # rows in the explorer's table
IMAGE_SAMPLE = 240         # test images offered in the image picker
SCATTER_MAX = 4000         # points drawn in a scatter (the rare class is always kept whole)
FEW_VALUES = 12            # numeric features with at most this many values get a step slider


def _source(got) -> dict:
    """Where the rows come from: the full dataset, or a shipped model's built-in examples."""
    return dict(full=got.full, rows_in_full=got.rows_in_full, data_problem=str(got.problem) if got.problem else None)


@st.cache_data(show_spinner=False, max_entries=16)
def tabular_data(dataset_id: str) -> dict:
    from bigmodel_core.serve.examples import dataset_or_examples

    got = dataset_or_examples(dataset_id)
    ds = got.dataset
    return dict(frame=ds.frame, target=ds.target, problem=ds.problem, class_names=ds.class_names,
                feature_types=ds.feature_types, test=np.asarray(ds.split["test"]), **_source(got))


@st.cache_data(show_spinner=False, max_entries=4)
def image_data(dataset_id: str, n: int = IMAGE_SAMPLE) -> dict:
    from bigmodel_core.serve.examples import dataset_or_examples

    got = dataset_or_examples(dataset_id)
    ds = got.dataset
    rng = np.random.default_rng(0)
    pick = rng.choice(ds.split["test"], size=min(n, len(ds.split["test"])), replace=False)   # classes mixed
    k = len(ds.class_names)
    counts = {s: np.bincount(ds.labels[ds.split[s]], minlength=k) for s in ("train", "val", "test")}
    colour = np.stack([ds.images[ds.labels == c].mean(axis=(0, 2, 3)) if (ds.labels == c).any()
                       else np.zeros(ds.images.shape[1]) for c in range(k)])
    return dict(images=np.ascontiguousarray(ds.images[pick]), labels=ds.labels[pick], class_names=ds.class_names,
                counts=counts, colour=colour, rows=len(ds), **_source(got))


@st.cache_data(show_spinner=False, max_entries=4)
def text_data(dataset_id: str, n: int = SAMPLE_ROWS) -> dict:
    from bigmodel_core.serve.examples import dataset_or_examples

    got = dataset_or_examples(dataset_id)
    ds = got.dataset
    k = len(ds.class_names)
    lengths = np.array([len(x) if ds.language == "zh" else len(x.split()) for x in ds.texts], dtype=np.int32)
    rng = np.random.default_rng(0)
    pick = rng.choice(len(ds.texts), size=min(n, len(ds.texts)), replace=False)
    test = rng.choice(ds.split["test"], size=min(n, len(ds.split["test"])), replace=False)  # "Real example" draws
    counts = {s: np.bincount(ds.labels[ds.split[s]], minlength=k) for s in ("train", "val", "test")}
    return dict(texts=[ds.texts[i] for i in pick], labels=ds.labels[pick], class_names=ds.class_names,
                language=ds.language, lengths=lengths, all_labels=np.asarray(ds.labels), counts=counts,
                test_texts=[ds.texts[i] for i in test], test_labels=ds.labels[test], **_source(got))


@st.cache_data(show_spinner=False, max_entries=4)
def thumbnails(dataset_id: str, count: int = 40) -> list[str]:
    """PNG data URLs of the first `count` sampled test images (for the explorer's table)."""
    from PIL import Image

    data = image_data(dataset_id)
    urls = []
    for img in data["images"][:count]:
        buf = io.BytesIO()
        Image.fromarray(img.transpose(1, 2, 0) if img.shape[0] == 3 else img[0]).resize((64, 64)).save(buf, "PNG")
        urls.append("data:image/png;base64," + base64.b64encode(buf.getvalue()).decode())
    return urls


def predictor(folder: str, sha256: str):
    """The model's ONNX Runtime predictor from the process-wide cache (bigmodel_core.serve.predictors)."""
    from bigmodel_core.serve import predictors

    return predictors.get(folder, sha256)


def find_model(model_id: str):
    """(registry entry or None, error or None). None, None means the model is not built yet."""
    folder = models_dir() / model_id
    if not (folder / "card.json").exists() or not (folder / "model.onnx").exists():
        return None, None
    try:
        return registry.load(model_id), None
    except ModelError as exc:
        return None, exc


def run_model(entry, inputs):
    """Predictions for a list of inputs, with (provider, ORT ms, total ms)."""
    pred = predictor(str(entry.folder), entry.card.sha256)
    t0 = time.perf_counter()
    out = pred.predict(inputs)
    total = (time.perf_counter() - t0) * 1000
    return out, pred.provider, pred.last_latency_ms, total
