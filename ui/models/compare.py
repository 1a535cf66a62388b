"""The models page's comparison: every model's lead score in one table, and beside its baseline in a chart."""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from ui.i18n import t
from ui.layout import MUTED, PRIMARY, chart, fmt, fmt_bytes, metric_name, style
from ui.models.cards import main_metric, score


def render(entries: list) -> list:
    """The task filter, the table and the chart; returns the models shown."""
    st.subheader(f"📊 {t('models.compare_title')}")
    tasks = sorted({e.card.task for e in entries})
    task = st.segmented_control(t("models.filter_task"), ["all"] + tasks, default="all", required=True,
                                format_func={k: t("models.all") if k == "all" else t(f"common.task.{k}")
                                             for k in ["all"] + tasks}.get,
                                key="models_task")
    shown = [e for e in entries if task in (None, "all") or e.card.task == task]
    rows = []
    for e in shown:
        c = e.card
        test = c.metrics.get("test") or {}
        base = ((c.baseline or {}).get("metrics") or {})
        main = main_metric(c)
        # Eight columns that fit a 1280-px screen; every metric, the architecture and the parity are in the card below.
        rows.append({
            t("models.col.id"): e.id + ("" if c.shipped else " 🛠️"),
            t("models.col.task"): t(f"common.task.{c.task}"),
            t("models.col.dataset"): c.dataset or "—",
            t("models.col.lead"): metric_name(main),
            t("models.col.score"): test.get(main, 0.0),
            t("models.col.baseline"): score(base.get(main)),
            t("models.col.parameters"): fmt(c.parameters),
            t("models.col.size"): fmt_bytes(c.onnx_bytes),
        })
    table = pd.DataFrame(rows)
    config = {
        t("models.col.id"): st.column_config.TextColumn(help=t("models.id_help")),
        t("models.col.task"): st.column_config.TextColumn(width="small"),
        t("models.col.lead"): st.column_config.TextColumn(width="small"),
        t("models.col.score"): st.column_config.ProgressColumn(format="%.3f", min_value=0, max_value=1, width="small",
                                                              help=t("models.score_help")),
        t("models.col.baseline"): st.column_config.TextColumn(width="small", help=t("models.baseline_help")),
        t("models.col.parameters"): st.column_config.TextColumn(width="small"),
        t("models.col.size"): st.column_config.TextColumn(width="small"),
    }
    st.dataframe(table, hide_index=True, width="stretch", column_config=config,
                 height=min(36 * (len(table) + 1) + 4, 480))

    # The lead metric of each model beside its linear baseline.
    fig = go.Figure()
    names = [f"{e.id} · {metric_name(main_metric(e.card))}" for e in shown][::-1]
    scores = [(e.card.metrics.get("test") or {}).get(main_metric(e.card)) for e in shown][::-1]
    baselines = [((e.card.baseline or {}).get("metrics") or {}).get(main_metric(e.card)) for e in shown][::-1]
    fig.add_bar(name=t("models.col.baseline"), y=names, x=baselines, orientation="h", marker_color=MUTED)
    fig.add_bar(name=t("models.this_model"), y=names, x=scores, orientation="h", marker_color=PRIMARY,
                text=[fmt(v) for v in scores], textposition="outside")
    fig.update_layout(barmode="group", bargap=0.25)
    fig.update_xaxes(range=[min([0.0] + [v for v in scores + baselines if v is not None]), 1.12])
    chart(style(fig, t("models.chart_title"), t("models.chart_y"), None, height=110 + 34 * len(shown), legend=""),
          key="models_compare")
    return shown
