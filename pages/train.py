"""Training studio: task → dataset (catalog or upload) → model → hyper-parameters → train live → results → export.

The training runs as a background job (`bigmodel_core.app.jobs`); this page only
submits it and renders its events, so reruns, page switches and other tabs
never start, kill or lose a job. Domain pages open it pre-set through
`st.session_state["train_preset"] = {"task": …, "dataset": …}`.
"""
from __future__ import annotations

import hashlib
import io

import numpy as np
import pandas as pd
import streamlit as st

from ui.full_install import require_torch
from ui.i18n import t
from ui.layout import chart, dataset_text, empty_state, fmt, live_panel_style, metric_name, page_header, show_error

page_header("🏋️", t("train.title"), t("train.subtitle"))
require_torch("train")           # the light install: one sentence and the command, then the page stops

# torch from here on (imported once, under the preload lock, by require_torch)
from bigmodel_core.app import jobs as J  # noqa: E402
from bigmodel_core.data import catalog  # noqa: E402
from bigmodel_core.data import uploads as D  # noqa: E402
from bigmodel_core.data.csvio import read_csv_safely  # noqa: E402
from bigmodel_core.errors import BigModelError, ModelError  # noqa: E402
from bigmodel_core.nn.zoo import architectures_for  # noqa: E402
from bigmodel_core.paths import models_dir  # noqa: E402
from bigmodel_core.serve import registry  # noqa: E402
from ui import live_chart  # noqa: E402
from ui import studio as S  # noqa: E402
from ui.data_panel import download_panel  # noqa: E402

UPLOAD = "__upload__"
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
busy = job is not None and job.active
setup, panel = st.columns([1.2, 2], gap="large")


# ============================================================================ setup (left column)

def upload_key(kind: str, raw: bytes, *options) -> str:
    return f"{kind}:{hashlib.sha256(raw).hexdigest()[:16]}:{options}"


def cached_upload(key: str, load):
    """Parsed uploads are kept in this session (last two), so reruns do not re-read them."""
    cache = st.session_state.setdefault("train_upload_cache", {})
    if key not in cache:
        cache[key] = load()
        for old in list(cache)[:-2]:
            del cache[old]
    return cache[key]


def named(raw: bytes, name: str) -> io.BytesIO:
    buf = io.BytesIO(raw)
    buf.name = name
    return buf


def upload_widgets(task: str):
    """The upload for `task` and its column choices → a loaded dataset (or None, with a message shown)."""
    if task == "image":
        f = st.file_uploader(t("train.upload.zip"), type=["zip"], key="train_up_image",
                             help=t("train.upload.zip_help"))
        if f is None:
            st.caption(t("train.upload.zip_help"))
            return None
        raw = f.getvalue()
        return cached_upload(upload_key("image", raw), lambda: D.load_image_zip(named(raw, f.name)))
    f = st.file_uploader(t("train.upload.csv"), type=["csv", "tsv", "txt"], key=f"train_up_{task}",
                         help=t(f"train.upload.csv_help_{task}"))
    if f is None:
        st.caption(t(f"train.upload.csv_help_{task}"))
        return None
    raw = f.getvalue()
    frame = cached_upload(upload_key("frame", raw), lambda: read_csv_safely(raw))
    columns = [str(c) for c in frame.columns]
    with st.expander(t("train.upload.preview", rows=len(frame), cols=len(columns))):
        st.dataframe(frame.head(8), hide_index=True)
    if len(columns) < 2:
        raise D.DataError(t("train.upload.one_column"), hint=D.CSV_HINT)
    if task == "text":
        lower = [c.lower() for c in columns]
        text_default = next((columns[lower.index(n)] for n in D.TEXT_COLUMNS if n in lower), columns[0])
        label_default = next((columns[lower.index(n)] for n in D.LABEL_COLUMNS if n in lower), columns[-1])
        c1, c2 = st.columns(2)
        text_col = c1.selectbox(t("train.upload.text_col"), columns, index=columns.index(text_default),
                                key="train_up_text_col")
        label_col = c2.selectbox(t("train.upload.label_col"), columns, index=columns.index(label_default),
                                 key="train_up_label_col")
        if text_col == label_col:
            st.warning(t("train.upload.same_columns"))
            return None
        return cached_upload(upload_key("text", raw, text_col, label_col),
                             lambda: D.load_csv_text(named(raw, f.name), text_col, label_col))
    c1, c2 = st.columns(2)
    target = c1.selectbox(t("train.upload.target"), columns, index=len(columns) - 1, key="train_up_target",
                          help=t("train.upload.target_help"))
    problem = c2.selectbox(t("train.upload.problem"), ["auto", "classification", "regression"],
                           format_func=lambda p: t(f"train.problem.{p}"), key="train_up_problem")
    return cached_upload(upload_key("tabular", raw, target, problem),
                         lambda: D.load_csv_tabular(named(raw, f.name), target,
                                                    None if problem == "auto" else problem))


def describe_upload(data) -> None:
    n = {s: len(v) for s, v in data.split.items()}
    if isinstance(data, D.TabularDataset):
        kind = t(f"train.problem.{data.problem}")
        extra = t("train.upload.target_is", target=data.target, kind=kind)
    else:
        extra = t("train.upload.classes", classes=", ".join(map(str, data.class_names[:12])))
    st.success(t("train.upload.ok", rows=len(data), train=n["train"], val=n["val"], test=n["test"]) + " " + extra,
               icon="✅")
    for note in data.notes:
        st.caption(f"ℹ️ {note}")


def number_state(key: str, default):
    st.session_state.setdefault(key, default)
    return key


with setup:
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


# ============================================================================ live panel (right column)

def status_text(snap: dict) -> str:
    return t(f"jobs.status.{snap['status']}")


@st.fragment(run_every=1.0)
def live_panel(job_id: str) -> None:
    """Redrawn every second on its own; hands over to a full rerun when the job has finished."""
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


# ============================================================================ results (right column)

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
    if isinstance(data, D.ImageDataset):
        cols = st.columns(8)
        for i, row in enumerate(wrong.itertuples()):
            with cols[i % 8]:
                st.image(S.thumbnail(data.images[row.row]), width=84,
                         caption=f"{row.true} → {row.predicted} ({row.confidence:.0%})")
    elif isinstance(data, D.TextDataset):
        table = pd.DataFrame({t("train.col.text"): [data.texts[r] for r in wrong["row"]],
                              t("train.col.true"): wrong["true"], t("train.col.predicted"): wrong["predicted"],
                              t("train.col.confidence"): wrong["confidence"]})
        st.dataframe(table, hide_index=True, width="stretch",
                     column_config={t("train.col.confidence"): st.column_config.ProgressColumn(
                         min_value=0.0, max_value=1.0, format="percent")})
    elif isinstance(data, D.TabularDataset):
        rows = data.frame.iloc[wrong["row"].to_numpy()][data.features].reset_index(drop=True)
        rows.insert(0, t("train.col.confidence"), wrong["confidence"].round(3).to_numpy())
        rows.insert(0, t("train.col.predicted"), wrong["predicted"].to_numpy())
        rows.insert(0, t("train.col.true"), wrong["true"].to_numpy())
        st.dataframe(rows, hide_index=True, width="stretch")


def export_section(job_id: str, trained) -> None:
    st.subheader(f"📦 {t('train.export.title')}")
    st.caption(t("train.export.about"))
    key = f"train_model_id_{job_id}"
    if key not in st.session_state:                  # a fresh id: never one a shipped or trained model has
        st.session_state[key] = S.suggested_id(trained.spec.dataset, trained.spec.architecture, taken=S.id_taken)
    c1, c2 = st.columns([2, 1], vertical_alignment="bottom")
    model_id = c1.text_input(t("train.export.id"), key=key, max_chars=64, help=t("train.export.id_help")).strip()
    ok = True
    try:
        registry.validate_id(model_id)
        existing = models_dir() / model_id / "card.json"
        if existing.exists():
            try:
                shipped = bool(registry.load(model_id, verify=False).card.get("shipped"))
            except BigModelError:
                shipped = False
            if shipped:
                st.error(t("train.export.shipped", id=model_id), icon="🔒")
                ok = False
            else:
                st.warning(t("train.export.replaces", id=model_id), icon="♻️")
    except ModelError:
        st.error(t("train.export.bad_id"), icon="🚫")
        ok = False
    if c2.button(t("train.export.button"), type="primary", icon="💾", disabled=not ok, key=f"export_{job_id}",
                 width="stretch"):
        from bigmodel_core.train.pipeline import export

        with st.spinner(t("train.export.running")):
            try:
                entry = export(trained, model_id)
                st.session_state["train_exported"] = dict(job=job_id, id=entry.id,
                                                          parity=entry.card.get("parity_max_abs_diff"),
                                                          size=entry.card.get("onnx_bytes"))
            except BigModelError as exc:
                show_error(exc)
    done = st.session_state.get("train_exported")
    if done and done.get("job") == job_id:
        st.success(t("train.export.done", id=done["id"], parity=f"{done['parity']:.1e}",
                     kb=f"{(done['size'] or 0) / 1024:.0f}"), icon="✅")
        l1, l2 = st.columns(2)
        for col, page, label, icon, params in ((l1, "pages/models.py", t("train.export.to_models"), "🗂️", None),
                                               (l2, "pages/predict.py", t("train.export.to_predict"), "🔮",
                                                {"model": done["id"]})):
            with col:
                try:
                    st.page_link(page, label=label, icon=icon, query_params=params)
                except Exception:  # noqa: BLE001 - the page is not registered (page run on its own, in tests)
                    st.caption(f"{icon} {label}")


def results_panel(job: J.Job) -> None:
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


with panel:
    if job is None:
        empty_state(t("train.empty"), icon="📈")
        st.markdown(f"##### {t('train.how.title')}")
        st.markdown(t("train.how"))
    elif job.active:
        live_panel_style()
        with st.container(key="train_live"):
            live_panel(job.id)
    else:
        results_panel(job)
