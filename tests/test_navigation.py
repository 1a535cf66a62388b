"""Getting around the real app in Chromium: cold deep links, the navigation at first sight, the home page's tour.

- Cold deep links: a FRESH server for each of /healthcare, /customer-service, /predict and /train. Its
  first visitor lands on that page with the app's own navigation (titles, sections, the language
  switch), not Streamlit's list of pages/ file names and no "Page not found"; then a second visitor
  opens another deep link on the same server and gets the same.
- First sight: on several pages, in English and 中文, at 1280×800 and without scrolling, the sidebar
  shows the links to train, predict, models, benchmark and customer-service, nothing on top of them.
- The tour ("Start here" on home): its four buttons land on the domain, on Predict with the domain's
  model, on the training studio with the domain's data and on the benchmark with a model to time.

Screenshots: tests/artifacts/nav-*.png. Needs /usr/bin/chromium and the playwright package; never
`playwright install`.
"""
from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlparse

import pytest

from bigmodel_core.app import domains
from tests.app_server import running_app
from tests.test_browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, wait_idle
from ui.i18n import table

pytestmark = pytest.mark.browser

VIEWPORT = {"width": 1280, "height": 800}
WORDS = {lang: table(lang) for lang in ("en", "zh")}
DOMAIN_PATHS = list(domains.DOMAINS)
# every url_path app.py declares ("" is home, the default page)
DECLARED = {"", "concepts", "playground", *DOMAIN_PATHS, "train", "predict", "models", "benchmark", "onnx-inspector"}
FIRST_SIGHT = ["train", "predict", "models", "benchmark", "customer-service"]


def title_of(path: str, lang: str = "en") -> str:
    words = WORDS[lang]
    if path in domains.DOMAINS:
        return words[f"domain.{path}.title"]
    return {"train": words["train.title"], "predict": words["predict.title"], "models": words["nav.models"],
            "benchmark": words["nav.benchmark"], "": words["app.title"]}[path]


def nav_label(path: str, lang: str) -> str:
    words = WORDS[lang]
    if path in domains.DOMAINS:
        return words[f"domain.{path}.title"]
    return words[f"nav.{path}"]


@pytest.fixture(scope="module")
def chromium():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's Chromium (apt-get install -y chromium) "
                    "to run browser tests")
    pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def visitor(browser, url: str, path: str):
    """A new visitor (own cookies, own Streamlit session) opening `url/path` by typing it."""
    from playwright.sync_api import expect

    page = browser.new_context(viewport=VIEWPORT).new_page()
    page.set_default_timeout(30_000)
    page.goto(f"{url}/{path}", wait_until="domcontentloaded")
    expect(page.locator("h1").first).to_be_visible(timeout=120_000)
    wait_idle(page)
    return page


def assert_on_page(page, path: str, who: str, lang: str = "en") -> None:
    """`page` shows `path` inside the app's real navigation."""
    from playwright.sync_api import expect

    expect(page.locator("h1").first, f"{who}: not the {path} page").to_contain_text(title_of(path, lang))
    assert urlparse(page.url).path.rstrip("/").split("/")[-1] == path, f"{who}: at {page.url}"
    assert page.get_by_text("Page not found").count() == 0, f"{who}: a 'Page not found' dialog"
    assert page.locator(".st-key-lang_switch").count() == 1, f"{who}: app.py did not run (no language switch)"
    nav = page.locator('[data-testid="stSidebarNav"]')
    expect(nav, f"{who}: no navigation").to_be_visible()
    hrefs = {urlparse(a.get_attribute("href")).path.rstrip("/").split("/")[-1]
             for a in nav.locator("a").all()}
    assert hrefs == DECLARED, f"{who}: the sidebar lists {sorted(hrefs)}, not app.py's pages"
    shown = nav.inner_text()
    assert "domain customer service" not in shown and nav_label("customer-service", lang) in shown, \
        f"{who}: {shown[:300]}"


@pytest.mark.parametrize("first, second", [("healthcare", "predict"), ("customer-service", "train"),
                                           ("predict", "customer-service"), ("train", "healthcare")])
def test_a_cold_deep_link_opens_its_page_for_the_first_visitor_and_the_next(chromium, tmp_path, first, second):
    with running_app(tmp_path) as (url, _, log):
        page = visitor(chromium, url, first)
        page.screenshot(path=str(ARTIFACTS / f"nav-cold-{first}.png"))
        assert_on_page(page, first, f"first visitor of a fresh server at /{first}")
        page.context.close()
        page = visitor(chromium, url, second)
        assert_on_page(page, second, f"second visitor at /{second} (after /{first})")
        page.context.close()
        assert "Traceback" not in log.read_text(errors="replace")


@pytest.fixture(scope="module")
def app_url(tmp_path_factory, chromium):
    with running_app(tmp_path_factory.mktemp("nav")) as (url, _, _):
        yield url


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_section_is_one_click_away_at_first_sight(chromium, app_url, lang):
    page = visitor(chromium, app_url, f"?lang={lang}")
    for path in ["", "customer-service", "train"]:
        if path:
            page.locator(f'[data-testid="stSidebarNav"] a[href$="/{path}"]').click()
            page.wait_for_url(lambda u, p=path: urlparse(u).path.endswith(f"/{p}"))
            wait_idle(page)
        assert_on_page(page, path, f"{lang} /{path}", lang)
        page.screenshot(path=str(ARTIFACTS / f"nav-first-sight-{path or 'home'}-{lang}.png"))
        for target in FIRST_SIGHT:
            link = page.locator(f'[data-testid="stSidebarNav"] a[href$="/{target}"]')
            assert link.is_visible(), f"{lang} /{path}: no visible link to {target}"
            assert link.inner_text().strip().endswith(nav_label(target, lang)), link.inner_text()
            box = link.bounding_box()
            assert box and box["y"] >= 0 and box["y"] + box["height"] <= VIEWPORT["height"] \
                and box["x"] + box["width"] <= VIEWPORT["width"], f"{lang} /{path}: {target} is off screen at {box}"
            on_top = page.evaluate("([x, y]) => document.elementFromPoint(x, y)?.closest('a')?.getAttribute('href')",
                                   [box["x"] + box["width"] / 2, box["y"] + box["height"] / 2])
            assert on_top and on_top.endswith(f"/{target}"), f"{lang} /{path}: {target} is covered ({on_top})"
        switch = page.locator(".st-key-lang_switch").bounding_box()
        assert switch and switch["y"] + switch["height"] <= VIEWPORT["height"], "the language switch is off screen"
        assert page.evaluate("window.scrollY") == 0
    page.context.close()


def expect_chosen(page, key: str, text: str) -> None:
    """The select box `key` shows an option containing `text`."""
    from playwright.sync_api import expect

    expect(page.locator(f".st-key-{key} input")).to_have_value(re.compile(re.escape(text)))


def tour_step(page, n: int, path: str) -> None:
    page.locator(f".st-key-home_tour_{n} button").click()
    page.wait_for_url(lambda u: urlparse(u).path.endswith(f"/{path}"), timeout=60_000)
    wait_idle(page)


def back_home(page) -> None:
    page.locator('[data-testid="stSidebarNav"] a').first.click()           # Home, the first link
    page.locator(".st-key-home_tour").wait_for(timeout=60_000)
    wait_idle(page)


def test_the_tour_lands_on_the_right_pages_with_their_presets(chromium, app_url):
    from playwright.sync_api import expect

    page = visitor(chromium, app_url, "")
    tour = page.locator(".st-key-home_tour")
    expect(tour).to_contain_text(WORDS["en"]["home.start_title"])
    page.screenshot(path=str(ARTIFACTS / "nav-tour-home-en.png"))

    tour_step(page, 1, "healthcare")
    assert_on_page(page, "healthcare", "tour step 1")
    expect(page.get_by_role("tab", selected=True)).to_contain_text(WORDS["en"]["domain.model_title"])
    back_home(page)
    tour_step(page, 2, "predict")
    assert_on_page(page, "predict", "tour step 2")
    expect_chosen(page, "predict_model", "diabetes-mlp")
    back_home(page)
    tour_step(page, 3, "train")
    assert_on_page(page, "train", "tour step 3")
    expect_chosen(page, "train_dataset", WORDS["en"]["domain.ds.diabetes.title"])
    page.screenshot(path=str(ARTIFACTS / "nav-tour-train-en.png"))
    back_home(page)
    tour_step(page, 4, "benchmark")
    assert_on_page(page, "benchmark", "tour step 4")
    expect_chosen(page, "bench_model", "diabetes-mlp")
    page.context.close()


def test_the_tour_follows_the_chosen_domain_in_chinese(chromium, app_url):
    from playwright.sync_api import expect

    page = visitor(chromium, app_url, "?lang=zh")
    page.locator(".st-key-home_tour_domain").click()
    page.get_by_role("option", name=re.compile(re.escape(WORDS["zh"]["domain.customer-service.title"]))).click()
    wait_idle(page)
    expect(page.locator(".st-key-home_tour_1 button")).to_contain_text(WORDS["zh"]["domain.customer-service.title"])
    page.screenshot(path=str(ARTIFACTS / "nav-tour-home-zh.png"))
    tour_step(page, 3, "train")
    assert_on_page(page, "train", "zh tour step 3", "zh")
    expect_chosen(page, "train_dataset", WORDS["zh"]["domain.ds.sst2.title"])      # the title in Chinese
    back_home(page)
    tour_step(page, 4, "benchmark")
    assert_on_page(page, "benchmark", "zh tour step 4", "zh")
    expect_chosen(page, "bench_model", "sst2-tiny")      # keeps its PyTorch weights
    page.context.close()
