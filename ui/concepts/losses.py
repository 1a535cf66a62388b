"""Concepts tab 2: loss functions — the worked example, and MSE against cross-entropy as a prediction moves."""
from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from bigmodel_core.teach import losses
from ui.concepts.common import num, stacked_cards
from ui.i18n import t
from ui.layout import PALETTE, chart, style


def render() -> None:
    st.markdown(t("concepts.loss.intro"))
    left, right = st.columns(2)
    left.latex(t("concepts.tex.mse"))
    right.latex(t("concepts.tex.ce"))

    st.subheader(t("concepts.loss.example_title"))
    ex = losses.example()
    st.markdown(t("concepts.loss.example_setup"))
    left, right = st.columns(2)
    with left, st.container(border=True):
        st.markdown(f"**{t('concepts.loss.mse')}**")
        st.latex(t("concepts.tex.mse_example", a=num(ex["squared"][0]), b=num(ex["squared"][1]), mse=num(ex["mse"])))
    with right, st.container(border=True):
        st.markdown(f"**{t('concepts.loss.ce')}**")
        st.latex(t("concepts.tex.ce_example", ce=num(ex["ce"])))
    st.info(t("concepts.loss.never_negative"), icon="💡")

    st.subheader(t("concepts.loss.explore_title"))
    left, right = st.columns([1, 2])
    with left:
        q = st.slider(t("concepts.loss.q"), 0.01, 0.99, 0.9, step=0.01, key="concepts_loss_q", persist_state="page")
        now = losses.binary_losses(q)
        stacked_cards([(t("concepts.loss.mse"), num(now["mse"])), (t("concepts.loss.ce"), num(now["ce"]))])
        st.caption(t("concepts.loss.explore_caption", q=num(q, 2), r=num(1 - q, 2)))
    with right:
        curves = losses.binary_curves()
        fig = go.Figure()
        fig.add_scatter(x=curves["q"], y=curves["mse"], name=t("concepts.loss.mse"), line=dict(color=PALETTE[1]))
        fig.add_scatter(x=curves["q"], y=curves["ce"], name=t("concepts.loss.ce"), line=dict(color=PALETTE[0]))
        fig.add_scatter(x=[q, q], y=[now["mse"], now["ce"]], mode="markers", name=t("concepts.loss.now"),
                        marker=dict(color=PALETTE[3], size=11))
        fig.update_yaxes(range=[0, 5])
        chart(style(fig, t("concepts.loss.chart"), t("concepts.loss.q_axis"), t("concepts.loss.loss"), height=360,
                    legend=""), key="concepts_loss_chart")
