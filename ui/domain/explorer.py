"""The dataset explorer tab of a domain page: facts, charts and a sample of the rows, images or texts."""
from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from bigmodel_core.app.domains import Showcase
from bigmodel_core.data import catalog
from bigmodel_core.errors import DataError
from ui.data_panel import download_panel, explain_problem, sample_notice
from ui.domain.charts import axis, chart_figure, coded, display_frame, image_figures, text_figures
from ui.domain.data import SAMPLE_ROWS, image_data, tabular_data, text_data, thumbnails
from ui.domain.labels import dataset_title, feature_label, has_codes
from ui.i18n import current, t
from ui.layout import chart, dataset_text, fact_cards, label_text, tr


def explorer(show: Showcase) -> None:
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


def side_by_side(left_figure, right_figure) -> None:
    """Two of the explorer's charts in two columns."""
    left, right = st.columns(2)
    with left:
        chart(left_figure)
    with right:
        chart(right_figure)


def _explore_tabular(show: Showcase) -> None:
    data = tabular_data(show.dataset)
    frame, target = data["frame"], data["target"]
    view = display_frame(show, data)
    classes = data["class_names"]
    _sample_notice(show, data, len(frame), "rows")
    fact_cards([
        (t("domain.rows"), _rows_text(data, len(frame))),
        (t("domain.features"), f"{len(frame.columns) - 1}"),
        (t("domain.target"), feature_label(show.dataset, target)),
        (t("domain.kind"), t(f"common.kind.{show.kind}")),
    ])
    lang = current()
    figs = [chart_figure(show.dataset, lang, data["full"], i + 1) for i in range(len(show.charts))]
    slots = [col for _ in range((len(figs) + 2) // 2) for col in st.columns(2, gap="medium")]
    for slot, fig in zip(slots, figs, strict=False):
        with slot:
            if fig is not None:
                chart(fig)
    with slots[len(figs)]:
        features = [c for c in frame.columns if c != target]
        column = st.selectbox(t("domain.explore_column"), features, key=f"explore:{show.dataset}",
                              format_func={c: axis(show, c) for c in features}.get)
        chart(chart_figure(show.dataset, lang, data["full"], 0, column))
    _charts_caption(data, len(frame), "rows")
    st.markdown(f"##### {t('domain.sample_title')}")
    sample = view.sample(min(SAMPLE_ROWS, len(view)), random_state=0)
    first = t("domain.class") if classes else target
    if classes:
        sample = sample.drop(columns=[target])
    sample = sample[[first] + [c for c in sample.columns if c != first]]
    for column in sample.columns:                                  # codes as words (weather 1 → clear)
        if has_codes(show.dataset, column):
            sample[column] = coded(show, sample, column)
    sample = sample.rename(columns={c: feature_label(show.dataset, c) for c in sample.columns})
    st.dataframe(sample, height=260, width="stretch", hide_index=True)
    st.caption(t("domain.sample_caption", n=len(sample)))


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
    side_by_side(*image_figures(show.dataset, current(), data["full"]))
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
    side_by_side(*text_figures(show.dataset, current(), data["full"]))
    _charts_caption(data, len(data["lengths"]), "texts")
    st.markdown(f"##### {t('domain.sample_title')}")
    table = pd.DataFrame({t("domain.text"): data["texts"], t("domain.class"): [names[i] for i in data["labels"]]})
    st.dataframe(table, hide_index=True, width="stretch", height=260,
                 column_config={t("domain.text"): st.column_config.TextColumn(width="large")})
    st.caption(t("domain.sample_caption", n=len(table)))
