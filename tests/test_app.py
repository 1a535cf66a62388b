"""The Streamlit app starts and its home page renders without an exception."""
from streamlit.testing.v1 import AppTest


def test_home_page_renders():
    at = AppTest.from_file("app.py", default_timeout=60).run()
    assert not at.exception
    assert "BigModel Studio" in at.title[0].value
