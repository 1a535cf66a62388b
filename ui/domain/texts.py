"""The hands-on panel of a text model: a sentence (an example, a real review from the test split), then the answers."""
from __future__ import annotations

import numpy as np
import streamlit as st

from bigmodel_core.app.domains import Showcase
from bigmodel_core.errors import DataError
from ui.data_panel import explain_problem
from ui.domain.address import link_example, publish
from ui.domain.data import text_data
from ui.domain.results import results
from ui.i18n import t


def text_panel(show: Showcase, entries, missing: list[str], domain_id: str) -> None:
    key = f"text:{show.dataset}"
    wanted = link_example(domain_id)
    if wanted is not None:                                             # a link to this text
        st.session_state[key] = str(wanted)
    st.session_state.setdefault(key, show.examples[0] if show.examples else "")
    st.markdown(f"##### {t('domain.inputs_title')}")
    if show.examples:
        st.pills(t("domain.examples"), list(range(len(show.examples))), key=f"ex:{show.dataset}",
                 format_func=lambda i: _short(show.examples[i]), on_change=_use_example, args=(show,))
    st.text_area(t("domain.text_label"), key=key, height=110, placeholder=t("domain.text_placeholder"))
    b1, b2 = st.columns([1, 3])
    b1.button(t("domain.classify"), type="primary", key=f"go:{show.dataset}")
    b2.button(t("domain.random_text"), on_click=_real_text, args=(show,), key=f"realtext:{show.dataset}")
    text = st.session_state.get(key, "")
    publish(domain_id, show, text if text.strip() else None)
    drawn = st.session_state.get(f"truth:{show.dataset}")
    truth = drawn["truth"] if drawn and drawn["text"] == text else None
    if isinstance(drawn, dict) and drawn.get("error"):
        explain_problem(DataError(drawn["error"]))
    lines = [line for line in text.splitlines() if line.strip()] or [text]
    st.markdown(f"##### {t('domain.result_title')}")
    results(show, entries, lines[:50], truth=truth, missing=missing)


def _real_text(show: Showcase) -> None:
    """Put a review from the test split (or the built-in examples) in the box, remembering its true label."""
    try:
        data = text_data(show.dataset)
    except DataError as exc:
        st.session_state[f"truth:{show.dataset}"] = {"text": None, "truth": None, "error": str(exc)}
        return
    counter = st.session_state.get(f"textdraw:{show.dataset}", 0) + 1
    st.session_state[f"textdraw:{show.dataset}"] = counter
    i = int(np.random.default_rng(counter).integers(len(data["test_texts"])))
    text = data["test_texts"][i]
    st.session_state[f"text:{show.dataset}"] = text
    st.session_state[f"truth:{show.dataset}"] = {"text": text,
                                                 "truth": data["class_names"][int(data["test_labels"][i])]}


def _short(text: str, n: int = 26) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def _use_example(show: Showcase) -> None:
    i = st.session_state.get(f"ex:{show.dataset}")
    if i is not None:
        st.session_state[f"text:{show.dataset}"] = show.examples[i]
