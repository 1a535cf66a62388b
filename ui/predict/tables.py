"""The predict page for a tabular model: a form in display units, a real row, the answer and CSV rows."""
from __future__ import annotations

import streamlit as st

from bigmodel_core.errors import BigModelError
from ui import explain_view
from ui import predict_panels as panels
from ui import predict_tools as P
from ui.domain import labels as domain_labels
from ui.i18n import t
from ui.layout import fmt, label_text, show_error
from ui.predict.answer import show_single
from ui.predict.choose import Chosen, built_in_examples, next_example


def fill_with_example(model_id: str, features: list[dict], data) -> None:
    """Put a row of the built-in examples into the form (each value snapped to its widget) and remember its truth."""
    i = next_example(model_id, len(data))
    row = data.frame.iloc[i]
    values = {}
    for name, w in P.form_specs(features, data.id).items():
        if name not in row.index or w["kind"] == "fixed":
            continue
        value = P.widget_value(w, row[name])             # in the units the form shows (°C, %)
        st.session_state[f"predict_f_{model_id}_{name}"] = value
        values[name] = value
    target = row[data.target]
    truth = data.class_names[int(target)] if data.class_names else fmt(float(target), 4)
    st.session_state[f"predict_row_{model_id}"] = {"values": values, "truth": truth}


def render(c: Chosen, left, right) -> None:
    """The form (left), the answer (right), the explanation, then the CSV rows."""
    model_id, entry, card, predictor, pending = c.model_id, c.entry, c.card, c.predictor, c.pending
    publish = c.publish
    explain = None          # what the full-width "Explain this prediction" expander below the columns explains
    examples = built_in_examples(str(entry.folder), card.sha256)
    features = card.preprocessing.get("features") or []
    dataset = card.dataset or ""

    def feature_label(name: str) -> str:
        return domain_labels.feature_label(dataset, name)

    def value_label(name: str, value) -> str:
        """A model value as people read it: in display units (°C, %), codes in words, numbers rounded."""
        return domain_labels.value_text(dataset, name, value)

    def coded(name: str) -> bool:
        return domain_labels.has_codes(dataset, name)

    for name, value in P.row_from_link(features, pending).items():      # a link's form values
        st.session_state[f"predict_f_{model_id}_{name}"] = value
    values, fixed = {}, set()
    with left:
        st.subheader(t("predict.input"))
        if not features:
            st.warning(t("predict.no_features"))
        if examples is not None and features:
            st.button(t("predict.real_row"), icon="🎲", key=f"predict_next_{model_id}",
                      on_click=fill_with_example, args=(model_id, features, examples))
        specs = P.form_specs(features, dataset)                    # sliders in display units (°C, %)
        with st.form(f"predict_form_{model_id}", border=True):
            cols = st.columns(2 if len(features) <= 12 else 3)
            for i, feat in enumerate(features):
                w = specs[feat["name"]]
                name, label = feat["name"], feature_label(feat["name"])
                with cols[i % len(cols)]:
                    wkey = f"predict_f_{model_id}_{name}"
                    if w["kind"] == "select":
                        st.session_state.setdefault(wkey, w["options"][w["index"]])
                        values[name] = st.selectbox(label, w["options"], key=wkey,
                                                    format_func=lambda v, n=name: value_label(n, v))
                    elif w["kind"] == "slider" and w["integer"] and coded(name):
                        st.session_state.setdefault(wkey, w["default"])      # a code book: words, not numbers
                        values[name] = st.select_slider(label, list(range(w["min"], w["max"] + 1)), key=wkey,
                                                        format_func=lambda v, n=name: value_label(n, v))
                    elif w["kind"] == "fixed":
                        values[name] = w["default"]
                        fixed.add(name)
                        st.caption(f"{label}: {w['default']}")
                    else:
                        st.session_state.setdefault(wkey, w["default"])
                        values[name] = st.slider(label, w["min"], w["max"], step=w["step"], key=wkey)
            st.form_submit_button(t("predict.run"), type="primary", icon="🔮")
    with right:
        st.subheader(t("predict.output"))
        if features:
            row = {name: P.model_value(specs[name], v) for name, v in values.items()}   # back to model units
            try:
                res = P.predict_row(predictor, row)
            except BigModelError as exc:
                show_error(exc)
            else:
                target = card.preprocessing.get("target")
                show_single(res, value_name=feature_label(target) if target else None)
                drawn = st.session_state.get(f"predict_row_{model_id}")
                if drawn and all(values.get(k) == v for k, v in drawn["values"].items()):
                    st.caption(t("predict.true_label", label=label_text(drawn["truth"])))
                explain = dict(row=row, feature_label=feature_label, value_label=value_label)
    publish(P.link_params(model_id, row={k: v for k, v in values.items() if k not in fixed}))
    if explain:
        explain_view.panel(predictor, entry.folder, card, key=f"predict:{model_id}", **explain)
    if features:
        panels.rows_panel(model_id, predictor, examples, feature_label)
