"""Charts and tables for benchmark results (the `bench.benchmark` / `onnx_inspect.bench_onnx` dicts)."""
from __future__ import annotations

import math

import pandas as pd
import plotly.graph_objects as go

from ui.i18n import t
from ui.layout import PALETTE, fmt, style

ENGINE_ORDER = ["torch", "ort-cpu", "ort-int8", "ort-cuda", "ort-cuda-host"]
ENGINE_COLORS = {"torch": "#F97316", "ort-cpu": PALETTE[0], "ort-int8": PALETTE[1], "ort-cuda": "#10B981",
                 "ort-cuda-host": "#64748B"}


def engine_label(name: str) -> str:
    from ui.layout import tr

    return tr(f"bench.engine.{name}", name)


def _engines(results: list[dict]) -> list[str]:
    names = {r["engine"] for r in results}
    return [e for e in ENGINE_ORDER if e in names] + sorted(names - set(ENGINE_ORDER))


def tick_text(value: float) -> str:
    """A log-axis tick as people write it: 0.005, 0.1, 1, 20, 1,000, 2,000,000 (no '5' for 50, no '1M')."""
    if value >= 1000:
        return f"{value:,.0f}"
    return f"{value:g}"


def log_ticks(values: list[float]) -> tuple[list[float], list[str]]:
    """Tick values and texts for a log axis over `values`: each power of ten (0.1, 1, 10 …) in the range,
    or 1-2-5 steps (0.02, 0.05, 0.1 …) where the data spans less than two of them."""
    values = [v for v in values if v and v > 0 and math.isfinite(v)]
    if not values:
        return [], []
    lo, hi = min(values) / 1.25, max(values) * 1.25          # the axis shows a little beyond the data
    first, last = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
    ticks = [10.0 ** k for k in range(first, last + 1) if lo <= 10.0 ** k <= hi]
    if len(ticks) < 2:
        ticks = [m * 10.0 ** k for k in range(first, last + 1) for m in (1, 2, 5) if lo <= m * 10.0 ** k <= hi]
    if len(ticks) < 2:                                        # a sliver of a decade: plotly's own ticks read fine
        return [], []
    ticks = [float(f"{v:.12g}") for v in ticks]
    return ticks, [tick_text(v) for v in ticks]


def _log_axis(fig: go.Figure, values: list[float]) -> None:
    ticks, texts = log_ticks(values)
    fig.update_yaxes(type="log", tickvals=ticks or None, ticktext=texts or None, minor=dict(showgrid=False))


def latency_figure(results: list[dict]) -> go.Figure:
    """p50 latency vs batch size per engine, log-log, with a bar up to p90."""
    fig = go.Figure()
    for e in _engines(results):
        rows = sorted((r for r in results if r["engine"] == e), key=lambda r: r["batch"])
        fig.add_scatter(x=[r["batch"] for r in rows], y=[r["p50_ms"] for r in rows], mode="lines+markers",
                        name=engine_label(e), line=dict(color=ENGINE_COLORS.get(e), width=3), marker=dict(size=9),
                        error_y=dict(type="data", symmetric=False, array=[r["p90_ms"] - r["p50_ms"] for r in rows],
                                     arrayminus=[0] * len(rows), thickness=1.2),
                        hovertemplate="batch %{x}: %{y:.3f} ms<extra>" + engine_label(e) + "</extra>")
    fig.update_xaxes(type="log", tickvals=sorted({r["batch"] for r in results}))
    _log_axis(fig, [r["p50_ms"] for r in results] + [r["p90_ms"] for r in results])
    return style(fig, t("bench.latency_title"), t("bench.batch_axis"), t("bench.latency_axis"), height=380, legend="")


def throughput_figure(results: list[dict]) -> go.Figure:
    """Items per second vs batch size per engine, log-log."""
    fig = go.Figure()
    for e in _engines(results):
        rows = sorted((r for r in results if r["engine"] == e), key=lambda r: r["batch"])
        fig.add_scatter(x=[r["batch"] for r in rows], y=[r["throughput"] for r in rows], mode="lines+markers",
                        name=engine_label(e), line=dict(color=ENGINE_COLORS.get(e), width=3), marker=dict(size=9),
                        hovertemplate="batch %{x}: %{y:,.0f}/s<extra>" + engine_label(e) + "</extra>")
    fig.update_xaxes(type="log", tickvals=sorted({r["batch"] for r in results}))
    _log_axis(fig, [r["throughput"] for r in results])
    return style(fig, t("bench.throughput_title"), t("bench.batch_axis"), t("bench.throughput_axis"), height=380,
                 legend="")


def results_table(results: list[dict]) -> pd.DataFrame:
    rows = sorted(results, key=lambda r: (r["batch"], _engines(results).index(r["engine"])))
    return pd.DataFrame({
        t("bench.col.engine"): [engine_label(r["engine"]) for r in rows],
        t("bench.col.batch"): [r["batch"] for r in rows],
        t("bench.col.p50"): [round(r["p50_ms"], 4) for r in rows],
        t("bench.col.p90"): [round(r["p90_ms"], 4) for r in rows],
        t("bench.col.p99"): [round(r["p99_ms"], 4) for r in rows],
        t("bench.col.throughput"): [round(r["throughput"], 1) for r in rows],
        t("bench.col.provider"): [r.get("provider", "").replace("ExecutionProvider", "") for r in rows],
        t("bench.col.calls"): [r.get("n") for r in rows],
    })


def headline_ratios(results: list[dict]) -> list[tuple[str, str, float]]:
    """(label, value text, ratio) for the comparisons a person asks first, at the smallest batch measured."""
    p50 = {(r["engine"], r["batch"]): r["p50_ms"] for r in results}
    batch = min(r["batch"] for r in results)
    pairs = [("ort-cpu", "torch"), ("ort-int8", "ort-cpu"), ("ort-cuda", "torch"), ("ort-cuda", "ort-cpu")]
    out = []
    for engine, base in pairs:
        if (engine, batch) in p50 and (base, batch) in p50 and p50[(engine, batch)] > 0:
            ratio = p50[(base, batch)] / p50[(engine, batch)]
            text = (t("bench.speedup_value", x=fmt(ratio, 3)) if ratio >= 1
                    else t("bench.slowdown_value", x=fmt(1 / ratio, 3)))
            out.append((t("bench.speedup", engine=engine_label(engine), base=engine_label(base), batch=batch),
                        text, ratio))
    return out
