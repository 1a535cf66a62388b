"""The shared look: page headers, metric cards, empty states, error boxes and one plotly style.

Every page builds its charts with `style(fig, title, x, y)` and shows them with
`chart(fig)`, so colours, fonts, margins and legends match across the app.
"""
from __future__ import annotations

import html
import math

import streamlit as st

from bigmodel_core.errors import BigModelError
from bigmodel_core.serve.card import ModelCard
from ui.i18n import current, t, table

PRIMARY = "#4F46E5"          # .streamlit/config.toml primaryColor
PALETTE = ["#4F46E5", "#14B8A6", "#F59E0B", "#F43F5E", "#0EA5E9",
           "#8B5CF6", "#10B981", "#F97316", "#64748B", "#EC4899"]
GOOD, BAD, MUTED = "#14B8A6", "#F43F5E", "#94A3B8"
SEQUENTIAL = ["#EEF2FF", "#C7D2FE", "#A5B4FC", "#818CF8", "#6366F1", "#4F46E5", "#3730A3"]
FONT = "Source Sans Pro, Noto Sans CJK SC, PingFang SC, Microsoft YaHei, sans-serif"

TASK_ICONS = {"image": "🖼️", "text": "💬", "tabular": "📋"}
PAGE_ICONS = {"home": "🏠", "train": "🏋️", "predict": "🔮", "models": "🗂️", "benchmark": "⚡", "onnx": "🔍",
              "concepts": "📐", "playground": "🧪"}


# ----------------------------------------------------------------------------- text helpers

def tr(key: str, default: str | None = None, **kwargs):
    """`t(key)` when the key exists, else `default` (for optional per-dataset texts such as feature labels)."""
    if key in table(current()):
        return t(key, **kwargs)
    return default if default is not None else key


def label_text(name: str) -> str:
    """A class label in the current language ('no failure' → '无故障'); unknown labels stay as they are."""
    from bigmodel_core.app.domains import slug

    return tr(f"common.label.{slug(str(name))}", str(name))


def model_title(card: ModelCard) -> str:
    """A model's title in the page's language (shipped models have translations; others keep their own)."""
    return tr(f"model.{card.id}.title", card.title or card.id or "")


def model_notes(card: ModelCard) -> str:
    return tr(f"model.{card.id}.notes", card.notes or "")


def dataset_text(info, field: str) -> str:
    """A catalog dataset's title, about text or licence in the page's language."""
    default = {"title": info.title, "about": info.description, "licence": info.licence}[field]
    return tr(f"domain.ds.{info.id}.{field}", default)


def metric_name(name: str) -> str:
    return tr(f"common.metric.{name}", name)


def fmt(value, digits: int = 3) -> str:
    """Numbers for people: 0.8729 → '0.873', 1148874 → '1,148,874', None → '—'."""
    if value is None:
        return "—"
    if isinstance(value, (int,)) and not isinstance(value, bool):
        return f"{value:,}"
    try:
        v = float(value)
    except (TypeError, ValueError):
        return str(value)
    if math.isnan(v):
        return "—"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:.{digits}g}" if abs(v) < 1 else f"{v:,.{max(digits - 2, 1)}f}"


def fmt_bytes(n) -> str:
    if not n:
        return "—"
    n = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"


# ----------------------------------------------------------------------------- page blocks

CSS = """
<style>
[data-testid="stMainBlockContainer"] { padding-top: 3.6rem; padding-bottom: 3rem; }
[data-testid="stMainBlockContainer"] h1 { padding-top: 0; }
[data-testid="stMetric"] { background: #FFFFFF; }
/* every page listed in the sidebar, and the language switch under it, without scrolling at 1280x800 */
[data-testid="stSidebarHeader"] { margin-bottom: 0; }
[data-testid="stSidebarNavLink"] { margin-top: 0; margin-bottom: 0; }
/* an answer's class probabilities (ui/probability_bars.py) */
.bm-probs { display: flex; flex-direction: column; gap: 0.3rem; margin: 0.2rem 0 0.4rem; }
.bm-probs-title { font-weight: 600; color: #374151; margin-bottom: 0.15rem; }
.bm-prob { display: grid; grid-template-columns: minmax(3.5rem, 30%) 1fr 3.6rem; align-items: center; gap: 0.6rem; }
.bm-prob-label { text-align: right; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; color: #374151; }
.bm-prob-track { height: 1.1rem; border-radius: 0.3rem; overflow: hidden; background: #EEF2FF; }
.bm-prob-fill { display: block; height: 100%; border-radius: 0.3rem; background: #A5B4FC; }
.bm-best .bm-prob-fill { background: #4F46E5; }
.bm-prob-value { font-variant-numeric: tabular-nums; color: #4B5563; }
.bm-best .bm-prob-label, .bm-best .bm-prob-value { font-weight: 700; color: #111827; }
</style>
"""


# The training studio's live panel redraws every second: Streamlit must not fade it while a rerun runs.
LIVE_PANEL_CSS = ('<style>.st-key-train_live [data-stale="true"] '
                  '{ opacity: 1 !important; transition: none !important; }</style>')


def live_panel_style() -> None:
    st.html(LIVE_PANEL_CSS)


def apply_style() -> None:
    """The app-wide touches the theme cannot express (tighter top margin for projectors)."""
    st.html(CSS)


def page_header(icon: str, title: str, subtitle: str | None = None) -> None:
    st.title(f"{icon} {title}")
    if subtitle:
        st.markdown(f"<p style='font-size:1.1rem;color:#4B5563;margin-top:-0.6rem'>{html.escape(str(subtitle))}</p>",
                    unsafe_allow_html=True)


def metric_cards(items: list[tuple]) -> None:
    """A row of bordered metric cards: items are (label, value) or (label, value, help)."""
    cols = st.columns(len(items))
    for col, item in zip(cols, items, strict=True):
        label, value, *rest = item
        col.metric(label, value, help=rest[0] if rest else None, border=True)


def fact_cards(items: list[tuple]) -> None:
    """A row of bordered cards for short facts that may be words. The cards grow with their text (a long or
    wrapped value is never cut off) and share a minimum height, so a row of one-line values looks even."""
    cols = st.columns(len(items))
    for col, (label, value) in zip(cols, items, strict=True):
        col.markdown(
            "<div style='border:1px solid rgba(49,51,63,0.18);border-radius:0.5rem;padding:0.6rem 0.9rem;"
            "min-height:5.6rem'>"
            f"<div style='font-size:0.85rem;color:#6B7280'>{html.escape(str(label))}</div>"
            "<div style='font-size:1.3rem;font-weight:600;line-height:1.25;margin-top:0.2rem;overflow-wrap:anywhere'>"
            f"{html.escape(str(value))}</div></div>", unsafe_allow_html=True)


def nav_card(icon: str, title: str, body: str, page: str, link_label: str) -> None:
    """A bordered card with a short text and a link to another page."""
    with st.container(border=True):
        st.markdown(f"#### {icon} {title}")
        st.write(body)
        st.page_link(page, label=link_label, icon="➡️")


def empty_state(message: str, command: str | None = None, icon: str = "🛠️") -> None:
    """A friendly 'nothing here yet' box, with the command that fixes it."""
    st.info(message, icon=icon)
    if command:
        st.code(command, language="bash", wrap_lines=True)


def show_error(exc: BaseException, warning: bool = False) -> None:
    """A BigModelError as a message box (message, then what to do) — never a traceback.

    A dataset problem (a `DataError` with a reason), or any message that would show a
    path, a URL or a variable name, becomes one friendly sentence with a "Details" box.
    """
    from ui.data_panel import explain_problem, is_technical

    if getattr(exc, "reason", None) or is_technical(str(exc)):
        explain_problem(exc, warning=warning)
        return
    if isinstance(exc, BigModelError):
        text = exc.message + (f"\n\n💡 {exc.hint}" if exc.hint else "")
    else:
        text = str(exc) or type(exc).__name__
    (st.warning if warning else st.error)(text, icon="⚠️" if warning else "🚫")


def provider_caption(provider: str, ort_ms: float | None, total_ms: float | None) -> None:
    """Which execution provider ran and how long it took: only the times that were measured."""
    short = provider.replace("ExecutionProvider", "")
    if total_ms is None:
        st.caption(t("common.ran_on_ort", provider=short, ort=fmt(ort_ms, 2)))
    else:
        st.caption(t("common.ran_on", provider=short, ort=fmt(ort_ms, 2), total=fmt(total_ms, 2)))


# ----------------------------------------------------------------------------- charts

TITLE_ROOM, LEGEND_ROOM = 44, 32     # px above the plot: the title's line; one row of the legend under it


def legend_shown(fig) -> bool:
    """Whether plotly will draw this figure's legend: asked for, or left to plotly with two or more named traces."""
    if fig.layout.showlegend is not None:
        return bool(fig.layout.showlegend)
    return sum(1 for tr_ in fig.data if hasattr(tr_, "showlegend") and tr_.showlegend is not False) >= 2


def fit_legend(fig):
    """Keep the legend row (above the plot) and the title (at the top) apart: the top margin holds both.

    `style` calls it, and `chart` again, since traces are often added after styling."""
    title = bool(fig.layout.title.text)
    top = (TITLE_ROOM if title else 20) + (LEGEND_ROOM if legend_shown(fig) else 0)
    if (fig.layout.margin.t or 0) < top:
        fig.update_layout(margin=dict(t=top))
    return fig


def style(fig, title: str | None = None, x: str | None = None, y: str | None = None,
          height: int = 340, legend: str | None = None, showlegend: bool | None = None):
    """One look for every plotly figure: title, axis titles (with units), colours, compact margins.

    The legend, when there is one, is a row between the title and the plot, never over the title."""
    # Property by property, not update_layout(...): the same layout, at half the cost (plotly checks every
    # nested dict of an update; this runs for every chart on every rerun).
    lay = fig.layout
    lay.title.text = title or ""
    lay.title.font.size = 15
    lay.title.x, lay.title.xanchor, lay.title.y, lay.title.yref, lay.title.yanchor = 0, "left", 1, "container", "top"
    lay.title.pad.t, lay.title.pad.l = 6, 4
    lay.colorway, lay.height = PALETTE, height
    lay.font.family, lay.font.size = FONT, 13
    lay.margin.l, lay.margin.r, lay.margin.b = 10, 10, 10
    lay.margin.t = (TITLE_ROOM + LEGEND_ROOM if legend is not None else TITLE_ROOM) if title else 20
    leg = lay.legend
    leg.orientation, leg.yanchor, leg.y, leg.xanchor, leg.x = "h", "bottom", 1.01, "left", 0
    leg.title.text, leg.font.size = legend or "", 12
    lay.hoverlabel.font.size, lay.hoverlabel.namelength = 13, -1   # full trace names, never "ONNX Runti…"
    if showlegend is not None:
        lay.showlegend = showlegend
    if x is not None:
        fig.for_each_xaxis(lambda axis: setattr(axis.title, "text", x))
    if y is not None:
        fig.for_each_yaxis(lambda axis: setattr(axis.title, "text", y))
    return fit_legend(fig)


def chart(fig, key: str | None = None, **kwargs):
    """Show a styled figure full-width, without the plotly logo (legend and title kept apart, see fit_legend)."""
    fit_legend(fig)
    return st.plotly_chart(fig, width="stretch", key=key,
                           config={"displaylogo": False, "modeBarButtonsToRemove": ["lasso2d", "select2d"]},
                           **kwargs)


def class_colors(labels: list[str], positive: int | None = None) -> dict[str, str]:
    """Colours for class labels: two classes get calm teal and alert rose (rose for `positive`)."""
    if len(labels) == 2:
        pos = 1 if positive is None else positive
        return {labels[pos]: BAD, labels[1 - pos]: GOOD}
    return {lab: PALETTE[i % len(PALETTE)] for i, lab in enumerate(labels)}
