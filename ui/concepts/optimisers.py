"""Concepts tab 3: SGD, momentum and Adam on 2-D loss surfaces, step by step."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from bigmodel_core.teach import optim2d
from ui.concepts.common import LR_CHOICES, OPT_COLORS, num
from ui.i18n import t
from ui.layout import GOOD, chart, metric_cards, style


def render() -> None:
    st.markdown(t("concepts.opt.intro"))
    cols = st.columns(3)
    for col, name in zip(cols, optim2d.OPTIMISERS, strict=True):
        with col, st.container(border=True):
            st.markdown(f"**{t(f'concepts.opt.name.{name}')}**")
            st.latex(t(f"concepts.tex.{name}"))
    st.caption(t("concepts.opt.adam_note"))

    cols = st.columns(4)
    by_label = {t(f"concepts.opt.surface.{s}"): s for s in optim2d.SURFACES}
    surface_id = by_label[cols[0].selectbox(t("concepts.opt.surface"), list(by_label), key="concepts_opt_surface",
                                            persist_state="page")]
    surface = optim2d.SURFACES[surface_id]
    start_i = cols[1].selectbox(t("concepts.opt.start"), range(len(surface.starts)),
                                format_func=lambda i: f"({surface.starts[i][0]:g}, {surface.starts[i][1]:g})",
                                key=f"concepts_opt_start_{surface_id}", persist_state="page")
    lr = cols[2].select_slider(t("concepts.opt.lr"), LR_CHOICES, value=surface.lr, key=f"concepts_opt_lr_{surface_id}",
                               persist_state="page")
    steps = cols[3].slider(t("concepts.opt.steps"), 1, 300, 50, key="concepts_opt_steps", persist_state="page")
    st.caption(t(f"concepts.opt.surface_note.{surface_id}"))
    start = surface.starts[start_i]
    paths = optim2d.run_all(surface, start, lr, steps)

    g = optim2d.grid(surface)
    z = np.log10(g["z"] + 1e-3) if surface.log_contours else g["z"]
    fig = go.Figure(go.Contour(x=g["x"], y=g["y"], z=z, colorscale="Blues", reversescale=True, ncontours=30,
                               showscale=True, name=t("concepts.opt.loss"),
                               colorbar=dict(title=dict(text=t("concepts.opt.log_loss" if surface.log_contours
                                                               else "concepts.opt.loss")))))
    for name, path in paths.items():
        fig.add_scatter(x=path.points[:, 0], y=path.points[:, 1], mode="lines+markers",
                        name=t(f"concepts.opt.name.{name}"),
                        line=dict(color=OPT_COLORS[name], width=2), marker=dict(size=4))
    fig.add_scatter(x=[start[0]], y=[start[1]], mode="markers", name=t("concepts.opt.start_point"),
                    marker=dict(color="black", size=11, symbol="circle-open", line=dict(width=2)))
    fig.add_scatter(x=[surface.minimum[0]], y=[surface.minimum[1]], mode="markers", name=t("concepts.opt.minimum"),
                    marker=dict(color=GOOD, size=14, symbol="star"))
    fig.update_xaxes(range=list(surface.x_range), constrain="domain")
    fig.update_yaxes(range=list(surface.y_range), scaleanchor="x", scaleratio=1, constrain="domain")
    chart(style(fig, t("concepts.opt.chart", surface=t(f"concepts.opt.surface.{surface_id}"), steps=steps), "x", "y",
                height=520, legend=""), key="concepts_opt_chart")

    st.markdown(f"**{t('concepts.opt.counter', steps=steps)}**")
    cards = []
    for name, path in paths.items():
        x, y = path.points[-1]
        value = t("concepts.opt.diverged") if path.diverged else num(path.losses[-1])
        cards.append((t(f"concepts.opt.name.{name}"), value, t("concepts.opt.where", x=num(x, 3), y=num(y, 3))))
    metric_cards(cards)
    st.caption("  ·  ".join(f"{label}: {where}" for label, _, where in cards))
    for name, path in paths.items():
        if path.diverged:
            st.warning(t("concepts.opt.diverged_note", name=t(f"concepts.opt.name.{name}"), step=path.steps + 1),
                       icon="💥")

    fig = go.Figure()
    for name, path in paths.items():
        fig.add_scatter(x=np.arange(path.steps + 1), y=np.maximum(path.losses, 1e-12),
                        name=t(f"concepts.opt.name.{name}"),
                        line=dict(color=OPT_COLORS[name]))
    fig.update_yaxes(type="log", exponentformat="power")
    chart(style(fig, t("concepts.opt.loss_chart"), t("concepts.opt.step"), t("concepts.opt.loss_log"), height=300,
                legend=""), key="concepts_opt_loss_chart")
