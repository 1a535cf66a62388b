"""Every page runs under AppTest without an exception, in both languages."""
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parent.parent / "app.py")


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_home_page_renders(lang):
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["lang"] = lang
    at.run()
    assert not at.exception
    assert ("BigModel Studio" if lang == "en" else "大模型工坊") in at.title[0].value
