"""BigModel Studio — the Streamlit entry point: navigation, language switch, shared layout.

Run with ./run.sh. Each page is one thin file in pages/; all logic lives in bigmodel_core.
"""
import streamlit as st

from bigmodel_core import warm
from bigmodel_core.app.domains import DOMAINS
from bigmodel_core.workers import courtesy
from ui.i18n import language_switch, t
from ui.layout import PAGE_ICONS, apply_style
from ui.preload import hint as preload_hint

courtesy.answering()     # a visitor is waiting: local training workers hold back (workers/courtesy.py)
warm.wait()              # light imports in one thread (bigmodel_core/warm.py): concurrent ones break; no torch
st.set_page_config(page_title="BigModel Studio", page_icon="🧠", layout="wide")
apply_style()
preload_hint()           # the browser fetches the chart code while the page is computed (ui/preload.py)
language_switch()

pages = {
    "": [                # the default page: Streamlit serves it at / only, so it declares no url_path
        st.Page("pages/home.py", title=t("nav.home"), icon=PAGE_ICONS["home"], default=True),
    ],
    t("nav.learn"): [
        st.Page("pages/concepts.py", title=t("nav.concepts"), icon=PAGE_ICONS["concepts"], url_path="concepts"),
        st.Page("pages/playground.py", title=t("nav.playground"), icon=PAGE_ICONS["playground"], url_path="playground"),
    ],
    t("nav.domains"): [
        st.Page(f"pages/domain_{d.id.replace('-', '_')}.py", title=t(f"domain.{d.id}.title"), icon=d.icon,
                url_path=d.id)
        for d in DOMAINS.values()
    ],
    t("nav.build"): [
        st.Page("pages/train.py", title=t("nav.train"), icon=PAGE_ICONS["train"], url_path="train"),
        st.Page("pages/predict.py", title=t("nav.predict"), icon=PAGE_ICONS["predict"], url_path="predict"),
        st.Page("pages/models.py", title=t("nav.models"), icon=PAGE_ICONS["models"], url_path="models"),
        st.Page("pages/benchmark.py", title=t("nav.benchmark"), icon=PAGE_ICONS["benchmark"], url_path="benchmark"),
        st.Page("pages/onnx_inspector.py", title=t("nav.onnx"), icon=PAGE_ICONS["onnx"], url_path="onnx-inspector"),
    ],
}
# expanded: every page one click away from every page (no "View 6 more"); Home needs no section header
page = st.navigation(pages, expanded=True)
page.run()
