"""The ONNX inspector's report of an uploaded model: read once per file, its tensors as a table, its operators."""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from bigmodel_core.serve import onnx_inspect as oi
from ui.i18n import t
from ui.layout import PRIMARY, style


@st.cache_data(show_spinner=False, max_entries=8)
def read_report(digest: str, data: bytes) -> oi.OnnxReport:     # digest keys the cache cheaply
    return oi.inspect_onnx(data)


def tensor_table(tensors: list[oi.TensorInfo]) -> pd.DataFrame:
    return pd.DataFrame({t("onnx.col.name"): [x.name for x in tensors],
                         t("onnx.col.dtype"): [x.dtype for x in tensors],
                         t("onnx.col.shape"): ["[" + ", ".join("?" if d is None else str(d) for d in x.shape) + "]"
                                               for x in tensors]})


def ops_figure(report: oi.OnnxReport) -> go.Figure:
    ops = list(report.operators.items())[:25][::-1]
    fig = go.Figure(go.Bar(x=[n for _, n in ops], y=[o for o, _ in ops], orientation="h", marker_color=PRIMARY,
                           hovertemplate="%{y}: %{x}<extra></extra>"))
    return style(fig, t("onnx.ops_title"), t("onnx.ops_axis"), None, height=max(220, 28 * len(ops) + 80))
