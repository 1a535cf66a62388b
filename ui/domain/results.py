"""A hands-on model's answer: one result block per model, its scores, where a value falls, and
"Explain this prediction" (`ui/explain_view.py`)."""
from __future__ import annotations

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from bigmodel_core.app import domains
from bigmodel_core.app.domains import Showcase
from bigmodel_core.errors import BigModelError, DataError
from bigmodel_core.serve.metrics import primary_metric
from ui import explain_view
from ui.domain.data import predictor, run_model, tabular_data
from ui.domain.labels import feature_label, unit_of, value_text
from ui.i18n import t
from ui.layout import (
    PRIMARY,
    chart,
    class_colors,
    empty_state,
    fmt,
    label_text,
    metric_name,
    model_title,
    provider_caption,
    show_error,
    style,
)


def model_line(entry) -> None:
    card = entry.card
    problem, labels = card.problem, card.labels
    key = primary_metric(problem, len(labels) or None)
    test = card.metrics.get("test") or {}
    value = test.get(key)
    st.markdown(f"**{model_title(card) or entry.id}**")
    st.caption(t("domain.model_line", params=fmt(card.parameters), metric=metric_name(key),
                 value=fmt(value), model=entry.id))


def results(show: Showcase, entries, inputs, truth=None, missing: list[str] = ()) -> None:
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
            model_line(entry)
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
        target = feature_label(show.dataset, entry.card.preprocessing.get("target", ""))
        st.metric(t("domain.predicted", target=target),
                  f"{pred.value:,.1f} {unit}".strip(), delta=delta, delta_color="off", delta_arrow="off")
        _regression_context(show, pred.value)
        return
    labels = entry.card.labels
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
    pred = predictor(str(entry.folder), entry.card.sha256)
    kwargs = {}
    if show.task == "image":
        from bigmodel_core.serve.preprocess import prepare_images

        kwargs["image"] = prepare_images([inputs[0]], entry.card.preprocessing)[0]
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
