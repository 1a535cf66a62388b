"""A domain page: its header, use cases, dataset choice and the two tabs (hands-on model, dataset explorer).

A page file only calls `render("<domain id>")`. What each domain shows comes from `bigmodel_core.app.domains`;
words come from the translation tables.
"""
from __future__ import annotations

import streamlit as st

from bigmodel_core.app import domains
from bigmodel_core.app.domains import Domain, Showcase
from bigmodel_core.data import catalog
from ui.domain.address import read_link
from ui.domain.explorer import explorer
from ui.domain.labels import dataset_title
from ui.domain.model import model_panel
from ui.i18n import current, t
from ui.layout import page_header


def render(domain_id: str) -> None:
    dom = domains.get(domain_id)
    head, action = st.columns([3, 1], vertical_alignment="bottom")
    with head:
        page_header(dom.icon, t(f"domain.{dom.id}.title"), t(f"domain.{dom.id}.tagline"))
    _use_cases(dom)
    read_link(dom)
    show = _pick_showcase(dom)
    with action:
        if st.button(t("domain.train_button"), type="primary", key=f"train:{dom.id}", width="stretch",
                     help=t("domain.train_help", dataset=dataset_title(show.dataset))):
            st.session_state["train_preset"] = show.train_preset()
            st.switch_page("pages/train.py")
    tab_model, tab_data = st.tabs([f"🤖 {t('domain.model_title')}", f"📊 {t('domain.data_title')}"],
                                  key=f"tabs:{dom.id}")        # each page opens on its own model tab
    with tab_model:
        model_panel(dom.id, show.dataset)
    with tab_data:
        explorer(show)




def _pick_showcase(dom: Domain) -> Showcase:
    if len(dom.showcases) == 1:
        return dom.showcases[0]
    options = dom.datasets
    default = options[0]
    if current() == "zh":         # Chinese visitors see the Chinese data first where a domain has some
        default = next((d for d in options if catalog.get(d).id == "waimai10k"), default)
    choice = st.segmented_control(t("domain.pick_dataset"), options, default=default, required=True,
                                  format_func={d: f"{_task_icon(d)} {dataset_title(d)}" for d in options}.get,
                                  key=f"ds:{dom.id}")
    return dom.showcase(choice or default)


def _task_icon(dataset: str) -> str:
    return {"image": "🖼️", "text": "💬", "tabular": "📋"}[catalog.get(dataset).task]


def _use_cases(dom: Domain) -> None:
    uses = t(f"domain.{dom.id}.uses")
    st.markdown(f"##### {t('domain.uses_title')}")
    cols = st.columns(2)
    half = (len(uses) + 1) // 2
    for col, part in zip(cols, (uses[:half], uses[half:]), strict=True):
        col.markdown("\n".join(f"- {u}" for u in part))
