"""Shareable links and downloads in the real app, driven by Debian's Chromium (see tests/test_browser.py).

A predict link opened in a fresh browser context (a new visitor: no cookies, no
session) shows the linked model, input and answer; the other-language notice switches
models in one click; CSV rows and benchmark results download as files the browser saves.
Screenshots of each, in English and Chinese, go to tests/artifacts/share-*.png.
"""
from __future__ import annotations

import io
import json
import re
from pathlib import Path
from urllib.parse import parse_qs, quote, urlencode, urlparse

import pandas as pd
import pytest

from tests.app_server import app_for_browser
from tests.test_browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, wait_idle

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
GOOD_ZH, BAD_ZH = "送餐很快，味道也很好，下次还点！", "等了两个小时，饭菜都凉了，太差了。"
METRIC = '[data-testid="stMetricValue"]'


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    yield from app_for_browser(tmp_path_factory.mktemp("share-app"))


@pytest.fixture(scope="module")
def browser(app_url):
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        warm = chromium.new_page()                     # the server runs app.py once (see test_browser.browser_page)
        warm.goto(app_url, wait_until="domcontentloaded")
        warm.locator("h1").first.wait_for(timeout=60_000)
        warm.close()
        yield chromium
        chromium.close()


@pytest.fixture
def fresh_page(browser):
    """A new visitor: a browser context of its own (no cookies, no Streamlit session), 1280×800."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(30_000)
    yield page
    context.close()


def visit(page, url: str, path: str, **params) -> None:
    page.goto(f"{url}/{path}" + (f"?{urlencode(params, quote_via=quote)}" if params else ""),
              wait_until="domcontentloaded")
    page.locator("h1").first.wait_for(timeout=60_000)
    wait_idle(page)


def healthy(page, name: str) -> None:
    wait_idle(page)
    page.screenshot(path=str(ARTIFACTS / f"share-{name}.png"), full_page=True)
    errors = page.locator('[data-testid="stException"]')
    assert errors.count() == 0, f"{name}: {errors.first.inner_text()[:500]}"


def query(page) -> dict:
    return {k: v[0] for k, v in parse_qs(urlparse(page.url).query).items()}


@pytest.mark.parametrize("lang, answer", [("en", "negative"), ("zh", "负面")])
def test_a_shared_predict_link_opens_on_a_fresh_page(app_url, fresh_page, lang, answer):
    from playwright.sync_api import expect

    page = fresh_page
    visit(page, app_url, "predict", lang=lang, model="waimai-tiny", text=BAD_ZH)
    expect(page.locator(".st-key-predict_model input")).to_have_value(re.compile(r"·\s+waimai-tiny$"))
    expect(page.locator(".st-key-predict_text_waimai-tiny textarea")).to_have_value(BAD_ZH)
    expect(page.locator(METRIC).first).to_have_text(answer, timeout=30_000)
    assert query(page)["model"] == "waimai-tiny" and query(page)["text"] == BAD_ZH     # the address keeps them
    page.locator(".st-key-predict_share button").first.click()                     # the Share box
    shared = page.locator('[data-testid="stPopoverBody"] code').first
    expect(shared).to_contain_text("model=waimai-tiny")
    healthy(page, f"predict-link-{lang}")
    link = shared.inner_text().strip()
    assert urlparse(link).path.endswith("/predict") and parse_qs(urlparse(link).query)["text"] == [BAD_ZH]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_other_language_notice_switches_models_in_one_click(app_url, fresh_page, lang):
    from playwright.sync_api import expect

    page = fresh_page
    visit(page, app_url, "predict", lang=lang, model="sst2-tiny")
    box = page.locator(".st-key-predict_text_sst2-tiny textarea")
    box.fill(GOOD_ZH)
    box.press("Control+Enter")
    switch = page.locator(".st-key-predict_lang_switch_sst2-tiny button")
    expect(switch).to_be_visible(timeout=30_000)
    expect(page.get_by_text({"en": "looks Chinese", "zh": "看起来是中文"}[lang]).first).to_be_visible()
    healthy(page, f"predict-other-language-{lang}")
    switch.click()
    expect(page.locator(".st-key-predict_text_waimai-tiny textarea")).to_have_value(GOOD_ZH, timeout=30_000)
    expect(page.locator(METRIC).first).to_have_text({"en": "positive", "zh": "正面"}[lang], timeout=30_000)
    wait_idle(page)
    assert query(page)["model"] == "waimai-tiny"
    healthy(page, f"predict-switched-{lang}")


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_csv_rows_upload_and_download(app_url, fresh_page, tmp_path, lang):
    from playwright.sync_api import expect

    from bigmodel_core.serve import examples

    model = "breast-cancer-mlp"
    rows = examples.load(model, ROOT / "models").frame.head(25)
    path = tmp_path / "patients.csv"
    rows.to_csv(path, index=False)
    page = fresh_page
    visit(page, app_url, "predict", lang=lang, model=model)
    page.locator('[data-testid="stExpander"] summary').filter(
        has_text={"en": "Predict many rows", "zh": "批量预测"}[lang]).click()
    page.locator(f".st-key-predict_csv_{model} input[type=file]").set_input_files(str(path))
    button = page.locator(f".st-key-predict_rows_dl_{model} button")
    expect(button).to_be_visible(timeout=30_000)
    with page.expect_download() as got:
        button.click()
    assert got.value.suggested_filename == "patients-predictions.csv"
    table = pd.read_csv(io.BytesIO(Path(got.value.path()).read_bytes()), encoding="utf-8-sig")
    assert len(table) == 25 and list(table.columns)[-3:] == ["predicted_label", "p_malignant", "p_benign"]
    assert set(table["predicted_label"]) <= {"malignant", "benign"}
    page.locator(f".st-key-predict_rows_dl_{model}").scroll_into_view_if_needed()
    healthy(page, f"predict-rows-{lang}")


def test_benchmark_link_and_downloads(app_url, fresh_page):
    from playwright.sync_api import expect

    page = fresh_page
    visit(page, app_url, "benchmark", model="diabetes-mlp")
    expect(page.locator(".st-key-bench_model input")).to_have_value(re.compile(r"·\s+diabetes-mlp$"))
    rounds = page.locator(".st-key-bench_rounds input[type=range]")
    rounds.press("Home")
    wait_idle(page)
    page.locator(".st-key-bench_run button").click()
    button = page.locator(".st-key-bench_dl_json button")
    expect(button).to_be_visible(timeout=120_000)
    with page.expect_download() as got:
        button.click()
    assert got.value.suggested_filename == "bench-diabetes-mlp.json"
    rows = json.loads(Path(got.value.path()).read_text(encoding="utf-8"))
    assert {r["engine"] for r in rows} >= {"ort-cpu"} and {r["batch"] for r in rows} == {1, 8, 64, 256}
    with page.expect_download() as got:
        page.locator(".st-key-bench_dl_csv button").click()
    table = pd.read_csv(got.value.path(), encoding="utf-8-sig")
    assert len(table) == len(rows) and list(table.columns)[:2] == ["engine", "batch"]
    assert query(page)["model"] == "diabetes-mlp"
    healthy(page, "benchmark-en")
    page.locator(".st-key-lang_switch").get_by_text("中文").click()          # the same results, in Chinese
    expect(page.locator(".st-key-bench_dl_csv button")).to_contain_text("下载 CSV", timeout=30_000)
    healthy(page, "benchmark-zh")


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_domain_links_open_the_example(app_url, fresh_page, lang):
    from playwright.sync_api import expect

    page = fresh_page
    visit(page, app_url, "healthcare", lang=lang, dataset="diabetes", example="17")
    truth = page.locator('[data-testid="stMetricDelta"]').first
    expect(truth).to_be_visible(timeout=30_000)                             # a real row: its true value beside
    healthy(page, f"domain-row-{lang}")
    assert query(page)["example"] == "17"
    visit(page, app_url, "customer-service", lang=lang, dataset="waimai10k", example=BAD_ZH)
    expect(page.locator("[data-testid=stTextArea] textarea").first).to_have_value(BAD_ZH)
    expect(page.locator(METRIC).first).to_have_text({"en": "negative", "zh": "负面"}[lang], timeout=30_000)
    healthy(page, f"domain-text-{lang}")
