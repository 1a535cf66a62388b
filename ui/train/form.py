"""The training studio's settings: task → dataset (catalog or upload) → model → hyper-parameters → Start.

Imported by pages/train.py after `require_torch` (the training side needs PyTorch).
"""
from __future__ import annotations

import streamlit as st

from bigmodel_core.app import jobs as J
from bigmodel_core.data import catalog
from bigmodel_core.errors import BigModelError
from bigmodel_core.nn.zoo import architectures_for
from ui import studio as S
from ui.data_panel import download_panel
from ui.i18n import t
from ui.layout import dataset_text, show_error
from ui.train.upload import describe_upload, upload_widgets

UPLOAD = "__upload__"


def number_state(key: str, default):
    st.session_state.setdefault(key, default)
    return key


def render(mgr: J.JobManager, owner: str, job: J.Job | None) -> None:
    """The left column: task → dataset (catalog or upload) → model → hyper-parameters → Start."""
    busy = job is not None and job.active
    st.markdown(f"#### {t('train.step.task')}")
    st.session_state.setdefault("train_task", "tabular")
    task = st.segmented_control(t("train.task"), list(S.TASKS), key="train_task", required=True,
                                format_func=lambda k: t(f"train.task.{k}"),
                                persist_state="session", label_visibility="collapsed", width="stretch")
    task = task or "tabular"

    st.markdown(f"#### {t('train.step.data')}")
    infos = catalog.list_datasets(task)
    options = [i.id for i in infos] + [UPLOAD]
    if st.session_state.get("train_dataset") not in options:
        st.session_state["train_dataset"] = options[0]
    by_id = {i.id: i for i in infos}

    def dataset_label(ds_id: str) -> str:
        if ds_id == UPLOAD:
            return "📤 " + t("train.upload.option")
        info = by_id[ds_id]
        mark = "" if catalog.availability(info) != "needs download" else " ⬇️"
        return f"{dataset_text(info, 'title')} · {info.rows:,}{mark}"

    dataset = st.selectbox(t("train.dataset"), options, key="train_dataset", format_func=dataset_label,
                           persist_state="session")
    upload_data, data_ok = None, True
    if dataset == UPLOAD:
        try:
            upload_data = upload_widgets(task)
            if upload_data is not None:
                describe_upload(upload_data)
        except BigModelError as exc:
            show_error(exc)
            upload_data = None
        data_ok = upload_data is not None
    else:
        info = by_id[dataset]
        st.caption(f"{dataset_text(info, 'about')}  \n{t('train.licence')}: {dataset_text(info, 'licence')}")
        if catalog.availability(info) == "needs download":
            st.info(t("train.needs_download"), icon="⬇️")
            download_panel(dataset, f"train:{dataset}")
            data_ok = False

    st.markdown(f"#### {t('train.step.model')}")
    archs = architectures_for(task)
    if st.session_state.get("train_arch") not in archs:
        st.session_state["train_arch"] = archs[0]
    arch = st.radio(t("train.model"), archs, key="train_arch", format_func=lambda a: t(f"train.arch.{a}"),
                    captions=[t(f"train.arch.{a}.about") for a in archs], persist_state="session",
                    label_visibility="collapsed")

    st.markdown(f"#### {t('train.step.params')}")
    d = S.arch_defaults(task, arch)
    knobs = S.arch_knobs(arch)
    k = f"train_{arch}_"
    c1, c2 = st.columns(2)
    epochs = c1.slider(t("train.epochs"), 1, 50, key=number_state(k + "epochs", d["epochs"]),
                       persist_state="session", help=t("train.epochs_help"))
    batch_size = c2.select_slider(t("train.batch_size"), S.BATCH_SIZES, key=number_state(k + "bs", d["batch_size"]),
                                  persist_state="session", help=t("train.batch_size_help"))
    lr = c1.select_slider(t("train.lr"), S.LEARNING_RATES, key=number_state(k + "lr", d["lr"]),
                          format_func=lambda v: f"{v:g}", persist_state="session", help=t("train.lr_help"))
    optimizer = c2.selectbox(t("train.optimizer"), S.OPTIMIZERS, key=number_state(k + "opt", d["optimizer"]),
                             format_func=lambda o: {"adam": "Adam", "adamw": "AdamW", "sgd": "SGD + momentum"}[o],
                             persist_state="session")
    width = depth = None
    dropout, augment = 0.0, "none"
    with st.expander(t("train.more"), expanded=False):
        if knobs["width"]:
            lo, hi, step = knobs["width"]
            width = st.slider(t(f"train.width.{arch}"), lo, hi, step=step,
                              key=number_state(k + "width", d["width"]), persist_state="session")
        if knobs["depth"]:
            lo, hi, step = knobs["depth"]
            depth = st.slider(t(f"train.depth.{arch}"), lo, hi, step=step,
                              key=number_state(k + "depth", d["depth"]), persist_state="session")
        if not knobs["width"] and not knobs["depth"]:
            st.caption(t("train.fixed_shape"))
        if knobs["dropout"]:
            lo, hi, step = knobs["dropout"]
            dropout = st.slider(t("train.dropout"), lo, hi, step=step, key=number_state(k + "dropout", d["dropout"]),
                                persist_state="session", help=t("train.dropout_help"))
        if task == "image":
            augment = st.selectbox(t("train.augment"), S.AUGMENTS, key=number_state(k + "aug", d["augment"]),
                                   format_func=lambda a: t(f"train.augment.{a}"), persist_state="session")
        seed = st.number_input(t("train.seed"), 0, 10_000, step=1, key=number_state("train_seed", 0),
                               persist_state="session", help=t("train.seed_help"))

    max_rows = None
    if dataset != UPLOAD:
        rows = by_id[dataset].rows
        limit = S.quick_rows(task, arch)
        if rows > limit:
            quick = st.toggle(t("train.quick", rows=f"{limit:,}"),
                              key=number_state(f"train_quick_{dataset}_{arch}", rows > S.QUICK_THRESHOLD),
                              persist_state="session", help=t("train.quick_help"))
            max_rows = limit if quick else None
            if not quick and rows > 10 * limit:
                st.caption("⏱️ " + t("train.slow_warning", rows=f"{rows:,}"))

    start = st.button(t("train.start"), type="primary", icon="▶️", disabled=busy or not data_ok,
                      key="train_start", width="stretch")
    if busy:
        st.caption(t("train.queued_busy") if job.status == J.QUEUED else t("train.busy"))
    if start and not busy:
        try:
            spec = S.make_spec(dataset if dataset != UPLOAD else upload_data.id, arch, epochs=epochs,
                               batch_size=batch_size, lr=lr, optimizer=optimizer, seed=seed,
                               options=S.arch_options(arch, width or d["width"], depth or d["depth"], dropout,
                                                      augment),
                               max_rows=max_rows)
            st.session_state["train_job"] = mgr.submit(owner, spec, data=upload_data,
                                                       label=f"{spec.dataset} · {arch}")
            st.session_state.pop("train_exported", None)
            st.rerun()
        except BigModelError as exc:
            show_error(exc)
