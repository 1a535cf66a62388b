"""Concepts tab 1: activation functions, their slopes, and softmax with a temperature."""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from bigmodel_core.teach import activations as act
from ui.concepts.common import ACT_NAMES, edited, frame, kept_editor, num, stacked_cards
from ui.i18n import t
from ui.layout import MUTED, PALETTE, chart, style


def render() -> None:
    st.markdown(t("concepts.act.intro"))
    left, right = st.columns([1, 2])
    with left:
        # Options are the visible labels (not names + format_func) so the widget state holds plain strings.
        by_label = {t(f"concepts.act.name.{n}"): n for n in ACT_NAMES}
        name = by_label[st.radio(t("concepts.act.function"), list(by_label), horizontal=True, key="concepts_act_name",
                                 persist_state="page")]
        x0 = st.slider(t("concepts.act.x"), -5.0, 5.0, 1.0, step=0.1, key="concepts_act_x", persist_state="page")
        st.latex(t(f"concepts.tex.{name}"))
        st.latex(t(f"concepts.tex.{name}_grad"))
        tan = act.tangent(name, x0, [x0 - 2.0, x0 + 2.0])
        stacked_cards([(t("concepts.act.value", x=num(x0, 1)), num(tan["y0"])),
                      (t("concepts.act.slope", x=num(x0, 1)), num(tan["slope"]))])
        st.caption(t(f"concepts.act.note.{name}"))
    with right:
        c = act.curve(name)
        fig = go.Figure()
        fig.add_scatter(x=c["x"], y=c["y"], name=t("concepts.act.f"), line=dict(color=PALETTE[0], width=3))
        fig.add_scatter(x=c["x"], y=c["dy"], name=t("concepts.act.df"), line=dict(color=PALETTE[1], dash="dash"))
        fig.add_scatter(x=[x0 - 2.0, x0 + 2.0], y=tan["line"], mode="lines", name=t("concepts.act.tangent"),
                        line=dict(color=PALETTE[3], dash="dot", width=2))
        fig.add_scatter(x=[x0], y=[tan["y0"]], mode="markers", name=t("concepts.act.point"),
                        marker=dict(color=PALETTE[3], size=11))
        lo, hi = min(c["y"].min(), c["dy"].min()), max(c["y"].max(), c["dy"].max())
        fig.update_yaxes(range=[lo - 0.3, hi + 0.3])
        chart(style(fig, t("concepts.act.chart", name=t(f"concepts.act.name.{name}")), "x", t("concepts.act.y"),
                    height=400, legend=""), key="concepts_act_chart")

    fig = go.Figure()
    for i, n in enumerate(ACT_NAMES):
        c = act.curve(n)
        fig.add_scatter(x=c["x"], y=c["dy"], name=t(f"concepts.act.name.{n}"), line=dict(color=PALETTE[i]))
    chart(style(fig, t("concepts.act.compare_title"), "x", t("concepts.act.df"), height=300, legend=""),
          key="concepts_act_compare")
    st.caption(t("concepts.act.compare_caption"))

    st.subheader(t("concepts.sm.title"))
    st.markdown(t("concepts.sm.intro"))
    st.latex(t("concepts.tex.softmax"))
    left, right = st.columns([1, 2])
    with left:
        temperature = st.slider(t("concepts.sm.temperature"), 0.1, 5.0, 1.0, step=0.1, key="concepts_sm_temp",
                                persist_state="page")
        base = pd.DataFrame({t("concepts.sm.logit"): [2.0, 1.0, 0.1, -1.0]}, index=["A", "B", "C", "D"])
        logits_df = kept_editor(base, key="concepts_sm_logits", width="stretch")
        z = edited(logits_df)[:, 0]
    p, p1 = act.softmax(z, temperature), act.softmax(z)
    labels = list(logits_df.index)
    with right:
        fig = go.Figure()
        fig.add_bar(x=labels, y=p1, name=t("concepts.sm.at_one"), marker_color=MUTED)
        fig.add_bar(x=labels, y=p, name=t("concepts.sm.at_t", t=num(temperature, 1)), marker_color=PALETTE[0])
        fig.update_layout(barmode="group")
        fig.update_yaxes(range=[0, 1])
        chart(style(fig, t("concepts.sm.chart"), t("concepts.sm.class"), t("concepts.sm.prob"), height=340,
                    legend=""), key="concepts_sm_chart")
    table = pd.DataFrame({t("concepts.sm.logit"): z, t("concepts.sm.scaled"): z / temperature,
                          t("concepts.sm.exp"): np.exp(z / temperature - (z / temperature).max()),
                          t("concepts.sm.prob"): p}, index=labels).round(4)
    st.dataframe(table, width="stretch")
    st.caption(t("concepts.sm.caption", top=labels[int(np.argmax(p))], p=num(p.max(), 3)))
    with st.expander(t("concepts.sm.jacobian")):
        st.latex(t("concepts.tex.softmax_grad"))
        st.dataframe(frame(act.softmax_jacobian(z, temperature), labels, labels), width="stretch")
