"""The chosen example in the address (`?example=` — a real row's index, a test image's number, or the text;
`&dataset=` on pages with several datasets), so that a link opens a domain page on it."""
from __future__ import annotations

import streamlit as st

from bigmodel_core.app import domains
from bigmodel_core.app.domains import Domain, Showcase
from ui import links

LINK_KEYS = ("dataset", "example")
MAX_LINK_TEXT = 1500                     # longer texts stay out of the address


def read_link(dom: Domain) -> None:
    """A link opened in this session for the first time: its dataset now, its example for the panel to load."""
    link = {k: st.query_params[k] for k in LINK_KEYS if k in st.query_params}
    if not links.is_new(dom.id, link):
        return
    links.remember(dom.id, link)
    if link.get("dataset") in dom.datasets and len(dom.showcases) > 1:
        st.session_state[f"ds:{dom.id}"] = link["dataset"]
    if "example" in link:
        st.session_state[f"link_example:{dom.id}"] = link["example"]


def link_example(domain_id: str) -> str | None:
    """The example a just-opened link asks for (once)."""
    return st.session_state.pop(f"link_example:{domain_id}", None)


def publish(domain_id: str, show: Showcase, example=None) -> None:
    """Put the dataset (on pages with several) and the chosen example in the address, keeping the rest."""
    params = {}
    if len(domains.get(domain_id).showcases) > 1:
        params["dataset"] = show.dataset
    if example is not None and len(str(example)) <= MAX_LINK_TEXT:
        params["example"] = str(example)
    links.publish(domain_id, params, lambda k: k in LINK_KEYS)
