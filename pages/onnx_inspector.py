"""ONNX inspector: upload any .onnx model → its spec, operators and size; run it; time it."""
import hashlib

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from bigmodel_core.errors import BigModelError
from bigmodel_core.serve import onnx_inspect as oi
from bigmodel_core.serve.runtime import gpu_usable
from ui.bench_view import results_table
from ui.i18n import t
from ui.layout import (
    PAGE_ICONS,
    PRIMARY,
    chart,
    fact_cards,
    fmt,
    fmt_bytes,
    page_header,
    provider_caption,
    show_error,
    style,
)


@st.cache_data(show_spinner=False, max_entries=8)
def _inspect(digest: str, data: bytes) -> oi.OnnxReport:     # digest keys the cache cheaply
    return oi.inspect_onnx(data)


def _tensor_table(tensors: list[oi.TensorInfo]) -> pd.DataFrame:
    return pd.DataFrame({t("onnx.col.name"): [x.name for x in tensors],
                         t("onnx.col.dtype"): [x.dtype for x in tensors],
                         t("onnx.col.shape"): ["[" + ", ".join("?" if d is None else str(d) for d in x.shape) + "]"
                                               for x in tensors]})


def _ops_figure(report: oi.OnnxReport) -> go.Figure:
    ops = list(report.operators.items())[:25][::-1]
    fig = go.Figure(go.Bar(x=[n for _, n in ops], y=[o for o, _ in ops], orientation="h", marker_color=PRIMARY,
                           hovertemplate="%{y}: %{x}<extra></extra>"))
    return style(fig, t("onnx.ops_title"), t("onnx.ops_axis"), None, height=max(220, 28 * len(ops) + 80))


page_header(PAGE_ICONS["onnx"], t("nav.onnx"), t("onnx.subtitle"))

left, right = st.columns([3, 2], vertical_alignment="bottom")
upload = left.file_uploader(t("onnx.upload"), type=["onnx"], key="onnx_upload")
with right:
    try:
        demo_name, demo_path = oi.demo_model()
    except BigModelError as exc:
        demo_name = demo_path = None
        show_error(exc)
    if demo_path is not None:
        st.caption(t("onnx.sample_caption") if demo_name == oi.SAMPLE_FILE else t("onnx.own_caption"))
        if st.button(t("onnx.try_sample"), key="onnx_sample"):
            st.session_state["onnx_sample_file"] = (demo_name, demo_path.read_bytes())

if upload is not None:
    name, data = upload.name, upload.getvalue()
elif "onnx_sample_file" in st.session_state:
    name, data = st.session_state["onnx_sample_file"]
else:
    st.info(t("onnx.empty"), icon="📦")
    st.stop()

try:
    data = oi.read_bytes(data)
    report = _inspect(hashlib.sha256(data).hexdigest(), data)
except BigModelError as exc:
    show_error(exc)
    st.stop()

fact_cards([(t("onnx.file"), name), (t("onnx.size"), fmt_bytes(report.file_bytes)),
            (t("onnx.opset"), ", ".join(f"{d} {v}" for d, v in report.opsets.items())),
            (t("onnx.producer"), report.producer or "—")])
fact_cards([(t("onnx.ir"), str(report.ir_version)), (t("onnx.nodes"), fmt(report.nodes)),
            (t("onnx.parameters"), fmt(report.parameters))])

c1, c2 = st.columns(2)
with c1:
    st.markdown(f"**{t('onnx.inputs')}**")
    st.dataframe(_tensor_table(report.inputs), hide_index=True, width="stretch")
    st.markdown(f"**{t('onnx.outputs')}**")
    st.dataframe(_tensor_table(report.outputs), hide_index=True, width="stretch")
with c2:
    chart(_ops_figure(report), key="onnx_ops")

# ----------------------------------------------------------------------------- run it
st.subheader(t("onnx.run_title"))
image_ok = oi.image_input(report) is not None
sources = {t(f"onnx.source.{s}"): s for s in ["random"] + (["image"] if image_ok else [])}
source = sources[st.radio(t("onnx.source"), list(sources), horizontal=True, key="onnx_source")]
if not image_ok:
    st.caption(t("onnx.no_image_input"))
picture, invert = None, None
if source == "image":
    pc1, pc2 = st.columns([3, 2])
    picture_file = pc1.file_uploader(t("onnx.picture"), type=["png", "jpg", "jpeg"], key="onnx_picture")
    invert = pc2.checkbox(t("onnx.invert"), value=False, key="onnx_invert")
    if picture_file is not None:
        picture = picture_file.getvalue()
    elif pc2.button(t("onnx.sample_digit"), key="onnx_digit"):
        from bigmodel_core.serve.examples import dataset_or_examples

        try:
            digits = dataset_or_examples("mnist").dataset          # the full test split, or the built-in examples
            st.session_state["onnx_digit_img"] = digits.images[digits.split["test"][0]][0]
        except BigModelError as exc:
            show_error(exc)
    if picture is None:
        picture = st.session_state.get("onnx_digit_img")

if st.button(t("onnx.run"), type="primary", key="onnx_run", disabled=(source == "image" and picture is None)):
    try:
        feed = oi.feed_for(report, image=picture if source == "image" else None, invert=invert)
        st.session_state["onnx_out"] = (hashlib.sha256(data).hexdigest(), feed, oi.run_onnx(data, feed))
    except BigModelError as exc:
        show_error(exc)

out = st.session_state.get("onnx_out")
if out and out[0] == hashlib.sha256(data).hexdigest():
    _, feed, result = out
    oc1, oc2 = st.columns([1, 3])
    first = next(iter(feed.values()))
    if source == "image" and first.ndim == 4:
        from ui.predict_tools import preview

        oc1.image(preview(first[0]), caption=t("onnx.saw"))
    with oc2:
        for oname, value in result["outputs"].items():
            st.caption(t("onnx.output_shape", name=oname, shape=list(value.shape)))
        value = next(iter(result["outputs"].values()))
        scores = value.reshape(value.shape[0] if value.ndim == 2 else 1, -1).shape[-1] if value.ndim <= 2 else 0
        if value.size and 2 <= scores <= 1000:                     # class scores: the likeliest classes
            top = oi.top_classes(value[0] if value.ndim == 2 else value)
            st.markdown(f"### {t('onnx.top_guess', index=top[0][0], pct=f'{top[0][1]:.1%}')}")
            fig = go.Figure(go.Bar(x=[str(i) for i, _ in top], y=[p for _, p in top], marker_color=PRIMARY,
                                   hovertemplate="%{x}: %{y:.1%}<extra></extra>"))
            fig.update_yaxes(range=[0, 1], tickformat=".0%")
            fig.update_xaxes(type="category")
            chart(style(fig, t("onnx.top_title"), t("onnx.class_axis"), t("onnx.prob_axis"), height=280),
                  key="onnx_top")
        elif value.size:                                           # one number per input (a regression): say it
            first_values = ", ".join(fmt(float(v), 4) for v in value.reshape(-1)[:5])
            st.markdown(f"### {t('onnx.first_values', values=first_values)}")
        provider_caption(result["provider"], result["latency_ms"], None)

# ----------------------------------------------------------------------------- time it
st.subheader(t("onnx.bench_title"))
if st.button(t("onnx.bench_run"), key="onnx_bench"):
    with st.spinner(t("bench.running", engines="ONNX Runtime", batches="1, 8, 64")):
        try:
            devices = ("cpu", "cuda") if gpu_usable() else ("cpu",)
            st.session_state["onnx_bench_result"] = (hashlib.sha256(data).hexdigest(),
                                                     oi.bench_onnx(data, report, batches=(1, 8, 64), devices=devices))
        except BigModelError as exc:
            show_error(exc)
res = st.session_state.get("onnx_bench_result")
if res and res[0] == hashlib.sha256(data).hexdigest():
    if not res[1]["batch_sweep"]:
        st.caption(t("onnx.fixed_batch"))
    st.dataframe(results_table(res[1]["results"]), hide_index=True, width="stretch")
