"""Which language a text is in (Chinese or English), and which text model reads that language.

`detect` looks only at the letters: Han characters against Latin letters. Digits,
punctuation, spaces and emoji say nothing about the language, and a few words of
the other script (an English brand name in a Chinese review, a dish's name in an
English one) do not flip the answer. A Chinese character carries about as much as a
short English word, so Han characters weigh more: a text is Chinese when at least
`ZH_SHARE` of its letters are Han characters, English when Latin letters make up at
least `EN_SHARE`, and undecided (None) otherwise (Japanese, Korean, Russian …) or
when it has too few letters.

A text model's language is the card's `preprocessing.language` ("en" when absent,
as the first models were English only).
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping

from bigmodel_core.serve.card import ModelCard

LANGUAGES = ("en", "zh")
ZH_SHARE = 0.3          # Han characters among the letters from which a text counts as Chinese
EN_SHARE = 0.5          # Latin letters among the letters from which a text counts as English
MIN_LATIN = 2           # fewer Latin letters (and no Han character) than this: undecided
PREFERRED = {"en": "sst2-tiny", "zh": "waimai-tiny"}      # the shipped model offered first for each language

_HAN = ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0x20000, 0x2FA1F))


def is_han(ch: str) -> bool:
    """A Chinese (Han) character: the CJK unified ideographs, their extensions and compatibility forms."""
    code = ord(ch)
    return any(lo <= code <= hi for lo, hi in _HAN)


def letter_counts(text: str) -> tuple[int, int, int]:
    """(Han characters, Latin letters, letters of other scripts) in `text`."""
    han = latin = other = 0
    for ch in text or "":
        if is_han(ch):
            han += 1
        elif ch.isalpha():
            if ord(ch) < 0x0250:            # Basic Latin, Latin-1, Latin Extended-A/B (café, Müller)
                latin += 1
            else:
                other += 1
    return han, latin, other


def cjk_share(text: str) -> float | None:
    """The share of Han characters among the letters of `text` (0..1), or None when it has no letters."""
    han, latin, other = letter_counts(text)
    total = han + latin + other
    return han / total if total else None


def detect(text: str) -> str | None:
    """"zh", "en", or None when the text is too short or in neither script."""
    han, latin, other = letter_counts(text)
    total = han + latin + other
    if total == 0 or (han == 0 and latin < MIN_LATIN):
        return None
    if han / total >= ZH_SHARE and han >= other:          # kana or hangul outnumbering Han: not Chinese
        return "zh"
    if latin / total >= EN_SHARE:
        return "en"
    return None


def detect_lines(lines: Iterable[str]) -> list[str | None]:
    """`detect` for each line (one prediction per line on the predict page)."""
    return [detect(line) for line in lines]


def card_language(card: ModelCard) -> str | None:
    """The language a text model reads, from its card; None for image and tabular models."""
    if card.task != "text":
        return None
    return (card.preprocessing or {}).get("language") or "en"


def text_models(cards: Mapping[str, ModelCard], lang: str) -> list[str]:
    """Ids of the text models that read `lang`: the preferred shipped one first, then shipped ones, then the rest.

    Quantised copies (`quantized_from` in the card) come after their originals.
    """
    ids = [i for i, card in cards.items() if card_language(card) == lang]
    return sorted(ids, key=lambda i: (i != PREFERRED.get(lang), bool(cards[i].quantized_from),
                                      not cards[i].shipped, ids.index(i)))


def text_model_for(cards: Mapping[str, ModelCard], lang: str) -> str | None:
    """The text model to offer for `lang`, or None when the registry has none."""
    found = text_models(cards, lang)
    return found[0] if found else None
