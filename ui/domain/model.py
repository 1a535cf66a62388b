"""The hands-on model tab of a domain page: finds the domain's models and hands over to the panel of its task.

The panel is a fragment, so moving a slider re-runs only the prediction."""
from __future__ import annotations

import streamlit as st

from bigmodel_core.app import domains
from bigmodel_core.errors import BigModelError
from bigmodel_core.workers import courtesy
from ui.domain.data import find_model
from ui.domain.images import image_panel
from ui.domain.tabular_form import tabular_panel
from ui.domain.texts import text_panel
from ui.i18n import t
from ui.layout import empty_state, show_error


@st.fragment
def model_panel(domain_id: str, dataset: str) -> None:
    courtesy.answering()                     # a visitor is waiting: local training workers hold back
    show = domains.get(domain_id).showcase(dataset)
    entries, missing = [], []
    for model_id in show.models:
        entry, error = find_model(model_id)
        if error is not None:
            st.error(t("domain.model_broken", model=model_id))
            show_error(error)
        elif entry is None:
            missing.append(model_id)
        else:
            entries.append(entry)
    if not entries:
        if missing:
            empty_state(t("domain.not_built", models=", ".join(missing)), domains.build_command(missing))
        return
    try:
        if show.task == "tabular":
            tabular_panel(show, entries, missing, domain_id)
        elif show.task == "image":
            image_panel(show, entries, missing, domain_id)
        else:
            text_panel(show, entries, missing, domain_id)
    except BigModelError as exc:
        show_error(exc)
