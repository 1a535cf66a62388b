"""Shareable addresses: which query parameters a page wrote itself, and which come from a link to follow.

A page writes its state into the address (`st.query_params`) at the end of each run.
The browser sends the address back with the next rerun, and may send one the page
has since replaced (a click while a run was still finishing), so "the address differs
from the last one written" is not enough to tell a link that was opened: an address
counts as new only when it is none of the last few this page wrote in this session.
"""
from __future__ import annotations

from collections.abc import Callable

import streamlit as st

RECENT = 8          # addresses remembered per page and session


def _item(params: dict) -> tuple:
    return tuple(sorted((str(k), str(v)) for k, v in params.items()))


def is_new(page: str, params: dict) -> bool:
    """Whether `params` (the page's own query parameters) are a link to follow rather than what it wrote."""
    return bool(params) and _item(params) not in st.session_state.get(f"links:{page}", [])


def remember(page: str, params: dict) -> None:
    """Note `params` as written (or followed) by `page`, so an echo of them is not taken for a new link."""
    seen = [p for p in st.session_state.get(f"links:{page}", []) if p != _item(params)]
    st.session_state[f"links:{page}"] = (seen + [_item(params)])[-RECENT:]


def publish(page: str, params: dict, is_own: Callable[[str], bool]) -> None:
    """Make `params` the page's part of the address (the keys `is_own` claims), keeping the rest (?lang= …)."""
    params = {k: str(v) for k, v in params.items()}
    remember(page, params)
    now = st.query_params.to_dict()
    if {k: v for k, v in now.items() if is_own(k)} != params:
        st.query_params.from_dict({**{k: v for k, v in now.items() if not is_own(k)}, **params})
