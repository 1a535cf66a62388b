"""The "Explain this prediction" panel, shared by the predict page and the eight domain pages.

`panel(...)` draws a collapsed expander below a result; its content runs only while it
is open (`on_change="rerun"` + `.open`), so predictions stay fast. Inside:

- images: an occlusion heat map laid over the picture (plotly);
- texts: the words as coloured chips (Streamlit's markdown colour directives, with the
  user's text escaped — never raw HTML) and a bar chart of each word's contribution;
- tables: this row's Shapley contributions and the model's permutation importance.

The computations live in `bigmodel_core.explain` (image, text, tabular); here they are cached — results with
`st.cache_data` keyed by model folder, checksum and input, PyTorch models with
`st.cache_resource`. Every visible string comes from the translation tables (`explain.*`).
"""
from __future__ import annotations

import html
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from bigmodel_core import explain as E
from bigmodel_core.app.domains import showcase_of
from bigmodel_core.errors import BigModelError, DataError
from bigmodel_core.serve.card import ModelCard
from bigmodel_core.warm import torch_available
from ui.full_install import notice
from ui.i18n import t
from ui.layout import (
    BAD,
    GOOD,
    MUTED,
    PALETTE,
    chart,
    class_colors,
    fmt,
    label_text,
    metric_name,
    show_error,
    style,
    tr,
)

TOP_FEATURES = 12           # bars in the tabular charts
STRONG, WEAK = 0.5, 0.1     # word chips: bold above STRONG × the largest |score|, plain below WEAK ×
ROW_PX, FRAME_PX = 46, 120  # bar charts: one bar with its name above it, plus title and axis
# Streamlit's markdown colours nearest to the app's class colours (the word chips can only use these names)
CHIP_COLOURS = {GOOD: "green", BAD: "red", MUTED: "gray", PALETTE[0]: "violet", PALETTE[2]: "orange",
                PALETTE[4]: "blue", PALETTE[5]: "violet", PALETTE[6]: "green", PALETTE[7]: "orange",
                PALETTE[8]: "gray", PALETTE[9]: "red"}


# ============================================================================ cached work

@st.cache_resource(show_spinner=False, max_entries=4)
def torch_model(folder: str, sha256: str, _card: ModelCard):
    """The PyTorch text model rebuilt from weights.safetensors, or None (ONNX-only and int8 models)."""
    return E.load_torch_model(Path(folder), _card)


@st.cache_data(show_spinner=False, max_entries=64)
def _image(_predictor, folder: str, sha256: str, x: np.ndarray) -> E.ImageExplanation:
    return E.image_occlusion(_predictor, x)


@st.cache_data(show_spinner=False, max_entries=64)
def _text(_predictor, folder: str, sha256: str, text: str) -> E.TextExplanation:
    model = torch_model(folder, sha256, _predictor.card) if _predictor.card.weights else None
    return E.explain_text(_predictor, text, model)


@st.cache_data(show_spinner=False, max_entries=64)
def _row(_predictor, folder: str, sha256: str, items: tuple) -> E.TabularContributions:
    return E.tabular_contributions(_predictor, dict(items))


@st.cache_data(show_spinner=False, max_entries=16)
def _importance(_predictor, folder: str, sha256: str) -> E.FeatureImportance:
    return E.model_importances(_predictor)


# ============================================================================ the panel

def panel(predictor, folder, card: ModelCard, *, key: str, image: np.ndarray | None = None,
          texts: list[str] | None = None, row: dict | None = None,
          feature_label: Callable[[str], str] | None = None,
          value_label: Callable[[str, object], str] | None = None, model_name: str | None = None) -> None:
    """An "Explain this prediction" expander for one model and one input (image, texts or a table row).

    `model_name` goes into the expander's label where several models answer side by side.
    """
    label = t("explain.title") + (f" · {model_name}" if model_name else "")
    exp = st.expander(label, icon="🔍", key=f"explain:{key}", on_change="rerun")
    with exp:
        if not exp.open:
            return
        folder, sha = str(folder), str(card.sha256)
        if (image is not None or texts) and not torch_available():
            notice("explain")                 # the light install: occlusion and gradients run on PyTorch
            return
        try:
            with st.spinner(t("explain.computing")):
                if image is not None:
                    _show_image(_image(predictor, folder, sha, np.ascontiguousarray(image, dtype=np.float32)),
                                image, card, key)
                elif texts:
                    _show_texts(predictor, folder, sha, card, texts, key)
                elif row is not None:
                    _show_row(predictor, folder, sha, card, row, key, feature_label or (lambda c: c),
                              value_label or (lambda c, v: v if isinstance(v, str) else fmt(v)))
        except BigModelError as exc:
            show_error(exc, warning=True)


def _class_name(card: ModelCard, target: int | None) -> str:
    labels = card.labels
    return label_text(labels[target]) if target is not None and target < len(labels) else ""


def push_colours(card: ModelCard, target: int | None) -> tuple[str, str, str | None]:
    """(colour of a push towards class `target`, colour of a push away from it, the class "away" leads to).

    The colours are the classes' own, as the domain pages draw them (`class_colors` with the showcase's
    alert class): on the customer-service page "negative" is rose, so a word that pushes towards
    "negative" is rose as well, whichever class was predicted. With two classes a push away from one
    is a push towards the other, in the other's colour; with more, away is grey. Regression (no
    class): teal pushes the value up, rose down."""
    labels = [str(x) for x in card.labels]
    if target is None or not 0 <= target < len(labels):
        return GOOD, BAD, None
    show = showcase_of(card.dataset or "")
    colours = class_colors(labels, show.positive if show else None)
    if len(labels) == 2:
        other = labels[1 - target]
        return colours[labels[target]], colours[other], other
    return colours[labels[target]], MUTED, None


def colour_word(colour: str) -> str:
    """The name of a chip colour in the current language ('green', '绿色')."""
    return t(f"explain.colour.{CHIP_COLOURS.get(colour, 'blue')}")


def bar_rows(names: list[str], values, colours: list[str], hovertemplate: str) -> go.Figure:
    """Horizontal bars, top to bottom, each with its full name written above it.

    The names are not y-axis labels, so a long one ("Feels-like temperature (°C) = 24.5") never
    squeezes the bars into a sliver or gets cut in a narrow column; each row is ROW_PX high."""
    n = len(names)
    fig = go.Figure(go.Bar(x=list(values), y=list(range(n)), orientation="h", width=0.42, marker_color=colours,
                           customdata=names, hovertemplate=hovertemplate))
    for i, name in enumerate(names):
        fig.add_annotation(text=html.escape(name), x=0, xref="paper", xanchor="left", y=i - 0.24, yref="y",
                           yanchor="bottom", showarrow=False, align="left", font=dict(size=12, color="#374151"),
                           bgcolor="rgba(255,255,255,0.85)")              # legible over the zero line
    fig.update_yaxes(range=[n - 0.5, -0.95], showticklabels=False, showgrid=False, zeroline=False)
    fig.update_xaxes(zeroline=True, zerolinecolor=MUTED, zerolinewidth=1)
    fig.update_layout(height=ROW_PX * n + FRAME_PX)
    return fig


def wrap(text: str, width: int = 36) -> str:
    """A long axis title on several lines, so a narrow column shows all of it ("change in Progression after one
    year (score)" is wider than the chart beside a domain page's form)."""
    import textwrap

    return "<br>".join(textwrap.wrap(text, width)) or text


def _points(card: ModelCard) -> float:
    """Probabilities are shown in percentage points; regression values in their own units."""
    return 1.0 if card.problem == "regression" else 100.0


# ============================================================================ images

def _rgb(x: np.ndarray) -> np.ndarray:
    arr = np.clip(np.round(np.asarray(x, dtype=np.float64) * 255), 0, 255).astype(np.uint8)
    return np.repeat(arr[0][..., None], 3, axis=2) if arr.shape[0] == 1 else arr.transpose(1, 2, 0)


def image_figure(res: E.ImageExplanation, x: np.ndarray, card: ModelCard) -> go.Figure:
    """The picture with the occlusion map over it (red: supports the class, blue: argues against it)."""
    heat = res.heatmap * _points(card)
    bound = float(np.abs(heat).max()) or 1.0
    fig = go.Figure(go.Image(z=_rgb(x), hoverinfo="skip"))
    fig.add_trace(go.Heatmap(z=heat, colorscale="RdBu_r", zmin=-bound, zmax=bound, opacity=0.55,
                             colorbar=dict(title=dict(text=t("explain.image.colorbar"), side="top"), thickness=10,
                                           orientation="h", x=0.5, xanchor="center", y=-0.22, yanchor="top",
                                           len=0.9),
                             hovertemplate=f"{t('explain.image.x')} %{{x}}<br>{t('explain.image.y')} %{{y}}"
                                           f"<br>{t('explain.image.colorbar')}: %{{z:.2f}}<extra></extra>"))
    fig.update_yaxes(autorange="reversed", scaleanchor="x", constrain="domain")
    fig.update_xaxes(constrain="domain")
    style(fig, t("explain.image.chart", label=_class_name(card, res.target)), t("explain.image.x"),
          t("explain.image.y"), height=460)
    fig.update_layout(margin=dict(b=90))
    return fig


def _show_image(res: E.ImageExplanation, x: np.ndarray, card: ModelCard, key: str) -> None:
    st.caption(t("explain.image.method", w=res.window, s=res.stride, label=_class_name(card, res.target)))
    chart(image_figure(res, x, card), key=f"explain_image:{key}")


# ============================================================================ texts

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~:$^=&\"'])")


def md_escape(text: str) -> str:
    """User text made inert for st.markdown: every markdown/directive character backslash-escaped."""
    return _MD_SPECIAL.sub(r"\\\1", text.replace("\n", " "))


def word_chips(res: E.TextExplanation, towards: str = GOOD, away: str = BAD) -> str:
    """The words as markdown: the background colour is that of the class a word pushes towards (`towards`
    for the explained class, `away` otherwise; see push_colours), bold for the strongest."""
    top = float(np.abs(res.scores).max()) if len(res.scores) else 0.0
    parts = []
    for word, s in zip(res.words, res.scores, strict=False):
        w = md_escape(word)
        if top <= 0 or abs(s) < WEAK * top:
            parts.append(w)
            continue
        if abs(s) >= STRONG * top:
            w = f"**{w}**"
        colour = CHIP_COLOURS.get(towards if s > 0 else away, "blue")
        parts.append(f":{colour}-background[{w}]")
    return " ".join(parts)


def text_figure(res: E.TextExplanation, card: ModelCard) -> go.Figure:
    """Each word's push, in the colour of the class it pushes towards (see push_colours)."""
    towards, away, _ = push_colours(card, res.target)
    names = [f"{i + 1}. {w}" for i, w in enumerate(res.words)]
    values = res.scores * _points(card)
    fig = bar_rows(names, values, [towards if v > 0 else away for v in values],
                   "%{customdata}: %{x:.2f}<extra></extra>")
    return style(fig, t("explain.text.chart", label=_class_name(card, res.target)), wrap(t("explain.text.axis")),
                 None, height=fig.layout.height, showlegend=False)


def _show_texts(predictor, folder: str, sha: str, card: ModelCard, texts: list[str], key: str) -> None:
    text = texts[0]
    if len(texts) > 1:
        pick = st.selectbox(t("explain.text.pick"), list(range(len(texts))), key=f"explain_line:{key}",
                            format_func=lambda i: f"{i + 1}. {texts[i][:60]}")
        text = texts[pick or 0]
    res = _text(predictor, folder, sha, text)
    label = _class_name(card, res.target)
    if res.method == E.INTEGRATED_GRADIENTS:
        st.caption(t("explain.text.method.ig", steps=E.IG_STEPS, label=label))
        if (card.arch_config or {}).get("ngram_buckets"):
            st.caption(t("explain.text.method.ig_wide"))
    else:
        st.caption(t("explain.text.method.ablation", label=label))
    towards, away, other = push_colours(card, res.target)
    st.markdown(word_chips(res, towards, away))
    if other is not None:
        st.caption(t("explain.text.legend", towards=colour_word(towards), away=colour_word(away), label=label,
                     other=label_text(other)))
    else:
        st.caption(t("explain.text.legend_away", towards=colour_word(towards), away=colour_word(away), label=label))
    chart(text_figure(res, card), key=f"explain_text:{key}")
    if res.method == E.INTEGRATED_GRADIENTS and res.baseline_score is not None:
        st.caption(t("explain.text.completeness", total=f"{res.total * 100:+.1f}", score=f"{res.score:.1%}",
                     base=f"{res.baseline_score:.1%}", delta=f"{(res.delta or 0.0) * 100:.2f}"))
    if res.truncated:
        st.caption("ℹ️ " + t("explain.text.truncated",
                            n=card.preprocessing.get("max_length", "—")))


# ============================================================================ tables

def contributions_figure(res: E.TabularContributions, card: ModelCard, feature_label: Callable,
                         value_label: Callable) -> go.Figure:
    """This row's Shapley contributions, the largest on top, each in the colour of the class it pushes towards
    (regression: teal up, rose down)."""
    order = np.argsort(-np.abs(res.contributions))[:TOP_FEATURES]
    names = [f"{feature_label(res.features[j])} = {value_label(res.features[j], res.values[j])}" for j in order]
    values = res.contributions[order] * _points(card)
    towards, away, _ = push_colours(card, res.target)
    fig = bar_rows(names, values, [towards if v > 0 else away if v < 0 else MUTED for v in values],
                   "%{customdata}: %{x:+.3g}<extra></extra>")
    if res.target is None:
        target = card.preprocessing.get("target") or ""
        axis = t("explain.tab.contrib_axis_value", target=feature_label(target) if target else t("predict.value"))
    else:
        axis = t("explain.tab.contrib_axis_class", label=_class_name(card, res.target))
    return style(fig, t("explain.tab.contrib_title"), wrap(axis), None, height=fig.layout.height, showlegend=False)


def importance_figure(res: E.FeatureImportance, feature_label: Callable) -> go.Figure:
    """Permutation importance, the most relied-on input on top, with the spread across shuffles."""
    order = np.argsort(-res.mean)[:TOP_FEATURES]
    fig = bar_rows([feature_label(res.features[j]) for j in order], res.mean[order],
                   [GOOD if v > 0 else MUTED for v in res.mean[order]], "%{customdata}: %{x:.4f}<extra></extra>")
    fig.update_traces(error_x=dict(type="data", array=res.std[order], color=MUTED))
    return style(fig, t("explain.tab.imp_title"), wrap(t("explain.tab.imp_axis", metric=metric_name(res.metric))),
                 None, height=fig.layout.height, showlegend=False)


def _outcome(value: float, card: ModelCard, target: int | None) -> str:
    if target is None:
        return fmt(value, 4)
    return f"{value:.1%} “{_class_name(card, target)}”"


def _show_row(predictor, folder: str, sha: str, card: ModelCard, row: dict, key: str, feature_label: Callable,
              value_label: Callable) -> None:
    this, whole = st.tabs([t("explain.tab.this"), t("explain.tab.model")])
    with this:
        if not torch_available():
            notice("explain")                 # Shapley sampling runs on PyTorch; the importances below do not
        else:
            _show_contributions(predictor, folder, sha, card, row, key, feature_label, value_label)
    with whole:
        try:
            imp = _importance(predictor, folder, sha)
        except DataError:
            st.info(t("explain.tab.imp_missing", dataset=card.dataset or "—"), icon="ℹ️")
            return
        st.caption(t("explain.tab.imp_method", rows=imp.rows, split=tr(f"common.split.{imp.split}", imp.split),
                     repeats=imp.repeats, metric=metric_name(imp.metric), score=fmt(imp.score)))
        chart(importance_figure(imp, feature_label), key=f"explain_imp:{key}")


def _show_contributions(predictor, folder: str, sha: str, card: ModelCard, row: dict, key: str, feature_label: Callable,
                        value_label: Callable) -> None:
    items = tuple((str(k), v.item() if isinstance(v, np.generic) else v) for k, v in row.items())
    res = _row(predictor, folder, sha, items)
    st.caption(t("explain.tab.contrib_method", n=E.SHAPLEY_SAMPLES,
                 base=_outcome(res.baseline_prediction, card, res.target),
                 pred=_outcome(res.prediction, card, res.target)))
    chart(contributions_figure(res, card, feature_label, value_label), key=f"explain_row:{key}")
