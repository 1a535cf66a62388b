"""Stakeholder-grade polish (issue 14): what a person notices on the models, inspector, benchmark and
explanation views — no literal "None", axes that read like numbers, full names, colours that mean the
same thing everywhere, legends that never sit on titles."""
import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import plotly.graph_objects as go
import pytest
from streamlit.testing.v1 import AppTest

from bigmodel_core import explain as E
from bigmodel_core.serve.card import ModelCard
from tests import helpers
from tests.helpers import EN, ZH

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "models"


def _card(model_id: str) -> ModelCard:
    return ModelCard.read(MODELS / model_id / "card.json")


def open_page(page: str, lang: str = "en", **state) -> AppTest:
    return helpers.open_page(page, lang, **state)


def walk(node):
    """Every element of an AppTest tree, in page order."""
    yield node
    for child in getattr(node, "children", {}).values():
        yield from walk(child)


def chart_specs(at: AppTest) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


# ============================================================================ the models page

@pytest.mark.parametrize("lang", ["en", "zh"])
def test_models_page_shows_no_none_and_its_table_fits_a_laptop_screen(lang):
    at = open_page("pages/models.py", lang)
    tab = EN if lang == "en" else ZH
    texts = [e.value for e in walk(at.main) if isinstance(getattr(e, "value", None), str)]
    assert not [x for x in texts if "None" in x], [x for x in texts if "None" in x]
    for frame in (d.value for d in at.dataframe):
        cells = frame.astype(object).to_numpy().ravel()
        assert not [c for c in cells if c is None or (isinstance(c, float) and np.isnan(c)) or c == "None"]
    table = at.dataframe[0].value
    assert len(table.columns) <= 8                                 # what fits beside the sidebar at 1280 px
    assert tab["models.col.score"] in table.columns and tab["models.col.baseline"] in table.columns
    by_id = table.set_index(tab["models.col.id"])
    assert by_id.loc["cifar10-cnn", tab["models.col.baseline"]] == "—"        # no linear baseline for images
    assert by_id.loc["bike-demand-mlp", tab["models.col.baseline"]] == "0.387"


def _history(at: AppTest) -> dict:
    spec = next(s for s in chart_specs(at) if "yaxis2" in s.get("layout", {}))
    return spec["layout"]


@pytest.mark.parametrize("model_id, lo", [("ai4i-failure-mlp", 0.0), ("sst2-tiny", 0.0), ("diabetes-mlp", None)])
def test_training_history_axis_of_a_share_stays_within_0_and_1(model_id, lo):
    at = open_page("pages/models.py")
    at.selectbox(key="models_pick").set_value(model_id).run()
    assert not at.exception
    axis = _history(at)["yaxis2"]
    assert axis["range"][1] == 1.0                                 # never 1.031 for a ROC AUC
    if lo is not None:
        assert axis["range"][0] == lo
    else:                                                          # R²: down to its worst epoch, at most 0
        val = [v.get("r2") for v in _card(model_id).history["val"]]
        assert axis["range"][0] == min([0.0] + val)
    if axis["range"][1] - axis["range"][0] <= 1.5:                 # its own ticks, not the loss axis's
        assert axis["tickmode"] == "linear" and axis["dtick"] == 0.25


def test_a_card_opens_with_its_headline_and_ends_with_its_caveats():
    at = open_page("pages/models.py")
    at.selectbox(key="models_pick").set_value("ai4i-failure-mlp").run()
    card = _card("ai4i-failure-mlp")
    order = [e for e in walk(at.main) if getattr(e, "type", "") in ("markdown", "caption")
             and isinstance(getattr(e, "value", None), str)]
    values = [e.value for e in order]
    title = values.index(f"#### {card.title}")
    assert values[title + 1].startswith("**ROC AUC 0.971** on 2,000 held-out test examples.")
    assert "0.948" in values[title + 1]                           # beside the linear baseline
    notes = values.index(card.notes)
    assert notes > title + 1 and values.index(f"##### 📝 {EN['models.notes_title']}") == notes - 1
    assert EN["models.history_part.first-member"] in values[notes + 1:]


def test_a_regression_card_says_where_its_answers_are_kept_and_why():
    at = open_page("pages/models.py")
    at.selectbox(key="models_pick").set_value("bike-demand-mlp").run()
    kept = [m.value for m in at.markdown if m.value.startswith(f"**{EN['models.range_title']}:**")]
    assert kept == ["**Answers kept within:** 0 – 1,026 bikes/h (the lower bound is known: a count of rentals is "
                    "never negative; upper bound: the largest training value, 977, plus 5% of the training range)."]
    at = open_page("pages/models.py", "zh")
    at.selectbox(key="models_pick").set_value("student-grade-mlp").run()
    kept = [m.value for m in at.markdown if m.value.startswith(f"**{ZH['models.range_title']}:**")]
    assert kept and "0 – 20 分" in kept[0] and ZH["models.range_why.student-performance"] in kept[0]


# ============================================================================ the ONNX inspector

def test_inspector_shows_only_what_it_measured_and_a_regression_output_as_a_number():
    at = open_page("pages/onnx_inspector.py",
                   onnx_sample_file=("diabetes-mlp.onnx", (MODELS / "diabetes-mlp" / "model.onnx").read_bytes()))
    at.button(key="onnx_run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    ran = [c.value for c in at.caption if c.value.startswith("⚡")]
    assert ran and all("—" not in c and "total" not in c for c in ran), ran
    assert any(m.value.startswith("### Output: ") for m in at.markdown)   # one number, not "Class 0 with 100%"
    assert not any("Class 0" in m.value for m in at.markdown)


# ============================================================================ the benchmark charts

def test_log_ticks_read_like_numbers():
    from ui.bench_view import log_ticks

    assert log_ticks([0.05, 0.3, 2.0, 40.0]) == ([0.1, 1.0, 10.0], ["0.1", "1", "10"])
    assert log_ticks([0.0045, 0.06]) == ([0.005, 0.01, 0.02, 0.05], ["0.005", "0.01", "0.02", "0.05"])
    ticks, texts = log_ticks([5e4, 5e7])
    assert texts == ["100,000", "1,000,000", "10,000,000"]         # never "100k, 2, 5, 1M"


def test_latency_chart_has_decade_ticks_and_full_engine_names():
    from ui.bench_view import latency_figure, throughput_figure

    results = [dict(engine=e, batch=b, p50_ms=base * b ** 0.3, p90_ms=base * b ** 0.3 * 1.2, p99_ms=1.0,
                    throughput=b / (base * b ** 0.3) * 1000)
               for e, base in (("torch", 2.0), ("ort-cpu", 0.05), ("ort-int8", 0.04)) for b in (1, 8, 64, 256)]
    for fig in (latency_figure(results), throughput_figure(results)):
        y = fig.layout.yaxis
        assert y.type == "log" and len(y.tickvals) >= 2
        assert all(np.isclose(np.log10(v), round(np.log10(v))) for v in y.tickvals)      # 0.01, 0.1, 1 …
        assert not any(ch in "".join(y.ticktext) for ch in "kMµ")
        assert fig.layout.hoverlabel.namelength == -1              # hover boxes keep "ONNX Runtime int8" whole
        assert {tr.name for tr in fig.data} == {"PyTorch eager", "ONNX Runtime CPU", "ONNX Runtime int8"}


# ============================================================================ explanations

SST2 = ModelCard.read(ROOT / "models" / "sst2-tiny" / "card.json")      # negative / positive, sst2


def test_a_word_takes_the_colour_of_the_class_it_pushes_towards():
    from ui.explain_view import push_colours, text_figure, word_chips
    from ui.layout import BAD, GOOD, class_colors

    colours = class_colors(SST2.labels, positive=0)            # the customer-service page: negative is rose
    assert colours == {"negative": BAD, "positive": GOOD}
    assert push_colours(SST2, 0) == (BAD, GOOD, "positive")       # explaining "negative"
    assert push_colours(SST2, 1) == (GOOD, BAD, "negative")
    res = E.TextExplanation(words=["dull", "wonderful"], scores=np.array([0.4, -0.3]), target=0, score=0.8,
                            baseline_score=None, method="ablation")
    chips = word_chips(res, *push_colours(SST2, 0)[:2])
    assert chips == ":red-background[**dull**] :green-background[**wonderful**]"   # dull → negative: rose
    fig = text_figure(res, SST2)
    assert list(fig.data[0].marker.color) == [BAD, GOOD]
    res = E.TextExplanation(words=["dull", "wonderful"], scores=np.array([-0.4, 0.3]), target=1, score=0.7,
                            baseline_score=None, method="ablation")
    assert word_chips(res, *push_colours(SST2, 1)[:2]) == ":red-background[**dull**] :green-background[**wonderful**]"
    bike = ModelCard.read(ROOT / "models" / "bike-demand-mlp" / "card.json")      # a regression: up / down
    assert push_colours(bike, None)[:2] == (GOOD, BAD)


def test_explanation_bars_get_room_per_bar_and_whole_names():
    from ui.explain_view import ROW_PX, contributions_figure, importance_figure

    names = ["Feels-like temperature (°C)", "Weather situation code", "Humidity (%)", "Hour of day"] * 3
    res = E.TabularContributions(features=[f"f{i}" for i in range(12)], values=list(np.arange(12.0)),
                                 baseline_values=[0.0] * 12, contributions=np.linspace(-5, 6, 12), prediction=100.0,
                                 baseline_prediction=90.0, target=None)
    card = ModelCard.read(ROOT / "models" / "bike-demand-mlp" / "card.json")   # regression of cnt
    labels = dict(zip(res.features, names, strict=False))
    fig = contributions_figure(res, card, lambda c: labels.get(c, "Bikes rented per hour"), lambda c, v: f"{v:g}")
    assert fig.layout.height >= ROW_PX * 12                        # not 60 px of bars for twelve inputs
    texts = [a.text for a in fig.layout.annotations]
    assert len(texts) == 12 and all("…" not in x for x in texts)
    assert texts[0].startswith(labels["f11"])                     # the largest contribution on top, whole
    assert fig.layout.yaxis.showticklabels is False                # names above the bars, not squeezing them
    assert fig.layout.xaxis.title.text == "change in Bikes rented per hour"     # the target's label, not "cnt"
    long = contributions_figure(res, card.model_copy(update={"preprocessing": {"target": "y"}}),
                                lambda c: "Progression after one year (score)" if c == "y" else c, lambda c, v: "1")
    assert long.layout.xaxis.title.text == "change in Progression after one year<br>(score)"   # wrapped, not cut
    imp = E.FeatureImportance(features=list(labels), mean=np.linspace(0.01, 0.2, 12), std=np.full(12, 0.01),
                              metric="r2", score=0.9, rows=100, split="test", repeats=3)
    fig = importance_figure(imp, labels.get)
    assert fig.layout.height >= ROW_PX * 12 and fig.layout.annotations[0].text == "Hour of day"


def test_regression_charts_of_the_studio_name_the_target_as_people_read_it():
    from ui.studio import pred_actual_figure, residual_figure

    trained = SimpleNamespace(test_true=np.array([10.0, 20.0, 30.0]), test_scores=np.array([12.0, 18.0, 33.0]),
                              problem="regression", preprocessing={"target": "cnt"},
                              spec=SimpleNamespace(dataset="bike-sharing"))
    fig = pred_actual_figure(trained)
    assert fig.layout.xaxis.title.text == "Bikes rented per hour (actual)"
    assert residual_figure(trained).layout.xaxis.title.text == "Bikes rented per hour (predicted)"


# ============================================================================ legends and titles

def test_a_legend_never_sits_on_the_title():
    from ui.layout import LEGEND_ROOM, TITLE_ROOM, fit_legend, style

    fig = go.Figure([go.Scatter(y=[1, 2], name="a"), go.Scatter(y=[2, 1], name="b")])
    style(fig, "A title")                                          # legend=None, but two named traces show one
    assert fig.layout.margin.t >= TITLE_ROOM + LEGEND_ROOM
    later = style(go.Figure(go.Scatter(y=[1, 2], name="a")), "A title")
    assert later.layout.margin.t == TITLE_ROOM                     # one trace: no legend, no extra room
    later.add_scatter(y=[2, 1], name="b")                          # a trace added after styling …
    assert fit_legend(later).layout.margin.t >= TITLE_ROOM + LEGEND_ROOM      # … chart() makes room again
    quiet = style(go.Figure([go.Scatter(y=[1]), go.Scatter(y=[2])]), "T", showlegend=False)
    assert quiet.layout.margin.t == TITLE_ROOM
    pic = style(go.Figure([go.Image(z=np.zeros((2, 2, 3))), go.Heatmap(z=[[1]])]), "T")   # traces without legends
    assert pic.layout.margin.t >= TITLE_ROOM
