"""The shared renderer of the eight domain pages: use cases, a dataset explorer and a hands-on model.

A page file only calls `render("<domain id>")`. What each domain shows comes
from `bigmodel_core.app.domains`; words come from the translation tables. Datasets
are cached with `st.cache_data`, ONNX Runtime predictors with
`st.cache_resource` (keyed by model folder + the sha256 in its card), and the
hands-on panel is a fragment, so moving a slider re-runs only the prediction.
Every answer has an "Explain this prediction" expander (`ui/explain_view.py`).
The chosen example lives in the address (`?example=` — a real row's index, a test
image's number, or the text; `&dataset=` on pages with several datasets), so a link
opens the page on it.
"""
from __future__ import annotations

import base64
import io
import time

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from bigmodel_core.app import domains
from bigmodel_core.app.domains import Chart, Domain, Showcase, slug
from bigmodel_core.data import catalog
from bigmodel_core.errors import BigModelError, DataError, ModelError
from bigmodel_core.paths import models_dir
from bigmodel_core.serve import registry
from bigmodel_core.serve.metrics import primary_metric
from ui import explain_view, links
from ui.data_panel import download_panel, explain_problem, sample_notice
from ui.i18n import current, t
from ui.layout import (
    BAD,
    GOOD,
    PALETTE,
    PRIMARY,
    chart,
    class_colors,
    dataset_text,
    empty_state,
    fact_cards,
    fmt,
    label_text,
    metric_name,
    model_title,
    page_header,
    provider_caption,
    show_error,
    style,
    tr,
)
from ui.predict_tools import feature_widget_spec, model_value, widget_value

SAMPLE_ROWS = 300          # rows in the explorer's table
IMAGE_SAMPLE = 240         # test images offered in the image picker
SCATTER_MAX = 4000         # points drawn in a scatter (the rare class is always kept whole)
FEW_VALUES = 12            # numeric features with at most this many values get a step slider


# ============================================================================ cached loads

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
    pred = predictor(str(entry.folder), entry.card["sha256"])
    t0 = time.perf_counter()
    out = pred.predict(inputs)
    total = (time.perf_counter() - t0) * 1000
    return out, pred.provider, pred.last_latency_ms, total


# ============================================================================ labels

def feature_label(dataset: str, column: str) -> str:
    return tr(f"domain.feat.{dataset}.{slug(column)}", column)


def _code_key(value) -> str:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return str(value)
    return str(int(v)) if v.is_integer() else f"{v:g}"


def code_text(dataset: str, column: str, value) -> str:
    """A coded value in words where the data has a code book (weathersit 1 → 'clear'), else the value."""
    codes = tr(f"domain.codes.{dataset}.{slug(column)}", None)
    key = _code_key(value)
    if isinstance(codes, dict) and key in codes:
        return codes[key]
    if isinstance(value, str):
        return tr(f"common.value.{slug(value)}", value)
    return key if isinstance(value, (int, float, np.integer, np.floating)) else str(value)


def value_text(dataset: str, column: str, value) -> str:
    """A value as the data (and the model) holds it, written as people read it: in display units (the bike
    data's temperature 0.5 → '20.5', °C), codes in words (weather 1 → 'clear'), other numbers rounded.
    The explanations of the domain pages and of the predict page both label their bars with it."""
    if isinstance(value, str):
        return code_text(dataset, column, value)
    if column in domains.display_scale(dataset):
        return fmt(domains.to_display(dataset, column, value))
    shown = code_text(dataset, column, value)
    if shown != _code_key(value):
        return shown                                                # a code in words
    v = float(value)
    return f"{int(v):,}" if v.is_integer() else fmt(v)              # hour 12, not 12.0


def has_codes(dataset: str, column: str) -> bool:
    """Whether the column's values have names in words (a code book) for this dataset."""
    return isinstance(tr(f"domain.codes.{dataset}.{slug(column)}", None), dict)


def code_order(dataset: str, column: str, values) -> list:
    """Distinct values in code-book order (L, M, H) where there is one, else sorted."""
    codes = tr(f"domain.codes.{dataset}.{slug(column)}", None)
    values = sorted(set(values))
    if isinstance(codes, dict):
        keys = list(codes)
        return sorted(values, key=lambda v: keys.index(_code_key(v)) if _code_key(v) in keys else len(keys))
    return values


def dataset_title(dataset: str) -> str:
    return tr(f"domain.ds.{dataset}.title", catalog.get(dataset).title)


def unit_of(dataset: str) -> str:
    return tr(f"domain.unit.{dataset}", "")


# ============================================================================ the page

def render(domain_id: str) -> None:
    dom = domains.get(domain_id)
    head, action = st.columns([3, 1], vertical_alignment="bottom")
    with head:
        page_header(dom.icon, t(f"domain.{dom.id}.title"), t(f"domain.{dom.id}.tagline"))
    _use_cases(dom)
    _read_link(dom)
    show = _pick_showcase(dom)
    with action:
        if st.button(t("domain.train_button"), type="primary", key=f"train:{dom.id}", width="stretch",
                     help=t("domain.train_help", dataset=dataset_title(show.dataset))):
            st.session_state["train_preset"] = show.train_preset()
            st.switch_page("pages/train.py")
    tab_model, tab_data = st.tabs([f"🤖 {t('domain.model_title')}", f"📊 {t('domain.data_title')}"],
                                  key=f"tabs:{dom.id}")        # each page opens on its own model tab
    with tab_model:
        model_panel(dom.id, show.dataset)
    with tab_data:
        _explorer(show)


# ---------------------------------------------------------------------------- the example in the address

LINK_KEYS = ("dataset", "example")
MAX_LINK_TEXT = 1500                     # longer texts stay out of the address


def _read_link(dom: Domain) -> None:
    """A link opened in this session for the first time: its dataset now, its example for the panel to load."""
    link = {k: st.query_params[k] for k in LINK_KEYS if k in st.query_params}
    if not links.is_new(dom.id, link):
        return
    links.remember(dom.id, link)
    if link.get("dataset") in dom.datasets and len(dom.showcases) > 1:
        st.session_state[f"ds:{dom.id}"] = link["dataset"]
    if "example" in link:
        st.session_state[f"link_example:{dom.id}"] = link["example"]


def _link_example(domain_id: str) -> str | None:
    """The example a just-opened link asks for (once)."""
    return st.session_state.pop(f"link_example:{domain_id}", None)


def _publish(domain_id: str, show: Showcase, example=None) -> None:
    """Put the dataset (on pages with several) and the chosen example in the address, keeping the rest."""
    params = {}
    if len(domains.get(domain_id).showcases) > 1:
        params["dataset"] = show.dataset
    if example is not None and len(str(example)) <= MAX_LINK_TEXT:
        params["example"] = str(example)
    links.publish(domain_id, params, lambda k: k in LINK_KEYS)


def _pick_showcase(dom: Domain) -> Showcase:
    if len(dom.showcases) == 1:
        return dom.showcases[0]
    options = dom.datasets
    default = options[0]
    if current() == "zh":         # Chinese visitors see the Chinese data first where a domain has some
        default = next((d for d in options if catalog.get(d).id == "waimai10k"), default)
    choice = st.segmented_control(t("domain.pick_dataset"), options, default=default, required=True,
                                  format_func={d: f"{_task_icon(d)} {dataset_title(d)}" for d in options}.get,
                                  key=f"ds:{dom.id}")
    return dom.showcase(choice or default)


def _task_icon(dataset: str) -> str:
    return {"image": "🖼️", "text": "💬", "tabular": "📋"}[catalog.get(dataset).task]


def _use_cases(dom: Domain) -> None:
    uses = t(f"domain.{dom.id}.uses")
    st.markdown(f"##### {t('domain.uses_title')}")
    cols = st.columns(2)
    half = (len(uses) + 1) // 2
    for col, part in zip(cols, (uses[:half], uses[half:]), strict=True):
        col.markdown("\n".join(f"- {u}" for u in part))


# ============================================================================ dataset explorer

def _explorer(show: Showcase) -> None:
    info = catalog.get(show.dataset)
    st.markdown(f"#### {dataset_title(show.dataset)}")
    st.caption(tr(f"domain.ds.{show.dataset}.about", info.description))
    try:
        with st.spinner(t("domain.loading")):
            if show.task == "tabular":
                _explore_tabular(show)
            elif show.task == "image":
                _explore_images(show)
            else:
                _explore_texts(show)
    except DataError as exc:
        explain_problem(exc)
        download_panel(show.dataset, f"explore:{show.dataset}")
    st.caption(t("domain.citation", citation=info.citation, licence=dataset_text(info, "licence"),
                 source=_source_link(info.source)))


def _source_link(source: str) -> str:
    """A dataset's source as a short link ('archive.ics.uci.edu'), or the package it ships in."""
    from urllib.parse import urlparse

    host = urlparse(source).netloc
    if host:
        return f"[{host}]({source})"
    package = {"sklearn": "scikit-learn", "skimage": "scikit-image"}.get(source.split(".")[0].split("/")[0],
                                                                        source.split("/")[0])
    return t("data.source.package", name=package)


def _sample_notice(show: Showcase, data: dict, n: int, what: str) -> None:
    if not data["full"]:
        sample_notice(show.dataset, n, data["rows_in_full"], what, f"explore:{show.dataset}", data["data_problem"])


def _rows_text(data: dict, n: int) -> str:
    return f"{n:,}" if data["full"] else t("data.rows_of", n=f"{n:,}", total=f"{data['rows_in_full']:,}")


def _charts_caption(data: dict, n: int, what: str) -> None:
    if not data["full"]:
        st.caption(t("data.charts_from_sample", n=n, what=t(f"data.what.{what}")))


def _explore_tabular(show: Showcase) -> None:
    data = tabular_data(show.dataset)
    frame, target = data["frame"], data["target"]
    view = _display_frame(show, data)
    classes = data["class_names"]
    _sample_notice(show, data, len(frame), "rows")
    fact_cards([
        (t("domain.rows"), _rows_text(data, len(frame))),
        (t("domain.features"), f"{len(frame.columns) - 1}"),
        (t("domain.target"), feature_label(show.dataset, target)),
        (t("domain.kind"), t(f"common.kind.{show.kind}")),
    ])
    lang = current()
    figs = [_chart_figure(show.dataset, lang, data["full"], i + 1) for i in range(len(show.charts))]
    slots = [col for _ in range((len(figs) + 2) // 2) for col in st.columns(2, gap="medium")]
    for slot, fig in zip(slots, figs, strict=False):
        with slot:
            if fig is not None:
                chart(fig)
    with slots[len(figs)]:
        features = [c for c in frame.columns if c != target]
        column = st.selectbox(t("domain.explore_column"), features, key=f"explore:{show.dataset}",
                              format_func={c: _axis(show, c) for c in features}.get)
        chart(_chart_figure(show.dataset, lang, data["full"], 0, column))
    _charts_caption(data, len(frame), "rows")
    st.markdown(f"##### {t('domain.sample_title')}")
    sample = view.sample(min(SAMPLE_ROWS, len(view)), random_state=0)
    first = t("domain.class") if classes else target
    if classes:
        sample = sample.drop(columns=[target])
    sample = sample[[first] + [c for c in sample.columns if c != first]]
    for column in sample.columns:                                  # codes as words (weather 1 → clear)
        if has_codes(show.dataset, column):
            sample[column] = _coded(show, sample, column)
    sample = sample.rename(columns={c: feature_label(show.dataset, c) for c in sample.columns})
    st.dataframe(sample, height=260, width="stretch", hide_index=True)
    st.caption(t("domain.sample_caption", n=len(sample)))


@st.cache_resource(show_spinner=False, max_entries=128)
def _chart_figure(dataset: str, lang: str, full: bool, n: int, column: str | None = None):
    """The explorer's n-th chart of a dataset (n = 0: the free chart of `column`), built once per language
    and per kind of rows (`full`: a download turns a sample into the full data, and so a new figure).

    Building a figure goes through plotly's slow checks (most of a domain page's rerun, see
    docs/benchmarks.md); the figure is only read afterwards, so every session shares one."""
    show = domains.showcase_of(dataset)
    data = tabular_data(dataset)
    view = _display_frame(show, data)
    if n == 0:
        return _free_chart(show, data, view, column)
    return _tabular_chart(show, data, view, show.charts[n - 1], n)


def _display_frame(show: Showcase, data: dict) -> pd.DataFrame:
    """The data as people read it: scaled units (°C, %) and class names in words."""
    view = data["frame"].copy()
    for col, factor in domains.display_scale(show.dataset).items():
        if col in view.columns:
            view[col] = view[col] * factor
    if data["class_names"]:
        names = [label_text(n) for n in data["class_names"]]
        view[t("domain.class")] = [names[int(v)] for v in view[data["target"]]]
    return view


def _axis(show: Showcase, column: str) -> str:
    return feature_label(show.dataset, column)


def _coded(show: Showcase, view: pd.DataFrame, column: str) -> pd.Series:
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
            frame[color] = _coded(show, frame, spec.color)
            order = {color: [code_text(ds, spec.color, v) for v in values]}
    labels = {c: _axis(show, c) for c in frame.columns}
    if color:
        labels[color] = _axis(show, spec.color) if color != cls_col else cls_col

    if spec.kind == "histogram":
        fig = px.histogram(frame, x=spec.x, color=color, barmode="overlay", nbins=40, opacity=0.75,
                           histnorm="percent" if color else None, color_discrete_map=color_map,
                           color_discrete_sequence=PALETTE, category_orders=order, labels=labels)
        y = t("common.share_pct") if color else t("common.count")
        return style(fig, title, _axis(show, spec.x), y, legend=labels.get(color))
    if spec.kind == "scatter":
        frame = _thin(frame, data, show)
        fig = px.scatter(frame, x=spec.x, y=spec.y, color=color, opacity=0.65, color_discrete_map=color_map,
                         color_discrete_sequence=PALETTE, category_orders=order, labels=labels)
        fig.update_traces(marker=dict(size=6))
        return style(fig, title, _axis(show, spec.x), _axis(show, spec.y), legend=labels.get(color))
    if spec.kind == "box":
        values = code_order(ds, spec.x, frame[spec.x].unique())
        frame["_x"] = _coded(show, frame, spec.x)
        fig = px.box(frame, x="_x", y=spec.y, category_orders={"_x": [code_text(ds, spec.x, v) for v in values]},
                     color_discrete_sequence=[PRIMARY], labels=labels)
        return style(fig, title, _axis(show, spec.x), _axis(show, spec.y))
    if spec.kind == "mean":
        keys = [spec.x] + ([spec.color] if spec.color else [])
        grouped = frame.groupby(keys, as_index=False)[spec.y].mean()
        if spec.color:
            grouped[color] = _coded(show, grouped, spec.color)
        fig = px.line(grouped, x=spec.x, y=spec.y, color=color, markers=True, color_discrete_sequence=PALETTE,
                      category_orders=order, labels=labels)
        return style(fig, title, _axis(show, spec.x), t("common.mean_of", name=_axis(show, spec.y)),
                     legend=labels.get(color))
    if spec.kind == "rate":
        positive = show.positive if show.positive is not None else 1
        frame["_hit"] = (frame[target] == positive) * 100.0
        grouped = frame.groupby(spec.x, as_index=False).agg(rate=("_hit", "mean"), n=("_hit", "size"))
        grouped["_x"] = _coded(show, grouped, spec.x)
        order = [code_text(ds, spec.x, v) for v in code_order(ds, spec.x, grouped[spec.x])]
        fig = px.bar(grouped, x="_x", y="rate", hover_data={"n": True}, color_discrete_sequence=[BAD],
                     labels={"_x": _axis(show, spec.x), "rate": "%", "n": t("common.count")},
                     category_orders={"_x": order})
        fig.update_xaxes(type="category")
        return style(fig, title, _axis(show, spec.x), t("common.rate_pct", label=label_text(classes[positive])))
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
    title = t("domain.free_title", name=_axis(show, col))
    cls_col = t("domain.class")
    if classes:
        names = [label_text(c) for c in classes]
        if numeric and view[col].nunique() > FEW_VALUES:
            fig = px.histogram(view, x=col, color=cls_col, barmode="overlay", histnorm="percent", nbins=40,
                               opacity=0.75, color_discrete_map=class_colors(names, show.positive),
                               category_orders={cls_col: names})
            return style(fig, title, _axis(show, col), t("common.share_pct"), legend=cls_col)
        frame = view.assign(_x=_coded(show, view, col))
        order = [code_text(ds, col, v) for v in code_order(ds, col, view[col])]
        fig = px.histogram(frame, x="_x", color=cls_col, barmode="group", histnorm="percent",
                           color_discrete_map=class_colors(names, show.positive),
                           category_orders={cls_col: names, "_x": order})
        fig.update_xaxes(type="category")
        return style(fig, title, _axis(show, col), t("common.share_pct"), legend=cls_col)
    if numeric and view[col].nunique() > FEW_VALUES:
        fig = px.scatter(_thin(view, data, show), x=col, y=target, opacity=0.5, color_discrete_sequence=[PRIMARY])
        fig.update_traces(marker=dict(size=5))
        return style(fig, title, _axis(show, col), _axis(show, target))
    frame = view.assign(_x=_coded(show, view, col))
    order = [code_text(ds, col, v) for v in code_order(ds, col, view[col])]
    fig = px.box(frame, x="_x", y=target, color_discrete_sequence=[PRIMARY], category_orders={"_x": order})
    fig.update_xaxes(type="category")
    return style(fig, title, _axis(show, col), _axis(show, target))


def _split_counts(counts: dict, names: list[str], full: bool = True) -> pd.DataFrame:
    """Examples per class and split, long format: cls, split, n (a sample has its test split only)."""
    splits = ("train", "val", "test") if full else ("test",)
    return pd.DataFrame({"cls": names * len(splits),
                         "split": [t(f"common.split.{s}") for s in splits for _ in names],
                         "n": np.concatenate([counts[s] for s in splits])})


def _explore_images(show: Showcase) -> None:
    data = image_data(show.dataset)
    names = [label_text(c) for c in data["class_names"]]
    _sample_notice(show, data, data["rows"], "images")
    height, width = data["images"].shape[2:]
    fact_cards([
        (t("domain.rows"), _rows_text(data, data["rows"])),
        (t("domain.classes"), f"{len(names)}"),
        (t("domain.image_size"),
         f"{height} × {width} × RGB" if data["images"].shape[1] == 3 else f"{height} × {width}"),
        (t("domain.kind"), t(f"common.kind.{show.kind}")),
    ])
    left, right = st.columns(2)
    per_class, colour = _image_figures(show.dataset, current(), data["full"])
    with left:
        chart(per_class)
    with right:
        chart(colour)
    _charts_caption(data, data["rows"], "images")
    st.markdown(f"##### {t('domain.sample_title')}")
    cols = st.columns(8)
    for i, col in enumerate((cols * 2)[:len(data["images"])]):
        img = data["images"][i]
        col.image(img.transpose(1, 2, 0) if img.shape[0] == 3 else img[0], width="stretch",
                  caption=names[int(data["labels"][i])])
    urls = thumbnails(show.dataset)
    table = pd.DataFrame({t("domain.image"): urls, t("domain.class"): [names[i] for i in data["labels"][:len(urls)]]})
    st.dataframe(table, hide_index=True, width="stretch", height=260, row_height=70,
                 column_config={t("domain.image"): st.column_config.ImageColumn(width="small")})
    st.caption(t("domain.sample_caption", n=len(table)))


@st.cache_resource(show_spinner=False, max_entries=16)
def _image_figures(dataset: str, lang: str, full: bool):
    """The image explorer's two charts (examples per class, mean colour per class), once per language and `full`."""
    data = image_data(dataset)
    names = [label_text(c) for c in data["class_names"]]
    counts = _split_counts(data["counts"], names, data["full"])
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
def _text_figures(dataset: str, lang: str, full: bool):
    """The text explorer's two charts (texts per class and split, lengths per class), once per language and `full`."""
    show = domains.showcase_of(dataset)
    data = text_data(dataset)
    names = [label_text(c) for c in data["class_names"]]
    unit = t("domain.chars") if data["language"] == "zh" else t("domain.words")
    colors = class_colors(names, show.positive)
    counts = _split_counts(data["counts"], names, data["full"])
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


def _explore_texts(show: Showcase) -> None:
    data = text_data(show.dataset)
    names = [label_text(c) for c in data["class_names"]]
    unit = t("domain.chars") if data["language"] == "zh" else t("domain.words")
    _sample_notice(show, data, len(data["lengths"]), "texts")
    fact_cards([
        (t("domain.rows"), _rows_text(data, len(data["lengths"]))),
        (t("domain.classes"), " / ".join(names)),
        (t("domain.median_length"), f"{int(np.median(data['lengths']))} {unit}"),
        (t("domain.kind"), t(f"common.kind.{show.kind}")),
    ])
    left, right = st.columns(2)
    per_class, lengths = _text_figures(show.dataset, current(), data["full"])
    with left:
        chart(per_class)
    with right:
        chart(lengths)
    _charts_caption(data, len(data["lengths"]), "texts")
    st.markdown(f"##### {t('domain.sample_title')}")
    table = pd.DataFrame({t("domain.text"): data["texts"], t("domain.class"): [names[i] for i in data["labels"]]})
    st.dataframe(table, hide_index=True, width="stretch", height=260,
                 column_config={t("domain.text"): st.column_config.TextColumn(width="large")})
    st.caption(t("domain.sample_caption", n=len(table)))


# ============================================================================ hands-on model

@st.fragment
def model_panel(domain_id: str, dataset: str) -> None:
    show = domains.get(domain_id).showcase(dataset)
    entries, missing = [], []
    for model_id in show.models:
        entry, error = find_model(model_id)
        if error is not None:
            st.error(t("domain.model_broken", model=model_id))
            show_error(error)
        elif entry is None:
            missing.append(model_id)
        else:
            entries.append(entry)
    if not entries:
        if missing:
            empty_state(t("domain.not_built", models=", ".join(missing)), domains.build_command(missing))
        return
    try:
        if show.task == "tabular":
            _tabular_panel(show, entries, missing, domain_id)
        elif show.task == "image":
            _image_panel(show, entries, missing, domain_id)
        else:
            _text_panel(show, entries, missing, domain_id)
    except BigModelError as exc:
        show_error(exc)


def _model_line(entry) -> None:
    card = entry.card
    problem, labels = card.get("problem", "classification"), card.get("labels") or []
    key = primary_metric(problem, len(labels) or None)
    test = (card.get("metrics") or {}).get("test") or {}
    value = test.get(key)
    st.markdown(f"**{model_title(card) or entry.id}**")
    st.caption(t("domain.model_line", params=fmt(card.get("parameters")), metric=metric_name(key),
                 value=fmt(value), model=entry.id))


def _results(show: Showcase, entries, inputs, truth=None, missing: list[str] = ()) -> None:
    """One result block per model (side by side when a domain compares models)."""
    n = len(entries) + len(missing)
    cols = st.columns(n) if n > 1 else [st.container()]
    for col, model_id in zip(cols[len(entries):], missing, strict=False):
        with col, st.container(border=True):
            st.markdown(f"**{model_id}**")
            empty_state(t("domain.not_built", models=model_id), domains.build_command([model_id]))
    answered = []
    for col, entry in zip(cols, entries, strict=False):
        with col, st.container(border=True):
            _model_line(entry)
            try:
                out, provider, ort_ms, total_ms = run_model(entry, inputs)
            except BigModelError as exc:
                show_error(exc, warning=isinstance(exc, DataError) and show.task == "text")
                continue
            if len(out) == 1:
                _one_result(show, entry, out[0], truth)
            else:
                _many_results(entry, inputs, out)
            provider_caption(provider, ort_ms, total_ms)
            if n == 1:
                _explain(show, entry, inputs)
            else:
                answered.append(entry)
    for entry in answered:              # models side by side: their explanations below, at full width
        _explain(show, entry, inputs, model_name=entry.id)


def _one_result(show: Showcase, entry, pred, truth=None) -> None:
    if pred.value is not None:
        unit = unit_of(show.dataset)
        delta = None
        if truth is not None:
            delta = t("domain.vs_truth", value=fmt(truth), unit=unit)
        target = feature_label(show.dataset, entry.card["preprocessing"].get("target", ""))
        st.metric(t("domain.predicted", target=target),
                  f"{pred.value:,.1f} {unit}".strip(), delta=delta, delta_color="off", delta_arrow="off")
        _regression_context(show, pred.value)
        return
    labels = entry.card.get("labels") or []
    names = [label_text(n) for n in labels]
    top = label_text(pred.label)
    st.metric(t("domain.prediction"), top, delta=t("domain.confidence", p=f"{pred.scores[pred.label] * 100:.1f}"),
              delta_color="off", delta_arrow="off")
    if truth is not None:
        st.caption(t("domain.true_label", label=label_text(truth)))
    scores = pd.DataFrame({"cls": names, "p": [pred.scores[n] * 100 for n in labels]}).sort_values("p")
    scores = scores.tail(10)
    colors = class_colors(names, show.positive)
    fig = go.Figure(go.Bar(x=scores["p"], y=scores["cls"], orientation="h",
                           marker_color=[colors.get(c, PRIMARY) if len(names) == 2 else
                                         (PRIMARY if c == top else "#C7D2FE") for c in scores["cls"]],
                           text=[f"{p:.1f}%" for p in scores["p"]], textposition="auto"))
    fig.update_xaxes(range=[0, 100])
    chart(style(fig, t("domain.prob_title"), t("domain.prob_axis"), None, height=90 + 28 * len(scores)),
          key=f"prob:{entry.id}")


def _many_results(entry, inputs, out) -> None:
    rows = []
    for text, p in zip(inputs, out, strict=False):
        rows.append({t("domain.text"): text, t("domain.prediction"): label_text(p.label),
                     t("domain.confidence_col"): p.scores[p.label] * 100})
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", column_config={
        t("domain.confidence_col"): st.column_config.ProgressColumn(format="%.1f%%", min_value=0, max_value=100)})


def _explain(show: Showcase, entry, inputs, model_name: str | None = None) -> None:
    """The "Explain this prediction" expander below one model's result."""
    pred = predictor(str(entry.folder), entry.card["sha256"])
    kwargs = {}
    if show.task == "image":
        from bigmodel_core.serve.preprocess import prepare_images

        kwargs["image"] = prepare_images([inputs[0]], entry.card["preprocessing"])[0]
    elif show.task == "text":
        kwargs["texts"] = [str(x) for x in inputs]
    else:
        kwargs.update(row=inputs.iloc[0].to_dict(),
                      value_label=lambda column, value: value_text(show.dataset, column, value),
                      feature_label=lambda column: feature_label(show.dataset, column))
    explain_view.panel(pred, entry.folder, entry.card, key=f"domain:{show.dataset}:{entry.id}",
                       model_name=model_name, **kwargs)


def _regression_context(show: Showcase, value: float) -> None:
    """Where the prediction falls among the dataset's target values."""
    try:
        data = tabular_data(show.dataset)
    except DataError:
        return
    target = data["target"]
    fig = px.histogram(data["frame"], x=target, nbins=40, color_discrete_sequence=["#C7D2FE"])
    fig.add_vline(x=value, line_color=PRIMARY, line_width=3,
                  annotation_text=t("domain.this_prediction"), annotation_position="top")
    unit = unit_of(show.dataset)
    axis = feature_label(show.dataset, target)
    axis += f" ({unit})" if unit and unit not in axis else ""
    chart(style(fig, t("domain.where_title"), axis, t("common.count"), height=250, showlegend=False),
          key=f"where:{show.dataset}")


# ---------------------------------------------------------------------------- tabular form

def _widget_key(model_id: str, column: str) -> str:
    return f"in:{model_id}:{slug(column)}"


def _form_specs(show: Showcase, card: dict, data: dict | None) -> list[dict]:
    """Card features → widget specs: kind (select | steps | slider), options or range, default, scale."""
    specs = []
    frame = data["frame"] if data else None
    for f in card["preprocessing"].get("features", []):
        name = f["name"]
        scale = float(domains.display_scale(show.dataset).get(name, 1.0))
        spec = dict(name=name, scale=scale, label=feature_label(show.dataset, name))
        if f["type"] == "categorical":
            cats = [str(c) for c in f["categories"]]
            spec.update(kind="select", options=cats, default=str(f.get("default", cats[0])))
        else:
            integer = bool(f.get("integer"))
            values = None
            if frame is not None and name in frame.columns:
                uniq = np.sort(pd.to_numeric(frame[name], errors="coerce").dropna().unique())
                if len(uniq) <= FEW_VALUES:
                    values = uniq
            if values is not None:
                default = float(f["default"]) * scale
                opts = [(int(v) if integer else round(float(v) * scale, 6)) for v in values]
                default = min(opts, key=lambda o: abs(o - default))
                spec.update(kind="steps", options=opts, default=default)
            else:                                   # the predict page's slider, in display units too
                w = feature_widget_spec(f, scale)
                spec.update(kind="slider", min=w["min"], max=max(w["max"], w["min"] + w["step"]),
                            default=w["default"], step=w["step"], integer=w["integer"])
        specs.append(spec)
    return specs


def _coerce(spec: dict, value):
    """A data value as a valid widget value for this spec (display units, snapped as on the predict page)."""
    if spec["kind"] == "select":
        return str(value) if str(value) in spec["options"] else spec["default"]
    if spec["kind"] == "steps":
        v = float(value) * spec["scale"]
        return min(spec["options"], key=lambda o: abs(o - v))
    return widget_value(spec, value)


def _tabular_panel(show: Showcase, entries, missing: list[str], domain_id: str) -> None:
    entry = entries[0]
    card = entry.card
    try:
        data = tabular_data(show.dataset)
    except DataError:
        data = None
    specs = _form_specs(show, card, data)
    wanted = _link_example(domain_id)
    if wanted is not None and data is not None and str(wanted).isdigit() and int(wanted) < len(data["frame"]):
        _load_row(data, entry.id, specs, int(wanted))
    for spec in specs:
        st.session_state.setdefault(_widget_key(entry.id, spec["name"]), spec["default"])
    left, right = st.columns([5, 4], gap="large")
    with left:
        st.markdown(f"##### {t('domain.inputs_title')}")
        b1, b2 = st.columns(2)
        b1.button(t("domain.random_row"), on_click=_load_example, args=(show.dataset, entry.id, specs),
                  disabled=data is None, key=f"rand:{entry.id}", width="stretch")
        b2.button(t("domain.reset"), on_click=_reset_form, args=(entry.id, specs), key=f"reset:{entry.id}",
                  width="stretch")
        key_names = [n for n in show.key_features if any(s["name"] == n for s in specs)] or \
            [s["name"] for s in specs[:6]]
        main = [s for s in specs if s["name"] in key_names]
        main.sort(key=lambda s: key_names.index(s["name"]))
        rest = [s for s in specs if s["name"] not in key_names]
        cols = st.columns(2)
        for i, spec in enumerate(main):
            with cols[i % 2]:
                _widget(show, entry.id, spec)
        if rest:
            with st.expander(t("domain.more_features", n=len(rest))):
                cols = st.columns(3)
                for i, spec in enumerate(rest):
                    with cols[i % 3]:
                        _widget(show, entry.id, spec)
    row = {}
    for spec in specs:
        value = st.session_state[_widget_key(entry.id, spec["name"])]
        row[spec["name"]] = model_value(spec, value)                 # display units (°C, %) → model units
    truth = example = None
    loaded = st.session_state.get(f"loaded:{entry.id}")
    if loaded and all(st.session_state.get(_widget_key(entry.id, n)) == v for n, v in loaded["values"].items()):
        truth, example = loaded["truth"], loaded.get("row")
    _publish(domain_id, show, example)
    with right:
        st.markdown(f"##### {t('domain.result_title')}")
        _results(show, [entry], pd.DataFrame([row]), truth, missing)


def _widget(show: Showcase, model_id: str, spec: dict) -> None:
    key = _widget_key(model_id, spec["name"])
    if spec["kind"] == "select":
        st.selectbox(spec["label"], spec["options"], key=key,
                     format_func={v: code_text(show.dataset, spec["name"], v) for v in spec["options"]}.get)
    elif spec["kind"] == "steps":
        st.select_slider(spec["label"], spec["options"], key=key,
                         format_func={v: code_text(show.dataset, spec["name"], v) if spec["scale"] == 1.0 else fmt(v)
                                      for v in spec["options"]}.get)
    else:
        st.slider(spec["label"], min_value=spec["min"], max_value=spec["max"], step=spec["step"], key=key)


def _load_example(dataset: str, model_id: str, specs: list[dict]) -> None:
    data = tabular_data(dataset)
    counter = st.session_state.get(f"draw:{model_id}", 0) + 1
    st.session_state[f"draw:{model_id}"] = counter
    _load_row(data, model_id, specs, int(np.random.default_rng(counter).choice(data["test"])))


def _load_row(data: dict, model_id: str, specs: list[dict], index: int) -> None:
    """Put row `index` of the data into the form, remembering its true answer and its index (for the address)."""
    row = data["frame"].iloc[index]
    values = {}
    for spec in specs:
        if spec["name"] in row.index:
            value = _coerce(spec, row[spec["name"]])
            st.session_state[_widget_key(model_id, spec["name"])] = value
            values[spec["name"]] = value
    target = row[data["target"]]
    truth = data["class_names"][int(target)] if data["class_names"] else float(target)
    st.session_state[f"loaded:{model_id}"] = {"values": values, "truth": truth, "row": index}


def _reset_form(model_id: str, specs: list[dict]) -> None:
    for spec in specs:
        st.session_state[_widget_key(model_id, spec["name"])] = spec["default"]
    st.session_state.pop(f"loaded:{model_id}", None)


# ---------------------------------------------------------------------------- images

def _image_panel(show: Showcase, entries, missing: list[str], domain_id: str) -> None:
    """A gallery of real test images (each model's answers, mistakes marked) or an upload; then the answer."""
    from bigmodel_core.app.gallery import answer
    from bigmodel_core.serve.preprocess import prepare_images
    from ui import gallery_view, predict_tools

    spec = entries[0].card["preprocessing"]
    seen = (spec["width"], spec["height"])
    truth, source, example = None, None, None
    pick = f"gallery:{show.dataset}"
    wanted = _link_example(domain_id)
    if wanted is not None and str(wanted).isdigit():                 # a link to gallery image no. N (from 1)
        st.session_state[f"imgsrc:{show.dataset}"] = "test"
        st.session_state[f"{pick}:pick"] = max(1, int(wanted)) - 1
    mode = st.radio(t("domain.image_source"), ["test", "upload"], horizontal=True, key=f"imgsrc:{show.dataset}",
                    format_func={m: t(f"domain.image_{m}") for m in ("test", "upload")}.get)
    if mode == "test":
        try:
            gal = gallery_view.load_gallery(str(entries[0].folder), entries[0].card["sha256"])
        except DataError as exc:
            show_error(exc, warning=True)
            return
        if gal is None:
            st.info(t("gallery.none"), icon="🖼️")
            return
        answers = [(_short_name(entry), entry.card, answer(predictor(str(entry.folder), entry.card["sha256"]), gal))
                   for entry in entries]
        idx = gallery_view.render(pick, gal, answers, per_row=6)
        example = idx + 1
        source = gal.images[idx]
        truth = gal.class_names[int(gal.labels[idx])]
    left, right = st.columns([1, 2], gap="large")
    with left:
        st.markdown(f"##### {t('domain.inputs_title')}")
        if mode == "test":
            _show_image(source, seen)
            st.caption(t("domain.true_label", label=label_text(truth)))
        else:
            upload = st.file_uploader(t("domain.upload"), type=["png", "jpg", "jpeg", "bmp", "webp", "gif"],
                                      key=f"upload:{show.dataset}")
            if upload is None:
                st.info(t("domain.upload_hint"), icon="📷")
            else:
                source = upload.getvalue()
                _show_image(source, seen)
    _publish(domain_id, show, example)
    with right:
        st.markdown(f"##### {t('domain.result_title')}")
        if source is None:
            st.caption(t("domain.waiting_input"))
            return
        try:
            x = prepare_images([source], spec)[0]
        except DataError as exc:                         # an unreadable upload, in the page's language
            show_error(predict_tools.picture_error(exc))
            return
        gallery_view.warn([(_short_name(e), gallery_view.familiarity(e.folder, e.card, x)) for e in entries],
                          show.dataset)
        _results(show, entries, [source], truth, missing)


def _short_name(entry) -> str:
    """A model's title without its dataset ("Small CNN — CIFAR-10 photos" → "Small CNN")."""
    return (model_title(entry.card) or entry.id).split(" — ")[0].split(" (")[0].split("（")[0]


def _show_image(source, seen: tuple[int, int]) -> None:
    """The picture, enlarged, with its size and the size the model sees it at (`seen` = width, height)."""
    from PIL import Image

    from bigmodel_core.serve.preprocess import load_image

    try:
        if isinstance(source, np.ndarray):
            img = Image.fromarray(source.transpose(1, 2, 0) if source.shape[0] in (1, 3) else source)
        else:
            img = load_image(source, 3)
    except DataError:
        return                         # the prediction below reports it
    scale = max(1, 192 // max(img.size))
    shown = img.resize((img.width * scale, img.height * scale), Image.Resampling.NEAREST) if scale > 1 else img
    caption = t("domain.image_caption", w=img.width, h=img.height) if img.size == seen else \
        t("domain.image_caption_resized", w=img.width, h=img.height, mw=seen[0], mh=seen[1])
    st.image(shown, caption=caption, width=192)


# ---------------------------------------------------------------------------- texts

def _text_panel(show: Showcase, entries, missing: list[str], domain_id: str) -> None:
    key = f"text:{show.dataset}"
    wanted = _link_example(domain_id)
    if wanted is not None:                                             # a link to this text
        st.session_state[key] = str(wanted)
    st.session_state.setdefault(key, show.examples[0] if show.examples else "")
    st.markdown(f"##### {t('domain.inputs_title')}")
    if show.examples:
        st.pills(t("domain.examples"), list(range(len(show.examples))), key=f"ex:{show.dataset}",
                 format_func=lambda i: _short(show.examples[i]), on_change=_use_example, args=(show,))
    st.text_area(t("domain.text_label"), key=key, height=110, placeholder=t("domain.text_placeholder"))
    b1, b2 = st.columns([1, 3])
    b1.button(t("domain.classify"), type="primary", key=f"go:{show.dataset}")
    b2.button(t("domain.random_text"), on_click=_real_text, args=(show,), key=f"realtext:{show.dataset}")
    text = st.session_state.get(key, "")
    _publish(domain_id, show, text if text.strip() else None)
    drawn = st.session_state.get(f"truth:{show.dataset}")
    truth = drawn["truth"] if drawn and drawn["text"] == text else None
    if isinstance(drawn, dict) and drawn.get("error"):
        explain_problem(DataError(drawn["error"]))
    lines = [line for line in text.splitlines() if line.strip()] or [text]
    st.markdown(f"##### {t('domain.result_title')}")
    _results(show, entries, lines[:50], truth=truth, missing=missing)


def _real_text(show: Showcase) -> None:
    """Put a review from the test split (or the built-in examples) in the box, remembering its true label."""
    try:
        data = text_data(show.dataset)
    except DataError as exc:
        st.session_state[f"truth:{show.dataset}"] = {"text": None, "truth": None, "error": str(exc)}
        return
    counter = st.session_state.get(f"textdraw:{show.dataset}", 0) + 1
    st.session_state[f"textdraw:{show.dataset}"] = counter
    i = int(np.random.default_rng(counter).integers(len(data["test_texts"])))
    text = data["test_texts"][i]
    st.session_state[f"text:{show.dataset}"] = text
    st.session_state[f"truth:{show.dataset}"] = {"text": text,
                                                 "truth": data["class_names"][int(data["test_labels"][i])]}


def _short(text: str, n: int = 26) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def _use_example(show: Showcase) -> None:
    i = st.session_state.get(f"ex:{show.dataset}")
    if i is not None:
        st.session_state[f"text:{show.dataset}"] = show.examples[i]
