"""The answer's class probabilities as HTML bars: order, values, widths and escaping, and on the predict page."""
from __future__ import annotations

import re

import numpy as np
import pytest

from tests import helpers
from ui import probability_bars

ROW = re.compile(r'<div class="bm-prob[^"]*" title="[^"]*">'
                 r'<span class="bm-prob-label">(?P<label>[^<]*)</span>.*?width:(?P<width>[\d.]+)%.*?'
                 r'<span class="bm-prob-value">(?P<value>[^<]*)</span></div>')


def rows(markup: str) -> list[dict]:
    return [m.groupdict() for m in ROW.finditer(markup)]


def test_the_most_likely_class_comes_first_and_alone_is_marked_best():
    probs = np.array([0.05, 0.7, 0.25])
    html = probability_bars.markup(probs, ["cat", "dog", "bird"])
    got = rows(html)
    assert [r["label"] for r in got] == ["dog", "bird", "cat"]
    assert [r["value"] for r in got] == ["70.0%", "25.0%", "5.0%"]
    assert html.count("bm-best") == 1 and html.index("bm-best") < html.index(">dog<")


def test_each_bar_is_as_long_as_its_probability():
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(10))
    got = rows(probability_bars.markup(probs, [str(i) for i in range(10)]))
    widths = {int(r["label"]): float(r["width"]) for r in got}
    assert widths == pytest.approx({i: probs[i] * 100 for i in range(10)}, abs=0.006)
    assert sum(widths.values()) == pytest.approx(100, abs=0.05)


def test_only_the_top_classes_are_listed():
    probs = np.linspace(1, 2, 20)
    probs /= probs.sum()
    got = rows(probability_bars.markup(probs, [f"c{i}" for i in range(20)], top=5))
    assert [r["label"] for r in got] == ["c19", "c18", "c17", "c16", "c15"]


def test_a_label_with_markup_is_shown_as_text():
    html = probability_bars.markup(np.array([0.9, 0.1]), ["<b>bold</b>", "a&b"], title="<i>t</i>")
    assert "<b>" not in html and "&lt;b&gt;bold&lt;/b&gt;" in html and "a&amp;b" in html
    assert "<i>" not in html


@pytest.mark.parametrize("lang, title", [("en", "Probability of each class"), ("zh", "各类别的概率")])
def test_the_predict_page_shows_the_bars_under_the_answer(lang, title):
    at = helpers.open_page("pages/predict.py", lang, predict_model="sst2-tiny",
                           **{"predict_text_sst2-tiny": "A warm and funny film."})
    assert not at.exception
    bars = [h.proto.body for h in at.get("html") if "bm-probs" in h.proto.body]
    assert len(bars) == 1 and title in bars[0]
    got = rows(bars[0])
    assert len(got) == 2 and got[0]["label"] == at.metric[0].value       # the label shown is the longest bar
    assert f"{got[0]['value']}" in at.metric[0].proto.delta                # and its confidence is the same figure
