"""Fetch Streamlit's Plotly code while the first page is still being computed, not after.

Streamlit's browser code loads its Plotly renderer (a 4.6 MB script) only when the first chart
arrives, at the end of the script run; on a cold start that fetch and its compilation came last,
about a second after the page's text (scripts/ui_latency.py, `cold_start`). `hint()` runs first
on every page: a tiny component that adds `<link rel="modulepreload">` for that script to the
page's head, so the browser fetches and compiles it while the server runs the page. The browser
then finds it ready when the first chart needs it; it is never run twice (same URL, same module).
Home itself draws no Plotly chart (its map is Vega-Lite, ui/home_map.py); the hint serves the page a
visitor opens next, and every deep link to a page with charts.
"""
from __future__ import annotations

from pathlib import Path

import streamlit as st

CHUNKS = ("PlotlyChart",)                  # the lazily loaded parts of Streamlit's frontend worth fetching early
_JS = """
export default function ({ data }) {
  const entry = document.querySelector('script[type="module"][src*="/static/js/index."]');
  if (!entry) { return; }
  for (const name of data.files) {
    const href = new URL(name, entry.src).href;
    if (document.querySelector('link[rel="modulepreload"][href="' + href + '"]')) { continue; }
    const link = document.createElement("link");
    link.rel = "modulepreload";
    link.crossOrigin = "";
    link.href = href;
    document.head.appendChild(link);
  }
}
"""
_component = None


def files() -> list[str]:
    """The file names of the chunks in the installed Streamlit (their names carry a content hash)."""
    js = Path(st.__file__).resolve().parent / "static" / "static" / "js"
    return sorted(p.name for name in CHUNKS for p in js.glob(f"{name}.*.js"))


def hint() -> None:
    """Ask the browser to fetch the chunks now (an invisible element in the sidebar; nothing if not found)."""
    global _component
    names = files()
    if not names:
        return
    if _component is None:
        _component = st.components.v2.component("bigmodel_preload", js=_JS)
    with st.sidebar:
        _component(key="bigmodel_preload", data={"files": names})
