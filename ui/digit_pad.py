"""The digit pad on the predict page: draw a digit, and the answer follows the stroke at once.

Why not streamlit-drawable-canvas: its frontend waits 200 ms after each stroke before it sends
the drawing (a debounce built into it), so a stroke could not be answered in under 150 ms
(measured p95 420 ms from the mouse's release to the answer, scripts/ui_latency.py). This pad
is a small Streamlit component (`st.components.v2`, no iframe, no build step): a plain canvas,
round white strokes on black, Undo and Clear, and the PNG of the drawing sent as soon as the
pointer is lifted. `draw` gives back the RGBA pixels, the same array the old canvas gave.
"""
from __future__ import annotations

import base64
import binascii
import io
from pathlib import Path

import numpy as np
import streamlit as st

from ui.i18n import t

HERE = Path(__file__).resolve().parent / "components"
PREFIX = "data:image/png;base64,"
MAX_URL = 2_000_000                 # a 280×280 PNG of strokes is ~ 5-20 kB; anything huge is not the pad's


_component = None


def _pad():
    global _component
    if _component is None:
        _component = st.components.v2.component(
            "bigmodel_digit_pad", js=(HERE / "digit_pad.js").read_text(encoding="utf-8"),
            css=(HERE / "digit_pad.css").read_text(encoding="utf-8"))
    return _component


def pixels(url: str | None) -> np.ndarray | None:
    """A PNG data URL from the pad → RGBA pixels [H, W, 4] uint8; None for an empty pad or anything else."""
    if not isinstance(url, str) or not url.startswith(PREFIX) or len(url) > MAX_URL:
        return None
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(base64.b64decode(url[len(PREFIX):], validate=True))) as img:
            return np.asarray(img.convert("RGBA"))
    except (binascii.Error, UnidentifiedImageError, OSError, ValueError):
        return None


def draw(key: str, size: int = 280, stroke: int = 20) -> np.ndarray | None:
    """Show the pad under `key`; the drawing as RGBA pixels [size, size, 4], or None while it is empty."""
    data = dict(size=size, stroke=stroke, label=t("predict.pad.label"),
                undo=dict(icon="↶", text=t("predict.pad.undo")), clear=dict(icon="✖", text=t("predict.pad.clear")))
    result = _pad()(key=key, data=data, default={"png": None}, on_png_change=lambda: None)
    return pixels(getattr(result, "png", None))
