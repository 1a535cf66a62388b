"""The predict page's answer: the label or value, its probabilities, and where and how fast it ran."""
from __future__ import annotations

import streamlit as st

from ui import predict_tools as P
from ui import probability_bars
from ui.i18n import t
from ui.layout import fmt, label_text


def show_provider(res: P.Result) -> None:
    st.caption("⚡ " + t("predict.ran_on", provider=res.provider.replace("ExecutionProvider", ""),
                         ort=f"{res.ort_ms:.2f}", total=f"{res.total_ms:.1f}"))


def show_single(res: P.Result, value_name: str | None = None) -> None:
    """One classification or regression answer: big label, probability bars, provider and latency."""
    if res.probs is not None:
        st.metric(t("predict.label"), label_text(res.label()), delta=t("predict.confidence",
                                                                        p=f"{res.confidence():.1%}"),
                  delta_color="off", delta_arrow="off", border=True)
        probability_bars.show(res.probs[0], res.labels)
    else:
        st.metric(value_name or t("predict.value"), fmt(float(res.values[0]), 4), border=True)
    show_provider(res)
    for note in res.notices:
        st.caption(f"ℹ️ {note}")
