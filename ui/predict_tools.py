"""Helpers of the predict page: inputs (drawings, photos, texts, forms) → ONNX Runtime → labels and charts.

Plain functions (no widgets), so the predict page's logic can be tested
without a browser: `predict_image`, `predict_texts` and `predict_row` return a
`Result` with the labels, probabilities, execution provider and latency;
`link_params` / `row_from_link` / `example_from_link` turn a prediction into the
page's query parameters and back (a shareable link).
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from bigmodel_core.errors import DataError
from bigmodel_core.serve import preprocess as pp
from bigmodel_core.serve.card import ModelCard
from ui.i18n import t as _t
from ui.layout import PALETTE, label_text, style

DIGIT_DATASETS = ("mnist", "digits")
INK_THRESHOLD = 40          # grey level (0-255) above which a pixel counts as ink


@dataclass
class Result:
    labels: list[str]                       # class names (empty for regression)
    probs: np.ndarray | None = None         # [N, K] for classification
    values: np.ndarray | None = None        # [N] for regression
    provider: str = ""
    ort_ms: float = 0.0                     # ONNX Runtime session.run only
    total_ms: float = 0.0                   # preprocessing + ONNX Runtime
    notices: list[str] = field(default_factory=list)
    familiar: object | None = None          # bigmodel_core.serve.ood.Verdict of input 0 for a calibrated image model

    def label(self, i: int = 0) -> str:
        return self.labels[int(self.probs[i].argmax())]

    def confidence(self, i: int = 0) -> float:
        return float(self.probs[i].max())


def run(predictor, inputs, feed: dict | None = None) -> Result:
    """Prepare `inputs` (unless a ready `feed` is given), run the ONNX session, time both."""
    t0 = time.perf_counter()
    feed = predictor.prepare(inputs) if feed is None else feed
    notices = list(getattr(predictor, "notices", []) or [])
    t1 = time.perf_counter()
    out = predictor.run(feed)                       # ModelError (one clear sentence) when the model cannot run it
    t2 = time.perf_counter()                        # timed here: a cached predictor is shared by every session
    res = Result(labels=[str(x) for x in predictor.labels], provider=predictor.provider,
                 ort_ms=(t2 - t1) * 1000, total_ms=(t2 - t0) * 1000, notices=notices)
    if predictor.problem == "regression":
        res.values = predictor.scores(out)
    else:
        res.probs = predictor.scores(out)
    return res


# ============================================================================ images

def is_digit_model(card: ModelCard) -> bool:
    """Models that read light-on-dark handwritten digits (MNIST, scikit-learn digits)."""
    pre = card.preprocessing
    return card.task == "image" and pre.get("channels") == 1 and (
        card.dataset in DIGIT_DATASETS
        or [str(x) for x in card.labels] == [str(d) for d in range(10)])


def canvas_to_gray(image) -> np.ndarray:
    """The canvas's RGBA (or RGB / grey) array → uint8 grey, transparent parts as black."""
    arr = np.asarray(image, dtype=np.float64)
    if arr.ndim == 3 and arr.shape[2] == 4:
        gray = arr[..., :3].mean(axis=2) * (arr[..., 3] / 255.0)
    elif arr.ndim == 3:
        gray = arr[..., :3].mean(axis=2)
    else:
        gray = arr
    return np.clip(np.round(gray), 0, 255).astype(np.uint8)


def center_digit(gray: np.ndarray, size: int = 28, box: float = 20 / 28) -> np.ndarray | None:
    """MNIST's framing: the ink's bounding box scaled to fit `box`·size, centred by its centre of mass.

    `gray` is light ink on a dark background. Returns uint8 [size, size], or None when nothing is drawn.
    """
    from PIL import Image

    gray = np.asarray(gray, dtype=np.uint8)
    mask = gray > INK_THRESHOLD
    if mask.sum() < 5:
        return None
    ys, xs = np.nonzero(mask)
    crop = gray[ys.min():ys.max() + 1, xs.min():xs.max() + 1]
    h, w = crop.shape
    scale = box * size / max(h, w)
    nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
    small = np.asarray(Image.fromarray(crop).resize((nw, nh), Image.Resampling.LANCZOS), dtype=np.float64)
    total = small.sum()
    cy, cx = ((np.indices(small.shape) * small).reshape(2, -1).sum(axis=1) / total) if total > 0 else (nh / 2, nw / 2)
    top = int(np.clip(round(size / 2 - cy), 0, size - nh))
    left = int(np.clip(round(size / 2 - cx), 0, size - nw))
    out = np.zeros((size, size), dtype=np.float64)
    out[top:top + nh, left:left + nw] = small
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


# What the core says about a picture it cannot use (its first words) → the page's words for it.
PICTURE_ERRORS = {
    "This file is not a readable image": ("predict.err.unreadable", "predict.err.unreadable_hint"),
    "The image file is too large": ("predict.err.file_too_large", "predict.err.too_large_hint"),
    "The image is too large": ("predict.err.too_many_pixels", "predict.err.too_large_hint"),
}


def picture_error(exc: DataError, tr: Callable = _t) -> DataError:
    """A picture the core refused, said in the page's language (the original error is kept as the cause)."""
    from bigmodel_core.data.limits import MAX_UPLOAD_MB

    for start, (message, hint) in PICTURE_ERRORS.items():
        if exc.message.startswith(start):
            new = DataError(tr(message, limit=MAX_UPLOAD_MB), hint=tr(hint))
            new.__cause__ = exc
            return new
    return exc


def _load_gray(source, tr: Callable = _t) -> np.ndarray:
    try:
        return np.asarray(pp.load_image(source, 1), dtype=np.uint8)
    except DataError as exc:
        raise picture_error(exc, tr) from exc


def digit_from_picture(source, size: int = 28, tr: Callable = _t) -> np.ndarray:
    """A photo or scan of a digit → MNIST-style uint8 [size, size] (dark ink on light paper is inverted)."""
    gray = _load_gray(source, tr)
    if gray.mean() > 127:                               # dark ink on light paper
        gray = 255 - gray
    box = 20 / 28 if size >= 20 else 0.9
    digit = center_digit(gray, size, box)
    if digit is None:
        raise DataError(tr("predict.err.no_digit"), hint=tr("predict.err.no_digit_hint"))
    return digit


def predict_image(predictor, card: ModelCard, source, checker: Callable | None = None,
                  tr: Callable = _t) -> tuple[Result, np.ndarray]:
    """(result, what the model saw as float [C, H, W] in 0..1) for one picture (bytes, file, PIL, array).

    `checker(x)` (x: float [C, H, W]) returns the familiarity verdict put in `result.familiar`.
    """
    spec = card.preprocessing
    if is_digit_model(card):
        source = digit_from_picture(source, spec["height"], tr) if not isinstance(source, np.ndarray) else source
    try:
        x = pp.prepare_images([source], spec)
    except DataError as exc:
        raise picture_error(exc, tr) from exc
    res = run(predictor, None, feed={predictor.input_names[0]: x})
    if checker is not None:
        res.familiar = checker(x[0])
    return res, x[0]


def predict_drawing(predictor, card: ModelCard, rgba,
                    checker: Callable | None = None) -> tuple[Result, np.ndarray] | None:
    """A canvas drawing (white on black) → result, or None while the canvas is empty."""
    spec = card.preprocessing
    digit = center_digit(canvas_to_gray(rgba), spec["height"], 20 / 28 if spec["height"] >= 20 else 0.9)
    if digit is None:
        return None
    return predict_image(predictor, card, digit, checker)


def preview(x: np.ndarray, size: int = 140):
    """What the model saw (float [C, H, W] in 0..1) as a PIL picture with sharp pixels."""
    from PIL import Image

    arr = np.clip(np.round(x * 255), 0, 255).astype(np.uint8)
    arr = arr[0] if arr.shape[0] == 1 else arr.transpose(1, 2, 0)
    pic = Image.fromarray(np.ascontiguousarray(arr))
    scale = max(1, size // max(pic.size))
    return pic.resize((pic.width * scale, pic.height * scale), Image.Resampling.NEAREST)


# ============================================================================ texts

def split_lines(text: str, limit: int = 50) -> list[str]:
    """One prediction per non-empty line (at most `limit`). Raises DataError when there is none."""
    lines = [ln.strip() for ln in (text or "").splitlines() if ln.strip()]
    if not lines:
        raise DataError("The text is empty.", hint="type a sentence, or several lines for several predictions")
    return lines[:limit]


def predict_texts(predictor, text: str) -> tuple[list[str], Result]:
    lines = split_lines(text)
    return lines, run(predictor, lines)


# ============================================================================ tables

def feature_widget_spec(feature: dict, scale: float = 1.0) -> dict:
    """How to show one card feature: a slider (min, max, default, step, integer) or a selectbox (options, index).

    Numbers are in display units: the data may store value/`scale` (the bike data's temperature as
    °C/41, see `domains.display_scale`), and the slider then runs in °C. `model_value` turns a slider
    value back into what the model reads; `widget_value` puts a data value onto the slider.
    """
    if feature.get("type") == "categorical":
        cats = [str(c) for c in feature.get("categories", [])]
        default = str(feature.get("default", cats[0] if cats else ""))
        return dict(kind="select", options=cats, index=cats.index(default) if default in cats else 0, scale=1.0)
    scale = float(scale or 1.0)
    lo, hi = float(feature.get("min", 0.0)) * scale, float(feature.get("max", 1.0)) * scale
    default = float(np.clip(float(feature.get("default", (lo + hi) / 2 / scale)) * scale, lo, hi))
    if feature.get("integer") and scale == 1.0:
        lo_i, hi_i = int(round(lo)), int(round(hi))
        return dict(kind="fixed" if lo_i == hi_i else "slider", min=lo_i, max=hi_i,
                    default=int(round(default)), step=1, integer=True, scale=scale)
    if hi - lo <= 0:
        return dict(kind="fixed", min=lo, max=hi, default=lo, step=1.0, integer=False, scale=scale)
    raw = (hi - lo) / 100
    step = float(10 ** np.floor(np.log10(raw)))
    step = next(m * step for m in (1, 2, 5, 10) if m * step >= raw)
    lo, hi = np.floor(lo / step) * step, np.ceil(hi / step) * step
    default = round(round(default / step) * step, 10)
    return dict(kind="slider", min=float(round(lo, 10)), max=float(round(hi, 10)), default=float(default),
                step=step, integer=False, scale=scale)


def widget_value(spec: dict, value):
    """A data value (as the model reads it) as a valid value of the widget `spec`: in display units, snapped to
    the slider's step and range; categories as their text (an unknown one becomes the default)."""
    if spec["kind"] == "select":
        return str(value) if str(value) in spec["options"] else spec["options"][spec["index"]]
    if spec["kind"] == "fixed":
        return spec["default"]
    shown = min(max(float(value) * spec.get("scale", 1.0), spec["min"]), spec["max"])
    return int(round(shown)) if spec["integer"] else round(round(shown / spec["step"]) * spec["step"], 10)


def model_value(spec: dict, shown):
    """A widget's value (display units) as the model reads it: 20.5 °C → 0.5 for the bike data's temperature."""
    if spec["kind"] == "select":
        return shown
    scale = spec.get("scale", 1.0)
    return shown if scale == 1.0 else float(shown) / scale


def form_specs(features: list[dict], dataset: str) -> dict[str, dict]:
    """feature name → widget spec for a model's form, numbers in the units people read for `dataset`."""
    from bigmodel_core.app.domains import display_scale

    scale = display_scale(dataset)
    return {f["name"]: feature_widget_spec(f, scale.get(f["name"], 1.0)) for f in features}


def snap_feature_value(w: dict, value):
    """`value` (a data cell or URL text) as a valid value of the widget `w`, or None when it cannot be one."""
    if w["kind"] == "select":
        value = str(value)
        if value not in w["options"]:                    # 1.0 in a URL or a float column for the category "1"
            try:
                number = float(value)
            except ValueError:
                return None
            value = str(int(number)) if number.is_integer() else value
        return value if value in w["options"] else None
    if w["kind"] != "slider":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    if not np.isfinite(number):
        return None
    number = min(max(number, w["min"]), w["max"])
    return int(round(number)) if w["integer"] else round(round(number / w["step"]) * w["step"], 10)


def predict_row(predictor, values: dict) -> Result:
    return run(predictor, pd.DataFrame([values]))


# ============================================================================ shareable links

LINK_KEYS = ("model", "text", "example")     # the predict page's own query parameters (besides f.<feature>)
FEATURE_PREFIX = "f."                        # a tabular form's values: ?f.bmi=0.05&f.sex=2
MAX_LINK_TEXT = 1500                         # longer texts are left out of the address


def is_link_key(key: str) -> bool:
    return key in LINK_KEYS or key.startswith(FEATURE_PREFIX)


def link_part(params: dict) -> dict[str, str]:
    """The query parameters that describe a prediction (the language and anything else left out)."""
    return {k: str(v) for k, v in params.items() if is_link_key(k)}


def url_value(value) -> str:
    """A form value as URL text: whole numbers without '.0', other numbers as short as they stay exact."""
    if isinstance(value, (bool, np.bool_)):
        return str(value)
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return str(int(value)) if float(value).is_integer() else repr(round(float(value), 10))
    return str(value)


def link_params(model_id: str, *, text: str | None = None, example: int | None = None,
                row: dict | None = None) -> dict[str, str]:
    """The query parameters that restore a prediction: the model, and its text, real example or form values."""
    params = {"model": model_id}
    if text is not None and len(text) <= MAX_LINK_TEXT:
        params["text"] = text
    if example is not None:
        params["example"] = str(int(example))
    for name, value in (row or {}).items():
        params[FEATURE_PREFIX + name] = url_value(value)
    return params


def row_from_link(features: list[dict], params: dict) -> dict:
    """Form values from a link's f.<feature> parameters, each snapped to its widget (unusable ones skipped)."""
    values = {}
    for feat in features:
        raw = params.get(FEATURE_PREFIX + feat["name"])
        if raw is None:
            continue
        value = snap_feature_value(feature_widget_spec(feat), raw)
        if value is not None:
            values[feat["name"]] = value
    return values


def example_from_link(params: dict, n: int) -> int | None:
    """A link's real-example index when it is one of the `n` examples."""
    try:
        i = int(str(params.get("example", "")).strip())
    except ValueError:
        return None
    return i if 0 <= i < n else None


# ============================================================================ charts

def texts_figure(lines: list[str], res: Result, tr: Callable = _t) -> go.Figure:
    """Stacked 100 % bars: one bar per line, one colour per class."""
    # short labels, so the bars keep most of a half-width column; the hover has the whole line
    short = [f"{i + 1}. {ln if len(ln) <= 24 else ln[:22] + '…'}" for i, ln in enumerate(lines)]
    fig = go.Figure()
    for k, name in enumerate(res.labels):
        fig.add_trace(go.Bar(y=short, x=res.probs[:, k] * 100, name=label_text(name), orientation="h",
                             marker_color=PALETTE[k % len(PALETTE)], customdata=lines,
                             hovertemplate="%{customdata}<br>" + label_text(name) + ": %{x:.1f}%<extra></extra>"))
    fig.update_layout(barmode="stack")
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(range=[0, 100], tickvals=[0, 25, 50, 75, 100])
    return style(fig, tr("predict.chart.lines"), tr("predict.chart.prob_axis"), None,
                 height=max(240, 36 * len(lines) + 120))
