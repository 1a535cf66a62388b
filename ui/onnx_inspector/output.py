"""The ONNX inspector's answer of one run: output shapes, the likeliest classes or the first values, the provider."""
from __future__ import annotations

import hashlib

import plotly.graph_objects as go
import streamlit as st

from bigmodel_core.serve import onnx_inspect as oi
from ui.i18n import t
from ui.layout import PRIMARY, chart, fmt, provider_caption, style


def render(data: bytes, source: str) -> None:
    """The last run's outputs, if they belong to this file."""
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
