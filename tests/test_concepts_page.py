"""The concepts page under AppTest on the full app, in both languages.

It opens on its first tab and draws only the open one; every tab is opened here through the tab chooser.
It opens without an exception, shows the worked loss example right, and its main
interactions work: moving a slider changes the value shown, editing a weight
changes the gradients, changing the sentence changes the attention table, and
the tiny BERT's attention map follows the sentence, layer and head chosen.
Without the tiny model the page shows an empty state instead of a traceback.
"""

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from bigmodel_core.serve.card import ModelCard
from bigmodel_core.teach import attention, backprop
from tests import helpers
from tests.helpers import EN, ZH, no_exception

PAGE = "pages/concepts.py"
NO_EDITS = {"added_rows": [], "deleted_rows": []}


TABS = ("activations", "losses", "optimisers", "backprop", "attention")


def open_page(lang: str = "en", tab: str | None = None) -> AppTest:
    at = helpers.open_page(PAGE, lang)
    if tab is not None:
        open_tab(at, tab)
    return at


def open_tab(at: AppTest, tab: str) -> AppTest:
    """Click a tab in the chooser: only that tab is drawn."""
    at.segmented_control(key="concepts_tab").set_value(tab).run()
    no_exception(at)
    return at


def metric(at: AppTest, label: str) -> str:
    values = [m.value for m in at.metric if m.label == label]
    assert len(values) == 1, (label, [m.label for m in at.metric])
    return values[0]


def tables(at: AppTest) -> list:
    """The read-only tables (st.dataframe) as pandas frames."""
    return [d.value for d in at.dataframe if d.editing_mode == "read_only"]


def find_table(at: AppTest, index: list, columns: list):
    found = [v for v in tables(at) if list(v.index) == index and list(v.columns) == columns]
    assert found, (index, columns)
    return found


def attention_weights(at: AppTest, labels: list):
    """The calculator's softmax table: rows and columns are the tokens, every row sums to 1."""
    found = [v for v in find_table(at, labels, labels) if np.allclose(v.to_numpy().sum(axis=1), 1, atol=2e-3)]
    assert len(found) == 1
    return found[0]


def tiny_available() -> bool:
    return (attention.tiny_model_folder() / "weights.safetensors").exists()


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_concepts_page_renders_in_both_languages_and_the_sliders_move_the_values(lang):
    tab = EN if lang == "en" else ZH
    at = open_page(lang)
    assert tab["nav.concepts"] in at.title[0].value
    chooser = at.segmented_control(key="concepts_tab")
    assert chooser.options == [tab[f"concepts.tab.{n}"] for n in TABS] and chooser.value == "activations"
    assert not at.tabs
    charts = len(at.get("plotly_chart"))             # the activations tab alone: its three charts
    assert charts == 3
    assert not any(tab["concepts.loss.never_negative"][:20] in i.value for i in at.info)   # other tabs not drawn

    # activation slider: sigmoid at x = 1 → 0.7311, slope 0.1966; at x = 0 → 0.5, slope 0.25
    value_label, slope_label = tab["concepts.act.value"], tab["concepts.act.slope"]
    assert metric(at, value_label.format(x="1.0")) == "0.7311"
    at.slider(key="concepts_act_x").set_value(0.0).run()
    assert metric(at, value_label.format(x="0.0")) == "0.5000"
    assert metric(at, slope_label.format(x="0.0")) == "0.2500"
    at.radio(key="concepts_act_name").set_value(tab["concepts.act.name.relu"]).run()
    at.slider(key="concepts_act_x").set_value(-2.0).run()
    assert metric(at, value_label.format(x="-2.0")) == "0.0000"
    assert metric(at, slope_label.format(x="-2.0")) == "0.0000"

    # the loss tab: the worked example, right: MSE = 0.01 and CE = −ln 0.9 ≈ 0.1054 (positive)
    open_tab(at, "losses")
    assert at.segmented_control(key="concepts_tab").value == "losses"
    assert not [m for m in at.metric if m.label == value_label.format(x="-2.0")]     # activations no longer drawn
    formulas = [x.value.strip("$\n ") for x in at.latex]
    assert any(f.endswith("= 0.0100") and "(1 - 0.9)^2" in f for f in formulas), formulas
    assert any(f.endswith("-\\ln 0.9 = 0.1054") for f in formulas), formulas
    assert any(tab["concepts.loss.never_negative"][:20] in i.value for i in at.info)
    assert len(at.get("plotly_chart")) == 1
    # the loss slider: starts at the example (q = 0.9); q = 0.5 → MSE 0.25, CE ln 2
    assert metric(at, tab["concepts.loss.mse"]) == "0.0100" and metric(at, tab["concepts.loss.ce"]) == "0.1054"
    at.slider(key="concepts_loss_q").set_value(0.5).run()
    assert metric(at, tab["concepts.loss.mse"]) == "0.2500" and metric(at, tab["concepts.loss.ce"]) == "0.6931"
    no_exception(at)
    # the other tabs open too, each with its own charts or tables; back on the first, its slider kept its value
    for name, drawn in (("optimisers", lambda: len(at.get("plotly_chart")) == 2),
                        ("backprop", lambda: bool(at.dataframe) and not at.get("plotly_chart")),
                        ("attention", lambda: len(at.get("plotly_chart")) >= 1)):
        open_tab(at, name)
        assert drawn(), name
    open_tab(at, "activations")
    assert metric(at, value_label.format(x="-2.0")) == "0.0000"


def test_softmax_temperature_changes_the_probabilities():
    at = open_page()                                   # the first tab, open by default
    column = EN["concepts.sm.prob"]
    before = find_table(at, ["A", "B", "C", "D"], [EN["concepts.sm.logit"], EN["concepts.sm.scaled"],
                                                  EN["concepts.sm.exp"], column])[0][column]
    at.slider(key="concepts_sm_temp").set_value(0.2).run()
    after = find_table(at, ["A", "B", "C", "D"], [EN["concepts.sm.logit"], EN["concepts.sm.scaled"],
                                                 EN["concepts.sm.exp"], column])[0][column]
    assert after.iloc[0] > before.iloc[0] > 0.5 and after.sum() == pytest.approx(1, abs=1e-3)
    # editing a logit changes the winner
    at.session_state["concepts_sm_logits"] = {"edited_rows": {3: {EN["concepts.sm.logit"]: 9.0}}, **NO_EDITS}
    at.run()
    no_exception(at)
    probs = find_table(at, ["A", "B", "C", "D"], [EN["concepts.sm.logit"], EN["concepts.sm.scaled"],
                                                 EN["concepts.sm.exp"], column])[0][column]
    assert probs.idxmax() == "D"
    # another tab opened and closed again: the edit and the temperature are still there
    open_tab(at, "losses")
    open_tab(at, "activations")
    probs = find_table(at, ["A", "B", "C", "D"], [EN["concepts.sm.logit"], EN["concepts.sm.scaled"],
                                                 EN["concepts.sm.exp"], column])[0][column]
    assert probs.idxmax() == "D" and at.slider(key="concepts_sm_temp").value == 0.2


def test_optimiser_controls_steps_and_divergence():
    at = open_page(tab="optimisers")
    sgd = EN["concepts.opt.name.sgd"]
    assert any(EN["concepts.opt.counter"].format(steps=50) in m.value for m in at.markdown)
    at.slider(key="concepts_opt_steps").set_value(3).run()
    assert any(EN["concepts.opt.counter"].format(steps=3) in m.value for m in at.markdown)
    assert metric(at, sgd) != "0.0000"                            # 3 steps of SGD do not reach the minimum
    at.selectbox(key="concepts_opt_surface").set_value(EN["concepts.opt.surface.rosenbrock"]).run()
    at.select_slider(key="concepts_opt_lr_rosenbrock").set_value(0.5).run()
    no_exception(at)
    assert metric(at, sgd) == EN["concepts.opt.diverged"]
    assert any(w.value.startswith(sgd) and "0.5" not in w.value for w in at.warning)
    assert metric(at, EN["concepts.opt.name.adam"]) != EN["concepts.opt.diverged"]   # Adam's steps stay ≈ lr


def test_editing_a_weight_changes_the_gradients():
    at = open_page("zh", tab="backprop")
    hidden, outputs = ["h1", "h2", "h3", "h4"], ["o1", "o2"]
    dW2 = find_table(at, outputs, hidden)[0]
    loss = metric(at, ZH["concepts.bp.loss"])
    # the page's numbers are the core's numbers for the default example
    ex = backprop.default_example()
    params = {k: ex[k] for k in backprop.PARAMS}
    grads = backprop.backward(params, backprop.forward(params, ex["x"], ex["y"]))
    np.testing.assert_allclose(dW2.to_numpy(), grads["W2"], atol=1e-5)
    at.session_state["concepts_bp_W2"] = {"edited_rows": {0: {"h1": 3.0}}, **NO_EDITS}
    at.run()
    no_exception(at)
    changed = find_table(at, outputs, hidden)[0]
    assert not np.allclose(changed.to_numpy(), dW2.to_numpy())
    assert metric(at, ZH["concepts.bp.loss"]) != loss
    params["W2"] = params["W2"].copy()
    params["W2"][0, 0] = 3.0
    expected = backprop.backward(params, backprop.forward(params, ex["x"], ex["y"]))
    np.testing.assert_allclose(changed.to_numpy(), expected["W2"], atol=1e-5)
    np.testing.assert_allclose(find_table(at, hidden, ["x1", "x2", "x3"])[0].to_numpy(), expected["W1"], atol=1e-5)
    # the reset button brings the defaults back
    at.button(key="concepts_bp_reset").click().run()
    no_exception(at)
    np.testing.assert_allclose(find_table(at, outputs, hidden)[0].to_numpy(), grads["W2"], atol=1e-5)


def test_changing_the_sentence_changes_the_attention_table():
    at = open_page(tab="attention")
    first = ["1 我", "2 喜欢", "3 吃", "4 苹果"]
    before = attention_weights(at, first)
    at.text_input(key="concepts_att_sentence").input("the cat sat on the mat").run()
    no_exception(at)
    labels = ["1 the", "2 cat", "3 sat", "4 on", "5 the", "6 mat"]
    after = attention_weights(at, labels)
    assert after.shape == (6, 6) and before.shape == (4, 4)
    # the two "the" tokens share an embedding, so their rows are equal
    np.testing.assert_allclose(after.iloc[0].to_numpy(), after.iloc[4].to_numpy())
    at.slider(key="concepts_att_d").set_value(2).run()
    no_exception(at)
    assert not np.allclose(attention_weights(at, labels).to_numpy(), after.to_numpy())


@pytest.mark.skipif(not tiny_available(), reason="models/sst2-tiny is missing (python -m bigmodel_core "
                                                  "build-defaults --only sst2-tiny)")
def test_tiny_model_attention_map_follows_sentence_layer_and_head():
    at = open_page(tab="attention")

    def model_table(tokens):
        labels = [f"{i + 1} {tok}" for i, tok in enumerate(tokens)]
        return find_table(at, labels, labels)[-1]

    at.text_input(key="concepts_att_en").input("a dull film").run()
    no_exception(at)
    tokens = ["[CLS]", "a", "dull", "film", "[SEP]"]
    first = model_table(tokens)
    np.testing.assert_allclose(first.to_numpy().sum(axis=1), 1, atol=3e-3)
    at.selectbox(key="concepts_att_layer").set_value(1).run()
    at.selectbox(key="concepts_att_head").set_value(3).run()
    no_exception(at)
    assert not np.allclose(model_table(tokens).to_numpy(), first.to_numpy())
    verdicts = [EN[f"common.label.{lab}"] for lab in ("negative", "positive")]
    assert any(any(v in md.value for v in verdicts) for md in at.markdown)
    at.text_input(key="concepts_att_en").input("a wonderful film").run()
    assert model_table(["[CLS]", "a", "wonderful", "film", "[SEP]"]).shape == (5, 5)
    card = ModelCard.read(attention.tiny_model_folder() / "card.json")
    wide = bool(card.arch_config.get("ngram_buckets"))                 # the maps leave the bag out: say so
    assert any(EN["concepts.att.wide_caption"] in c.value for c in at.caption) == wide


def test_without_the_tiny_model_the_page_shows_an_empty_state(tmp_registry):
    at = open_page("zh", tab="attention")
    assert any(ZH["concepts.att.no_model"].format(id="sst2-tiny") in i.value for i in at.info)
    assert any("sst2-tiny" in c.value for c in at.code)
    # the calculator above still works
    attention_weights(at, ["1 我", "2 喜欢", "3 吃", "4 苹果"])
