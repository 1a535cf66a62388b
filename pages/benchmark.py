"""Benchmark: PyTorch eager vs ONNX Runtime (CPU, CUDA, int8) for a registry model, timed side by side.

The model lives in the address (`?model=…`), so a link opens the page on it; results
download as CSV and as the JSON that `python -m bigmodel_core bench --json` prints.
"""
import pandas as pd
import streamlit as st

from bigmodel_core.app import jobs
from bigmodel_core.errors import BigModelError
from bigmodel_core.serve import batch, bench, registry
from bigmodel_core.serve.metrics import primary_metric
from bigmodel_core.serve.runtime import default_threads, gpu_usable
from ui import links
from ui.bench_view import engine_label, headline_ratios, latency_figure, results_table, throughput_figure
from ui.full_install import notice, torch_installed
from ui.i18n import t
from ui.layout import (
    PAGE_ICONS,
    chart,
    empty_state,
    fact_cards,
    fmt,
    fmt_bytes,
    metric_cards,
    metric_name,
    model_title,
    page_header,
    show_error,
)

BATCHES = [1, 8, 64, 256]


@st.cache_data(show_spinner=False)
def _machine() -> dict:
    return bench.machine_info()


def _int8_sibling(entry: registry.Entry, entries: dict) -> registry.Entry | None:
    return entries.get(f"{entry.id}-int8")


page_header(PAGE_ICONS["benchmark"], t("nav.benchmark"), t("bench.subtitle"))
st.info(t("bench.why_ratios"), icon="📏")

info = _machine()
fact_cards([(t("bench.cpu"), info.get("cpu") or "—"), (t("bench.threads"), str(default_threads())),
            (t("bench.gpu"), info.get("gpu") or t("bench.no_gpu")),
            (t("bench.versions"),
             f"onnxruntime {info.get('onnxruntime')} · torch {info.get('torch', '—').split('+')[0]}")])

flash = st.session_state.pop("bench_flash", None)
if flash:
    (st.success if flash[0] == "success" else st.error)(flash[1])

good, _ = registry.list_models()
by_id = {e.id: e for e in good}
candidates = [e for e in good if not e.card.get("quantized_from")]
if not candidates:
    empty_state(t("models.empty"), "python -m bigmodel_core build-defaults")
    st.stop()

ids = [e.id for e in candidates]
wanted = st.query_params.get("model")
if wanted in ids and links.is_new("benchmark", {"model": wanted}):      # a link to follow, not an echo
    st.session_state["bench_model"] = wanted
if st.session_state.get("bench_model") not in ids:
    st.session_state["bench_model"] = "sst2-tiny" if "sst2-tiny" in ids else ids[0]
model_id = st.selectbox(t("bench.model"), ids, key="bench_model",
                        format_func={i: f"{model_title(by_id[i].card)}  ·  {i}" for i in ids}.get)
links.publish("benchmark", {"model": model_id}, lambda k: k == "model")
entry = by_id[model_id]
has_weights = (entry.folder / "weights.safetensors").exists()
has_torch = has_weights and torch_installed()
int8 = _int8_sibling(entry, by_id)

options = (["torch"] if has_torch else []) + ["ort-cpu"] + (["ort-cuda"] if gpu_usable() else []) + \
          (["ort-int8"] if int8 else [])
notes = []
if not has_weights:
    notes.append(t("bench.no_torch"))
elif not has_torch:
    notice("bench_torch")
cols = st.columns([3, 2, 2])
# Options are the visible labels (not names + format_func) so the widget state holds plain strings.
label_of = {e: engine_label(e) for e in options}
chosen = cols[0].multiselect(t("bench.engines"), list(label_of.values()), default=list(label_of.values()),
                             key=f"bench_engines_{model_id}_{len(options)}")
engines = [e for e, label in label_of.items() if label in chosen]
batches = cols[1].multiselect(t("bench.batches"), BATCHES, default=BATCHES, key="bench_batches")
rounds = cols[2].slider(t("bench.rounds"), 10, 100, 30, step=10, key="bench_rounds")
for note in notes:
    st.caption(note)
if not int8:
    c1, c2 = st.columns([3, 1], vertical_alignment="center")
    c1.caption(t("bench.no_int8"))
    if c2.button(t("bench.make_int8"), key="bench_make_int8"):
        from bigmodel_core.convert.quantize import quantize_model

        with st.spinner(t("bench.quantizing")):
            try:
                res = quantize_model(model_id)
                st.session_state["bench_flash"] = ("success", t("bench.int8_saved", id=res["id"],
                                                               size=f"{res['size_ratio']:.0%}"))
            except BigModelError as exc:
                st.session_state["bench_flash"] = ("error", str(exc))
        st.rerun()

if jobs.manager().running_count():
    st.warning(t("bench.busy"), icon="⏳")

results = st.session_state.setdefault("bench_results", {})
if st.button(t("bench.run"), type="primary", key="bench_run"):
    if not engines or not batches:
        st.warning(t("bench.pick_engine"))
    else:
        with st.spinner(t("bench.running", engines=", ".join(engine_label(e) for e in engines),
                          batches=", ".join(map(str, sorted(batches))))):
            try:
                results[model_id] = bench.benchmark(model_id, batches=sorted(batches), engines=engines, rounds=rounds)
            except BigModelError as exc:
                show_error(exc)

result = results.get(model_id)
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
                           file_name=f"bench-{model_id}.csv", mime="text/csv", on_click="ignore", key="bench_dl_csv",
                           width="stretch")
    with d2:
        st.download_button(t("bench.download_json"), data=bench.contract_json(result), icon="⬇️",
                           file_name=f"bench-{model_id}.json", mime="application/json", on_click="ignore",
                           key="bench_dl_json", width="stretch")
    d3.caption(t("bench.download_help"))

if int8:
    st.subheader(t("bench.int8_title"))
    st.caption(t("bench.int8_caption"))
    q = int8.card.get("quantized_from") or {}
    metric = primary_metric(entry.card.get("problem", "classification"), len(entry.card.get("labels") or []) or None)
    fp32_value = ((q.get("fp32_test") or {}).get(metric)
                  or ((entry.card.get("metrics") or {}).get("test") or {}).get(metric))
    int8_value = ((int8.card.get("metrics") or {}).get("test") or {}).get(metric)
    p50 = {r["engine"]: r["p50_ms"] for r in (result or {}).get("results", []) if r["batch"] == 1}
    table = pd.DataFrame({
        t("bench.int8.col.variant"): ["fp32", "int8"],
        t("bench.int8.col.size"): [fmt_bytes(entry.card.get("onnx_bytes")), fmt_bytes(int8.card.get("onnx_bytes"))],
        t("bench.int8.col.metric", metric=metric_name(metric)): [fmt(fp32_value, 4), fmt(int8_value, 4)],
        t("bench.int8.col.latency"): [fmt(p50.get("ort-cpu"), 3), fmt(p50.get("ort-int8"), 3)],
    })
    st.dataframe(table, hide_index=True, width="stretch")
    delta = (q.get("delta") or {}).get(metric)
    metric_cards([(t("bench.int8.size_ratio"), f"{q.get('size_ratio', 0):.0%}"),
                  (t("bench.int8.delta", metric=metric_name(metric)),
                   "—" if delta is None else f"{delta * 100:+.2f} pt")])

st.caption(t("bench.cli"))
st.code(f"python -m bigmodel_core bench {model_id} --json", language="bash")
