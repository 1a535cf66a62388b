"""The home page's cross-domain map: every model in its bubble, the hover details, and a click read back."""
from __future__ import annotations

import json

from bigmodel_core.app import domains
from tests.helpers import open_page, words
from ui import home_map


def test_every_domain_and_kind_of_the_catalog_has_its_bubble_with_its_models():
    rows = domains.cross_domain_map()
    built = frozenset({"diabetes-mlp"})
    spec = home_map.spec("en", built)
    values = spec["data"]["values"]
    assert len(values) == len(rows)
    for row, v in zip(rows, values, strict=True):
        assert v["domain_id"] == row["domain"] and v["n"] == len(row["models"])
        for m in row["models"]:                    # the hover lists each model, marked built or not
            assert (f"✅ {m}" if m in built else f"⏳ {m}") in v["models"]
        assert v["built"] == any(m in built for m in row["models"])   # pale bubble when nothing is built
    bubbles = spec["layer"][0]
    assert bubbles["params"][0]["name"] == home_map.PICK and bubbles["params"][0]["select"]["fields"] == ["domain_id"]


def test_a_click_is_read_as_its_domain_and_anything_else_as_none():
    state = {"selection": {home_map.PICK: [{"domain_id": "customer-service"}]}}    # what Streamlit hands back
    assert home_map.clicked_domain(state) == "customer-service"
    assert home_map.clicked_domain({"selection": {home_map.PICK: []}}) is None    # a double click clears it
    assert home_map.clicked_domain({"selection": {home_map.PICK: [{"domain_id": "../etc"}]}}) is None
    assert home_map.clicked_domain(None) is None


def test_home_draws_the_map_with_vega_lite_in_both_languages():
    for lang in ("en", "zh"):
        at = open_page(None, lang)
        charts = at.get("vega_lite_chart")
        assert len(charts) == 1 and not at.get("plotly_chart")             # no Plotly code on the first page
        tooltip = json.loads(charts[0].proto.spec)["layer"][0]["encoding"]["tooltip"]
        assert [x["title"] for x in tooltip][0] == words(lang)["home.map_domain"]     # "Domain" / "行业"
