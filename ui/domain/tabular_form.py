"""The hands-on form of a tabular model: sliders and choices in display units, a real row, reset."""
from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from bigmodel_core.app import domains
from bigmodel_core.app.domains import Showcase, slug
from bigmodel_core.errors import DataError
from bigmodel_core.serve.card import ModelCard
from ui.domain.address import link_example, publish
from ui.domain.data import FEW_VALUES, tabular_data
from ui.domain.labels import code_text, feature_label
from ui.domain.results import results
from ui.i18n import t
from ui.layout import fmt
from ui.predict_tools import feature_widget_spec, model_value, widget_value


def _widget_key(model_id: str, column: str) -> str:
    return f"in:{model_id}:{slug(column)}"


def _form_specs(show: Showcase, card: ModelCard, data: dict | None) -> list[dict]:
    """Card features → widget specs: kind (select | steps | slider), options or range, default, scale."""
    specs = []
    frame = data["frame"] if data else None
    for f in card.preprocessing.get("features", []):
        name = f["name"]
        scale = float(domains.display_scale(show.dataset).get(name, 1.0))
        spec = dict(name=name, scale=scale, label=feature_label(show.dataset, name))
        if f["type"] == "categorical":
            cats = [str(c) for c in f["categories"]]
            spec.update(kind="select", options=cats, default=str(f.get("default", cats[0])))
        else:
            integer = bool(f.get("integer"))
            values = None
            if frame is not None and name in frame.columns:
                uniq = np.sort(pd.to_numeric(frame[name], errors="coerce").dropna().unique())
                if len(uniq) <= FEW_VALUES:
                    values = uniq
            if values is not None:
                default = float(f["default"]) * scale
                opts = [(int(v) if integer else round(float(v) * scale, 6)) for v in values]
                default = min(opts, key=lambda o: abs(o - default))
                spec.update(kind="steps", options=opts, default=default)
            else:                                   # the predict page's slider, in display units too
                w = feature_widget_spec(f, scale)
                spec.update(kind="slider", min=w["min"], max=max(w["max"], w["min"] + w["step"]),
                            default=w["default"], step=w["step"], integer=w["integer"])
        specs.append(spec)
    return specs


def _coerce(spec: dict, value):
    """A data value as a valid widget value for this spec (display units, snapped as on the predict page)."""
    if spec["kind"] == "select":
        return str(value) if str(value) in spec["options"] else spec["default"]
    if spec["kind"] == "steps":
        v = float(value) * spec["scale"]
        return min(spec["options"], key=lambda o: abs(o - v))
    return widget_value(spec, value)


def tabular_panel(show: Showcase, entries, missing: list[str], domain_id: str) -> None:
    entry = entries[0]
    card = entry.card
    try:
        data = tabular_data(show.dataset)
    except DataError:
        data = None
    specs = _form_specs(show, card, data)
    wanted = link_example(domain_id)
    if wanted is not None and data is not None and str(wanted).isdigit() and int(wanted) < len(data["frame"]):
        _load_row(data, entry.id, specs, int(wanted))
    for spec in specs:
        st.session_state.setdefault(_widget_key(entry.id, spec["name"]), spec["default"])
    left, right = st.columns([5, 4], gap="large")
    with left:
        st.markdown(f"##### {t('domain.inputs_title')}")
        b1, b2 = st.columns(2)
        b1.button(t("domain.random_row"), on_click=_load_example, args=(show.dataset, entry.id, specs),
                  disabled=data is None, key=f"rand:{entry.id}", width="stretch")
        b2.button(t("domain.reset"), on_click=_reset_form, args=(entry.id, specs), key=f"reset:{entry.id}",
                  width="stretch")
        key_names = [n for n in show.key_features if any(s["name"] == n for s in specs)] or \
            [s["name"] for s in specs[:6]]
        main = [s for s in specs if s["name"] in key_names]
        main.sort(key=lambda s: key_names.index(s["name"]))
        rest = [s for s in specs if s["name"] not in key_names]
        cols = st.columns(2)
        for i, spec in enumerate(main):
            with cols[i % 2]:
                _widget(show, entry.id, spec)
        if rest:
            with st.expander(t("domain.more_features", n=len(rest))):
                cols = st.columns(3)
                for i, spec in enumerate(rest):
                    with cols[i % 3]:
                        _widget(show, entry.id, spec)
    row = {}
    for spec in specs:
        value = st.session_state[_widget_key(entry.id, spec["name"])]
        row[spec["name"]] = model_value(spec, value)                 # display units (°C, %) → model units
    truth = example = None
    loaded = st.session_state.get(f"loaded:{entry.id}")
    if loaded and all(st.session_state.get(_widget_key(entry.id, n)) == v for n, v in loaded["values"].items()):
        truth, example = loaded["truth"], loaded.get("row")
    publish(domain_id, show, example)
    with right:
        st.markdown(f"##### {t('domain.result_title')}")
        results(show, [entry], pd.DataFrame([row]), truth, missing)


def _widget(show: Showcase, model_id: str, spec: dict) -> None:
    key = _widget_key(model_id, spec["name"])
    if spec["kind"] == "select":
        st.selectbox(spec["label"], spec["options"], key=key,
                     format_func={v: code_text(show.dataset, spec["name"], v) for v in spec["options"]}.get)
    elif spec["kind"] == "steps":
        st.select_slider(spec["label"], spec["options"], key=key,
                         format_func={v: code_text(show.dataset, spec["name"], v) if spec["scale"] == 1.0 else fmt(v)
                                      for v in spec["options"]}.get)
    else:
        st.slider(spec["label"], min_value=spec["min"], max_value=spec["max"], step=spec["step"], key=key)


def _load_example(dataset: str, model_id: str, specs: list[dict]) -> None:
    data = tabular_data(dataset)
    counter = st.session_state.get(f"draw:{model_id}", 0) + 1
    st.session_state[f"draw:{model_id}"] = counter
    _load_row(data, model_id, specs, int(np.random.default_rng(counter).choice(data["test"])))


def _load_row(data: dict, model_id: str, specs: list[dict], index: int) -> None:
    """Put row `index` of the data into the form, remembering its true answer and its index (for the address)."""
    row = data["frame"].iloc[index]
    values = {}
    for spec in specs:
        if spec["name"] in row.index:
            value = _coerce(spec, row[spec["name"]])
            st.session_state[_widget_key(model_id, spec["name"])] = value
            values[spec["name"]] = value
    target = row[data["target"]]
    truth = data["class_names"][int(target)] if data["class_names"] else float(target)
    st.session_state[f"loaded:{model_id}"] = {"values": values, "truth": truth, "row": index}


def _reset_form(model_id: str, specs: list[dict]) -> None:
    for spec in specs:
        st.session_state[_widget_key(model_id, spec["name"])] = spec["default"]
    st.session_state.pop(f"loaded:{model_id}", None)
