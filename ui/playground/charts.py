"""The playground's charts: the decision boundary (or the fitted curve) over the data, and the loss curves."""
from __future__ import annotations

import plotly.graph_objects as go

from bigmodel_core.teach import playground as P
from ui.i18n import t
from ui.layout import BAD, MUTED, PALETTE, style
from ui.playground.state import BOUNDARY_SCALE, CLASS_COLORS, HEIGHT


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
