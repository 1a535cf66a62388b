"""What the concepts tabs share: number formats, tables of numbers, the attention heatmap, cards."""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from bigmodel_core.teach import activations as act
from ui.i18n import t
from ui.layout import PALETTE, SEQUENTIAL, style

ACT_NAMES = list(act.ACTIVATIONS)
OPT_COLORS = {"sgd": PALETTE[0], "momentum": PALETTE[2], "adam": PALETTE[3]}
LR_CHOICES = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5]
MAX_TOKENS = 12


def num(value, digits: int = 4) -> str:
    return f"{float(value):.{digits}f}"


def frame(values, index, columns, digits: int = 4) -> pd.DataFrame:
    """A table of numbers rounded for reading."""
    values = np.atleast_1d(np.asarray(values, dtype=float))
    if values.ndim == 1:
        values = values[:, None]
    return pd.DataFrame(np.round(values, digits), index=list(index), columns=list(columns))


def labelled(tokens: list[str]) -> list[str]:
    """Unique axis labels for tokens that may repeat ('the' twice): '1 the', '2 cat', …"""
    return [f"{i + 1} {tok}" for i, tok in enumerate(tokens)]


def heatmap(matrix, rows: list[str], cols: list[str], title: str, x: str, y: str, height: int = 380):
    fig = go.Figure(go.Heatmap(z=matrix, x=cols, y=rows, colorscale=SEQUENTIAL, zmin=0, zmax=1,
                               text=np.round(matrix, 2), texttemplate="%{text}",
                               colorbar=dict(title=dict(text=t("concepts.att.weight")))))
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(type="category", side="bottom")
    return style(fig, title, x, y, height=height)


def edited(df: pd.DataFrame) -> np.ndarray:
    """An edited table as floats; an emptied cell counts as 0."""
    return df.apply(pd.to_numeric, errors="coerce").fillna(0.0).to_numpy(dtype=float)



def stacked_cards(items: list[tuple]) -> None:
    """Bordered metric cards one under the other, for a narrow column: side by side there, a value such as
    0.7311 was cut to "0.7…" at 1280 × 800."""
    for label, value, *rest in items:
        st.metric(label, value, help=rest[0] if rest else None, border=True)


def kept_key(key: str) -> str:
    return f"{key}:kept"


def kept_editor(data: pd.DataFrame, key: str, where=st, **kwargs) -> pd.DataFrame:
    """`st.data_editor` whose edits survive while another tab is open. Only the open tab is drawn, and Streamlit
    forgets the edits of an editor that is not drawn, so the edited table is kept in the session and shown again."""
    kept = st.session_state.get(kept_key(key))
    if (isinstance(kept, pd.DataFrame) and list(kept.index) == list(data.index)
            and list(kept.columns) == list(data.columns)):
        data = kept
    out = where.data_editor(data, key=key, **kwargs)
    st.session_state[kept_key(key)] = out
    return out

