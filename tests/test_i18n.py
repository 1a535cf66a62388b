"""Every visible string exists in both languages, with the same placeholders."""
import re

from ui.i18n import LANGUAGES, table


def test_both_languages_have_the_same_keys():
    en, zh = table("en"), table("zh")
    assert set(en) == set(zh), f"only in en: {sorted(set(en) - set(zh))}; only in zh: {sorted(set(zh) - set(en))}"
    assert set(LANGUAGES) == {"en", "zh"}


def test_placeholders_match_and_nothing_is_empty():
    en, zh = table("en"), table("zh")
    for key in en:
        assert en[key] and zh[key], f"empty text for {key}"
        if isinstance(en[key], str):
            assert set(re.findall(r"{(\w+)}", en[key])) == set(re.findall(r"{(\w+)}", zh[key])), key
        else:
            assert type(en[key]) is type(zh[key]) and len(en[key]) == len(zh[key]), key


def _texts(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _texts(v)
    elif isinstance(value, list):
        for v in value:
            yield from _texts(v)


def test_no_page_cites_the_seed_article():
    """Visitors never saw the source documents: the app speaks of classic examples, not of 'the seed article'."""
    for lang, phrases in (("en", ("seed article", "from the seed")), ("zh", ("种子文章", "原文示例"))):
        for key, value in table(lang).items():
            for text in _texts(value):
                assert not any(p in text.lower() for p in phrases), f"{lang} {key}: {text[:120]}"
