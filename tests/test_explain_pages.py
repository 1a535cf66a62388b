"""The "Explain this prediction" expander under AppTest, on the full app, in both languages.

Predict page: a text model (integrated gradients: word chips + bar chart), an image model
without PyTorch weights (occlusion heat map through ONNX Runtime) and a tabular model
(Shapley contributions + permutation importance). Domain pages: healthcare (tabular),
customer service (two text models side by side: IG and word ablation) and public safety
(two image models). Each opens the expander (its session-state key) and checks that the
explanation's charts appear with their titles and that no exception was raised.
"""
import io
import json

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from tests.helpers import DOMAIN_PAGES, EN, ZH, built, no_exception, open_page

PREDICT = "pages/predict.py"


def need(*model_ids: str) -> None:
    missing = [m for m in model_ids if not built(m)]
    if missing:
        pytest.skip(f"model not built: python -m bigmodel_core build-defaults --only {' '.join(missing)}")


def chart_titles(at: AppTest) -> list[str]:
    titles = []
    for c in at.get("plotly_chart"):
        spec = json.loads(c.proto.spec)
        titles.append(((spec.get("layout") or {}).get("title") or {}).get("text", ""))
    return titles


def has_title(at: AppTest, template: str) -> bool:
    """A chart whose title starts like `template` (up to its first placeholder)."""
    head = template.split("{")[0]
    return any(title.startswith(head) for title in chart_titles(at))


def captions(at: AppTest) -> str:
    return " ".join(c.value for c in at.caption)


def open_app(lang: str) -> AppTest:
    return open_page(None, lang)


def picture_png() -> bytes:
    rng = np.random.default_rng(0)
    arr = (rng.random((40, 40, 3)) * 255).astype(np.uint8)
    arr[10:30, 10:30] = (200, 40, 40)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, "PNG")
    return buf.getvalue()


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_predict_page_explains_text_image_and_tabular_predictions(lang):
    need("sst2-tiny", "cifar10-cnn", "diabetes-mlp")
    tab = EN if lang == "en" else ZH
    at = open_app(lang)
    at.session_state["predict_preset"] = "sst2-tiny"
    at.switch_page(PREDICT).run()
    no_exception(at)
    assert at.selectbox(key="predict_model").value == "sst2-tiny"
    assert not has_title(at, tab["explain.text.chart"])                  # closed: nothing computed yet

    # text: the default example has two lines; the first one is explained by integrated gradients
    at.session_state["explain:predict:sst2-tiny"] = True
    at.run()
    no_exception(at)
    assert has_title(at, tab["explain.text.chart"]), chart_titles(at)
    assert tab["explain.text.method.ig"].split("{")[0] in captions(at)
    assert tab["explain.text.method.ig_wide"] in captions(at)          # sst2-tiny is wide and deep: both halves
    assert tab["explain.text.completeness"].split("{")[0] in captions(at)
    assert any("-background[" in m.value for m in at.markdown)           # the coloured word chips
    at.selectbox(key="explain_line:predict:sst2-tiny").set_value(1).run()
    no_exception(at)
    assert has_title(at, tab["explain.text.chart"])

    # image: a model shipped without PyTorch weights, explained by occlusion through ONNX Runtime
    at.session_state["predict_src_cifar10-cnn"] = "upload"  # before the widget exists (AppTest's set_value reads
    at.selectbox(key="predict_model").set_value("cifar10-cnn").run()   # the labels in English only)
    no_exception(at)
    at.get("file_uploader")[0].set_value(("picture.png", picture_png(), "image/png"))
    at.session_state["explain:predict:cifar10-cnn"] = True
    at.run()
    no_exception(at)
    assert has_title(at, tab["explain.image.chart"]), chart_titles(at)
    assert tab["explain.image.method"].split("{")[0] in captions(at)

    # tabular: this row's contributions and the model's permutation importance
    at.selectbox(key="predict_model").set_value("diabetes-mlp").run()
    no_exception(at)
    at.session_state["explain:predict:diabetes-mlp"] = True
    at.run()
    no_exception(at)
    assert has_title(at, tab["explain.tab.contrib_title"]), chart_titles(at)
    assert has_title(at, tab["explain.tab.imp_title"]), chart_titles(at)
    assert [tb.label for tb in at.tabs][-2:] == [tab["explain.tab.this"], tab["explain.tab.model"]]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_healthcare_domain_page_explains_the_tabular_prediction(lang):
    need("diabetes-mlp")
    tab = EN if lang == "en" else ZH
    at = open_app(lang)
    at.switch_page(DOMAIN_PAGES["healthcare"]).run()
    no_exception(at)
    assert not has_title(at, tab["explain.tab.contrib_title"])
    at.session_state["explain:domain:diabetes:diabetes-mlp"] = True
    at.run()
    no_exception(at)
    assert has_title(at, tab["explain.tab.contrib_title"]), chart_titles(at)
    assert has_title(at, tab["explain.tab.imp_title"]), chart_titles(at)
    assert tab["explain.tab.contrib_method"].split("{")[0].replace("**", "") in captions(at).replace("**", "")


def test_customer_service_page_explains_both_text_models():
    need("sst2-minilm", "sst2-tiny")
    at = open_app("en")
    at.switch_page(DOMAIN_PAGES["customer-service"]).run()
    no_exception(at)
    at.session_state["explain:domain:sst2:sst2-minilm"] = True
    at.session_state["explain:domain:sst2:sst2-tiny"] = True
    at.run()
    no_exception(at)
    head = EN["explain.text.chart"].split("{")[0]
    assert sum(t.startswith(head) for t in chart_titles(at)) == 2, chart_titles(at)
    text = captions(at)
    assert "Word removal" in text and "Integrated gradients" in text       # which method ran, per model


def test_public_safety_page_explains_the_image_models_in_chinese():
    need("cifar10-cnn", "cifar10-lenet-seed")
    at = open_app("zh")
    at.switch_page(DOMAIN_PAGES["public-safety"]).run()
    no_exception(at)
    for model_id in ("cifar10-cnn", "cifar10-lenet-seed"):
        at.session_state[f"explain:domain:cifar10-images:{model_id}"] = True
    at.run()
    no_exception(at)
    head = ZH["explain.image.chart"].split("{")[0]
    assert sum(t.startswith(head) for t in chart_titles(at)) == 2, chart_titles(at)
