"""The real app in a real browser: Streamlit started as ./run.sh starts it, driven by Debian's Chromium.

Visits every page (no exception box, visible content, a screenshot each in
tests/artifacts/), types a sentence and uploads a digit on `predict`, and on
`train` starts a small tabular training, watches the curve grow and presses
Stop. The app writes only into a temporary copy of the model registry.
Needs /usr/bin/chromium (`apt-get install -y chromium`) and the playwright
package; never `playwright install`.
"""
from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import urlparse

import pytest

from tests.app_server import CHROMIUM, RUNNING, Quiet, app_for_browser
from tests.conftest import requires_dataset
from ui.i18n import table

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
DOMAINS = ["healthcare", "finance", "education", "manufacturing", "public-safety", "transport", "smart-home",
           "customer-service"]
PAGES = ["home", "concepts", "playground", *DOMAINS, "train", "predict", "models", "benchmark", "onnx-inspector"]


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    yield from app_for_browser(tmp_path_factory.mktemp("app"))


@pytest.fixture(scope="module")
def browser_page(app_url):
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.set_default_timeout(30_000)
        open_page(page, app_url, "home")          # cold deep links have their own test (test_navigation.py)
        yield page
        browser.close()


def open_page(page, url: str, path: str):
    """Go to a page: through the sidebar link when there is one (a warm page switch, as people do), else by URL."""
    from playwright.sync_api import expect

    link = page.locator(f'[data-testid="stSidebarNav"] a[href$="/{path}"]')
    if "?" not in path and path != "home" and link.count() == 1:
        link.click()
        page.wait_for_url(lambda u: urlparse(u).path.endswith(f"/{path}"))    # whatever query the page keeps
    else:
        page.goto(f"{url}/{'' if path == 'home' else path}", wait_until="domcontentloaded")
    expect(page.locator("h1").first).to_be_visible(timeout=60_000)
    wait_idle(page)


def wait_idle(page, timeout: float = 60.0) -> None:
    """Until Streamlit's 'running' indicator has been gone for a moment."""
    deadline, quiet = time.monotonic() + timeout, Quiet()
    time.sleep(0.2)                                  # let a rerun that was just triggered begin
    while time.monotonic() < deadline:
        if quiet.saw(page.locator(RUNNING).count() > 0):
            return
        time.sleep(0.1)


def assert_healthy(page, name: str) -> None:
    wait_idle(page)
    errors = page.locator('[data-testid="stException"]')
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    assert errors.count() == 0, f"{name}: {errors.first.inner_text()[:500]}"
    assert page.locator(".st-key-lang_switch").count() == 1, \
        f"{name}: the app shell (navigation, language switch) did not run"
    main = page.locator('[data-testid="stMain"]')
    assert main.inner_text().strip(), f"{name}: the page is empty"


def test_every_page_renders(app_url, browser_page):
    for path in PAGES:
        open_page(browser_page, app_url, path)
        assert_healthy(browser_page, f"page-{path}")


def test_predict_a_sentence(app_url, browser_page):
    from playwright.sync_api import expect

    page = browser_page
    open_page(page, app_url, "predict?model=sst2-tiny")
    box = page.locator(".st-key-predict_text_sst2-tiny textarea")
    box.fill("An absolutely wonderful film, moving and funny.")
    box.press("Control+Enter")
    expect(page.locator('[data-testid="stMetricValue"]').first).to_have_text("positive", timeout=30_000)
    box.fill("A dull, tedious mess that wastes its cast.")
    box.press("Control+Enter")
    expect(page.locator('[data-testid="stMetricValue"]').first).to_have_text("negative", timeout=30_000)
    expect(page.get_by_text("ONNX Runtime on CPU").first).to_be_visible()
    assert_healthy(page, "predict-text")


def test_predict_an_uploaded_digit(app_url, browser_page, tmp_path):
    from PIL import Image
    from playwright.sync_api import expect

    from bigmodel_core.serve import examples

    model = "mnist-cnn" if (ROOT / "models" / "mnist-cnn").is_dir() else "mnist-mlp-seed"
    images, labels = examples.load(model, ROOT / "models").subset("test")    # real test digits shipped with it
    other = next(i for i in range(4, len(labels)) if labels[i] != labels[3])
    pngs = []
    for i in (3, other):
        pngs.append(tmp_path / f"digit{i}.png")
        Image.fromarray(images[i, 0]).save(pngs[-1])
    page = browser_page
    open_page(page, app_url, f"predict?model={model}")
    expect(page.locator(f".st-key-predict_canvas_{model} canvas")).to_be_visible()      # the drawing pad comes first
    page.locator(f".st-key-predict_src_{model}").get_by_text("Upload").click()
    chooser = page.locator(f".st-key-predict_upload_{model} input[type=file]")
    chooser.set_input_files(str(pngs[0]))
    expect(page.locator('[data-testid="stMetricValue"]').first).to_have_text(str(labels[3]), timeout=30_000)
    expect(page.locator(".bm-probs .bm-prob")).to_have_count(10)                     # one bar per digit
    expect(page.locator(".bm-best .bm-prob-label")).to_have_text(str(labels[3]))     # the longest is the answer
    assert_healthy(page, "predict-digit")
    chooser.set_input_files(str(pngs[1]))                  # another file in its place: the answer follows it
    expect(page.locator('[data-testid="stMetricValue"]').first).to_have_text(str(labels[other]), timeout=30_000)
    expect(page.locator(".bm-best .bm-prob-label")).to_have_text(str(labels[other]))


def test_a_click_on_the_home_map_opens_that_domain(app_url, browser_page):
    """The lowest bubble of the cross-domain map is customer service: a click on it opens that page."""
    from playwright.sync_api import expect

    page = browser_page
    open_page(page, app_url, "home")
    bubbles = page.locator('[data-testid="stVegaLiteChart"] svg .mark-symbol path')
    expect(bubbles.first).to_be_attached(timeout=30_000)
    page.locator('[data-testid="stVegaLiteChart"]').first.scroll_into_view_if_needed()
    boxes = [b for b in (bubbles.nth(i).bounding_box() for i in range(bubbles.count())) if b]
    lowest = max(boxes, key=lambda b: b["y"])
    page.mouse.click(lowest["x"] + lowest["width"] / 2, lowest["y"] + lowest["height"] / 2)
    expect(page.locator("h1").first).to_contain_text(table("en")["domain.customer-service.title"], timeout=30_000)
    assert_healthy(page, "home-map-click")


def test_draw_a_digit_on_the_pad(app_url, browser_page):
    """A stroke on the digit pad is answered without another click; Undo and Clear bring the pad back."""
    from playwright.sync_api import expect

    model = "mnist-cnn" if (ROOT / "models" / "mnist-cnn").is_dir() else "mnist-mlp-seed"
    page = browser_page
    open_page(page, app_url, f"predict?model={model}")
    pad = page.locator(f".st-key-predict_canvas_{model} canvas")
    expect(pad).to_be_visible()
    box = pad.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.15)
    page.mouse.down()
    for k in range(1, 11):                                   # one straight line down the middle: a one
        page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * (0.15 + 0.7 * k / 10))
    page.mouse.up()
    expect(page.locator('[data-testid="stMetricValue"]').first).to_have_text("1", timeout=30_000)
    assert_healthy(page, "predict-pad")
    page.locator(f".st-key-predict_canvas_{model}").get_by_role("button", name="Clear").click()
    expect(page.locator('[data-testid="stMetricValue"]')).to_have_count(0, timeout=30_000)
    expect(page.get_by_text(table("en")["predict.waiting.draw"]).first).to_be_visible()


def test_train_live_curve_and_stop(app_url, browser_page):
    from playwright.sync_api import expect

    page = browser_page
    open_page(page, app_url, "train")
    # scikit-learn's 8x8 digits: here on every machine, no download. The small CNN at batch size 8 for
    # 50 epochs trains for ~25 s on one core (`train --dataset digits --arch small-cnn --epochs 50
    # --batch-size 8 --threads 1`: 23 s), long enough to watch the curve and press Stop. (A tabular
    # MLP finishes such a training in about a second: Stop came after the end.)
    page.locator(".st-key-train_task").get_by_text(table("en")["train.task.image"]).click()
    wait_idle(page)
    page.locator(".st-key-train_dataset").click()
    page.get_by_role("option", name=table("en")["domain.ds.digits.title"]).click()
    wait_idle(page)
    page.locator(".st-key-train_arch").get_by_text(table("en")["train.arch.small-cnn"]).click()
    wait_idle(page)
    batch = page.locator(".st-key-train_small-cnn_bs input[type=range]")
    batch.press("Home")                                                    # batch size 8: many small steps
    expect(batch).to_have_attribute("aria-valuetext", "8")
    wait_idle(page)
    epochs = page.locator(".st-key-train_small-cnn_epochs input[type=range]")
    epochs.press("End")
    expect(epochs).to_have_attribute("aria-valuetext", "50")
    wait_idle(page)
    page.locator(".st-key-train_start button").click()
    stop = page.locator("[class*='st-key-stop_'] button").first
    expect(stop).to_be_visible(timeout=60_000)
    expect(page.frame_locator(LIVE_CHART).locator(".js-plotly-plot")).to_be_visible(timeout=30_000)
    points = lambda: live_chart(page)["points"]  # noqa: E731 - steps drawn in the loss curve right now
    first = points()
    page.screenshot(path=str(ARTIFACTS / "train-live.png"), full_page=True)
    deadline = time.monotonic() + 30
    while points() <= first and time.monotonic() < deadline:
        time.sleep(0.3)
    assert points() > first, "the loss curve did not grow"
    progress = page.locator('[data-testid="stProgress"]').first.inner_text()
    assert "Epoch" in progress and "left" in progress
    t0 = time.monotonic()
    stop.click()
    expect(page.get_by_text("Stopped by you").first).to_be_visible(timeout=30_000)
    assert time.monotonic() - t0 < 15
    wait_idle(page)
    assert_healthy(page, "train-stopped")


LIVE_CHART = 'iframe[title*="live_chart"]'          # the training studio's live chart (ui/live_chart.py)
LOOK = """() => {
  const frame = document.querySelector('IFRAME');
  const results = [...document.querySelectorAll('[data-testid="stMain"] h3')].some(h => h.innerText.includes('🏁'));
  if (!frame) return {present: false, results: results, points: 0, val_points: 0};
  let opacity = 1;
  for (let e = frame; e; e = e.parentElement) opacity *= parseFloat(getComputedStyle(e).opacity);
  const box = frame.getBoundingClientRect();
  const graph = frame.contentDocument && frame.contentDocument.querySelector('.js-plotly-plot');
  const traces = graph && graph.data ? graph.data : [];
  const drawn = graph ? [...graph.querySelectorAll('.scatterlayer .trace path')]
      .filter(p => (p.getAttribute('d') || '').length > 2).length : 0;
  return {present: true, results: results, height: box.height, width: box.width, opacity: opacity,
          shown: getComputedStyle(frame).display !== 'none' && getComputedStyle(frame).visibility !== 'hidden',
          points: traces.length ? (traces[0].x || []).length : 0, drawn: drawn,
          val_points: Math.max(0, ...traces.filter(t => t.xaxis === 'x2').map(t => (t.x || []).length))};
}""".replace("IFRAME", LIVE_CHART)


def live_chart(page) -> dict:
    """What the live chart shows right now: there at full size and opacity, with drawn points (one look)."""
    return page.evaluate(LOOK)


def on_screen(look: dict) -> bool:
    return (look["present"] and look["shown"] and look["height"] >= 300 and look["width"] >= 300
            and look["opacity"] >= 0.9 and look["points"] > 0 and look["drawn"] > 0)


def switch_language(page, lang: str) -> None:
    page.locator(".st-key-lang_switch").get_by_text("English" if lang == "en" else "中文").click()
    page.wait_for_url(lambda u: f"lang={lang}" in u, timeout=30_000)
    wait_idle(page)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_train_live_chart_never_blanks(app_url, browser_page, lang):
    """A short breast-cancer MLP training (batch 8, 50 epochs), the page looked at every 200 ms: from the first
    epoch's end until the results appear, the live chart is on screen in every look (full size, not faded, its
    curves drawn).

    Also: "How it works" reads as text with one bold word, and the suggested id for the new model is free."""
    from playwright.sync_api import expect

    page = browser_page
    open_page(page, app_url, "train")
    if lang != "en":
        switch_language(page, lang)
    try:
        clear = page.locator("[class*='st-key-clear_'] button")
        if clear.count():                                                   # an earlier test's results
            clear.first.click()
            wait_idle(page)
        opening = table(lang)["train.how"].replace("**", "")[:24]          # the paragraph's own first words
        how = page.locator('[data-testid="stMarkdownContainer"] p').filter(has_text=opening).first
        expect(how).to_be_visible(timeout=30_000)
        bold = how.evaluate("p => [...p.querySelectorAll('strong, b')].map(b => b.innerText).join('').length "
                            "/ p.innerText.length")
        assert 0 < bold < 0.2, f"{bold:.0%} of 'How it works' is bold"
        assert "**" not in how.inner_text()
        page.screenshot(path=str(ARTIFACTS / f"train-empty-{lang}.png"))
        tabular = table(lang)["train.task.tabular"]                           # whatever an earlier test left
        page.locator(".st-key-train_task").get_by_text(tabular).click()
        wait_idle(page)
        page.locator(".st-key-train_dataset").click()
        page.get_by_role("option", name=table(lang)["domain.ds.breast-cancer.title"]).click()
        wait_idle(page)
        page.locator(".st-key-train_arch").get_by_text("Neural network (MLP)" if lang == "en"
                                                       else "神经网络（多层感知机）").click()
        wait_idle(page)
        batch = page.locator(".st-key-train_mlp_bs input[type=range]")
        batch.press("Home")                                                 # batch size 8: 57 steps an epoch
        expect(batch).to_have_attribute("aria-valuetext", "8")
        wait_idle(page)
        epochs = page.locator(".st-key-train_mlp_epochs input[type=range]")
        epochs.press("End")                                                 # 50 epochs: several seconds, so many
        expect(epochs).to_have_attribute("aria-valuetext", "50")           # looks even on an idle machine
        wait_idle(page)
        page.locator(".st-key-train_start button").click()
        expect(page.locator(".st-key-train_live")).to_be_visible(timeout=60_000)   # this run's panel, not old results
        looks, shot, deadline = [], False, time.monotonic() + 300
        while time.monotonic() < deadline:
            look = live_chart(page)
            if not looks and not look["present"]:     # an earlier job's results, or this one still queued
                time.sleep(0.2)
                continue
            if look["results"]:
                break
            looks.append(look)
            if not shot and look["val_points"] >= 2:
                page.locator(".st-key-train_live").scroll_into_view_if_needed()
                page.screenshot(path=str(ARTIFACTS / f"train-live-{lang}.png"))
                shot = True
            time.sleep(0.2)
        else:
            raise AssertionError("the training did not finish within 5 minutes")
        after_first_epoch = looks[next((i for i, s in enumerate(looks) if s.get("val_points", 0) >= 1), len(looks)):]
        assert len(after_first_epoch) >= 2, (f"too few looks after the first epoch: {len(after_first_epoch)} of "
                                             f"{len(looks)}: {looks[:2]} {looks[-1:]}")
        gaps = [s for s in after_first_epoch if not on_screen(s)]
        assert not gaps, f"{len(gaps)} of {len(after_first_epoch)} looks without the chart: {gaps[:3]}"
        grown = [s["points"] for s in after_first_epoch]
        # Long runs thin old batch points (jobs.MAX_EVENTS), so the count may dip; it never drops to nothing.
        assert min(grown) > 0, f"the loss curve lost its points: {grown}"
        # the results, with a model id that no model has (breast-cancer-mlp ships with the app)
        box = page.locator("[class*='st-key-train_model_id_'] input")
        expect(box).to_have_value("breast-cancer-mlp-2", timeout=30_000)
        expect(page.locator("[class*='st-key-export_'] button")).to_be_enabled()
        box.scroll_into_view_if_needed()
        wait_idle(page)
        page.screenshot(path=str(ARTIFACTS / f"train-results-{lang}.png"))
        assert_healthy(page, f"train-done-{lang}")
    finally:
        if lang != "en":
            switch_language(page, "en")


def test_upload_a_shipped_onnx_file_and_run_it(app_url, browser_page):
    """Any ONNX file, here a shipped model's own (no download): its named batch dimension, then a run on random
    input."""
    from playwright.sync_api import expect

    page = browser_page
    open_page(page, app_url, "onnx-inspector")
    page.locator(".st-key-onnx_upload input[type=file]").set_input_files(str(ROOT / "models" / "mnist-mlp-seed"
                                                                              / "model.onnx"))
    main = page.locator('[data-testid="stMain"]')
    expect(main.locator('[data-testid="stDataFrame"]').first).to_be_visible(timeout=30_000)
    expect(main.get_by_text("[batch, 1, 28, 28]").first).to_be_attached(timeout=30_000)
    expect(main.get_by_text("[batch, 10]").first).to_be_attached()
    page.locator(".st-key-onnx_run button").click()
    expect(main.get_by_text("Output logits: shape [1, 10]").first).to_be_visible(timeout=30_000)
    assert_healthy(page, "onnx-inspector-shipped")


@requires_dataset("onnx-mnist-8")
def test_upload_an_onnx_model_and_see_its_input_spec(app_url, browser_page):
    """Bring your own ONNX: the Model Zoo's mnist-8.onnx → its input Input3 float32 [1, 1, 28, 28], then a run."""
    from playwright.sync_api import expect

    from bigmodel_core.serve.onnx_inspect import sample_model

    page = browser_page
    open_page(page, app_url, "onnx-inspector")
    page.locator(".st-key-onnx_upload input[type=file]").set_input_files(str(sample_model()))
    main = page.locator('[data-testid="stMain"]')
    # the spec tables are data grids drawn on a canvas: their cells live in an accessible shadow table
    expect(main.locator('[data-testid="stDataFrame"]').first).to_be_visible(timeout=30_000)
    expect(main.get_by_text("Input3").first).to_be_attached(timeout=30_000)
    expect(main.get_by_text("[1, 1, 28, 28]").first).to_be_attached()
    expect(main.get_by_text("Plus214_Output_0").first).to_be_attached()
    page.locator(".st-key-onnx_run button").click()
    expect(main.get_by_text("Output Plus214_Output_0: shape [1, 10]").first).to_be_visible(timeout=30_000)
    assert_healthy(page, "onnx-inspector-mnist8")


def test_playground_play_makes_the_loss_fall(app_url, browser_page):
    """A shared link sets the widgets; ▶ Play trains live and the shown train loss falls; ⏸ Pause stops it."""
    from playwright.sync_api import expect

    page = browser_page
    open_page(page, app_url, "playground?dataset=xor&layers=2&width=8&activation=tanh&lr=0.03&noise=0.1")
    expect(page.locator(".st-key-pg_dataset input")).to_have_value("XOR")
    expect(page.locator(".st-key-pg_layers input")).to_have_value("2")
    expect(page.locator(".st-key-pg_width input")).to_have_value("8")
    loss = page.locator('.st-key-pg_metric_train_loss [data-testid="stMetricValue"]')
    epoch = page.locator('.st-key-pg_metric_epoch [data-testid="stMetricValue"]')
    expect(epoch).to_have_text("0")
    first = float(loss.inner_text())
    page.locator(".st-key-pg_play button").click()
    expect(page.locator(".st-key-pg_play button")).to_contain_text("Pause", timeout=30_000)
    deadline = time.monotonic() + 45
    while time.monotonic() < deadline and (int(epoch.inner_text().replace(",", "")) < 100
                                           or float(loss.inner_text()) >= first):
        time.sleep(0.3)
    page.screenshot(path=str(ARTIFACTS / "playground-playing.png"), full_page=True)
    trained, now = int(epoch.inner_text().replace(",", "")), float(loss.inner_text())
    assert trained >= 100 and now < first - 0.1, f"epoch {trained}: loss {first} -> {now}"
    page.locator(".st-key-pg_play button").click()
    expect(page.locator(".st-key-pg_play button")).to_contain_text("Play", timeout=30_000)
    wait_idle(page)
    expect(page.locator(".js-plotly-plot")).to_have_count(2, timeout=10_000)   # the boundary and the loss curves
    # A tick that was already running when Pause was pressed may still land once; after that, nothing moves.
    paused, deadline = epoch.inner_text(), time.monotonic() + 5
    time.sleep(1.0)
    while epoch.inner_text() != paused and time.monotonic() < deadline:
        paused = epoch.inner_text()
        time.sleep(1.0)
    time.sleep(1.5)
    assert epoch.inner_text() == paused, "training went on after Pause"
    assert "dataset=xor" in page.url and "layers=2" in page.url
    assert_healthy(page, "playground-paused")


# Title and legend boxes of every plotly chart on the page that has both: [title, overlaps?].
LEGEND_VS_TITLE = """() => Array.from(document.querySelectorAll('.js-plotly-plot')).map(plot => {
  const t = plot.querySelector('.gtitle'), l = plot.querySelector('.legend');
  if (!t || !l || !t.textContent) return null;
  const a = t.getBoundingClientRect(), b = l.getBoundingClientRect();
  return [t.textContent, a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom];
}).filter(x => x)"""


def test_models_page_table_fits_and_legends_keep_off_titles(app_url, browser_page):
    """At 1280×800 the side-by-side table needs no sideways scrolling, and no legend covers a chart title."""
    page = browser_page
    open_page(page, app_url, "models")
    page.locator(".js-plotly-plot").nth(1).wait_for(timeout=60_000)          # the comparison and the history
    wait_idle(page)
    overflow = page.locator('[data-testid="stDataFrame"]').first.evaluate(
        "el => { const s = el.querySelector('.dvn-scroller'); return s.scrollWidth - s.clientWidth }")
    assert overflow <= 1, f"the table is {overflow} px wider than its frame"
    pairs = page.evaluate(LEGEND_VS_TITLE)
    assert len(pairs) >= 2 and not [title for title, overlap in pairs if overlap], pairs
    assert "None" not in page.locator('[data-testid="stMain"]').inner_text()
    assert_healthy(page, "models-fits")
