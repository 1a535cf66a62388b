"""Helpers of the training studio (pages/train.py): settings → TrainSpec, job events → charts, results → tables.

Everything here is a plain function of its arguments (plus `t` for words), so
the charts and tables can be tested without a browser. Training itself runs in
`bigmodel_core.app.jobs`; this module only reads job snapshots.
"""
from __future__ import annotations

import io
import itertools
import math
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from bigmodel_core.serve import metrics as M
from bigmodel_core.train.options import FAMILIES, options_for, parse
from bigmodel_core.train.options import sliders as option_sliders
from bigmodel_core.train.spec import TrainSpec
from bigmodel_core.train.trainer import TrainConfig
from ui.i18n import t as _t
from ui.layout import BAD, GOOD, MUTED, PALETTE, SEQUENTIAL, metric_name, style
from ui.layout import tr as optional_text

TASKS = ("image", "text", "tabular")
MAX_CURVE_POINTS = 300             # batch points drawn per curve: the live chart is sent every second
BATCH_SIZES = [8, 16, 32, 64, 128, 256]
LEARNING_RATES = [1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1]
OPTIMIZERS = ["adam", "adamw", "sgd"]
AUGMENTS = ["none", "affine", "crop-flip"]
# rows a quick run keeps (stratified), per task / architecture: a demo trains in well under a minute on 2 cores
QUICK_ROWS = {"image": 4000, "text": 2000, "tabular": 5000, "minilm": 800, "small-cnn": 3000}
QUICK_THRESHOLD = 3000          # catalog datasets larger than this get "quick run" on by default
HIGHER_IS_BETTER = {"accuracy": True, "macro_f1": True, "roc_auc": True, "r2": True, "rmse": False, "mae": False}


# The live panel (a container keyed "train_live") is redrawn every second. Streamlit fades an
# element while a rerun that may replace it is on its way; here that is every second, so on a busy
# server the chart and progress would blink pale. The panel always shows the latest data: no fade.
# ============================================================================ settings → spec

def arch_defaults(task: str, arch: str) -> dict:
    """Sensible starting hyper-parameters per architecture (what the widgets show first).

    The shape controls (width, depth, dropout) start where the architecture's options say
    (`bigmodel_core.train.options`, their `sliders`)."""
    d = dict(epochs=3, batch_size=64, lr=1e-3, optimizer="adam", width=128, depth=2, dropout=0.1,
             augment="none", seed=0)
    if task == "tabular":
        d.update(epochs=30, batch_size=32, lr=3e-3 if arch == "mlp" else 1e-2, optimizer="adamw", dropout=0.0)
    elif arch == "mlp-seed":
        d.update(epochs=5, lr=1e-3, dropout=0.0)
    elif arch == "lenet":
        d.update(epochs=5, lr=3e-3, dropout=0.0)
    elif arch == "small-cnn":
        d.update(epochs=3, lr=3e-3, optimizer="adamw")
    elif arch == "tiny-bert":
        d.update(epochs=2, lr=1e-3, optimizer="adamw")
    elif arch == "minilm":
        d.update(epochs=1, batch_size=32, lr=3e-5, optimizer="adamw")
    d.update({name: knob.default for name, knob in option_sliders(arch).items()})
    return d


def arch_knobs(arch: str) -> dict:
    """Which shape controls an architecture has: {"width": (min, max, step) | None, "depth": (...) | None,
    "dropout": (min, max, step) | None}, read from the architecture's options (`bigmodel_core.train.options`)."""
    knobs = option_sliders(arch) if arch in FAMILIES else {}
    return {name: tuple(knobs[name][:3]) if name in knobs else None for name in ("width", "depth", "dropout")}


def arch_options(arch: str, width: int, depth: int, dropout: float, augment: str) -> dict:
    """Widget values → `TrainSpec.options` for the architecture (its options model knows how)."""
    return options_for(arch).from_sliders(width, depth, dropout, augment)


def quick_rows(task: str, arch: str) -> int:
    return QUICK_ROWS.get(arch, QUICK_ROWS[task])


def make_spec(dataset: str, arch: str, *, epochs: int, batch_size: int, lr: float, optimizer: str, seed: int,
              options: dict, max_rows: int | None) -> TrainSpec:
    config = TrainConfig(epochs=int(epochs), batch_size=int(batch_size), lr=float(lr), optimizer=optimizer,
                         seed=int(seed), grad_clip=5.0)
    parse(arch, options)                          # an unknown or misspelt option: a TrainingError the page shows
    return TrainSpec(dataset, arch, config, options, max_rows=max_rows, split_seed=0)


# ============================================================================ live progress

def fmt_duration(seconds, tr: Callable = _t) -> str:
    """12 → '12 s', 75 → '1 min 15 s' (in the current language); None → '…'."""
    if seconds is None or not np.isfinite(seconds):
        return "…"
    s = int(round(seconds))
    if s < 60:
        return tr("jobs.seconds", s=s)
    return tr("jobs.minutes", m=s // 60, s=f"{s % 60:02d}")


def time_left(event: dict | None, now: float | None = None) -> float | None:
    """Seconds left at `now` (default: the wall clock): the estimate `event` carried, less the time since it came.

    The page redraws every second while events may come seldom (a long validation pass), so the
    shown time keeps counting down between them. None while there is no estimate yet."""
    if event is None or event.get("eta") is None:
        return None
    now = time.time() if now is None else now
    return max(0.0, event["eta"] - max(0.0, now - event.get("time", now)))


def progress_of(events: list[dict]) -> tuple[float, dict | None]:
    """(fraction done, the latest batch/epoch event) from a job's events."""
    last = next((e for e in reversed(events) if e.get("kind") in ("batch_end", "epoch_end", "train_end")), None)
    if last is None:
        return 0.0, None
    return min(1.0, last["step"] / max(1, last["total_steps"])), last


def val_metric_names(events: list[dict]) -> list[str]:
    """The validation metrics worth a curve: r2 for regression, accuracy (+ ROC-AUC) for classification."""
    val = next((e["val"] for e in reversed(events) if e.get("kind") == "epoch_end" and e.get("val")), None) or {}
    if "r2" in val:
        return ["r2"]
    return [m for m in ("accuracy", "roc_auc") if m in val]


def thinned(n: int, most: int = MAX_CURVE_POINTS) -> list[int]:
    """Indices of at most `most` of `n` points, evenly spread, the first and the last always kept."""
    if n <= most:
        return list(range(n))
    return sorted({round(i * (n - 1) / (most - 1)) for i in range(most)})


def curves_figure(events: list[dict], problem: str | None = None, uirevision: str = "curves",
                  tr: Callable = _t) -> go.Figure:
    """Loss per step (every batch, plus each epoch's mean) and the validation metric per epoch."""
    batches = [e for e in events if e.get("kind") == "batch_end" and e.get("loss") is not None]
    epochs = [e for e in events if e.get("kind") == "epoch_end"]
    smooth = pd.Series([e["loss"] for e in batches]).ewm(alpha=0.1).mean().tolist() if len(batches) >= 8 else None
    keep = thinned(len(batches))                   # a long run keeps its shape, not its every batch
    batches = [batches[i] for i in keep]
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.1,
                        subplot_titles=(tr("train.chart.loss_title"), tr("train.chart.val_title")))
    fig.add_trace(go.Scatter(x=[e["step"] for e in batches], y=[e["loss"] for e in batches], mode="lines",
                             name=tr("train.chart.batch_loss"), line=dict(color=MUTED, width=1),
                             hovertemplate="step %{x}<br>loss %{y:.4f}<extra></extra>"), row=1, col=1)
    if smooth is not None:                         # a smoothed line people can read on a projector
        fig.add_trace(go.Scatter(x=[e["step"] for e in batches], y=[smooth[i] for i in keep], mode="lines",
                                 name=tr("train.chart.smoothed"), line=dict(color=PALETTE[0], width=2.5),
                                 hovertemplate="step %{x}<br>%{y:.4f}<extra></extra>"), row=1, col=1)
    if epochs:
        fig.add_trace(go.Scatter(x=[e["step"] for e in epochs], y=[e["loss"] for e in epochs], mode="markers",
                                 name=tr("train.chart.epoch_loss"), marker=dict(color=PALETTE[2], size=9),
                                 customdata=[e["epoch"] for e in epochs],
                                 hovertemplate="epoch %{customdata}<br>loss %{y:.4f}<extra></extra>"), row=1, col=1)
    scores = []
    for i, name in enumerate(val_metric_names(events)):
        pts = [(e["epoch"], e["val"].get(name)) for e in epochs if e.get("val") and e["val"].get(name) is not None]
        scores += [p[1] for p in pts]
        fig.add_trace(go.Scatter(x=[p[0] for p in pts], y=[p[1] for p in pts], mode="lines+markers",
                                 name=f"{tr('train.chart.val')} {metric_name(name)}",
                                 line=dict(color=PALETTE[1 + 3 * i], width=2.5), marker=dict(size=8),
                                 hovertemplate="epoch %{x}<br>%{y:.4f}<extra></extra>"), row=1, col=2)
    loss_name = tr("train.chart.loss_mse") if problem == "regression" or "r2" in val_metric_names(events) \
        else tr("train.chart.loss_ce")
    fig.update_xaxes(title_text=tr("train.chart.step"), row=1, col=1, rangemode="tozero")
    fig.update_yaxes(title_text=loss_name, row=1, col=1)
    fig.update_xaxes(title_text=tr("train.chart.epoch"), row=1, col=2, dtick=1 if len(epochs) <= 12 else None)
    fig.update_yaxes(title_text=tr("train.chart.metric"), row=1, col=2)
    if scores and "r2" not in val_metric_names(events):     # accuracy, ROC AUC: never above 1
        low = max(0.0, math.floor((min(scores) - 0.02) * 20) / 20)
        fig.update_yaxes(range=[low, 1 + max(0.01, 0.05 * (1 - low))], row=1, col=2)
    style(fig, height=380)
    fig.update_layout(uirevision=uirevision, margin=dict(l=10, r=10, t=40, b=10),
                      legend=dict(orientation="h", x=0, xanchor="left", y=-0.22, yanchor="top"))
    return fig


# ============================================================================ results

def predictions(trained) -> np.ndarray:
    """Predicted class codes (classification) or values (regression) on the test split."""
    scores = np.asarray(trained.test_scores)
    return scores.argmax(axis=1) if trained.problem == "classification" else scores.reshape(len(scores), -1)[:, 0]


def confusion_figure(trained, tr: Callable = _t) -> go.Figure:
    labels = [str(x) for x in trained.labels]
    cm = M.confusion(trained.test_true, predictions(trained), len(labels))
    share = cm / np.maximum(1, cm.sum(axis=1, keepdims=True))
    fig = go.Figure(go.Heatmap(z=share, x=labels, y=labels, colorscale=SEQUENTIAL, zmin=0, zmax=1,
                               text=cm, texttemplate="%{text}", colorbar=dict(title=tr("train.chart.share")),
                               hovertemplate=tr("train.chart.cm_hover") + "<extra></extra>"))
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(type="category")
    return style(fig, tr("train.chart.cm_title"), tr("train.chart.predicted"), tr("train.chart.actual"),
                 height=max(320, 40 * len(labels) + 140))


def per_class_figure(trained, tr: Callable = _t) -> go.Figure:
    labels = [str(x) for x in trained.labels]
    cm = M.confusion(trained.test_true, predictions(trained), len(labels))
    acc = M.per_class_accuracy(cm)
    fig = go.Figure(go.Bar(x=labels, y=acc * 100, marker_color=[GOOD if a >= acc.mean() else BAD for a in acc],
                           text=[f"{a:.0%}" for a in acc], textposition="outside",
                           customdata=cm.sum(axis=1),
                           hovertemplate="%{x}: %{y:.1f}% (n = %{customdata})<extra></extra>"))
    fig.update_yaxes(range=[0, 110])
    fig.update_xaxes(type="category")
    return style(fig, tr("train.chart.per_class_title"), tr("train.chart.class"), tr("train.chart.accuracy_pct"))


def roc_figure(trained, tr: Callable = _t) -> go.Figure:
    from sklearn.metrics import roc_auc_score, roc_curve

    y, p = trained.test_true, np.asarray(trained.test_scores)[:, 1]
    fpr, tpr, _ = roc_curve(y, p)
    auc = roc_auc_score(y, p)
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name=tr("train.chart.chance"),
                             line=dict(color=MUTED, dash="dash")))
    fig.add_trace(go.Scatter(x=fpr, y=tpr, mode="lines", name=f"{tr('train.chart.model')} (AUC {auc:.3f})",
                             line=dict(color=PALETTE[0], width=3), fill="tozeroy", fillcolor="rgba(79,70,229,0.08)"))
    fig.update_xaxes(range=[0, 1])
    fig.update_yaxes(range=[0, 1.02])
    positive = trained.labels[1] if len(trained.labels) > 1 else "1"
    return style(fig, tr("train.chart.roc_title", positive=positive), tr("train.chart.fpr"), tr("train.chart.tpr"))


def target_label(trained) -> str:
    """The regression target as people read it ('Bikes rented per hour', not the column name 'cnt')."""
    from bigmodel_core.app.domains import slug

    target = trained.preprocessing.get("target", "y")
    return optional_text(f"domain.feat.{trained.spec.dataset}.{slug(target)}", target)


def pred_actual_figure(trained, tr: Callable = _t) -> go.Figure:
    y, pred = np.asarray(trained.test_true, dtype=float), predictions(trained)
    lo, hi = float(min(y.min(), pred.min())), float(max(y.max(), pred.max()))
    target = target_label(trained)
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=[lo, hi], y=[lo, hi], mode="lines", name=tr("train.chart.perfect"),
                             line=dict(color=MUTED, dash="dash")))
    fig.add_trace(go.Scatter(x=y, y=pred, mode="markers", name=tr("train.chart.test_rows"),
                             marker=dict(color=PALETTE[0], size=7, opacity=0.6),
                             hovertemplate=tr("train.chart.actual") + " %{x:.3g}<br>" + tr("train.chart.predicted")
                             + " %{y:.3g}<extra></extra>"))
    return style(fig, tr("train.chart.pva_title"), f"{target} ({tr('train.chart.actual')})",
                 f"{target} ({tr('train.chart.predicted')})")


def residual_figure(trained, tr: Callable = _t) -> go.Figure:
    y, pred = np.asarray(trained.test_true, dtype=float), predictions(trained)
    target = target_label(trained)
    fig = go.Figure()
    fig.add_hline(y=0, line=dict(color=MUTED, dash="dash"))
    fig.add_trace(go.Scatter(x=pred, y=y - pred, mode="markers", name=tr("train.chart.test_rows"),
                             marker=dict(color=PALETTE[1], size=7, opacity=0.6),
                             hovertemplate=tr("train.chart.predicted") + " %{x:.3g}<br>"
                             + tr("train.chart.residual") + " %{y:.3g}<extra></extra>"))
    return style(fig, tr("train.chart.residual_title"), f"{target} ({tr('train.chart.predicted')})",
                 f"{tr('train.chart.residual')} ({tr('train.chart.actual')} − {tr('train.chart.predicted')})",
                 showlegend=False)


def mistakes(trained, limit: int = 24) -> pd.DataFrame:
    """The most confident wrong predictions on the test split: row (into the dataset), true, predicted, confidence."""
    if trained.problem != "classification" or trained.test_scores is None:
        return pd.DataFrame(columns=["row", "true", "predicted", "confidence"])
    probs = np.asarray(trained.test_scores)
    pred = probs.argmax(axis=1)
    wrong = np.flatnonzero(pred != trained.test_true)
    wrong = wrong[np.argsort(-probs[wrong, pred[wrong]])][:limit]
    labels = [str(x) for x in trained.labels]
    return pd.DataFrame({
        "row": np.asarray(trained.test_index)[wrong].astype(int),
        "true": [labels[int(trained.test_true[i])] for i in wrong],
        "predicted": [labels[int(pred[i])] for i in wrong],
        "confidence": probs[wrong, pred[wrong]],
    })


def thumbnail(image: np.ndarray, size: int = 84):
    """A dataset image (uint8 [C, H, W]) as a PIL picture scaled up with sharp pixels."""
    from PIL import Image

    arr = image[0] if image.shape[0] == 1 else image.transpose(1, 2, 0)
    pic = Image.fromarray(np.ascontiguousarray(arr))
    scale = max(1, size // max(pic.size))
    return pic.resize((pic.width * scale, pic.height * scale), Image.Resampling.NEAREST) if scale > 1 else pic


def metric_rows(trained) -> list[dict]:
    """Test metrics beside the baseline's: [{name, model, baseline, better}]."""
    test = trained.metrics.get("test", {})
    base = (trained.baseline or {}).get("metrics", {})
    rows = []
    for name, value in test.items():
        b = base.get(name)
        better = None
        if b is not None and value is not None:
            better = value >= b if HIGHER_IS_BETTER.get(name, True) else value <= b
        rows.append(dict(name=name, model=value, baseline=b, better=better))
    return rows


def suggested_id(dataset: str, arch: str, taken: Callable[[str], bool] = lambda model_id: False) -> str:
    """A valid registry id from the dataset and architecture that no model has yet.

    'upload:My data.csv' + mlp → 'my-data-mlp'; when `taken('breast-cancer-mlp')` (a shipped or
    trained model has that id), the next free one of 'breast-cancer-mlp-2', '-3', …"""
    import re

    stem = dataset.split(":", 1)[-1].rsplit(".", 1)[0]
    slug = re.sub(r"[^a-z0-9]+", "-", f"{stem}-{arch}".lower()).strip("-")[:60].strip("-") or "my-model"
    if not taken(slug):
        return slug
    for n in itertools.count(2):
        candidate = f"{slug[:63 - len(str(n))].rstrip('-')}-{n}"
        if not taken(candidate):
            return candidate


def id_taken(model_id: str, root=None) -> bool:
    """True when the registry already has a folder named `model_id` (a shipped or a trained model)."""
    from bigmodel_core.paths import models_dir

    return (Path(root or models_dir()) / model_id).exists()


def image_zip_bytes(data, per_class: int = 5) -> bytes:
    """A few images per class of an ImageDataset as a zip of class folders (the upload format; for tests/demos)."""
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for k, name in enumerate(data.class_names):
            for j, i in enumerate(np.flatnonzero(data.labels == k)[:per_class]):
                out = io.BytesIO()
                thumbnail(data.images[i], size=1).save(out, format="PNG")
                z.writestr(f"{name}/{j}.png", out.getvalue())
    return buf.getvalue()


# ============================================================================ sessions

def session_owner() -> str:
    """The browser session that owns this page's jobs (Streamlit's session id; 'local' outside a session)."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    return ctx.session_id if ctx is not None else "local"


def session_alive(session_id: str) -> bool:
    """True while the browser tab of `session_id` is connected (Streamlit's `Runtime.is_active_session`).

    A closed tab (or one whose websocket blinked) is not active; the job manager then waits for
    its heartbeat timeout (`owner_timeout`, default 90 s) before stopping its jobs, so a reconnect
    within that window keeps the training. When in doubt (no runtime, API changed): alive.
    """
    try:
        from streamlit.runtime import Runtime

        if not Runtime.exists():
            return True
        return bool(Runtime.instance().is_active_session(session_id))
    except Exception:  # noqa: BLE001 - never kill jobs because a check broke
        return True


def watch_sessions(manager) -> None:
    """Let the job manager stop and forget the jobs of closed sessions (checked every few seconds)."""
    from streamlit.runtime import Runtime

    if Runtime.exists():
        manager.watch_owners(session_alive, interval=max(1.0, min(15.0, manager.owner_timeout / 3)))


def ordinal(n: int, tr: Callable = _t) -> str:
    """1 → '1st', 2 → '2nd', 11 → '11th', 23 → '23rd' (English rules; other languages word it in their table)."""
    n = int(n)
    form = "other" if 10 <= n % 100 <= 20 else {1: "one", 2: "two", 3: "few"}.get(n % 10, "other")
    return tr(f"jobs.ordinal.{form}", n=n)


def where_text(where: dict | None, tr: Callable = _t) -> str:
    """Where a job trains, in words: 'local worker', 'Ray node 1a2b3c4d (GPU)'; while it starts,
    'starting a worker…'."""
    from bigmodel_core.workers.backends import describe

    place = describe(where)
    if place is None:
        return tr("jobs.where.starting")
    if place["kind"] == "ray":
        return tr("jobs.where.ray", node=place["node"], device=place["device"])
    return tr("jobs.where.local")


def queue_message(position: int, running: int, slots: int, tr: Callable = _t) -> str:
    """'Waiting — 2nd in line …' for a queued job at `position` (1 = next to start)."""
    return tr("jobs.queued", place=ordinal(position, tr), running=running, slots=slots)
