"""The training studio's results: scores against the baseline, curves, confusion matrix, mistakes, export.

Imported by pages/train.py after `require_torch` (the training side needs PyTorch).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from bigmodel_core.app import jobs as J
from bigmodel_core.data.types import DatasetKind
from ui import studio as S
from ui.i18n import t
from ui.layout import chart, fmt, metric_name
from ui.train.export import export_section


def show_metrics(trained) -> None:
    rows = S.metric_rows(trained)
    if trained.baseline:
        st.caption(t("train.delta_note", baseline=trained.baseline.get("model", "")))
    cols = st.columns(len(rows) or 1)
    for col, row in zip(cols, rows, strict=False):
        delta = None
        if row["baseline"] is not None and row["model"] is not None:
            delta = f"{row['model'] - row['baseline']:+.3f}"
        col.metric(metric_name(row["name"]), fmt(row["model"]), delta=delta, border=True,
                   delta_color="normal" if S.HIGHER_IS_BETTER.get(row["name"], True) else "inverse",
                   help=t("train.baseline_value", value=fmt(row["baseline"])) if row["baseline"] is not None else None)
    if trained.baseline:
        base = trained.baseline.get("metrics", {})
        main = next((r for r in rows if r["name"] in ("r2", "roc_auc", "accuracy") and r["baseline"] is not None), None)
        if main:
            verdict = "train.baseline_beaten" if main["better"] else "train.baseline_not_beaten"
            st.caption("⚖️ " + t(verdict, baseline=trained.baseline.get("model", ""), metric=metric_name(main["name"]),
                                 model_value=fmt(main["model"]), base_value=fmt(base.get(main["name"]))))


def show_mistakes(trained, data) -> None:
    wrong = S.mistakes(trained)
    if wrong.empty:
        st.success(t("train.no_mistakes"), icon="🎯")
        return
    st.caption(t("train.mistakes_caption", n=len(wrong)))
    if data.kind == DatasetKind.IMAGE:
        cols = st.columns(8)
        for i, row in enumerate(wrong.itertuples()):
            with cols[i % 8]:
                st.image(S.thumbnail(data.images[row.row]), width=84,
                         caption=f"{row.true} → {row.predicted} ({row.confidence:.0%})")
    elif data.kind == DatasetKind.TEXT:
        table = pd.DataFrame({t("train.col.text"): [data.texts[r] for r in wrong["row"]],
                              t("train.col.true"): wrong["true"], t("train.col.predicted"): wrong["predicted"],
                              t("train.col.confidence"): wrong["confidence"]})
        st.dataframe(table, hide_index=True, width="stretch",
                     column_config={t("train.col.confidence"): st.column_config.ProgressColumn(
                         min_value=0.0, max_value=1.0, format="percent")})
    elif data.kind == DatasetKind.TABULAR:
        rows = data.frame.iloc[wrong["row"].to_numpy()][data.features].reset_index(drop=True)
        rows.insert(0, t("train.col.confidence"), wrong["confidence"].round(3).to_numpy())
        rows.insert(0, t("train.col.predicted"), wrong["predicted"].to_numpy())
        rows.insert(0, t("train.col.true"), wrong["true"].to_numpy())
        st.dataframe(rows, hide_index=True, width="stretch")


def results_panel(job: J.Job, owner: str) -> None:
    mgr = J.manager()
    snap = job.snapshot()
    trained, status = snap["result"], snap["status"]
    title_col, clear_col = st.columns([2, 1], vertical_alignment="center")
    title_col.subheader(f"🏁 {t('train.results')}")
    if clear_col.button(t("train.clear"), icon="🧹", key=f"clear_{job.id}", width="stretch",
                        help=t("train.clear_help")):
        mgr.forget(job.id, owner)
        st.session_state["train_job"] = None
        st.session_state.pop("train_exported", None)
        st.rerun()
    st.caption(f"{snap['label']} · {S.where_text(snap['where'])}" if snap["where"] else snap["label"])
    if status == J.FAILED:
        st.error(t("jobs.failed", error=snap["error"]), icon="🚫")
        st.caption(t("train.failed_hint"))
        return
    if trained is None:
        st.info(t("jobs.cancelled"), icon="⏹️")
        return
    h = trained.history
    if status == J.STOPPED:
        st.warning(t("jobs.stopped_result", epochs=len(h.epochs), best=h.best_epoch,
                     seconds=f"{h.elapsed_s:.1f}"), icon="⏹️")
    else:
        st.success(t("jobs.done_result", epochs=len(h.epochs), best=h.best_epoch,
                     seconds=f"{h.elapsed_s:.1f}", device=h.device.upper()), icon="✅")
    show_metrics(trained)
    with st.expander(t("train.curves"), expanded=False):
        chart(S.curves_figure(snap["events"], problem=trained.problem, uirevision=job.id), key=f"final_{job.id}")
    if trained.problem == "classification":
        names = [t("train.tab.confusion"), t("train.tab.per_class"), t("train.tab.mistakes")]
        binary = len(trained.labels) == 2 and len(np.unique(trained.test_true)) == 2
        if binary:
            names.append(t("train.tab.roc"))
        tabs = st.tabs(names)
        with tabs[0]:
            chart(S.confusion_figure(trained), key=f"cm_{job.id}")
        with tabs[1]:
            chart(S.per_class_figure(trained), key=f"pc_{job.id}")
        with tabs[2]:
            show_mistakes(trained, job.data)
        if binary:
            with tabs[3]:
                chart(S.roc_figure(trained), key=f"roc_{job.id}")
    else:
        c1, c2 = st.columns(2)
        with c1:
            chart(S.pred_actual_figure(trained), key=f"pva_{job.id}")
        with c2:
            chart(S.residual_figure(trained), key=f"res_{job.id}")
    st.divider()
    export_section(job.id, trained)
