"""Training studio: task → dataset (catalog or upload) → model → hyper-parameters → train live → results → export.

The training runs as a background job (`bigmodel_core.app.jobs`); this page only
submits it and renders its events, so reruns, page switches and other tabs
never start, kill or lose a job. Domain pages open it pre-set through
`st.session_state["train_preset"] = {"task": …, "dataset": …}`. The widgets live in `ui/train/`.
"""
from __future__ import annotations

import streamlit as st

from ui.full_install import require_torch
from ui.i18n import t
from ui.layout import empty_state, live_panel_style, page_header

page_header("🏋️", t("train.title"), t("train.subtitle"))
require_torch("train")           # the light install: one sentence and the command, then the page stops

# torch from here on (imported once, under the preload lock, by require_torch)
from bigmodel_core.app import jobs as J  # noqa: E402
from ui import studio as S  # noqa: E402
from ui.train import form, live, results  # noqa: E402

mgr = J.manager()
owner = S.session_owner()
mgr.touch(owner)                 # heartbeat: this session is still here (a closed tab's jobs are cleaned up)
S.watch_sessions(mgr)

# ---------------------------------------------------------------------------- preset from a domain page
preset = st.session_state.pop("train_preset", None)
if isinstance(preset, dict):
    if preset.get("task") in S.TASKS:
        st.session_state["train_task"] = preset["task"]
    if preset.get("dataset"):
        st.session_state["train_dataset"] = preset["dataset"]


def current_job() -> J.Job | None:
    job = mgr.get(st.session_state.get("train_job") or "", owner)
    if job is None:                                   # e.g. the page was reopened: show the latest job
        mine = mgr.jobs_for(owner)
        job = mine[-1] if mine else None
        st.session_state["train_job"] = job.id if job else None
    return job


job = current_job()
setup, panel = st.columns([1.2, 2], gap="large")
with setup:
    form.render(mgr, owner, job)

with panel:
    if job is None:
        empty_state(t("train.empty"), icon="📈")
        st.markdown(f"##### {t('train.how.title')}")
        st.markdown(t("train.how"))
    elif job.active:
        live_panel_style()
        with st.container(key="train_live"):
            live.live_panel(job.id, owner)
    else:
        results.results_panel(job, owner)
