"""Forms and explanations speak the units people read: the bike data stores temperature as °C/41 and humidity
as %/100, yet every slider and every explanation label shows °C and %, and the model still gets what it reads.

One place converts (`domains.display_scale` / `to_display` / `to_model`, and `ui.predict_tools`'
`feature_widget_spec` / `widget_value` / `model_value`); the predict page and the domain pages both use it,
so the same row gives the same answer on both.
"""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from bigmodel_core.app import domains
from bigmodel_core.serve import examples
from bigmodel_core.serve.card import ModelCard
from tests.helpers import run_page
from ui import predict_tools as P
from ui.i18n import table

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "models"
BIKE = "bike-demand-mlp"
EN = table("en")


def _features(model_id: str) -> list[dict]:
    card = ModelCard.read(MODELS / model_id / "card.json")
    return card.preprocessing["features"]


def _number(text: str) -> float:
    return float(text.replace(",", ""))


# ============================================================================ the one conversion

def test_bike_temperature_and_humidity_are_shown_in_celsius_and_percent():
    assert domains.display_scale("bike-sharing") == {"temp": 41.0, "atemp": 50.0, "hum": 100.0, "windspeed": 67.0}
    assert domains.display_scale("diabetes") == {}
    assert domains.to_display("bike-sharing", "temp", 0.5) == 20.5
    assert domains.to_model("bike-sharing", "hum", 63.0) == pytest.approx(0.63)
    assert domains.to_display("bike-sharing", "hr", 7) == 7.0                     # unscaled columns stay


def test_widget_spec_runs_in_display_units_and_converts_back():
    temp = next(f for f in _features(BIKE) if f["name"] == "temp")                 # stored 0.02 … 0.96
    spec = P.feature_widget_spec(temp, 41.0)
    assert spec["min"] <= 0.02 * 41 and spec["max"] >= 0.96 * 41 and spec["max"] < 41
    assert spec["default"] == pytest.approx(temp["default"] * 41, abs=spec["step"])
    shown = P.widget_value(spec, 0.5)                                              # 0.5 in the data = 20.5 °C
    assert shown == pytest.approx(20.5, abs=spec["step"] / 2)
    assert P.model_value(spec, shown) == pytest.approx(shown / 41)
    plain = P.feature_widget_spec(dict(name="age", type="numeric", min=19, max=79, default=50, integer=True))
    assert P.model_value(plain, 50) == 50 and P.widget_value(plain, 50.4) == 50


def test_explanation_labels_show_display_units_and_words():
    from ui.domain.labels import value_text

    assert value_text("bike-sharing", "temp", 0.5) == "20.5"
    assert value_text("bike-sharing", "hum", 0.63) == "63.0"
    assert value_text("bike-sharing", "weathersit", 1) == EN["domain.codes.bike-sharing.weathersit"]["1"]
    assert value_text("diabetes", "bmi", 26.123) == "26.1"


# ============================================================================ the pages

def _predict_page() -> AppTest:
    return run_page(ROOT / "pages" / "predict.py", check=False, predict_model=BIKE)


def test_predict_form_shows_celsius_and_percent_and_a_real_example_lands_in_them():
    at = _predict_page()
    assert not at.exception
    temp = at.slider(key=f"predict_f_{BIKE}_temp")
    hum = at.slider(key=f"predict_f_{BIKE}_hum")
    assert temp.label == EN["domain.feat.bike-sharing.temp"] and "°C" in temp.label
    assert 15 <= temp.value <= 25 and temp.max >= 39 and hum.max == 100      # not 0.50 and 0.63
    at.button(key=f"predict_next_{BIKE}").click().run()
    assert not at.exception
    data = examples.load(BIKE, MODELS)
    row = data.frame.iloc[at.session_state[f"predict_ex_{BIKE}"]]
    temp = at.slider(key=f"predict_f_{BIKE}_temp")
    assert temp.value == pytest.approx(row["temp"] * 41, abs=temp.step / 2 + 1e-9)
    assert at.slider(key=f"predict_f_{BIKE}_hum").value == pytest.approx(row["hum"] * 100, abs=1.0)


def test_the_same_row_gives_the_same_answer_on_the_predict_page_and_the_domain_page():
    at = _predict_page()
    at.button(key=f"predict_next_{BIKE}").click().run()
    shown = {s.key.removeprefix(f"predict_f_{BIKE}_"): s.value for s in [*at.slider, *at.select_slider]
             if s.key and s.key.startswith(f"predict_f_{BIKE}_")}
    assert len(shown) == len(_features(BIKE))
    predicted = _number(at.metric[0].value)

    # What the model reads: the form's values converted back (20.5 °C → 0.5), through ONNX Runtime.
    from bigmodel_core.serve import registry
    from bigmodel_core.serve.runtime import Predictor

    entry = registry.load(BIKE, MODELS)
    specs = P.form_specs(_features(BIKE), "bike-sharing")
    row = {name: P.model_value(specs[name], v) for name, v in shown.items()}
    assert row["temp"] < 1.0 and shown["temp"] > 1.0
    direct = float(Predictor(entry.folder, entry.card, device="cpu").raw(pd.DataFrame([row]))[0])
    assert predicted == pytest.approx(direct, abs=0.005)

    # The transport page's form, given the same displayed values, answers the same.
    from bigmodel_core.app.domains import slug

    dom = run_page(ROOT / "pages" / "domain_transport.py",
                   **{f"in:{BIKE}:{slug(name)}": value for name, value in shown.items()})
    domain_temp = dom.slider(key=f"in:{BIKE}:temp")
    assert domain_temp.value == shown["temp"] and domain_temp.label == at.slider(key=f"predict_f_{BIKE}_temp").label
    prefix = EN["domain.predicted"].split("{")[0]
    answers = [m for m in dom.metric if m.label == EN["domain.prediction"] or m.label.startswith(prefix)]
    assert answers, [m.label for m in dom.metric]
    assert answers[0].value.split()[0] == f"{direct:,.1f}"                 # the domain page shows one decimal


def test_predict_form_for_unscaled_data_is_unchanged():
    """A model of data stored in its own units (diabetes): values go to the model as they are shown."""
    features = _features("diabetes-mlp")
    specs = P.form_specs(features, "diabetes")
    assert all(s.get("scale", 1.0) == 1.0 for s in specs.values())
    bmi = next(f for f in features if f["name"] == "bmi")
    assert specs["bmi"]["min"] <= bmi["min"] and specs["bmi"]["max"] >= bmi["max"]
    assert np.isclose(P.model_value(specs["bmi"], 30.0), 30.0)
