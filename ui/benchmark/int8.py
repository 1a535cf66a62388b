"""The benchmark page's fp32 / int8 comparison: size, score and latency of a model and its int8 sibling."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from bigmodel_core.serve import registry
from bigmodel_core.serve.metrics import primary_metric
from ui.i18n import t
from ui.layout import fmt, fmt_bytes, metric_cards, metric_name


def render(entry: registry.Entry, int8: registry.Entry, result: dict | None) -> None:
    """The table and the two cards."""
    st.subheader(t("bench.int8_title"))
    st.caption(t("bench.int8_caption"))
    q = int8.card.quantized_from or {}
    metric = primary_metric(entry.card.problem, len(entry.card.labels) or None)
    fp32_value = ((q.get("fp32_test") or {}).get(metric)
                  or (entry.card.metrics.get("test") or {}).get(metric))
    int8_value = (int8.card.metrics.get("test") or {}).get(metric)
    p50 = {r["engine"]: r["p50_ms"] for r in (result or {}).get("results", []) if r["batch"] == 1}
    table = pd.DataFrame({
        t("bench.int8.col.variant"): ["fp32", "int8"],
        t("bench.int8.col.size"): [fmt_bytes(entry.card.onnx_bytes), fmt_bytes(int8.card.onnx_bytes)],
        t("bench.int8.col.metric", metric=metric_name(metric)): [fmt(fp32_value, 4), fmt(int8_value, 4)],
        t("bench.int8.col.latency"): [fmt(p50.get("ort-cpu"), 3), fmt(p50.get("ort-int8"), 3)],
    })
    st.dataframe(table, hide_index=True, width="stretch")
    delta = (q.get("delta") or {}).get(metric)
    metric_cards([(t("bench.int8.size_ratio"), f"{q.get('size_ratio', 0):.0%}"),
                  (t("bench.int8.delta", metric=metric_name(metric)),
                   "—" if delta is None else f"{delta * 100:+.2f} pt")])
