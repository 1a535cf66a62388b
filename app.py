"""BigModel Studio — the Streamlit entry point: navigation and shared layout.

Run with ./run.sh. Pages live in pages/; all logic lives in bigmodel_core.
"""
import streamlit as st

st.set_page_config(page_title="BigModel Studio", page_icon="🧠", layout="wide")


def home():
    from bigmodel_core.runtime import choose_providers

    st.title("🧠 BigModel Studio")
    st.write("How AI models serve healthcare, finance, education, manufacturing, public safety, "
             "transport and smart homes — train small models and run them with ONNX Runtime.")
    st.caption(f"ONNX Runtime will use: {choose_providers()[0]}")


pg = st.navigation([st.Page(home, title="Home", icon="🏠", url_path="home", default=True)])
pg.run()
