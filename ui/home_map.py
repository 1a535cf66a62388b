"""The home page's cross-domain map: which kinds of data each domain's models use; a click opens the domain.

A Vega-Lite chart, not Plotly: it is the first page a visitor sees, and Plotly's browser code
(4.6 MB) took the last second of the cold first page to load and compile, after everything else
was drawn (docs/benchmarks.md, "In the browser"); Vega-Lite's is about a sixth of that. The
bubbles, their sizes (models per domain and kind), the colours per kind, the faded bubbles of
models not built yet, the hover details and the click through to the domain page are the same.
"""
from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from bigmodel_core.app import domains
from ui.i18n import t
from ui.layout import PALETTE

PICK = "pick"          # the chart's point selection: the clicked bubble's domain id


@st.cache_data(show_spinner=False, max_entries=8)
def spec(lang: str, built: frozenset) -> dict:
    """The Vega-Lite spec of the map in `lang` (cached per language and set of built models)."""
    rows = domains.cross_domain_map()
    kinds = [k for k in domains.KINDS if any(r["kind"] == k for r in rows)]
    order = list(domains.DOMAINS)
    kind_of = {k: t(f"common.kind.{k}") for k in kinds}
    domain_of = {d: f"{domains.DOMAINS[d].icon} {t(f'domain.{d}.title')}" for d in order}
    values = [dict(domain_id=r["domain"], domain=domain_of[r["domain"]], kind=kind_of[r["kind"]],
                   n=len(r["models"]), built=any(m in built for m in r["models"]),
                   datasets=", ".join(r["datasets"]),
                   models=" · ".join(f"{'✅' if m in built else '⏳'} {m}" for m in r["models"]))
              for r in rows]
    x = dict(field="kind", type="nominal", sort=[kind_of[k] for k in kinds], title=None,
             axis=dict(orient="top", labelAngle=0, labelFontSize=13, labelLimit=160, grid=True, domain=False,
                       ticks=False, labelExpr="split(datum.label, ' ')"))      # "Tabular / regression": 2 lines
    y = dict(field="domain", type="nominal", sort=[domain_of[d] for d in order], title=None,
             axis=dict(labelFontSize=13, labelLimit=220, grid=True, domain=False, ticks=False))
    tooltip = [dict(field="domain", title=t("home.map_domain")), dict(field="kind", title=t("home.map_kind")),
               dict(field="datasets", title=t("home.map_data")), dict(field="models", title=t("home.map_models"))]
    bubbles = dict(
        mark=dict(type="circle", stroke="white", strokeWidth=2, cursor="pointer"),
        params=[dict(name=PICK, select=dict(type="point", fields=["domain_id"], on="click", clear="dblclick"))],
        encoding=dict(
            x=x, y=y, tooltip=tooltip,
            size=dict(field="n", type="quantitative", legend=None, scale=dict(domain=[1, 4], range=[700, 2600])),
            color=dict(field="kind", type="nominal", legend=None,
                       scale=dict(domain=[kind_of[k] for k in kinds], range=PALETTE[:len(kinds)])),
            opacity=dict(condition=dict(test="datum.built", value=0.95), value=0.45)))
    counts = dict(mark=dict(type="text", color="white", fontSize=13, fontWeight="bold"),
                  encoding=dict(x=x, y=y, text=dict(field="n", type="quantitative"), tooltip=tooltip))
    return {"data": {"values": values}, "height": 430, "layer": [bubbles, counts],
            "config": {"view": {"stroke": None}}}


def show(lang: str, built: frozenset, key: str, on_select: Callable[[], None]) -> None:
    """Draw the map; a click on a bubble calls `on_select` (read the domain with `clicked_domain`)."""
    st.vega_lite_chart(spec(lang, built), key=key, on_select=on_select, selection_mode=PICK, width="stretch")


def clicked_domain(state) -> str | None:
    """The domain id of the bubble the visitor clicked, from the chart's widget state (None when none)."""
    points = ((state or {}).get("selection") or {}).get(PICK) or []
    for p in points:
        domain_id = p.get("domain_id") if isinstance(p, dict) else None
        if domain_id in domains.DOMAINS:
            return domain_id
    return None
