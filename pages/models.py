"""Model registry: shipped and trained models with their cards, compared side by side; download; delete.

The parts live in ui/models/ (compare, detail, cards)."""
import streamlit as st

from bigmodel_core.serve import registry
from ui.i18n import t
from ui.layout import PAGE_ICONS, empty_state, metric_cards, page_header
from ui.models import compare, detail

page_header(PAGE_ICONS["models"], t("nav.models"), t("models.subtitle"))
flash = st.session_state.pop("models_flash", None)
if flash:
    (st.success if flash[0] == "success" else st.error)(flash[1])

entries, refused = registry.list_models()
shipped = [e for e in entries if e.card.shipped]
metric_cards([(t("models.n_shipped"), len(shipped)), (t("models.n_trained"), len(entries) - len(shipped)),
              (t("models.n_refused"), len(refused), t("models.refused_help"))])

if refused:
    with st.expander(f"⚠️ {t('models.refused_title')} ({len(refused)})", expanded=not entries):
        for name, reason in refused.items():
            st.warning(t("models.refused_item", id=name, reason=reason))

if not entries:
    empty_state(t("models.empty"), "python -m bigmodel_core build-defaults")
    st.stop()

shown = compare.render(entries)
detail.render(shown)
