"""BigModel Studio — the Streamlit entry point: navigation, language switch, shared layout.

Run with ./run.sh. Each page is one thin file in pages/; all logic lives in bigmodel_core.
"""
import streamlit as st

from ui.i18n import language_switch, t

st.set_page_config(page_title="BigModel Studio", page_icon="🧠", layout="wide")
language_switch()

pages = {
    t("nav.explore"): [
        st.Page("pages/home.py", title=t("nav.home"), icon="🏠", url_path="home", default=True),
    ],
}
st.navigation(pages).run()
