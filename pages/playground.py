"""Neural-network playground: toy data, a small network, ▶ play and watch the decision boundary move.

All the maths lives in `bigmodel_core.teach.playground`; this page holds the widgets,
a `Playground` in session state (a new one whenever the setup changes) and a
fragment that, while playing, trains a few epochs per tick and redraws only
itself. The whole setup is mirrored in the URL (?dataset=xor&layers=2&…), so a
link reopens the same experiment.
"""
from __future__ import annotations

import math

import plotly.graph_objects as go
import streamlit as st

from bigmodel_core.warm import torch_available
from ui.full_install import notice
from ui.i18n import t
from ui.layout import BAD, MUTED, PAGE_ICONS, PALETTE, chart, fmt, page_header, style

if not torch_available():        # the light install: one sentence and the command, then the page stops
    page_header(PAGE_ICONS["playground"], t("nav.playground"), t("playground.subtitle"))
    notice("playground")
    st.stop()

from bigmodel_core.teach import playground as P  # noqa: E402 - torch, imported once above under the preload lock

TICK_SECONDS = 0.4          # one fragment rerun while playing …
TICK_EPOCHS = 20            # … trains this many full-batch epochs
STEP_EPOCHS = 10            # one ⏭ Step
MAX_EPOCHS = 3000           # epochs one ▶ Play runs before it pauses on its own
HEIGHT = 400                # both charts
CLASS_COLORS = ("#F59E0B", PALETTE[0])          # class 0 amber, class 1 indigo (as TF Playground's orange/blue)
BOUNDARY_SCALE = [[0.0, CLASS_COLORS[0]], [0.5, "#FFFFFF"], [1.0, CLASS_COLORS[1]]]

# widget key → Config field
WIDGETS = {"pg_dataset": "dataset", "pg_noise": "noise", "pg_split": "train_pct", "pg_seed": "seed",
           "pg_layers": "layers", "pg_width": "width", "pg_activation": "activation", "pg_lr": "lr",
           "pg_reg": "reg"}


# ----------------------------------------------------------------------------- state

def sync_widgets_from_url() -> None:
    """Widgets take the URL's setup when a (new) link is opened, else keep what this session had."""
    params = st.query_params.to_dict()
    from_url = P.from_query_params(params) if any(k in params for k in P.PARAMS.values()) else None
    kept = st.session_state.get("pg_config")
    new_link = from_url is not None and from_url != kept
    source = from_url if new_link else (kept or P.Config())
    for key, field in WIDGETS.items():
        if new_link or key not in st.session_state:
            st.session_state[key] = getattr(source, field)


def config_from_widgets() -> P.Config:
    return P.Config(**{field: st.session_state[key] for key, field in WIDGETS.items()})


def current_playground(config: P.Config) -> P.Playground:
    """The session's playground for this setup; a changed setup starts a fresh one (playing goes on)."""
    pg = st.session_state.get("pg_state")
    if pg is None or pg.config != config:
        pg = st.session_state["pg_state"] = P.Playground(config)
        st.session_state["pg_play_from"] = 0
    st.session_state["pg_config"] = config
    wanted = P.to_query_params(config)
    if any(st.query_params.get(k) != v for k, v in wanted.items()):
        st.query_params.update(wanted)
    return pg


def toggle_play() -> None:
    st.session_state["pg_playing"] = not st.session_state.get("pg_playing", False)
    pg = st.session_state.get("pg_state")
    st.session_state["pg_play_from"] = pg.epoch if pg is not None else 0


def step_once() -> None:
    st.session_state["pg_playing"] = False
    pg = st.session_state.get("pg_state")
    if pg is not None:
        pg.step(STEP_EPOCHS)


def reset() -> None:
    st.session_state["pg_playing"] = False
    st.session_state.pop("pg_state", None)


# ----------------------------------------------------------------------------- charts

def class_name(label: int) -> str:
    return t(f"playground.class.{label}")


def boundary_figure(pg: P.Playground) -> go.Figure:
    """P(class B) over the plane as a heat-map, the 50 % line, and the train (filled) and test (ringed) points."""
    xs, ys, probs = P.grid_predictions(pg.model)
    fig = go.Figure(go.Heatmap(
        x=xs, y=ys, z=probs, zmin=0, zmax=1, zsmooth="best", colorscale=BOUNDARY_SCALE, opacity=0.75,
        colorbar=dict(title=dict(text=t("playground.chart.probability"), side="right"), orientation="h",
                      thickness=8, len=0.7, x=0.5, xanchor="center", y=-0.2, yanchor="top", tickvals=[0, 0.5, 1]),
        hovertemplate="x₁ %{x:.2f}<br>x₂ %{y:.2f}<br>P %{z:.2f}<extra></extra>", showlegend=False))
    fig.add_trace(go.Contour(x=xs, y=ys, z=probs, showscale=False, hoverinfo="skip", showlegend=False,
                             contours=dict(start=0.5, end=0.5, size=1, coloring="none"),
                             line=dict(color="#111827", width=1.5)))
    for part, x, y in (("train", pg.x_train, pg.y_train), ("test", pg.x_test, pg.y_test)):
        for label in (0, 1):
            pts = x[y == label].numpy()
            ring = dict(color="#111827", width=1.6) if part == "test" else dict(color="#FFFFFF", width=1)
            fig.add_trace(go.Scatter(
                x=pts[:, 0], y=pts[:, 1], mode="markers",
                name=t(f"playground.chart.{part}_points", label=class_name(label)),
                marker=dict(color=CLASS_COLORS[label], size=7, line=ring)))
    low, high = P.BOUNDS["classification"]
    style(fig, t("playground.chart.boundary_title"), "x₁", "x₂", height=HEIGHT + 40, legend="")
    fig.update_layout(legend=dict(entrywidth=0, itemwidth=30, font=dict(size=11)))
    fig.update_xaxes(range=[low, high], constrain="domain", zeroline=False)
    fig.update_yaxes(range=[low, high], scaleanchor="x", scaleratio=1, constrain="domain", zeroline=False)
    fig.update_layout(uirevision=str(pg.config))
    return fig


def curve_figure(pg: P.Playground) -> go.Figure:
    """The data (train filled, test ringed), the model's curve and the true line y = 2x."""
    xs, pred = P.grid_predictions(pg.model, regression=True)
    fig = go.Figure()
    for part, x, y in (("train", pg.x_train, pg.y_train), ("test", pg.x_test, pg.y_test)):
        ring = dict(color="#111827", width=1.6) if part == "test" else dict(color="#FFFFFF", width=1)
        fig.add_trace(go.Scatter(x=x[:, 0].numpy(), y=y.numpy(), mode="markers",
                                 name=t(f"playground.chart.{part}_data"),
                                 marker=dict(color=CLASS_COLORS[1], size=7, line=ring,
                                             opacity=1 if part == "train" else 0.55)))
    fig.add_trace(go.Scatter(x=xs, y=2 * xs, mode="lines", name=t("playground.chart.truth"),
                             line=dict(color=MUTED, dash="dash")))
    fig.add_trace(go.Scatter(x=xs, y=pred, mode="lines", name=t("playground.chart.model"),
                             line=dict(color=BAD, width=3)))
    style(fig, t("playground.chart.curve_title"), "x", "y", height=HEIGHT, legend="")
    fig.update_xaxes(range=list(P.BOUNDS["regression"]))
    fig.update_yaxes(range=[-0.3, 3.3])
    fig.update_layout(uirevision=str(pg.config))
    return fig


def loss_figure(pg: P.Playground) -> go.Figure:
    epochs = [row["epoch"] for row in pg.history]
    fig = go.Figure()
    for i, part in enumerate(("train", "test")):
        fig.add_trace(go.Scatter(x=epochs, y=[row[f"{part}_loss"] for row in pg.history], mode="lines",
                                 name=t(f"playground.chart.{part}_loss"), line=dict(color=PALETTE[i], width=2.5)))
    loss = t("playground.loss_mse" if pg.regression else "playground.loss_bce")
    style(fig, t("playground.chart.loss_title"), t("playground.chart.epoch"),
          t("playground.chart.loss_axis", loss=loss), height=HEIGHT, legend="")
    fig.update_yaxes(rangemode="tozero")
    return fig


# ----------------------------------------------------------------------------- live view

def metric(col, key: str, label: str, value: str, delta: str | None = None, help: str | None = None) -> None:
    """A bordered metric card in a container with a stable CSS class (st-key-<key>) for browser tests."""
    with col, st.container(key=key):
        st.metric(label, value, delta=delta, delta_color="inverse", help=help, border=True)


def live_view() -> None:
    """One tick: train a few epochs when playing, then redraw the numbers and both charts."""
    pg = st.session_state["pg_state"]
    with pg.lock:                  # a tick still running in another thread must not train while this one reads
        row = pg.step(TICK_EPOCHS) if st.session_state.get("pg_playing") else pg.latest
        previous = pg.history[-2] if len(pg.history) > 1 else None
        line = pg.line()
        params = P.count_parameters(pg.model)
        figures = (curve_figure(pg) if pg.regression else boundary_figure(pg), loss_figure(pg))
    played = row["epoch"] - st.session_state.get("pg_play_from", 0)
    if st.session_state.get("pg_playing") and (not math.isfinite(row["train_loss"]) or played >= MAX_EPOCHS):
        st.session_state["pg_playing"] = False
        st.session_state["pg_flash"] = "diverged" if not math.isfinite(row["train_loss"]) else "max_epochs"
        st.rerun(scope="app")                          # stop the timer: only a full run changes run_every
    loss = t("playground.loss_mse" if pg.regression else "playground.loss_bce")
    cols = st.columns(4)
    metric(cols[0], "pg_metric_epoch", t("playground.epoch"), f"{row['epoch']:,}")
    for col, part in ((cols[1], "train"), (cols[2], "test")):
        change = row[f"{part}_loss"] - previous[f"{part}_loss"] if previous else math.nan
        metric(col, f"pg_metric_{part}_loss", t(f"playground.{part}_loss"), f"{row[f'{part}_loss']:.4f}",
               f"{change:+.4f}" if math.isfinite(change) else None, t("playground.loss_help", loss=loss))
    if not pg.regression:
        metric(cols[3], "pg_metric_accuracy", t("playground.test_accuracy"), f"{row['test_acc']:.0%}",
               help=t("playground.accuracy_help", train=f"{row['train_acc']:.0%}"))
    elif line:
        equation = f"y = {line[0]:.2f}x {'+' if line[1] >= 0 else '−'} {abs(line[1]):.2f}"
        metric(cols[3], "pg_metric_line", t("playground.fitted_line"), f"{line[0]:.3f}",
               help=t("playground.line_help", line=equation))
    else:
        metric(cols[3], "pg_metric_params", t("playground.parameters"), f"{params:,}")
    left, right = st.columns([1.3, 1])
    with left:
        chart(figures[0], key="pg_data_chart")
    with right:
        chart(figures[1], key="pg_loss_chart")
    if pg.config.reg:
        st.caption(t("playground.l2_value", value=fmt(row["l2"], 3)))


# ----------------------------------------------------------------------------- page

page_header(PAGE_ICONS["playground"], t("nav.playground"), t("playground.subtitle"))
sync_widgets_from_url()

setup, view = st.columns([1, 2.6], gap="medium")
with setup:
    with st.container(border=True):
        st.markdown(f"**{t('playground.data')}**")
        # format_func is a lookup in texts made now (AppTest calls it outside the script, in no language)
        st.selectbox(t("playground.dataset"), P.DATASETS, key="pg_dataset",
                     format_func={d: t(f"playground.dataset.{d}") for d in P.DATASETS}.get)
        st.slider(t("playground.noise"), 0.0, 1.0, step=0.05, key="pg_noise", help=t("playground.noise_help"))
        st.slider(t("playground.split"), 10, 90, step=10, key="pg_split", format="%d%%",
                  help=t("playground.split_help"))
    with st.container(border=True):
        st.markdown(f"**{t('playground.network')}**")
        c1, c2 = st.columns(2)
        c1.number_input(t("playground.layers"), 0, P.MAX_LAYERS, step=1, key="pg_layers",
                        help=t("playground.layers_help"))
        c2.number_input(t("playground.width"), 1, P.MAX_WIDTH, step=1, key="pg_width",
                        help=t("playground.width_help"))
        c1, c2 = st.columns(2)
        c1.selectbox(t("playground.activation"), list(P.ACTIVATIONS), key="pg_activation",
                     format_func={a: t(f"playground.activation.{a}") for a in P.ACTIVATIONS}.get)
        c2.number_input(t("playground.seed"), 0, 9999, step=1, key="pg_seed", help=t("playground.seed_help"))
        st.select_slider(t("playground.lr"), P.LEARNING_RATES, key="pg_lr", format_func=lambda v: f"{v:g}",
                         help=t("playground.lr_help"))
        st.select_slider(t("playground.reg"), P.REGULARISATION, key="pg_reg", format_func=lambda v: f"{v:g}",
                         help=t("playground.reg_help"))

config = config_from_widgets()
pg = current_playground(config)
playing = bool(st.session_state.get("pg_playing"))

with view:
    b1, b2, b3, status = st.columns([1.1, 1, 1, 2.4], vertical_alignment="center")
    b1.button(t("playground.pause" if playing else "playground.play"), key="pg_play", type="primary",
              on_click=toggle_play, width="stretch")
    b2.button(t("playground.step"), key="pg_step", on_click=step_once, width="stretch",
              help=t("playground.step_help", epochs=STEP_EPOCHS))
    b3.button(t("playground.reset"), key="pg_reset", on_click=reset, width="stretch",
              help=t("playground.reset_help"))
    status.caption(t("playground.playing", epochs=TICK_EPOCHS) if playing
                   else t("playground.paused", epochs=STEP_EPOCHS))
    flash = st.session_state.pop("pg_flash", None)
    if flash:
        st.warning(t(f"playground.flash.{flash}", epochs=MAX_EPOCHS), icon="⏸️")
    st.fragment(run_every=TICK_SECONDS if playing else None)(live_view)()

with st.expander(t("playground.how_title")):
    st.markdown(t("playground.how_body"))
st.caption(t("playground.share"))
