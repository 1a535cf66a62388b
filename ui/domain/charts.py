"""The dataset explorer's plotly figures, built once per dataset, language and kind of rows (cached resources)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from bigmodel_core.app import domains
from bigmodel_core.app.domains import Chart, Showcase
from ui.domain.data import FEW_VALUES, SCATTER_MAX, image_data, tabular_data, text_data
from ui.domain.labels import code_order, code_text, feature_label
from ui.i18n import t
from ui.layout import BAD, GOOD, PALETTE, PRIMARY, class_colors, label_text, style, tr


@st.cache_resource(show_spinner=False, max_entries=128)
def chart_figure(dataset: str, lang: str, full: bool, n: int, column: str | None = None):
    """The explorer's n-th chart of a dataset (n = 0: the free chart of `column`), built once per language
    and per kind of rows (`full`: a download turns a sample into the full data, and so a new figure).

    Building a figure goes through plotly's slow checks (most of a domain page's rerun, see
    docs/benchmarks.md); the figure is only read afterwards, so every session shares one."""
    show = domains.showcase_of(dataset)
    data = tabular_data(dataset)
    view = display_frame(show, data)
    if n == 0:
        return _free_chart(show, data, view, column)
    return _tabular_chart(show, data, view, show.charts[n - 1], n)


def display_frame(show: Showcase, data: dict) -> pd.DataFrame:
    """The data as people read it: scaled units (°C, %) and class names in words."""
    view = data["frame"].copy()
    for col, factor in domains.display_scale(show.dataset).items():
        if col in view.columns:
            view[col] = view[col] * factor
    if data["class_names"]:
        names = [label_text(n) for n in data["class_names"]]
        view[t("domain.class")] = [names[int(v)] for v in view[data["target"]]]
    return view


def axis(show: Showcase, column: str) -> str:
    return feature_label(show.dataset, column)


def coded(show: Showcase, view: pd.DataFrame, column: str) -> pd.Series:
    """A discrete column as words (for colours and categories), in the order of its codes."""
    return view[column].map(lambda v: code_text(show.dataset, column, v))


def _tabular_chart(show: Showcase, data: dict, view: pd.DataFrame, spec: Chart, n: int):
    ds, target, classes = show.dataset, data["target"], data["class_names"]
    title = tr(f"domain.chart.{ds}.{n}", "")
    cls_col = t("domain.class")
    frame = view.copy()
    color, color_map, order = None, None, {}
    if spec.color:
        if classes and spec.color == target:
            color = cls_col
            names = [label_text(c) for c in classes]
            color_map = class_colors(names, show.positive)
            order = {cls_col: names}
        else:
            color = f"_{spec.color}"
            values = code_order(ds, spec.color, frame[spec.color].unique())
            frame[color] = coded(show, frame, spec.color)
            order = {color: [code_text(ds, spec.color, v) for v in values]}
    labels = {c: axis(show, c) for c in frame.columns}
    if color:
        labels[color] = axis(show, spec.color) if color != cls_col else cls_col

    if spec.kind == "histogram":
        fig = px.histogram(frame, x=spec.x, color=color, barmode="overlay", nbins=40, opacity=0.75,
                           histnorm="percent" if color else None, color_discrete_map=color_map,
                           color_discrete_sequence=PALETTE, category_orders=order, labels=labels)
        y = t("common.share_pct") if color else t("common.count")
        return style(fig, title, axis(show, spec.x), y, legend=labels.get(color))
    if spec.kind == "scatter":
        frame = _thin(frame, data, show)
        fig = px.scatter(frame, x=spec.x, y=spec.y, color=color, opacity=0.65, color_discrete_map=color_map,
                         color_discrete_sequence=PALETTE, category_orders=order, labels=labels)
        fig.update_traces(marker=dict(size=6))
        return style(fig, title, axis(show, spec.x), axis(show, spec.y), legend=labels.get(color))
    if spec.kind == "box":
        values = code_order(ds, spec.x, frame[spec.x].unique())
        frame["_x"] = coded(show, frame, spec.x)
        fig = px.box(frame, x="_x", y=spec.y, category_orders={"_x": [code_text(ds, spec.x, v) for v in values]},
                     color_discrete_sequence=[PRIMARY], labels=labels)
        return style(fig, title, axis(show, spec.x), axis(show, spec.y))
    if spec.kind == "mean":
        keys = [spec.x] + ([spec.color] if spec.color else [])
        grouped = frame.groupby(keys, as_index=False)[spec.y].mean()
        if spec.color:
            grouped[color] = coded(show, grouped, spec.color)
        fig = px.line(grouped, x=spec.x, y=spec.y, color=color, markers=True, color_discrete_sequence=PALETTE,
                      category_orders=order, labels=labels)
        return style(fig, title, axis(show, spec.x), t("common.mean_of", name=axis(show, spec.y)),
                     legend=labels.get(color))
    if spec.kind == "rate":
        positive = show.positive if show.positive is not None else 1
        frame["_hit"] = (frame[target] == positive) * 100.0
        grouped = frame.groupby(spec.x, as_index=False).agg(rate=("_hit", "mean"), n=("_hit", "size"))
        grouped["_x"] = coded(show, grouped, spec.x)
        order = [code_text(ds, spec.x, v) for v in code_order(ds, spec.x, grouped[spec.x])]
        fig = px.bar(grouped, x="_x", y="rate", hover_data={"n": True}, color_discrete_sequence=[BAD],
                     labels={"_x": axis(show, spec.x), "rate": "%", "n": t("common.count")},
                     category_orders={"_x": order})
        fig.update_xaxes(type="category")
        return style(fig, title, axis(show, spec.x), t("common.rate_pct", label=label_text(classes[positive])))
    if spec.kind == "classes":
        counts = frame[cls_col].value_counts().reindex([label_text(c) for c in classes]).reset_index()
        counts.columns = [cls_col, "n"]
        fig = px.bar(counts, x=cls_col, y="n", color=cls_col,
                     color_discrete_map=class_colors(list(counts[cls_col]), show.positive), text="n")
        return style(fig, title, cls_col, t("common.count"), showlegend=False)
    return None


def _thin(frame: pd.DataFrame, data: dict, show: Showcase) -> pd.DataFrame:
    """At most SCATTER_MAX points; every row of the rare (positive) class is kept."""
    if len(frame) <= SCATTER_MAX:
        return frame
    if data["class_names"] and show.positive is not None:
        rare = frame[frame[data["target"]] == show.positive]
        rest = frame.drop(rare.index)
        return pd.concat([rest.sample(max(SCATTER_MAX - len(rare), 0), random_state=0), rare])
    return frame.sample(SCATTER_MAX, random_state=0)


def _free_chart(show: Showcase, data: dict, view: pd.DataFrame, col: str):
    """'Explore any column': the distribution of one feature per class, or the target against it."""
    ds, target, classes = show.dataset, data["target"], data["class_names"]
    numeric = data["feature_types"].get(col) == "numeric"
    title = t("domain.free_title", name=axis(show, col))
    cls_col = t("domain.class")
    if classes:
        names = [label_text(c) for c in classes]
        if numeric and view[col].nunique() > FEW_VALUES:
            fig = px.histogram(view, x=col, color=cls_col, barmode="overlay", histnorm="percent", nbins=40,
                               opacity=0.75, color_discrete_map=class_colors(names, show.positive),
                               category_orders={cls_col: names})
            return style(fig, title, axis(show, col), t("common.share_pct"), legend=cls_col)
        frame = view.assign(_x=coded(show, view, col))
        order = [code_text(ds, col, v) for v in code_order(ds, col, view[col])]
        fig = px.histogram(frame, x="_x", color=cls_col, barmode="group", histnorm="percent",
                           color_discrete_map=class_colors(names, show.positive),
                           category_orders={cls_col: names, "_x": order})
        fig.update_xaxes(type="category")
        return style(fig, title, axis(show, col), t("common.share_pct"), legend=cls_col)
    if numeric and view[col].nunique() > FEW_VALUES:
        fig = px.scatter(_thin(view, data, show), x=col, y=target, opacity=0.5, color_discrete_sequence=[PRIMARY])
        fig.update_traces(marker=dict(size=5))
        return style(fig, title, axis(show, col), axis(show, target))
    frame = view.assign(_x=coded(show, view, col))
    order = [code_text(ds, col, v) for v in code_order(ds, col, view[col])]
    fig = px.box(frame, x="_x", y=target, color_discrete_sequence=[PRIMARY], category_orders={"_x": order})
    fig.update_xaxes(type="category")
    return style(fig, title, axis(show, col), axis(show, target))


def split_counts(counts: dict, names: list[str], full: bool = True) -> pd.DataFrame:
    """Examples per class and split, long format: cls, split, n (a sample has its test split only)."""
    splits = ("train", "val", "test") if full else ("test",)
    return pd.DataFrame({"cls": names * len(splits),
                         "split": [t(f"common.split.{s}") for s in splits for _ in names],
                         "n": np.concatenate([counts[s] for s in splits])})


@st.cache_resource(show_spinner=False, max_entries=16)
def image_figures(dataset: str, lang: str, full: bool):
    """The image explorer's two charts (examples per class, mean colour per class), once per language and `full`."""
    data = image_data(dataset)
    names = [label_text(c) for c in data["class_names"]]
    counts = split_counts(data["counts"], names, data["full"])
    fig = px.bar(counts, x="cls", y="n", color="split", color_discrete_sequence=[PRIMARY, "#A5B4FC", GOOD])
    title = tr(f"domain.chart.{dataset}.1", "") if data["full"] else t("data.chart.per_class_sample")
    per_class = style(fig, title, t("domain.class"), t("common.count"), legend=t("common.split"),
                      showlegend=data["full"])
    colour = data["colour"]
    fig = go.Figure([go.Bar(name=t(f"common.rgb.{c}"), x=names, y=colour[:, i], marker_color=hexc)
                     for i, (c, hexc) in enumerate([("r", "#EF4444"), ("g", "#22C55E"), ("b", "#3B82F6")])])
    fig.update_layout(barmode="group")
    return per_class, style(fig, tr(f"domain.chart.{dataset}.2", ""), t("domain.class"), t("common.mean_pixel"))


@st.cache_resource(show_spinner=False, max_entries=16)
def text_figures(dataset: str, lang: str, full: bool):
    """The text explorer's two charts (texts per class and split, lengths per class), once per language and `full`."""
    show = domains.showcase_of(dataset)
    data = text_data(dataset)
    names = [label_text(c) for c in data["class_names"]]
    unit = t("domain.chars") if data["language"] == "zh" else t("domain.words")
    colors = class_colors(names, show.positive)
    counts = split_counts(data["counts"], names, data["full"])
    if data["full"]:
        fig = px.bar(counts, x="split", y="n", color="cls", barmode="group", color_discrete_map=colors, text="n")
        fig = style(fig, tr(f"domain.chart.{dataset}.1", ""), t("common.split"), t("common.count"),
                    legend=t("domain.class"))
    else:
        fig = px.bar(counts, x="cls", y="n", color="cls", color_discrete_map=colors, text="n")
        fig = style(fig, t("data.chart.per_class_sample"), t("domain.class"), t("common.count"), showlegend=False)
    lengths = pd.DataFrame({"len": np.minimum(data["lengths"], np.percentile(data["lengths"], 99)),
                            "cls": [names[i] for i in data["all_labels"]]})
    hist = px.histogram(lengths, x="len", color="cls", barmode="overlay", histnorm="percent", nbins=40, opacity=0.75,
                        color_discrete_map=colors, category_orders={"cls": names})
    return fig, style(hist, tr(f"domain.chart.{dataset}.2", ""), t("domain.length_axis", unit=unit),
                      t("common.share_pct"), legend=t("domain.class"))
