"""Translations: every visible string comes from one table per language (ui/locales/<lang>.json).

`t("home.title")` returns the string in the current language (session state
`lang`, default English); `{name}` placeholders are filled from keyword arguments.
A key missing from a table is a bug that tests catch, not a silent fallback.
"""
from __future__ import annotations

import functools
import json
from pathlib import Path

import streamlit as st

LANGUAGES = {"en": "English", "zh": "中文"}
LOCALES = Path(__file__).resolve().parent / "locales"


@functools.cache
def table(lang: str) -> dict:
    return json.loads((LOCALES / f"{lang}.json").read_text(encoding="utf-8"))


def current() -> str:
    lang = st.session_state.get("lang")
    if lang not in LANGUAGES:
        lang = st.query_params.get("lang", "en")
        lang = lang if lang in LANGUAGES else "en"
        st.session_state["lang"] = lang
    return lang


def t(key: str, **kwargs):
    """The text for `key` in the current language (strings are formatted with kwargs; lists returned as is)."""
    value = table(current())[key]
    return value.format(**kwargs) if kwargs and isinstance(value, str) else value


def language_switch() -> str:
    """EN / 中文 switch in the sidebar; the choice is kept in the session and in the URL (?lang=)."""
    lang = current()
    choice = st.sidebar.segmented_control(
        "Language / 语言", options=list(LANGUAGES), format_func=LANGUAGES.get, default=lang, key="lang_switch")
    if choice and choice != lang:
        st.session_state["lang"] = choice
        st.query_params["lang"] = choice
        st.rerun()
    return lang
