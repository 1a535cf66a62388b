"""No 中文 page shows an English sentence: no run of four or more English words outside code, ids and
proper names (the papers a dataset's citation names). Shipped models' titles and notes are translated,
and the English copies in the locale tables are the cards' own words."""
import re

import pytest
from streamlit.testing.v1 import AppTest

from bigmodel_core.app import domains
from bigmodel_core.data import catalog
from bigmodel_core.paths import PROJECT_ROOT
from bigmodel_core.serve.card import ModelCard
from tests.helpers import DOMAIN_PAGES, open_page, shown_texts
from ui.i18n import table

PAGES = [None, "pages/concepts.py", "pages/playground.py", "pages/train.py", "pages/predict.py", "pages/models.py",
         "pages/benchmark.py", "pages/onnx_inspector.py", *DOMAIN_PAGES.values()]
ENGLISH = re.compile(r"(?<![\w-])[A-Za-z][A-Za-z']*(?:[ ,;:()]+[A-Za-z][A-Za-z']*){3,}")
PROPER_NAMES = [info.citation for info in catalog.list_datasets()]      # paper titles stay as published
CARDS = {p.parent.name: ModelCard.read(p)
         for p in sorted((PROJECT_ROOT / "models").glob("*/card.json"))}


def english_runs(text: str) -> list[str]:
    text = re.sub(r"\]\([^)]*\)", "]", text)                 # a link's target is not shown
    text = re.sub(r"`[^`]*`", "", text)                       # code and ids
    for name in PROPER_NAMES:
        text = text.replace(name, "")
    return [m.group(0) for m in ENGLISH.finditer(text)]


def open_zh(page: str | None) -> AppTest:
    return open_page(page, "zh")


def test_the_detector_finds_an_english_sentence():
    assert english_runs("模型：The three derived columns are the physics") == [
        "The three derived columns are the physics"]
    assert english_runs("运行在 ONNX Runtime CPU 上") == []            # product names of three words or fewer pass
    assert english_runs("出处：Krizhevsky 2009, Learning Multiple Layers of Features from Tiny Images") == []


@pytest.mark.parametrize("page", PAGES)
def test_no_chinese_page_shows_an_english_sentence(page):
    at = open_zh(page)
    found = sorted({run for text in shown_texts(at) for run in english_runs(text)})
    assert not found, found


@pytest.mark.parametrize("model_id", sorted(CARDS))
def test_every_shipped_model_card_reads_in_chinese(model_id):
    at = open_page("pages/models.py", "zh", models_pick=model_id)  # the card the page shows in full
    assert at.selectbox(key="models_pick").value == model_id
    found = sorted({run for text in shown_texts(at) for run in english_runs(text)})
    assert not found, found


def test_english_copies_of_model_texts_are_the_cards_own():
    en, zh = table("en"), table("zh")
    for model_id, card in CARDS.items():
        assert en[f"model.{model_id}.title"] == card.title and zh[f"model.{model_id}.title"] != card.title
        if card.notes:
            assert en[f"model.{model_id}.notes"] == card.notes
            assert re.search(r"[\u4e00-\u9fff]", zh[f"model.{model_id}.notes"])
    for info in catalog.list_datasets():
        assert en[f"domain.ds.{info.id}.licence"] == info.licence
    assert domains.DOMAINS                                       # (the domain pages are covered above)
