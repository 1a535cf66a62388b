"""The gallery of real test images (public safety, predict) and the familiarity warning on the pages.

Core tests of the selection, then AppTest: the gallery shows 8–12 images with their true
labels, each model's answer (✓/✗) and its test accuracy from the card; a click picks an
image for the detailed answer; a photo given to a digit model shows the warning, in both
languages; an empty picture says "no digit" in Chinese on the Chinese page.
"""
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from bigmodel_core.app import gallery
from bigmodel_core.serve import examples, registry
from bigmodel_core.serve.card import ModelCard
from bigmodel_core.serve.runtime import Predictor
from tests.helpers import open_page, run_page
from ui.i18n import table

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "models"
APP = str(ROOT / "app.py")
PREDICT = str(ROOT / "pages" / "predict.py")
EN, ZH = table("en"), table("zh")
CIFAR = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


# ============================================================================ the selection

def test_pick_is_fixed_covers_every_class_and_keeps_the_shuffle_order():
    labels = np.repeat(np.arange(10), 50)
    rows = np.arange(500)
    chosen = gallery.pick(labels, rows, size=12, seed=0)
    assert len(chosen) == 12 == len(set(chosen.tolist()))
    assert set(labels[chosen]) == set(range(10))                          # every class, where there is room
    order = list(np.random.default_rng(0).permutation(rows))
    assert [order.index(r) for r in chosen] == sorted(order.index(r) for r in chosen)
    assert np.array_equal(chosen, gallery.pick(labels, rows, size=12, seed=0))          # fixed
    assert not np.array_equal(chosen, gallery.pick(labels, rows, size=12, seed=1))
    small = gallery.pick(labels, rows[:5], size=12)
    assert sorted(small.tolist()) == [0, 1, 2, 3, 4]                      # fewer rows than tiles: all of them


def test_pick_with_fewer_tiles_than_classes_takes_the_first_of_different_classes():
    labels = np.repeat(np.arange(10), 3)
    chosen = gallery.pick(labels, np.arange(30), size=8)
    assert len(chosen) == 8 and len(set(labels[chosen])) == 8


def test_gallery_falls_back_to_built_in_examples_and_answers_through_onnx_runtime(tmp_path, monkeypatch):
    monkeypatch.setenv("BIGMODEL_DATA_DIR", str(tmp_path))                # no dataset on this "machine"
    entry = registry.load("cifar10-cnn", MODELS)
    gal = gallery.for_model(entry.folder, entry.card)
    assert not gal.full and gal.pool == 30 and len(gal) == 12 and set(gal.labels) == set(range(10))
    sample = examples.load("cifar10-cnn", MODELS)
    keys = {img.tobytes() for img in sample.images}
    assert all(img.tobytes() in keys for img in gal.images)              # every tile is a built-in test example
    answers = gallery.answer(Predictor(entry.folder, entry.card, device="cpu"), gal)
    probs = Predictor(entry.folder, entry.card, device="cpu").raw(list(gal.images))
    assert np.array_equal(answers.predicted, probs.argmax(1))
    assert answers.n_right == int((probs.argmax(1) == gal.labels).sum())
    assert gallery.card_accuracy(entry.card) == (entry.card.metrics["test"]["accuracy"], 10_000)


# ============================================================================ pages

def tiles(at, lang="en") -> list[str]:
    prefix = (EN if lang == "en" else ZH)["gallery.truth"].split("{")[0]
    return [m.value for m in at.markdown if m.value.startswith(prefix)]


def images(at) -> int:
    found = 0

    def walk(node):
        nonlocal found
        for child in getattr(node, "children", {}).values():
            found += type(child).__name__ == "Image"
            walk(child)
    walk(at.main)
    return found


def domain_page(lang: str) -> AppTest:
    return open_page("pages/domain_public_safety.py", lang)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_public_safety_shows_a_gallery_with_truths_answers_and_accuracy(lang):
    tab = EN if lang == "en" else ZH
    at = domain_page(lang)
    shown = tiles(at, lang)
    assert 8 <= len(shown) <= 12 and images(at) >= len(shown)
    for tile in shown:                                                     # both models answer every image
        assert tile.count("✓") + tile.count("✗") == 2, tile
    lines = [line for m in at.markdown if "①" in m.value and "—" in m.value for line in m.value.split("\n")]
    for marker, model_id in (("①", "cifar10-cnn"), ("②", "cifar10-lenet-seed")):  # the card's test accuracy
        accuracy = ModelCard.read(MODELS / model_id / "card.json").metrics["test"]["accuracy"]
        assert any(line.startswith(marker) and f"{accuracy * 100:.1f}" in line for line in lines), lines
    honest = tab["gallery.caption"].split("{seed}")[1].strip()             # "…, then the next ones. Mistakes stay in."
    assert any(honest in c.value for c in at.caption), "the caption says how the images were chosen"
    assert len([b for b in at.button if b.key and b.key.startswith("gallery:cifar10-images:tile:")]) == len(shown)


def test_clicking_a_tile_answers_that_image():
    at = domain_page("en")
    target = 5
    tile = tiles(at)[target]
    at.button(key=f"gallery:cifar10-images:tile:{target}").click().run()
    assert not at.exception
    truth = tile.split("**")[1]
    assert any(c.value == EN["domain.true_label"].format(label=truth) for c in at.caption)
    said = [m.value for m in at.metric if m.label == EN["domain.prediction"]]
    marks = tile.split("\n")[1:]                                           # "① :green[✓ cat]" per model
    assert said == [mark.strip().split(" ", 2)[2].rstrip("]") for mark in marks]
    assert at.button(key=f"gallery:cifar10-images:tile:{target}").label == EN["gallery.picked"]


def predict_page(model_id: str, lang: str = "en", source: str | None = None) -> AppTest:
    state = {f"predict_src_{model_id}": source} if source else {}
    return run_page(PREDICT, lang, timeout=120, predict_model=model_id, **state)


def test_predict_digit_gallery_shows_real_test_digits_with_answers():
    at = predict_page("mnist-cnn", source="example")
    shown = tiles(at)
    assert 8 <= len(shown) <= 12 and all(("✓" in s) != ("✗" in s) for s in shown)
    assert any("99.4" in m.value for m in at.markdown)                   # the card's test accuracy
    at.button(key="predict_gallery_mnist-cnn:tile:2").click().run()
    truth = shown[2].split("**")[1]
    answer = shown[2].split("\n")[1].strip().split(" ", 1)[1].rstrip("]")
    assert at.metric[0].value == answer
    assert any(c.value == EN["predict.true_label"].format(label=truth) for c in at.caption)


def png(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, "PNG")
    return buf.getvalue()


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_photo_given_to_the_digit_model_shows_the_warning(lang):
    tab = EN if lang == "en" else ZH
    headline = tab["ood.warning"].split("**")[1]
    at = predict_page("mnist-mlp-seed", lang, source="upload")             # the page's default digit model
    photo = examples.load("cifar10-cnn", MODELS)
    at.get("file_uploader")[0].set_value(("cat.png", png(photo.images[3].transpose(1, 2, 0)), "image/png")).run()
    assert not at.exception and at.metric, "the photo still gets an answer"
    assert any(headline in w.value for w in at.warning), [w.value for w in at.warning]
    digits = examples.load("mnist-mlp-seed", MODELS)
    at.get("file_uploader")[0].set_value(("digit.png", png(digits.images[0, 0]), "image/png")).run()
    assert at.metric[0].value == str(digits.labels[0])
    assert not any(headline in w.value for w in at.warning), "a real test digit is not flagged"


def test_public_safety_warns_about_a_digit_given_to_the_photo_models():
    at = domain_page("zh")
    at.radio(key="imgsrc:cifar10-images").set_value("upload").run()
    digit = examples.load("mnist-cnn", MODELS).images[0, 0]
    at.file_uploader(key="upload:cifar10-images").set_value(("digit.png", png(digit), "image/png")).run()
    assert not at.exception
    assert any(ZH["ood.warning"].split("**")[1] in w.value for w in at.warning)
    assert {m.value for m in at.metric if m.label == ZH["domain.prediction"]}, "both models still answer"


def test_an_empty_picture_says_no_digit_in_chinese_on_the_chinese_page():
    at = predict_page("mnist-mlp-seed", "zh", source="upload")
    at.get("file_uploader")[0].set_value(("blank.png", png(np.full((60, 60), 255, np.uint8)), "image/png")).run()
    errors = [e.value for e in at.error]
    assert any(ZH["predict.err.no_digit"] in e for e in errors), errors
    assert not any("No digit" in e for e in errors)
    at.get("file_uploader")[0].set_value(("broken.png", b"\x89PNG broken", "image/png")).run()
    assert any(ZH["predict.err.unreadable"] in e.value for e in at.error)
