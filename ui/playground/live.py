"""The playground's live view: one tick trains a few epochs while playing, then redraws the numbers and charts."""
from __future__ import annotations

import math

import streamlit as st

from bigmodel_core.teach import playground as P
from ui.i18n import t
from ui.layout import chart, fmt
from ui.playground.charts import boundary_figure, curve_figure, loss_figure
from ui.playground.state import MAX_EPOCHS, TICK_EPOCHS


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
