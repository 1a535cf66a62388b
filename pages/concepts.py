"""Concepts: the maths behind large models, computed live — activations, losses, optimisers, backprop, attention.

Every number on this page comes from bigmodel_core (activations, losses, optim2d,
backprop, attention); each tab is one module in ui/concepts/, and only the open tab is drawn.
"""
from __future__ import annotations

from ui.concepts import tabs
from ui.i18n import t
from ui.layout import PAGE_ICONS, page_header

page_header(PAGE_ICONS["concepts"], t("nav.concepts"), t("concepts.subtitle"))
tabs.render(tabs.choose())
