"""A fresh laptop: no dataset cache, an empty home folder, and every outbound connection refused.

Every page, in English and 中文, must then show no error number, URL error, traceback,
path or variable name; every domain page must answer a "Real example" from the models'
built-in examples and draw at least one explorer chart; predict must offer real
examples; the ONNX inspector must open a demo model.
"""
import re
import socket

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from tests.helpers import DOMAIN_PAGES, EN, ZH, open_page, prediction_metrics

OTHER_PAGES = [None, "pages/concepts.py", "pages/playground.py", "pages/train.py", "pages/predict.py",
               "pages/models.py", "pages/benchmark.py", "pages/onnx_inspector.py"]
# What a visitor must never read: an errno, a traceback, a bare URL (a markdown link's target is fine),
# a path of this machine, an environment variable.
TECHNICAL = re.compile(r"Errno|Traceback|URLError|Connection refused|Name or service|https?://"
                       r"|BIGMODEL_\w+|\$[A-Z_]{3,}|(?:/[\w.@-]+){2,}/?|~/")


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]          # closed again when the socket is: nothing listens there


@pytest.fixture
def fresh_machine(tmp_path, monkeypatch):
    """Empty data cache and home, proxies that refuse every connection, no cached pages or data."""
    for name in ("data", "derived", "home"):
        (tmp_path / name).mkdir()
    monkeypatch.setenv("BIGMODEL_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("BIGMODEL_CACHE_DIR", str(tmp_path / "derived"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    refused = f"http://127.0.0.1:{closed_port()}"
    for var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.setenv(var, refused)
    st.cache_data.clear()
    st.cache_resource.clear()
    yield tmp_path
    st.cache_data.clear()                  # later tests see the full datasets again
    st.cache_resource.clear()


def visible_texts(at: AppTest) -> list[str]:
    texts = []
    for kind in ("title", "header", "subheader", "markdown", "caption", "warning", "error", "info", "success",
                 "metric", "exception"):
        for element in getattr(at, kind):
            texts.append(str(getattr(element, "value", "")))
            texts.append(str(getattr(element, "label", "") or ""))
    return [text for text in texts if text]


def assert_nothing_technical(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    shown = [re.sub(r"\]\([^)]*\)", "]", text) for text in visible_texts(at)]     # a link shows its words only
    leaks = [text[:200] for text in shown if TECHNICAL.search(text)]
    assert not leaks, leaks


def open_fresh(page: str | None, lang: str) -> AppTest:
    return open_page(page, lang, check=False)          # assert_nothing_technical looks at the exceptions


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("domain", sorted(DOMAIN_PAGES))
def test_domain_page_is_complete_offline(fresh_machine, domain, lang):
    tab = EN if lang == "en" else ZH
    at = open_fresh(DOMAIN_PAGES[domain], lang)
    assert_nothing_technical(at)
    assert len(at.get("plotly_chart")) >= 1, "the explorer draws no chart"
    if domain != "healthcare":                       # healthcare's data ships with scikit-learn: full, no sample
        notices = [i.value for i in at.info if tab["data.sample_of"].split("{")[0][:8] in i.value]
        assert notices, "the explorer does not say it shows a sample"
        assert any(b.label.startswith(tab["data.download_nosize"]) for b in at.button)

    real = [b for b in at.button if b.key and b.key.startswith(("rand:", "realtext:"))]
    if real:                                         # tables and texts: draw a real test example
        real[0].click().run()
        assert_nothing_technical(at)
    true_prefix = tab["domain.true_label"].split("{")[0]
    assert prediction_metrics(at, lang), "no answer"
    truth_shown = any(c.value.startswith(true_prefix) for c in at.caption) or \
        any(m.delta and tab["domain.vs_truth"].split("{")[0] in str(m.delta) for m in at.metric)
    assert truth_shown, "the real example's true answer is not shown"


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("page", OTHER_PAGES)
def test_other_pages_show_nothing_technical_offline(fresh_machine, page, lang):
    at = open_fresh(page, lang)
    assert_nothing_technical(at)


@pytest.mark.parametrize("model_id", ["mnist-cnn", "cifar10-cnn", "sst2-tiny", "waimai-tiny", "bike-demand-mlp",
                                      "credit-default-mlp"])
def test_predict_offers_real_examples_offline(fresh_machine, model_id):
    at = open_fresh("pages/predict.py", "en")
    at.session_state["predict_model"] = model_id
    at.run()
    if model_id.startswith(("mnist", "cifar")):
        at.segmented_control(key=f"predict_src_{model_id}").set_value("example").run()
        at.button(key=f"predict_gallery_{model_id}:tile:1").click().run()      # a gallery of built-in examples
    else:
        at.button(key=f"predict_next_{model_id}").click().run()
    assert_nothing_technical(at)
    assert any(m.label == EN["predict.label"] or m.label for m in at.metric)
    if model_id.startswith(("mnist", "cifar")):
        assert any(type(e).__name__ == "Image" for e in at.main), "the example picture is not shown"
        assert any(c.value.startswith(EN["predict.true_label"].split("{")[0]) for c in at.caption)
    else:
        assert any(c.value.startswith(EN["predict.true_label"].split("{")[0]) for c in at.caption)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_inspector_opens_and_runs_a_demo_model_offline(fresh_machine, lang):
    tab = EN if lang == "en" else ZH
    at = open_fresh("pages/onnx_inspector.py", lang)
    assert any(tab["onnx.own_caption"][:20] in c.value for c in at.caption)
    at.button(key="onnx_sample").click().run()
    at.radio(key="onnx_source").set_value(tab["onnx.source.image"]).run()
    at.button(key="onnx_digit").click().run()
    at.button(key="onnx_run").click().run()
    assert_nothing_technical(at)
    guess = tab["onnx.top_guess"].split("{")[0]
    assert any(m.value.startswith("### " + guess) for m in at.markdown)


def test_training_on_a_missing_dataset_offers_its_download(fresh_machine):
    at = open_fresh("pages/train.py", "en")
    at.session_state["train_preset"] = {"task": "image", "dataset": "mnist"}
    at.switch_page("pages/train.py").run()
    assert_nothing_technical(at)
    assert any(b.label.startswith(EN["data.download_nosize"]) for b in at.button)
    assert at.button(key="train_start").disabled, "training would start on data that is not here"
