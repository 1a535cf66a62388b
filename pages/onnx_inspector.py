"""ONNX inspector: upload any .onnx model → its spec, operators and size; run it; time it.

The report and the answer of a run are drawn by ui/onnx_inspector/."""
import hashlib

import streamlit as st

from bigmodel_core.errors import BigModelError
from bigmodel_core.serve import onnx_inspect as oi
from bigmodel_core.serve.runtime import gpu_usable
from ui.bench_view import results_table
from ui.i18n import t
from ui.layout import PAGE_ICONS, chart, fact_cards, fmt, fmt_bytes, page_header, show_error
from ui.onnx_inspector import output
from ui.onnx_inspector.report import ops_figure, read_report, tensor_table

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
    report = read_report(hashlib.sha256(data).hexdigest(), data)
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
    st.dataframe(tensor_table(report.inputs), hide_index=True, width="stretch")
    st.markdown(f"**{t('onnx.outputs')}**")
    st.dataframe(tensor_table(report.outputs), hide_index=True, width="stretch")
with c2:
    chart(ops_figure(report), key="onnx_ops")

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

output.render(data, source)

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
