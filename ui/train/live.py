"""The training studio's live panel: progress, loss and the curves, redrawn every second while a job runs.

Imported by pages/train.py after `require_torch` (the training side needs PyTorch).
"""
from __future__ import annotations

import streamlit as st

from bigmodel_core.app import jobs as J
from ui import live_chart
from ui import studio as S
from ui.i18n import t
from ui.layout import fmt, metric_name

TICK_S = 1.0        # how often the live panel redraws (2 s measured no better for other visitors: docs/reliability.md)


def status_text(snap: dict) -> str:
    return t(f"jobs.status.{snap['status']}")


@st.fragment(run_every=TICK_S)
def live_panel(job_id: str, owner: str) -> None:
    """Redrawn every TICK_S seconds on its own; hands over to a full rerun when the job has finished."""
    mgr = J.manager()
    job = mgr.get(job_id, owner)
    if job is None or not job.active:
        st.rerun()
    mgr.touch(owner)
    snap = job.snapshot()
    frac, last = S.progress_of(snap["events"])
    title_col, button_col = st.columns([2, 1], vertical_alignment="center")
    title_col.subheader(f"📈 {t('train.live')}")
    where = "" if snap["status"] == J.QUEUED else f" · {S.where_text(snap['where'])}"
    st.caption(f"{snap['label']} · {status_text(snap)}{where}")
    if snap["status"] == J.QUEUED:                 # starts by itself: this fragment reruns every second
        button_col.button(t("train.cancel"), icon="✖️", key=f"cancel_{job_id}", on_click=mgr.stop,
                          args=(job_id, owner), width="stretch", help=t("train.cancel_help"))
        stats = mgr.stats()
        st.info(S.queue_message(mgr.queue_position(job_id) or 1, stats["running"], stats["max_running"]), icon="⏳")
        st.progress(0.0)
        return
    button_col.button(t("train.stop"), icon="⏹️", key=f"stop_{job_id}", on_click=mgr.stop, args=(job_id, owner),
                      disabled=snap["status"] == J.STOPPING, width="stretch", help=t("train.stop_help"))
    if snap["status"] == J.STOPPING:
        st.caption(t("jobs.stopping"))
    if last is None:
        st.progress(0.0, text=t("jobs.preparing"))
    elif last["kind"] == "train_end":              # the epochs are done; the model is scored on the test split
        st.progress(1.0, text=t("jobs.finishing", left=S.fmt_duration(S.time_left(last))))
    else:
        st.progress(frac, text=t("jobs.progress", epoch=last["epoch"], epochs=last["epochs"], step=last["step"],
                                 total=last["total_steps"], percent=f"{frac:.0%}",
                                 left=S.fmt_duration(S.time_left(last))))
    c1, c2, c3 = st.columns(3)                     # three wide columns: a loss such as 0.0123 fits whole
    batch = job.latest("batch_end")
    epoch = job.latest("epoch_end")
    c1.metric(t("train.live.loss"), fmt(batch["loss"], 3) if batch else "—")
    names = S.val_metric_names(snap["events"])
    c2.metric(t("train.live.val", metric=metric_name(names[0])) if names else t("train.live.val_plain"),
              fmt(epoch["val"].get(names[0])) if names and epoch else "—")
    c3.metric(t("train.live.elapsed"), S.fmt_duration(last["elapsed"]) if last else "—")
    # one chart, mounted once and redrawn in place every second (st.plotly_chart would be re-created: blank)
    live_chart.show(S.curves_figure(snap["events"], uirevision=job_id), key=f"curves_{job_id}")
