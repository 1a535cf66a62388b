"""Home: what a large model is, the cross-domain map, where to go next."""
import streamlit as st

from bigmodel_core.runtime import choose_providers
from ui.i18n import t

st.title(f"🧠 {t('app.title')}")
st.write(t("app.tagline"))
st.caption(t("provider.using", provider=choose_providers()[0]))
