"""The benchmark page's results: the headline ratios, latency and throughput charts, the table and downloads."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from bigmodel_core.serve import batch, bench
from ui.bench_view import engine_label, headline_ratios, latency_figure, results_table, throughput_figure
from ui.i18n import t
from ui.layout import chart, fact_cards


def render(model_id: str, result: dict | None) -> None:
    """One model's last benchmark, or a line saying there is none yet."""
    if not result:
        st.caption(t("bench.none_yet"))
    else:
        st.subheader(t("bench.results"))
        ratios = headline_ratios(result["results"])
        if ratios:                                    # cards that wrap: the engines' full names, never "ONNX Runti…"
            fact_cards([(label, text) for label, text, _ in ratios])
        left, right = st.columns(2)
        with left:
            chart(latency_figure(result["results"]), key="bench_latency")
        with right:
            chart(throughput_figure(result["results"]), key="bench_throughput")
        agree = result.get("agreement") or {}
        if len(agree) > 1:
            base = next(iter(agree))
            st.caption(t("bench.agreement", base=engine_label(base),
                         items=", ".join(f"{engine_label(e)} {v:.2g}" for e, v in agree.items() if e != base)))
        if result.get("transfers"):
            st.caption(t("bench.transfers", items="; ".join(
                f"batch {b}: ↑{v['h2d_ms']:.3f} ↓{v['d2h_ms']:.3f}" for b, v in result["transfers"].items())))
        with st.expander(t("bench.table_title")):
            st.dataframe(results_table(result["results"]), hide_index=True, width="stretch")
        rows = bench.contract_rows(result)
        d1, d2, d3 = st.columns([1, 1, 3], vertical_alignment="center")
        with d1:
            st.download_button(t("bench.download_csv"), data=batch.csv_bytes(pd.DataFrame(rows)), icon="⬇️",
                               file_name=f"bench-{model_id}.csv", mime="text/csv", on_click="ignore",
                               key="bench_dl_csv", width="stretch")
        with d2:
            st.download_button(t("bench.download_json"), data=bench.contract_json(result), icon="⬇️",
                               file_name=f"bench-{model_id}.json", mime="application/json", on_click="ignore",
                               key="bench_dl_json", width="stretch")
        d3.caption(t("bench.download_help"))
