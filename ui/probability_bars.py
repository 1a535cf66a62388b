"""The class probabilities of one answer as plain HTML bars: the best class first, in the accent colour.

Their look (colours, sizes) is in ui/layout.py's CSS; the markup carries only each bar's length.

Why not a Plotly bar chart: the answer appears on every stroke, upload and key press, and a Plotly
chart costs the browser 60-100 ms to build on a 2-core laptop (Chromium's profiler; docs/benchmarks.md,
"Third pass") — more than half of the 150 ms a visitor may wait. These bars are a few
`<div>`s: the browser draws them in a millisecond, they read well on a projector, and every
value is written beside its bar, so no hover is needed.
"""
from __future__ import annotations

import html

import numpy as np
import streamlit as st

from ui.i18n import t
from ui.layout import label_text


def markup(probs: np.ndarray, labels: list[str], top: int = 10, title: str | None = None) -> str:
    """HTML of the `top` most likely classes, highest first; `probs` [n_classes] sums to 1."""
    order = np.argsort(-probs, kind="stable")[:top]
    rows = []
    for rank, k in enumerate(order):
        p = float(probs[k])
        name = html.escape(label_text(labels[k]))
        rows.append(
            f'<div class="bm-prob{" bm-best" if rank == 0 else ""}" title="{name}: {p:.2%}">'
            f'<span class="bm-prob-label">{name}</span>'
            f'<span class="bm-prob-track"><span class="bm-prob-fill" style="width:{p * 100:.2f}%"></span></span>'
            f'<span class="bm-prob-value">{p:.1%}</span></div>')
    head = f'<div class="bm-probs-title">{html.escape(title)}</div>' if title else ""
    return f'<div class="bm-probs" role="figure" aria-label="{html.escape(title or "")}">{head}{"".join(rows)}</div>'


def show(probs: np.ndarray, labels: list[str], top: int = 10) -> None:
    st.html(markup(probs, labels, top, title=t("predict.chart.probs")))
