"""The concepts page's tab chooser: a row of segments in place of `st.tabs`, so that a rerun draws only the open
tab (`st.tabs` draws every tab's body on every rerun: five tabs of charts and tables, seconds on this machine).

The open tab is remembered for the session, and the first one opens by default.
"""
from __future__ import annotations

import streamlit as st

from ui.concepts import activations, attention, backprop, losses, optimisers
from ui.i18n import t

TABS = ("activations", "losses", "optimisers", "backprop", "attention")
KEY = "concepts_tab"


def choose() -> str:
    """The tab chooser; returns the open tab's name."""
    if st.session_state.get(KEY) not in TABS:
        st.session_state[KEY] = TABS[0]
    choice = st.segmented_control(t("concepts.tab.label"), TABS, key=KEY, required=True,
                                  format_func={name: t(f"concepts.tab.{name}") for name in TABS}.get,  # made now
                                  persist_state="session",
                                  label_visibility="collapsed", width="stretch")
    return choice or TABS[0]


def render(name: str) -> None:
    """Draw one tab's body, and only that one."""
    {"activations": activations, "losses": losses, "optimisers": optimisers, "backprop": backprop,
     "attention": attention}[name].render()
