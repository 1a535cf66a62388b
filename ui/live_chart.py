"""The live training chart: one Plotly graph that stays on screen and grows in place while a job trains.

Why not `st.plotly_chart` in the live fragment: Streamlit derives a Plotly chart's element id
from the whole figure, data included, and the browser keys the chart by that id. A fragment
that redraws every second therefore unmounts the chart and mounts a new one on every tick; the
new one stays blank until Plotly has laid it out and drawn it again (long on a busy machine),
and the old one lingers as a faded leftover. Screenshots taken during a run caught that gap.

This is a small custom component instead: one iframe under a fixed key, so it is mounted once.
Each tick hands it the new figure and it calls `Plotly.react`, which redraws the same graph in
place (a zoom is kept through the figure's `uirevision`). The page (`ui/components/live_chart.html`)
and the plotly.js the `plotly` package ships are copied into a cache folder that Streamlit
serves; if that cannot be done, the chart falls back to `st.plotly_chart`.
"""
from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

import plotly

from ui.layout import chart

log = logging.getLogger(__name__)

PAGE = Path(__file__).resolve().parent / "components" / "live_chart.html"
PLOTLY_JS = Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"
CONFIG = {"displaylogo": False, "modeBarButtonsToRemove": ["lasso2d", "select2d"], "responsive": True}
# Streamlit's own Plotly look for the app's light theme (what `st.plotly_chart` applies in the
# browser); an iframe does not get it, so the figure carries it as its template.
_AXIS = dict(gridcolor="#e6eaf1", zerolinecolor="#e6eaf1", tickcolor="#e6eaf1", automargin=True,
             tickfont=dict(color="#808495", size=12), minor=dict(gridcolor="#e6eaf1"))
LOOK = dict(
    font=dict(color="#808495", size=12),
    title=dict(font=dict(size=16, color="#1F2937")),
    paper_bgcolor="#FFFFFF", plot_bgcolor="#FFFFFF",
    legend=dict(bordercolor="transparent", borderwidth=0, font=dict(size=12, color="#262730")),
    xaxis=dict(_AXIS, showgrid=False, zeroline=False, title=dict(font=dict(color="#808495", size=14), standoff=20)),
    yaxis=dict(_AXIS, ticklabelposition="outside", title=dict(font=dict(color="#808495", size=14), standoff=24)),
    hoverlabel=dict(bgcolor="#FFFFFF", bordercolor="rgba(31, 41, 55, 0.2)", font=dict(color="#808495", size=12)),
    margin=dict(pad=8),
)

_component = None
_unavailable = False


def component_folder() -> Path:
    """The folder Streamlit serves for the component: the page plus plotly.min.js (made once, atomically)."""
    from bigmodel_core.paths import static_folder

    page = PAGE.read_bytes()
    tag = hashlib.sha256(page).hexdigest()[:10]
    return static_folder(f"live-chart-{plotly.__version__}-{tag}", {"plotly.min.js": PLOTLY_JS, "index.html": page})


def _declared():
    global _component, _unavailable
    if _component is None and not _unavailable:
        try:
            import streamlit.components.v1 as components

            _component = components.declare_component("live_chart", path=str(component_folder()))
        except Exception:  # noqa: BLE001 - no cache folder, no plotly.js: the plain chart still works
            log.warning("live chart component unavailable; using st.plotly_chart", exc_info=True)
            _unavailable = True
    return _component


def figure_json(fig) -> str:
    """The figure as the component draws it: Streamlit's look as its template, the app's chart config."""
    spec = json.loads(fig.to_json())
    spec.setdefault("layout", {})["template"] = {"layout": LOOK}
    spec["config"] = CONFIG
    return json.dumps(spec, separators=(",", ":"))


def show(fig, key: str) -> None:
    """Draw `fig` in the live chart under `key`: the same graph, updated in place, on every rerun."""
    component = _declared()
    if component is None:
        chart(fig, key=key)
        return
    component(figure=figure_json(fig), key=key, default=None)
