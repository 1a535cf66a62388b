"""Language detection (share of Han characters among the letters) and the text model offered for a language."""
from pathlib import Path

import pytest

from bigmodel_core.app import language as L
from bigmodel_core.serve.card import ModelCard

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("text, lang", [
    ("这部电影太好看了，演员的表演非常出色！", "zh"),
    ("送餐很快，味道也很好", "zh"),
    ("好", "zh"),                                         # one character is a word
    ("iPhone 真的很好用", "zh"),                           # an English brand name in a Chinese review
    ("这个app很好用👍", "zh"),
    ("這部電影太好看了", "zh"),                             # traditional characters
    ("A gripping story with wonderful performances.", "en"),
    ("ok", "en"),
    ("The 火锅 was great, and the service friendly", "en"),  # a dish's name in an English review
    ("Un café très agréable, Müller", "en"),               # accented Latin letters are Latin
    ("", None),
    ("   \n\t", None),
    ("12345 !!! ??? 😀😀", None),                           # no letters at all
    ("a", None),                                          # one Latin letter says nothing
    ("これは日本語の文です", None),                            # kana outnumber the kanji: not Chinese
    ("한국어 문장입니다", None),
    ("Это русский текст", None),
])
def test_detect(text, lang):
    assert L.detect(text) == lang


def test_cjk_share_counts_letters_only():
    assert L.cjk_share("") is None and L.cjk_share("123 !?") is None
    assert L.cjk_share("好好好") == 1.0
    assert L.cjk_share("ab好好") == 0.5                     # digits, spaces and punctuation are ignored
    assert L.cjk_share("ab 12, 好好!") == 0.5
    assert L.letter_counts("Hi 你好 Привет") == (2, 2, 6)


def test_detect_lines_and_long_mixed_text():
    assert L.detect_lines(["送餐很快", "Great food", "42"]) == ["zh", "en", None]
    assert L.detect("这部电影太好看了，强烈推荐 but the ending was weak") == "zh"
    assert L.detect("I love 饺子 so much") == "en"


def _card(task: str, language: str | None = None, **fields) -> ModelCard:
    """A minimal valid card: only what the language helpers read is meaningful."""
    return ModelCard(id="m", task=task, problem="classification", labels=[], input_spec=[], sha256="0",
                     preprocessing={} if language is None else {"language": language}, **fields)


def test_card_language():
    assert L.card_language(_card("text", "zh")) == "zh"
    assert L.card_language(_card("text")) == "en"      # the first models were English
    assert L.card_language(_card("image", "zh")) is None


def test_text_model_for_prefers_the_shipped_model_then_originals():
    cards = {
        "mnist-cnn": _card("image"),
        "my-zh": _card("text", "zh"),
        "sst2-tiny-int8": _card("text", "en", shipped=True, quantized_from={"id": "sst2-tiny"}),
        "sst2-minilm": _card("text", "en", shipped=True),
        "sst2-tiny": _card("text", "en", shipped=True),
        "waimai-tiny": _card("text", "zh", shipped=True),
    }
    assert L.text_model_for(cards, "zh") == "waimai-tiny"
    assert L.text_model_for(cards, "en") == "sst2-tiny"
    assert L.text_models(cards, "en") == ["sst2-tiny", "sst2-minilm", "sst2-tiny-int8"]
    del cards["waimai-tiny"], cards["sst2-tiny"]
    assert L.text_model_for(cards, "zh") == "my-zh"
    assert L.text_model_for(cards, "en") == "sst2-minilm"
    assert L.text_model_for({}, "zh") is None


def test_shipped_text_models_read_their_own_examples_language():
    """Every shipped text model's built-in examples are detected in the language its card names."""
    from bigmodel_core.serve import examples

    for card_path in sorted((ROOT / "models").glob("*/card.json")):
        card = ModelCard.read(card_path)
        if card.task != "text":
            continue
        data = examples.load(card_path.parent)
        found = [L.detect(text) for text in data.texts]
        lang = L.card_language(card)
        assert found.count(lang) >= 0.9 * len(found), (card_path.parent.name, lang, found)
