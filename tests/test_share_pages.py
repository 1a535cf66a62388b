"""Stakeholder polish under AppTest: a predict page that follows the language, shareable links, downloads.

- the predict page's default model reads the interface's language, and a text in the
  other language gets a notice with a one-click switch to a model that reads it;
- links: query parameters set → page opened → model and input restored and answered,
  and the address follows what the user does (predict, benchmark, domain pages);
- downloads (texts, uploaded CSV rows, benchmark results): the bytes handed to
  `st.download_button` are parsed back and checked.

Pages run on their own against a private registry holding copies of a few shipped models.
"""
import io
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from bigmodel_core.serve import examples, registry
from bigmodel_core.serve.runtime import Predictor
from tests.helpers import no_exception, run_page
from ui.i18n import table

ROOT = Path(__file__).resolve().parent.parent
PREDICT = str(ROOT / "pages" / "predict.py")
BENCH = str(ROOT / "pages" / "benchmark.py")
DOMAIN = {d: str(ROOT / "pages" / f"domain_{d.replace('-', '_')}.py")
          for d in ("healthcare", "public-safety", "customer-service")}
EN, ZH = table("en"), table("zh")
MODELS = ("sst2-tiny", "waimai-tiny", "diabetes-mlp", "breast-cancer-mlp", "ai4i-failure-mlp", "cifar10-cnn",
          "mnist-mlp-seed")
GOOD_ZH, BAD_ZH = "送餐很快，味道也很好，下次还点！", "等了两个小时，饭菜都凉了，太差了。"
GOOD_EN, BAD_EN = "An absolutely wonderful film, moving and funny.", "A dull, tedious mess that wastes its cast."


@pytest.fixture(scope="module")
def shipped_copy(tmp_path_factory):
    root = tmp_path_factory.mktemp("share-registry") / "models"
    for model_id in MODELS:
        shutil.copytree(ROOT / "models" / model_id, root / model_id)
    return root


@pytest.fixture(autouse=True)
def registry_env(shipped_copy, monkeypatch):
    monkeypatch.setenv("BIGMODEL_MODELS_DIR", str(shipped_copy))
    return shipped_copy


@pytest.fixture
def downloads(monkeypatch):
    """What each st.download_button would hand the browser: {key: (bytes, file name)}."""
    got = {}
    real = st.download_button

    def spy(label, data, *args, **kwargs):
        content = data() if callable(data) else data
        got[kwargs.get("key") or label] = (content.encode() if isinstance(content, str) else content,
                                           kwargs.get("file_name"))
        return real(label, data, *args, **kwargs)

    monkeypatch.setattr(st, "download_button", spy)
    return got


def open_page(path: str, lang: str = "en", params: dict | None = None, **state) -> AppTest:
    return run_page(path, lang, params=params, timeout=120, **state)


def labels(at: AppTest) -> list[str]:
    return [m.value for m in at.metric]


def warnings(at: AppTest) -> list[str]:
    return [w.value for w in at.warning]


def predictor(model_id: str) -> Predictor:
    entry = registry.load(model_id)
    return Predictor(entry.folder, entry.card, device="cpu")


# ============================================================================ link helpers (no page)

def test_link_params_and_back():
    from ui import predict_tools as P

    assert P.link_params("m", text="hi\nthere") == {"model": "m", "text": "hi\nthere"}
    assert P.link_params("m", text="x" * (P.MAX_LINK_TEXT + 1)) == {"model": "m"}
    assert P.link_params("m", example=3) == {"model": "m", "example": "3"}
    assert P.link_params("m", row={"a": 2.0, "b": 0.30000000000000004, "c": np.int64(4), "d": "GP"}) == \
        {"model": "m", "f.a": "2", "f.b": "0.3", "f.c": "4", "f.d": "GP"}
    assert P.link_part({"lang": "zh", "model": "m", "f.a": "1", "other": "x"}) == {"model": "m", "f.a": "1"}
    features = [{"name": "a", "type": "numeric", "min": 0, "max": 10, "default": 5},
                {"name": "n", "type": "numeric", "min": 0, "max": 4, "default": 1, "integer": True},
                {"name": "d", "type": "categorical", "categories": ["GP", "MS"], "default": "GP"},
                {"name": "k", "type": "categorical", "categories": ["1", "2"], "default": "1"}]
    got = P.row_from_link(features, {"f.a": "3.14159", "f.n": "9", "f.d": "MS", "f.k": "2.0"})
    assert got == {"a": 3.1, "n": 4, "d": "MS", "k": "2"}                  # snapped, clamped, 2.0 → category "2"
    assert P.row_from_link(features, {"f.a": "abc", "f.n": "nan", "f.d": "XX", "f.k": "inf"}) == {}
    assert P.example_from_link({"example": "4"}, 10) == 4
    assert all(P.example_from_link({"example": e}, 10) is None for e in ("10", "-1", "x", ""))


# ============================================================================ language

@pytest.mark.parametrize("lang, model_id", [("zh", "waimai-tiny"), ("en", "sst2-tiny")])
def test_the_default_model_reads_the_interface_language(lang, model_id):
    at = open_page(PREDICT, lang)
    assert at.selectbox(key="predict_model").value == model_id
    assert at.query_params["model"] == model_id
    assert not any("🌐" in w.icon for w in at.warning), "the example text fits the model: no notice"


def test_the_default_follows_a_language_switch_until_a_model_is_picked():
    at = open_page(PREDICT, "en")
    at.session_state["lang"] = "zh"
    at.run()
    assert at.selectbox(key="predict_model").value == "waimai-tiny"
    at.selectbox(key="predict_model").set_value("sst2-tiny").run()        # picked by hand: it stays
    at.session_state["lang"] = "en"
    at.run()
    at.session_state["lang"] = "zh"
    at.run()
    assert at.selectbox(key="predict_model").value == "sst2-tiny"


def test_a_model_set_from_outside_the_select_box_is_kept():
    at = open_page(PREDICT, "en")
    at.session_state["predict_model"] = "cifar10-cnn"                     # e.g. another page's code
    at.run()
    at.session_state["lang"] = "zh"
    at.run()
    no_exception(at)
    assert at.selectbox(key="predict_model").value == "cifar10-cnn"


def test_chinese_text_on_the_english_model_gets_a_notice_and_a_one_click_switch():
    at = open_page(PREDICT, "en")
    at.text_area(key="predict_text_sst2-tiny").input(GOOD_ZH).run()
    no_exception(at)
    notice = [w for w in warnings(at) if "looks Chinese" in w]
    assert notice and "sst2-tiny reads English only" in notice[0]
    switch = at.button(key="predict_lang_switch_sst2-tiny")
    assert "waimai-tiny" in switch.label and "Chinese" in switch.label
    switch.click().run()
    no_exception(at)
    assert at.selectbox(key="predict_model").value == "waimai-tiny"
    assert at.text_area(key="predict_text_waimai-tiny").value == GOOD_ZH            # the text came along
    assert not [w for w in warnings(at) if "looks" in w]
    assert labels(at) == ["positive"]
    assert at.query_params["model"] == "waimai-tiny" and at.query_params["text"] == GOOD_ZH


def test_an_address_the_page_wrote_before_is_not_taken_for_a_new_link():
    """The browser may send back an address the page has since replaced (a click while a run was finishing)."""
    at = open_page(PREDICT, "en")
    before = dict(at.query_params)                                       # sst2-tiny with its example text
    at.text_area(key="predict_text_sst2-tiny").input(GOOD_ZH).run()
    at.query_params.clear()
    at.query_params.update(before)                                       # the older address comes back
    at.button(key="predict_lang_switch_sst2-tiny").click().run()
    no_exception(at)
    assert at.selectbox(key="predict_model").value == "waimai-tiny"
    assert at.text_area(key="predict_text_waimai-tiny").value == GOOD_ZH
    assert at.query_params["model"] == "waimai-tiny"


def test_english_text_on_the_chinese_model_in_the_chinese_interface():
    at = open_page(PREDICT, "zh")
    at.text_area(key="predict_text_waimai-tiny").input(GOOD_EN).run()
    no_exception(at)
    assert any("看起来是英文" in w and "waimai-tiny" in w for w in warnings(at))
    at.button(key="predict_lang_switch_waimai-tiny").click().run()
    no_exception(at)
    assert at.selectbox(key="predict_model").value == "sst2-tiny"
    assert labels(at) == ["正面"]


def test_mixed_lines_are_counted_and_the_switch_needs_a_majority():
    at = open_page(PREDICT, "en", predict_model="sst2-tiny")
    at.text_area(key="predict_text_sst2-tiny").input("\n".join([GOOD_EN, BAD_EN, GOOD_ZH])).run()
    no_exception(at)
    assert any("1 of 3 lines look Chinese" in w for w in warnings(at))
    assert not any(b.key == "predict_lang_switch_sst2-tiny" for b in at.button), "mostly English: no switch"
    at.text_area(key="predict_text_sst2-tiny").input("\n".join([GOOD_ZH, BAD_ZH, GOOD_EN])).run()
    assert any("2 of 3 lines look Chinese" in w for w in warnings(at))
    assert at.button(key="predict_lang_switch_sst2-tiny")


def test_no_model_for_the_language_says_so(registry_env):
    shutil.move(registry_env / "waimai-tiny", registry_env.parent / "waimai-aside")
    try:
        at = open_page(PREDICT, "en")
        at.text_area(key="predict_text_sst2-tiny").input(GOOD_ZH).run()
        no_exception(at)
        assert any("No model here reads Chinese" in w for w in warnings(at))
        assert not any(b.key == "predict_lang_switch_sst2-tiny" for b in at.button)
    finally:
        shutil.move(registry_env.parent / "waimai-aside", registry_env / "waimai-tiny")


# ============================================================================ predict links

@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_text_link_restores_model_and_text_and_answers(lang):
    at = open_page(PREDICT, lang, {"model": "waimai-tiny", "text": BAD_ZH})
    assert at.selectbox(key="predict_model").value == "waimai-tiny"
    assert at.text_area(key="predict_text_waimai-tiny").value == BAD_ZH
    assert labels(at) == [{"en": "negative", "zh": "负面"}[lang]]
    # the address follows the page: another text, then another model
    at.text_area(key="predict_text_waimai-tiny").input(GOOD_ZH).run()
    assert at.query_params["text"] == GOOD_ZH and labels(at)[0] in ("positive", "正面")
    at.selectbox(key="predict_model").set_value("sst2-tiny").run()
    no_exception(at)
    assert at.query_params["model"] == "sst2-tiny"
    assert at.query_params["text"] == at.text_area(key="predict_text_sst2-tiny").value


def test_the_language_and_other_parameters_stay_in_the_address():
    at = open_page(PREDICT, "zh", {"lang": "zh", "model": "sst2-tiny", "text": GOOD_EN})
    assert at.query_params["lang"] == "zh" and labels(at) == ["正面"]


def test_an_english_link_opened_in_the_chinese_interface_keeps_its_model():
    at = open_page(PREDICT, "zh", {"model": "sst2-tiny", "text": BAD_EN})
    assert at.selectbox(key="predict_model").value == "sst2-tiny"
    assert labels(at) == ["负面"]


def test_a_link_to_an_unknown_model_says_so_and_shows_the_default():
    at = open_page(PREDICT, "en", {"model": "no-such-model", "text": "hello there"})
    assert any("no-such-model" in w for w in warnings(at))
    assert at.selectbox(key="predict_model").value == "sst2-tiny"
    assert at.query_params["model"] == "sst2-tiny"


def test_a_long_text_stays_out_of_the_address():
    from ui.predict_tools import MAX_LINK_TEXT

    at = open_page(PREDICT, "en", predict_model="sst2-tiny")
    long_text = ("a wonderful film " * 200).strip()
    at.text_area(key="predict_text_sst2-tiny").input(long_text).run()
    no_exception(at)
    assert len(long_text) > MAX_LINK_TEXT and "text" not in at.query_params
    assert any(f"over {MAX_LINK_TEXT} characters" in c.value for c in at.caption)


def test_a_form_link_restores_the_values_and_answers():
    model_id = "diabetes-mlp"
    card = registry.load(model_id).card
    frame = examples.load(model_id).frame
    row = frame.iloc[7]
    features = [f["name"] for f in card.preprocessing["features"]]
    params = {"model": model_id, **{f"f.{name}": str(row[name]) for name in features}}
    at = open_page(PREDICT, "en", params)
    for name in features:
        assert at.session_state[f"predict_f_{model_id}_{name}"] == pytest.approx(float(row[name]), abs=0.51)
    shown = float(at.metric[0].value.replace(",", ""))
    values = {name: at.session_state[f"predict_f_{model_id}_{name}"] for name in features}
    assert shown == pytest.approx(predictor(model_id).predict(pd.DataFrame([values]))[0].value, abs=0.01)
    # what the address says after the run opens the same answer in a new session
    again = open_page(PREDICT, "zh", dict(at.query_params))
    assert again.metric[0].value == at.metric[0].value
    # a submitted change goes into the address
    at.slider(key=f"predict_f_{model_id}_bmi").set_value(40.0)
    at.button(key=f"FormSubmitter:predict_form_{model_id}-{EN['predict.run']}").click().run()
    no_exception(at)
    assert at.query_params["f.bmi"] == "40"


def test_a_form_link_with_bad_values_keeps_the_good_ones():
    model_id = "ai4i-failure-mlp"
    at = open_page(PREDICT, "en", {"model": model_id, "f.Type": "nonsense", "f.Tool wear [min]": "abc",
                                   "f.Torque [Nm]": "1e9"})
    assert labels(at)                                                   # still an answer
    assert at.query_params["f.Type"] in ("H", "L", "M")
    assert float(at.query_params["f.Torque [Nm]"]) == at.slider(key=f"predict_f_{model_id}_Torque [Nm]").max


def test_an_image_link_restores_the_real_example_and_answers():
    from bigmodel_core.app import gallery as G

    model_id = "cifar10-cnn"
    entry = registry.load(model_id)
    shown = G.for_model(entry.folder, entry.card)                 # the gallery the page shows (test images)
    at = open_page(PREDICT, "en", {"model": model_id, "example": "4"})
    assert at.segmented_control(key=f"predict_src_{model_id}").value == "example"
    truth = shown.class_names[int(shown.labels[4])]
    assert f"True answer: **{truth}**" in [c.value for c in at.caption]
    expected = predictor(model_id).predict([shown.images[4]])[0].label
    assert labels(at) == [expected]
    at.button(key=f"predict_gallery_{model_id}:tile:7").click().run()    # another picture: the address follows
    assert at.query_params["example"] == "7"
    at.segmented_control(key=f"predict_src_{model_id}").set_value("upload").run()
    assert "example" not in at.query_params and at.query_params["model"] == model_id


# ============================================================================ downloads on the predict page

def test_several_texts_download_as_csv(downloads):
    at = open_page(PREDICT, "en", {"model": "waimai-tiny", "text": f"{GOOD_ZH}\n\n{BAD_ZH}\n好吃"})
    data, name = downloads["predict_dl_waimai-tiny"]
    assert name == "waimai-tiny-predictions.csv"
    got = pd.read_csv(io.BytesIO(data), encoding="utf-8-sig")
    assert list(got.columns) == ["text", "label", "p_negative", "p_positive"]
    assert list(got["text"]) == [GOOD_ZH, BAD_ZH, "好吃"]
    assert list(got["label"][:2]) == ["positive", "negative"]
    assert np.allclose(got["p_negative"] + got["p_positive"], 1.0)
    shown = at.dataframe[0].value                                        # the page's table says the same
    assert list(shown[EN["predict.label"]]) == list(got["label"])


def upload(at: AppTest, key: str, name: str, content: bytes) -> AppTest:
    at.file_uploader(key=key).set_value((name, content, "text/csv"))
    return at.run()


# (AppTest formats a select box's options outside the page, in English: Chinese forms with one are not driven here)
@pytest.mark.parametrize("lang, model_id, columns", [
    ("en", "ai4i-failure-mlp", ["predicted_label", "p_no failure", "p_failure"]),
    ("zh", "breast-cancer-mlp", ["predicted_label", "p_malignant", "p_benign"]),
])
def test_uploaded_rows_come_back_with_predictions(downloads, lang, model_id, columns):
    rows = examples.load(model_id).frame.head(40)
    at = open_page(PREDICT, lang, {"model": model_id})
    template, name = downloads[f"predict_template_{model_id}"]
    assert name == f"{model_id}-rows.csv"
    assert list(pd.read_csv(io.BytesIO(template), encoding="utf-8-sig").columns) == \
        list(predictor(model_id).encoder.columns)
    upload(at, f"predict_csv_{model_id}", "machines.csv", rows.to_csv(index=False).encode())
    no_exception(at)
    tab = EN if lang == "en" else ZH
    assert any(tab["predict.batch.done"].format(n=40, file="machines.csv") == s.value for s in at.success)
    data, name = downloads[f"predict_rows_dl_{model_id}"]
    assert name == "machines-predictions.csv"
    got = pd.read_csv(io.BytesIO(data), encoding="utf-8-sig")
    assert list(got.columns) == list(rows.columns) + columns
    assert got[list(rows.columns)].equals(rows.reset_index(drop=True))
    assert list(got["predicted_label"]) == [p.label for p in predictor(model_id).predict(rows)]


def test_bad_uploaded_rows_give_clear_messages(downloads, monkeypatch):
    from bigmodel_core.serve import batch

    model_id = "diabetes-mlp"
    key = f"predict_csv_{model_id}"
    rows = examples.load(model_id).frame.head(12).copy()
    at = open_page(PREDICT, "en", {"model": model_id})
    upload(at, key, "few.csv", rows.drop(columns=["bmi", "s5"]).to_csv(index=False).encode())
    no_exception(at)
    assert any("lacks columns the model needs: bmi, s5" in e.value for e in at.error)
    assert f"predict_rows_dl_{model_id}" not in downloads
    upload(at, key, "bin.csv", b"\x00\x01\x02binary")
    assert any("not a CSV" in e.value for e in at.error)
    upload(at, key, "empty.csv", b"")
    assert any("empty" in e.value for e in at.error)
    rows["bmi"] = rows["bmi"].astype(object)
    rows.loc[0, "bmi"], rows.loc[1, "bmi"] = np.nan, "n/a"
    upload(at, key, "holes.csv", rows.to_csv(index=False).encode())
    no_exception(at)
    assert any("training median" in w and "(2)" in w for w in warnings(at))
    got = pd.read_csv(io.BytesIO(downloads[f"predict_rows_dl_{model_id}"][0]), encoding="utf-8-sig")
    assert len(got) == 12 and got["predicted_progression"].notna().all()
    monkeypatch.setattr(batch, "MAX_ROWS", 5)
    upload(at, key, "many.csv", rows.to_csv(index=False).encode())
    assert any("at most 5" in e.value for e in at.error)


# ============================================================================ benchmark page

def test_benchmark_link_and_downloads(downloads):
    at = open_page(BENCH, "en", {"model": "breast-cancer-mlp"})
    assert at.selectbox(key="bench_model").value == "breast-cancer-mlp"
    at.selectbox(key="bench_model").set_value("diabetes-mlp").run()
    assert at.query_params["model"] == "diabetes-mlp"
    engines = at.multiselect(key=[m.key for m in at.multiselect if m.key.startswith("bench_engines_")][0])
    engines.set_value([EN["bench.engine.ort-cpu"]])
    at.multiselect(key="bench_batches").set_value([1, 8])
    at.slider(key="bench_rounds").set_value(10)
    at.button(key="bench_run").click().run()
    no_exception(at)
    csv_data, csv_name = downloads["bench_dl_csv"]
    json_data, json_name = downloads["bench_dl_json"]
    assert (csv_name, json_name) == ("bench-diabetes-mlp.csv", "bench-diabetes-mlp.json")
    rows = json.loads(json_data)
    assert [(r["engine"], r["batch"]) for r in rows] == [("ort-cpu", 1), ("ort-cpu", 8)]
    assert all(set(r) == {"engine", "batch", "p50_ms", "p90_ms", "p99_ms", "throughput"} for r in rows)
    assert all(0 < r["p50_ms"] <= r["p90_ms"] <= r["p99_ms"] for r in rows)
    table = pd.read_csv(io.BytesIO(csv_data), encoding="utf-8-sig")
    assert len(table) == 2 and list(table.columns) == ["engine", "batch", "p50_ms", "p90_ms", "p99_ms", "throughput"]
    assert np.allclose(table["p50_ms"], [r["p50_ms"] for r in rows])
    shown = at.dataframe[0].value                                    # the page's table shows the same numbers
    assert np.allclose(sorted(shown[EN["bench.col.p50"]]), sorted(round(r["p50_ms"], 4) for r in rows))


def test_benchmark_link_in_chinese_and_an_unknown_model():
    at = open_page(BENCH, "zh", {"model": "breast-cancer-mlp", "lang": "zh"})
    assert at.selectbox(key="bench_model").value == "breast-cancer-mlp"
    assert at.query_params["lang"] == "zh"
    at = open_page(BENCH, "en", {"model": "nope"})
    assert at.selectbox(key="bench_model").value == "sst2-tiny"
    assert at.query_params["model"] == "sst2-tiny"


# ============================================================================ domain pages

def domain_metrics(at: AppTest) -> list:
    prefix = EN["domain.predicted"].split("{")[0]
    return [m for m in at.metric if m.label == EN["domain.prediction"] or m.label.startswith(prefix)]


def test_a_domain_real_row_lives_in_the_address():
    at = open_page(DOMAIN["healthcare"], "en")
    assert "example" not in at.query_params
    at.button(key="rand:diabetes-mlp").click().run()
    no_exception(at)
    row = at.query_params["example"]
    assert at.query_params["dataset"] == "diabetes" and row.isdigit()
    truth = domain_metrics(at)[0].delta
    # a new session opening that address sees the same row, answer and truth
    again = open_page(DOMAIN["healthcare"], "en", dict(at.query_params))
    assert domain_metrics(again)[0].value == domain_metrics(at)[0].value and domain_metrics(again)[0].delta == truth
    assert again.query_params["example"] == row
    # moving a slider leaves the real row: the address no longer claims it
    slider = [s for s in at.slider if (s.key or "").startswith("in:diabetes-mlp:")][0]
    slider.set_value(slider.max).run()
    assert "example" not in at.query_params


def test_a_domain_link_chooses_the_dataset():
    at = open_page(DOMAIN["healthcare"], "en", {"dataset": "breast-cancer"})
    assert at.segmented_control(key="ds:healthcare").value == "breast-cancer"
    assert {m.value for m in domain_metrics(at)} & {"malignant", "benign"}


def test_a_domain_test_image_lives_in_the_address():
    pick = "gallery:cifar10-images:pick"                       # the gallery's chosen tile (from 0; links from 1)
    at = open_page(DOMAIN["public-safety"], "en", {"example": "7"})
    assert at.session_state[pick] == 6
    first = [m.value for m in domain_metrics(at)]
    assert first and at.query_params["example"] == "7"
    at.button(key="gallery:cifar10-images:tile:8").click().run()
    assert at.query_params["example"] == "9"
    again = open_page(DOMAIN["public-safety"], "en", {"example": "7"})
    assert again.session_state[pick] == 6
    assert [m.value for m in domain_metrics(again)] == first
    at.radio(key="imgsrc:cifar10-images").set_value("upload").run()         # an upload is not in the address
    assert "example" not in at.query_params


@pytest.mark.parametrize("lang, dataset, text, expected", [
    ("en", "sst2", GOOD_EN, "positive"),
    ("zh", "waimai10k", BAD_ZH, "负面"),
])
def test_a_domain_text_lives_in_the_address(lang, dataset, text, expected):
    at = open_page(DOMAIN["customer-service"], lang, {"dataset": dataset, "example": text})
    assert at.text_area(key=f"text:{dataset}").value == text
    values = {m.value for m in at.metric}
    assert expected in values
    at.text_area(key=f"text:{dataset}").input("fine").run()
    assert at.query_params["example"] == "fine" and at.query_params["dataset"] == dataset
