"""Every page runs under AppTest without an exception, in both languages, and its main interaction works.

Checks that need a shipped model skip (with the build command) while that model
is not built yet. The tabular form, the model registry's delete and the
"train on this data" button are also exercised against a private registry with
a tiny model trained on the spot, so they are covered on any machine.
"""
import io
import json

import pytest
from streamlit.testing.v1 import AppTest

from bigmodel_core.app import domains
from bigmodel_core.paths import models_dir
from bigmodel_core.serve.card import ModelCard
from tests.helpers import DOMAIN_PAGES, EN, ZH, built, no_exception, open_page, prediction_metrics, shown_prediction


def need(*model_ids: str) -> None:
    missing = [m for m in model_ids if not built(m)]
    if missing:
        pytest.skip(f"model not built yet: {domains.build_command(missing)}")


# ============================================================================ every page, both languages

@pytest.mark.parametrize("lang", ["en", "zh"])
def test_home_page_renders(lang):
    at = open_page(None, lang)
    assert ("BigModel Studio" if lang == "en" else "大模型工坊") in at.title[0].value
    tab = EN if lang == "en" else ZH
    text = " ".join(m.value for m in at.markdown)
    assert tab["home.pretrain_title"] in text and tab["home.finetune_title"] in text
    assert len([p for p in at.get("page_link")]) >= 8 + 3          # every domain + train, predict, models
    assert any("ExecutionProvider" in m.value for m in at.markdown)


TOUR_STEPS = ["home_tour_1", "home_tour_2", "home_tour_3", "home_tour_4"]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_home_starts_with_a_four_click_tour(lang):
    at = open_page(None, lang)
    tab = EN if lang == "en" else ZH
    assert any(tab["home.start_title"] in m.value for m in at.markdown)
    assert at.selectbox(key="home_tour_domain").value == "healthcare"
    assert [at.button(key=k).label for k in TOUR_STEPS] == [
        tab["domain.healthcare.title"], tab["home.step2_button"], tab["home.step3_button"], tab["home.step4_button"]]
    shown = " ".join(c.value for c in at.caption)
    assert tab["domain.ds.diabetes.title"] in shown and tab["train.start"] in shown and tab["bench.run"] in shown
    at.button(key="home_tour_3").click().run()                    # step 3: the studio, pre-set on the domain's data
    no_exception(at)
    assert tab["train.title"] in at.title[0].value
    assert at.selectbox(key="train_dataset").value == "diabetes"


@pytest.mark.parametrize("step, page, widget, value", [
    (1, "customer-service", None, None),
    (2, "predict", "predict_model", "sst2-minilm"),
    (4, "benchmark", "bench_model", "sst2-tiny"),                  # the one that keeps its PyTorch weights
])
def test_each_tour_step_lands_on_its_page_for_the_chosen_domain(step, page, widget, value):
    need("sst2-minilm", "sst2-tiny")
    at = open_page(None)
    at.selectbox(key="home_tour_domain").set_value("customer-service").run()
    at.button(key=f"home_tour_{step}").click().run()
    no_exception(at)
    title = {"customer-service": EN["domain.customer-service.title"], "predict": EN["predict.title"],
             "benchmark": EN["nav.benchmark"]}[page]
    assert title in at.title[0].value
    if widget:
        assert at.selectbox(key=widget).value == value


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("domain_id", list(domains.DOMAINS))
def test_domain_page_renders(domain_id, lang):
    at = open_page(DOMAIN_PAGES[domain_id], lang)
    tab = EN if lang == "en" else ZH
    assert tab[f"domain.{domain_id}.title"] in at.title[0].value
    text = " ".join(m.value for m in at.markdown)
    assert tab[f"domain.{domain_id}.uses"][0] in text
    assert any(b.label == tab["domain.train_button"] for b in at.button)
    show = domains.get(domain_id).showcases[0] if lang == "en" or domain_id != "customer-service" \
        else domains.get(domain_id).showcase("waimai10k")
    if all(built(m) for m in show.models):
        assert prediction_metrics(at, lang), "a built model should answer on first view"
    else:                                                          # the helpful empty state, not a failure
        assert any("build-defaults" in c.value for c in at.code)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_models_page_renders(lang):
    at = open_page("pages/models.py", lang)
    tab = EN if lang == "en" else ZH
    assert tab["nav.models"] in at.title[0].value
    if list(models_dir().glob("*/card.json")):
        assert at.dataframe, "the comparison table"
        assert at.get("download_button"), "a download button"


# ============================================================================ main interactions (shipped models)

TABULAR = {
    "healthcare": "diabetes-mlp", "finance": "credit-default-mlp", "education": "student-grade-mlp",
    "manufacturing": "ai4i-failure-mlp", "transport": "bike-demand-mlp", "smart-home": "energy-heating-mlp",
}


def move_first_input(at: AppTest, model_id: str) -> bool:
    """Move the first continuous slider of the model's form to its maximum (False: the form has none).

    Features with a few values are step sliders whose options AppTest only knows
    formatted; a form made only of those (smart-home) is exercised by "Real example".
    """
    prefix = f"in:{model_id}:"
    sliders = [s for s in at.slider if s.key and s.key.startswith(prefix)]
    if sliders:
        sliders[0].set_value(sliders[0].max).run()
    return bool(sliders)


@pytest.mark.parametrize("domain_id", list(TABULAR))
def test_tabular_form_predicts(domain_id):
    model_id = TABULAR[domain_id]
    need(model_id)
    at = open_page(DOMAIN_PAGES[domain_id])
    before = shown_prediction(at)
    assert before
    if move_first_input(at, model_id):
        no_exception(at)
        assert shown_prediction(at) != before, "moving a slider to its maximum changes the prediction shown"
    at.button(key=f"rand:{model_id}").click().run()                # a real example from the test set
    no_exception(at)
    assert prediction_metrics(at)


def test_breast_cancer_form_predicts():
    need("breast-cancer-mlp")
    at = open_page(DOMAIN_PAGES["healthcare"])
    at.segmented_control(key="ds:healthcare").set_value("breast-cancer").run()
    no_exception(at)
    labels = {m.value for m in prediction_metrics(at)}
    assert labels & {"malignant", "benign"}


def png_bytes(rgb=(200, 30, 30), size=(40, 40)) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", size, rgb).save(buf, "PNG")
    return buf.getvalue()


def test_public_safety_image_from_test_set_and_uploads():
    need("cifar10-cnn")
    at = open_page(DOMAIN_PAGES["public-safety"])
    cifar = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
    assert {m.value for m in prediction_metrics(at)} & set(cifar)
    at.button(key="gallery:cifar10-images:tile:4").click().run()   # another test image from the gallery
    no_exception(at)
    assert prediction_metrics(at)
    at.radio(key="imgsrc:cifar10-images").set_value("upload").run()
    at.file_uploader(key="upload:cifar10-images").set_value(("broken.png", b"\x89PNG not really", "image/png")).run()
    no_exception(at)
    assert any("not a readable image" in e.value for e in at.error), "a corrupt upload gives a clear message"
    at.file_uploader(key="upload:cifar10-images").set_value(("red.png", png_bytes(), "image/png")).run()
    no_exception(at)
    assert {m.value for m in prediction_metrics(at)} & set(cifar)


def test_customer_service_english_sentence_gets_a_label():
    need("sst2-minilm")
    at = open_page(DOMAIN_PAGES["customer-service"])
    at.text_area(key="text:sst2").input("What a fantastic, helpful team — thank you!").run()
    no_exception(at)
    assert "positive" in {m.value for m in prediction_metrics(at)}
    at.text_area(key="text:sst2").input("   ").run()               # empty text: a message, not a traceback
    no_exception(at)
    assert any("empty" in w.value for w in at.warning)


def test_customer_service_chinese_review_gets_a_label():
    need("waimai-tiny")
    at = open_page(DOMAIN_PAGES["customer-service"], "zh")        # Chinese visitors start on the Chinese data
    at.text_area(key="text:waimai10k").input("送餐很快，饭菜很好吃，下次还点！").run()
    no_exception(at)
    assert {m.value for m in prediction_metrics(at, "zh")} & {"正面", "负面"}


# ============================================================================ a private registry with a tiny model

@pytest.fixture(scope="module")
def tiny_registry(tmp_path_factory):
    """A registry holding one quickly trained (not shipped) diabetes model under the shipped model's id."""
    from bigmodel_core.train.pipeline import export, train
    from bigmodel_core.train.spec import TrainSpec
    from bigmodel_core.train.trainer import TrainConfig

    root = tmp_path_factory.mktemp("models")
    trained = train(TrainSpec("diabetes", "mlp", TrainConfig(epochs=3, batch_size=64, lr=3e-3, seed=0, device="cpu",
                                                             threads=1), {"hidden": [8]}))
    export(trained, "diabetes-mlp", root=root, title="Tiny test MLP", keep_weights=False)
    return root


def test_tabular_form_with_a_fresh_model(tiny_registry, monkeypatch):
    monkeypatch.setenv("BIGMODEL_MODELS_DIR", str(tiny_registry))
    at = open_page(DOMAIN_PAGES["healthcare"])
    before = prediction_metrics(at)[0].value
    at.slider(key="in:diabetes-mlp:bmi").set_value(at.slider(key="in:diabetes-mlp:bmi").max).run()
    no_exception(at)
    after = prediction_metrics(at)[0].value
    assert after != before, "a heavier patient gets another prediction"
    at.button(key="rand:diabetes-mlp").click().run()
    no_exception(at)
    assert any(m.delta and (EN["domain.vs_truth"].split(" {")[0] in m.delta) for m in at.metric), \
        "a real example shows its true value"
    at.button(key="reset:diabetes-mlp").click().run()
    assert prediction_metrics(at)[0].value == before
    # the breast-cancer model is not in this registry: a helpful empty state, no failure
    at.segmented_control(key="ds:healthcare").set_value("breast-cancer").run()
    no_exception(at)
    assert any("build-defaults --only breast-cancer-mlp" in c.value for c in at.code)


def test_train_button_opens_the_studio_preset(tiny_registry, monkeypatch):
    monkeypatch.setenv("BIGMODEL_MODELS_DIR", str(tiny_registry))
    at = open_page(DOMAIN_PAGES["healthcare"])
    at.button(key="train:healthcare").click().run()
    no_exception(at)
    preset = at.session_state.get("train_preset")
    if preset is not None:                                         # the studio has not consumed it (yet)
        assert preset == {"task": "tabular", "dataset": "diabetes"}
    else:                                                          # the studio applied it
        assert at.session_state["train_dataset"] == "diabetes"
    assert EN["domain.healthcare.title"] not in at.title[0].value, "the page switched to the studio"


def test_models_page_downloads_and_deletes_a_trained_model(tiny_registry, tmp_path, monkeypatch):
    import shutil
    import zipfile

    from ui.downloads import zip_model

    root = tmp_path / "models"
    shutil.copytree(tiny_registry, root)
    with zipfile.ZipFile(io.BytesIO(zip_model(root / "diabetes-mlp"))) as zf:
        assert {"diabetes-mlp/model.onnx", "diabetes-mlp/card.json", "diabetes-mlp/encoder.json"} <= set(zf.namelist())
    monkeypatch.setenv("BIGMODEL_MODELS_DIR", str(root))
    at = open_page("pages/models.py")
    assert at.get("download_button")
    at.button(key="delok:diabetes-mlp").click().run()             # trained models can be deleted
    no_exception(at)
    assert not (root / "diabetes-mlp").exists()
    assert any("diabetes-mlp" in s.value for s in at.success)


def test_shipped_models_cannot_be_deleted():
    shipped = sorted(p.parent.name for p in models_dir().glob("*/card.json")
                     if json.loads(p.read_text(encoding="utf-8")).get("shipped"))
    if not shipped:
        pytest.skip("no shipped model built yet: python -m bigmodel_core build-defaults")
    at = open_page("pages/models.py")
    at.selectbox(key="models_pick").set_value(shipped[0]).run()
    no_exception(at)
    assert at.button(key=f"del:{shipped[0]}").disabled
    assert not at.get("popover") or all(f"delok:{shipped[0]}" != b.key for b in at.button)


def test_models_page_says_when_the_training_curve_is_only_part_of_the_model():
    """Late fusion records the transformer's own epochs, an ensemble its first member's: the page says so."""
    expected = {"sst2-tiny": "transformer", "ai4i-failure-mlp": "first-member", "diabetes-mlp": None}
    cards = {m: models_dir() / m / "card.json" for m in expected}
    if not all(c.exists() for c in cards.values()):
        pytest.skip("shipped models not built: python -m bigmodel_core build-defaults")
    at = open_page("pages/models.py")
    for model_id, part in expected.items():
        assert ModelCard.read(cards[model_id]).history.get("part") == part
        at.selectbox(key="models_pick").set_value(model_id).run()
        no_exception(at)
        shown = [k for k in ("transformer", "first-member")
                 if any(EN[f"models.history_part.{k}"] in c.value for c in at.caption)]
        assert shown == ([part] if part else []), model_id


def test_refused_entries_are_listed(tmp_path, monkeypatch):
    root = tmp_path / "models"
    (root / "broken").mkdir(parents=True)
    (root / "broken" / "model.onnx").write_bytes(b"not onnx")
    monkeypatch.setenv("BIGMODEL_MODELS_DIR", str(root))
    at = open_page("pages/models.py")
    assert any("broken" in w.value for w in at.warning)
    assert any("build-defaults" in c.value for c in at.code), "an empty registry shows how to fill it"


def test_colours_are_consistent():
    from ui.layout import BAD, GOOD, class_colors

    assert class_colors(["no failure", "failure"]) == {"failure": BAD, "no failure": GOOD}
    assert class_colors(["negative", "positive"], positive=0) == {"negative": BAD, "positive": GOOD}
    assert len(set(class_colors([str(i) for i in range(10)]).values())) == 10
