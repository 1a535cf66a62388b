"""Benchmark: PyTorch eager vs ONNX Runtime (CPU, CUDA, int8) for a registry model, timed side by side.

The model lives in the address (`?model=…`), so a link opens the page on it; results
download as CSV and as the JSON that `python -m bigmodel_core bench --json` prints. The results and the
fp32 / int8 comparison are drawn by ui/benchmark/.
"""
import streamlit as st

from bigmodel_core.app import jobs
from bigmodel_core.errors import BigModelError
from bigmodel_core.serve import bench, registry
from bigmodel_core.serve.runtime import default_threads, gpu_usable
from ui import links
from ui.bench_view import engine_label
from ui.benchmark import int8 as bench_int8
from ui.benchmark import results as bench_results
from ui.full_install import notice, torch_installed
from ui.i18n import t
from ui.layout import PAGE_ICONS, empty_state, fact_cards, model_title, page_header, show_error

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
candidates = [e for e in good if not e.card.quantized_from]
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
bench_results.render(model_id, result)

if int8:
    bench_int8.render(entry, int8, result)

st.caption(t("bench.cli"))
st.code(f"python -m bigmodel_core bench {model_id} --json", language="bash")
