"""The benchmark and ONNX-inspector pages under AppTest, in both languages, against a private registry."""
import shutil

import pytest

from bigmodel_core.train import pipeline
from bigmodel_core.train.spec import TrainSpec
from bigmodel_core.train.trainer import TrainConfig
from tests.conftest import requires_dataset
from tests.helpers import EN, ZH, open_page

BENCH, ONNX = "pages/benchmark.py", "pages/onnx_inspector.py"


@pytest.fixture(scope="module")
def small_export(tmp_path_factory):
    root = tmp_path_factory.mktemp("bench-page-models")
    spec = TrainSpec("diabetes", "mlp", TrainConfig(epochs=2, batch_size=64, lr=3e-3, device="cpu"),
                     options=dict(hidden=[16]))
    return pipeline.export(pipeline.train(spec), "diabetes-page", root=root)


@pytest.fixture
def registry_with_model(small_export, tmp_registry):
    shutil.copytree(small_export.folder, tmp_registry / small_export.id)
    return small_export.id


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_benchmark_page_runs_and_shows_ratios_charts_and_int8(registry_with_model, lang):
    tab = EN if lang == "en" else ZH
    at = open_page(BENCH, lang)
    assert tab["nav.benchmark"] in at.title[0].value
    assert any(tab["bench.why_ratios"][:30] in i.value for i in at.info)
    assert at.selectbox(key="bench_model").value == registry_with_model
    engines = [tab[f"bench.engine.{e}"] for e in ("torch", "ort-cpu", "ort-int8")]
    assert at.multiselect(key=f"bench_engines_{registry_with_model}_2").value == engines[:2]
    at.multiselect(key="bench_batches").set_value([1, 8]).run()
    at.slider(key="bench_rounds").set_value(10).run()
    at.button(key="bench_run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    cards = [m.value for m in at.markdown]                                  # fact cards: full names, wrapped
    assert any(tab["bench.engine.ort-cpu"] in c and tab["bench.engine.torch"] in c for c in cards), cards
    charts = at.get("plotly_chart")
    assert len(charts) >= 2                                                  # latency and throughput
    table = at.dataframe[0].value
    assert len(table) == 4 and set(table[tab["bench.col.batch"]]) == {1, 8}
    assert set(table[tab["bench.col.provider"]]) == {"pytorch-cpu", "CPU"}
    # make the int8 copy from the page; the trade-off table and the int8 engine appear
    at.button(key="bench_make_int8").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(registry_with_model + "-int8" in s.value for s in at.success)
    assert at.multiselect(key=f"bench_engines_{registry_with_model}_3").value == engines
    variants = [d.value for d in at.dataframe if tab["bench.int8.col.variant"] in d.value.columns]
    assert variants and list(variants[0][tab["bench.int8.col.variant"]]) == ["fp32", "int8"]


def test_benchmark_page_without_models_points_at_the_build_command(tmp_registry):
    at = open_page(BENCH)
    assert any("build-defaults" in c.value for c in at.code)


@pytest.mark.parametrize("lang", ["en", "zh"])
@requires_dataset("onnx-mnist-8", "mnist")                      # the sample model, and a test digit to read
def test_onnx_inspector_reads_the_sample_runs_it_on_a_digit_and_times_it(lang):
    tab = EN if lang == "en" else ZH
    at = open_page(ONNX, lang)
    assert any(tab["onnx.empty"] in i.value for i in at.info)
    at.button(key="onnx_sample").click().run()
    assert not at.exception, [e.value for e in at.exception]
    inputs = at.dataframe[0].value
    assert list(inputs[tab["onnx.col.name"]]) == ["Input3"]
    assert list(inputs[tab["onnx.col.shape"]]) == ["[1, 1, 28, 28]"]
    assert list(at.dataframe[1].value[tab["onnx.col.name"]]) == ["Plus214_Output_0"]
    at.radio(key="onnx_source").set_value(tab["onnx.source.image"]).run()
    at.button(key="onnx_digit").click().run()
    at.button(key="onnx_run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    from bigmodel_core.data.loaders import load_dataset

    digits = load_dataset("mnist")
    label = int(digits.labels[digits.split["test"][0]])
    guess = tab["onnx.top_guess"].split("{")[0]
    assert any(m.value.startswith("### " + guess + str(label)) for m in at.markdown), [m.value for m in at.markdown]
    at.button(key="onnx_bench").click().run()
    assert not at.exception
    assert any(tab["onnx.fixed_batch"] in c.value for c in at.caption)
    timings = at.dataframe[-1].value
    assert list(timings[tab["bench.col.batch"]]) == [1]


def test_onnx_inspector_explains_a_broken_file():
    at = open_page(ONNX)
    at.session_state["onnx_sample_file"] = ("broken.onnx", b"definitely not a protobuf" * 10)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("not an ONNX model" in e.value for e in at.error)
    assert not at.dataframe                                                  # nothing half-shown
