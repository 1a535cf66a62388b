"""Predict with any registry model through ONNX Runtime: draw, upload or photograph; type texts; fill a form.

The input widgets follow the model's card (task, image size, feature spec). The
answer shows the label, the probabilities, the execution provider that ran and
the latency, and an "Explain this prediction" expander below it (`ui/explain_view.py`).
ONNX sessions come from the one process-wide cache (bigmodel_core.serve.predictors).

The default model reads the interface's language (中文 → waimai-tiny, English →
sst2-tiny) until a model is chosen; a text in the other language than the model's gets
a notice and a button that switches to a model for it. The address holds the model and
its input (`?model=…&text=…`, `&example=N` for a real example picture, `&f.<feature>=…`
for a form), so a link opens the same prediction. Several lines of text, or a CSV of
rows for a tabular model, come back as a downloadable CSV with labels and scores.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from bigmodel_core.app import language
from bigmodel_core.errors import BigModelError
from bigmodel_core.serve import batch, predictors, registry
from bigmodel_core.serve.runtime import Predictor
from ui import domain_page, explain_view, links
from ui import predict_panels as panels
from ui import predict_tools as P
from ui.i18n import current, t
from ui.layout import (
    TASK_ICONS,
    chart,
    empty_state,
    fmt,
    label_text,
    metric_name,
    model_title,
    page_header,
    show_error,
)

try:                                    # importable only inside a Streamlit run (or AppTest)
    from streamlit_drawable_canvas import st_canvas
except Exception:  # noqa: BLE001
    st_canvas = None


def get_predictor(folder: str, sha256: str) -> Predictor:
    """The model's ONNX Runtime predictor from the process-wide cache (cleared on delete and replace)."""
    return predictors.get(folder, sha256)


@st.cache_data(max_entries=16, show_spinner=False)
def built_in_examples(folder: str, sha256: str):
    """The model's built-in examples (a sample of its test split), or None for a model without them."""
    from bigmodel_core.serve import examples

    try:
        return examples.load(Path(folder))
    except BigModelError:
        return None


def next_example(model_id: str, n: int) -> int:
    """Draw another example index for this model (kept in the session)."""
    key = f"predict_ex_{model_id}"
    draws = st.session_state.get(f"{key}_draws", 0) + 1
    st.session_state[f"{key}_draws"] = draws
    st.session_state[key] = int(pd.Series(range(n)).sample(1, random_state=draws).iloc[0])
    return st.session_state[key]


page_header("🔮", t("predict.title"), t("predict.subtitle"))

entries, broken = registry.list_models()
if broken:
    with st.expander(t("predict.broken", n=len(broken)), icon="⚠️"):
        for name, why in broken.items():
            st.caption(f"**{name}** — {why}")
if not entries:
    empty_state(t("predict.empty"), "python -m bigmodel_core build-defaults")
    st.stop()

by_id = {e.id: e for e in entries}
ids = list(by_id)
cards = {i: e.card for i, e in by_id.items()}
# The default model reads the interface's language, and follows it until someone picks a model.
default_id = language.text_model_for(cards, current()) or next((i for i in ("mnist-mlp-seed",) if i in by_id), ids[0])

# A link (?model=…&text=…) opened in this session for the first time sets the model and, below, its input.
link = P.link_part(st.query_params.to_dict())
pending = link if link.get("model") and links.is_new("predict", link) else {}
if pending:
    links.remember("predict", pending)              # followed once, even if the page stops before publishing
preset = st.session_state.pop("predict_preset", None)
if pending and pending["model"] not in by_id:
    st.warning(t("predict.link_unknown", model=pending["model"]), icon="🔗")
    pending = {}
wanted = pending.get("model") or preset
if wanted in by_id:
    st.session_state["predict_model"] = wanted
    st.session_state["predict_auto_model"] = None
# "predict_auto_model": the model the page picked by itself; once someone picks one (here, a link, a
# preset, or any code setting predict_model), the page stops following the language.
chosen = st.session_state.get("predict_model")
if chosen not in by_id or chosen == st.session_state.get("predict_auto_model"):
    st.session_state["predict_model"] = st.session_state["predict_auto_model"] = default_id


def model_chosen() -> None:
    st.session_state["predict_auto_model"] = None


def switch_model(other: str, text: str) -> None:
    """The other-language notice's button: that model, with the same text in its box."""
    st.session_state["predict_model"] = other
    st.session_state["predict_auto_model"] = None
    st.session_state[f"predict_text_{other}"] = text


def publish(params: dict) -> None:
    """Put this prediction in the address (keeping ?lang= and the rest) and in the Share box."""
    links.publish("predict", params, P.is_link_key)
    panels.share_box(share_slot, model_only=len(params) == 1)


def model_label(model_id: str) -> str:
    card = by_id[model_id].card
    return f"{TASK_ICONS.get(card['task'], '🧩')} {model_title(card) or model_id}  ·  {model_id}"


pick, share = st.columns([5, 1], vertical_alignment="bottom")
model_id = pick.selectbox(t("predict.model"), ids, key="predict_model",
                          format_func={i: model_label(i) for i in ids}.get,   # labels made now, in this language
                          persist_state="session", on_change=model_chosen)
share_slot = share.empty()                  # the Share box, filled once the input is known
entry = by_id[model_id]
card = entry.card
test = (card.get("metrics") or {}).get("test", {})
facts = [t(f"predict.task.{card['task']}"), t("predict.dataset", dataset=card.get("dataset", "—"))]
facts += [f"{metric_name(k)} {fmt(v)}" for k, v in list(test.items())[:2]]
if card.get("parameters"):
    facts.append(t("predict.params", n=fmt(card["parameters"])))
facts.append(t("predict.shipped") if card.get("shipped") else t("predict.trained"))
st.caption("  ·  ".join(facts))

try:
    predictor = get_predictor(str(entry.folder), card["sha256"])
except BigModelError as exc:
    show_error(exc)
    st.stop()


def show_provider(res: P.Result) -> None:
    st.caption("⚡ " + t("predict.ran_on", provider=res.provider.replace("ExecutionProvider", ""),
                         ort=f"{res.ort_ms:.2f}", total=f"{res.total_ms:.1f}"))


def show_single(res: P.Result, value_name: str | None = None) -> None:
    """One classification or regression answer: big label, probability bars, provider and latency."""
    if res.probs is not None:
        st.metric(t("predict.label"), label_text(res.label()), delta=t("predict.confidence",
                                                                        p=f"{res.confidence():.1%}"),
                  delta_color="off", delta_arrow="off", border=True)
        chart(P.probability_figure(res), key="predict_probs")
    else:
        st.metric(value_name or t("predict.value"), fmt(float(res.values[0]), 4), border=True)
    show_provider(res)
    for note in res.notices:
        st.caption(f"ℹ️ {note}")


left, right = st.columns([1, 1], gap="large")
explain = None          # what the full-width "Explain this prediction" expander below the columns explains
examples = built_in_examples(str(entry.folder), card["sha256"])

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


# ---------------------------------------------------------------------------- images
if card["task"] == "image":
    from bigmodel_core.app.gallery import answer as gallery_answers
    from ui import gallery_view

    spec = card["preprocessing"]
    digit = P.is_digit_model(card)
    try:
        gallery = gallery_view.load_gallery(str(entry.folder), card["sha256"])
    except BigModelError:
        gallery = None

    def familiarity(x):
        return gallery_view.familiarity(entry.folder, card, x)

    short_name = (model_title(card) or model_id).split(" — ")[0]

    sources = (["draw"] if digit and st_canvas is not None else []) + (["example"] if gallery else []) + \
        ["upload", "camera"]
    truth = None
    gallery_key = f"predict_gallery_{model_id}"
    shown = P.example_from_link(pending, len(gallery)) if pending and gallery else None
    if shown is not None:                                    # a link to one real example
        st.session_state[f"predict_src_{model_id}"] = "example"
        st.session_state[f"{gallery_key}:pick"] = shown
    if st.session_state.get(f"predict_src_{model_id}") not in sources:
        st.session_state[f"predict_src_{model_id}"] = sources[0]
    with left:
        st.subheader(t("predict.input"))
        source = st.segmented_control(t("predict.source"), sources, key=f"predict_src_{model_id}",
                                      format_func={s: t(f"predict.source.{s}") for s in sources}.get, required=True,
                                      label_visibility="collapsed") or sources[0]
        shown = None
        outcome, error = None, None
        try:
            if source == "draw":
                st.caption(t("predict.draw_help"))
                canvas = st_canvas(fill_color="#000000", stroke_width=20, stroke_color="#FFFFFF",
                                   background_color="#000000", height=280, width=280, drawing_mode="freedraw",
                                   return_image_data=True, key=f"predict_canvas_{model_id}")
                image = canvas.image_data if canvas is not None else None
                if image is not None:
                    outcome = P.predict_drawing(predictor, card, image, familiarity)
            elif source == "example":
                i = shown = gallery_view.render(gallery_key, gallery,
                                                [(short_name, card, gallery_answers(predictor, gallery))], per_row=4)
                truth = gallery.class_names[int(gallery.labels[i])]
                outcome = P.predict_image(predictor, card, gallery.images[i], familiarity)
            elif source == "upload":
                f = st.file_uploader(t("predict.upload"), type=["png", "jpg", "jpeg", "bmp", "gif", "webp"],
                                     key=f"predict_upload_{model_id}",
                                     help=t("predict.upload_help", w=spec["width"], h=spec["height"]))
                if f is not None:
                    outcome = P.predict_image(predictor, card, f.getvalue(), familiarity)
            else:
                photo = st.camera_input(t("predict.camera"), key=f"predict_camera_{model_id}")
                if photo is not None:
                    outcome = P.predict_image(predictor, card, photo.getvalue(), familiarity)
        except BigModelError as exc:
            error = exc
        if digit and source != "draw":
            st.caption(t("predict.digit_tip"))
    with right:
        st.subheader(t("predict.output"))
        if error is not None:
            show_error(error)
        elif outcome is None:
            st.info(t(f"predict.waiting.{source}"), icon="👈")
        else:
            res, seen = outcome
            gallery_view.warn([(short_name, res.familiar)], card.get("dataset", ""))
            show_single(res)
            if truth is not None:
                st.caption(t("predict.true_label", label=label_text(truth)))
            st.image(P.preview(seen), caption=t("predict.model_sees", w=spec["width"], h=spec["height"]))
            explain = dict(image=seen)
    publish(P.link_params(model_id, example=shown))
    if explain:
        explain_view.panel(predictor, entry.folder, card, key=f"predict:{model_id}", **explain)

# ---------------------------------------------------------------------------- texts
elif card["task"] == "text":
    lang = language.card_language(card)
    key = f"predict_text_{model_id}"
    if pending.get("text") is not None:
        st.session_state[key] = pending["text"]
    st.session_state.setdefault(key, t(f"predict.example.{'zh' if lang == 'zh' else 'en'}"))

    with left:
        st.subheader(t("predict.input"))
        text = st.text_area(t("predict.text"), key=key, height=180, help=t("predict.text_help"))
        st.caption(t("predict.text_help"))
        if examples:
            st.button(t("predict.real_text"), icon="🎲", key=f"predict_next_{model_id}",
                      on_click=lambda: st.session_state.update(
                          {key: examples.texts[next_example(model_id, len(examples))]}))
            i = st.session_state.get(f"predict_ex_{model_id}")
            if i is not None and text == examples.texts[i]:
                st.caption(t("predict.true_label", label=label_text(examples.class_names[examples.labels[i]])))
        if len(text or "") > P.MAX_LINK_TEXT:
            st.caption(t("predict.link_text_too_long", n=P.MAX_LINK_TEXT))
    with right:
        st.subheader(t("predict.output"))
        try:
            lines, res = P.predict_texts(predictor, text)
        except BigModelError as exc:
            show_error(exc)
        else:
            panels.language_notice(lines, text, card, model_id, cards, switch_model)
            if len(lines) == 1:
                show_single(res)
            else:
                table = pd.DataFrame({t("predict.col.text"): lines,
                                      t("predict.label"): [label_text(res.label(i)) for i in range(len(lines))],
                                      t("predict.col.confidence"): [res.confidence(i) for i in range(len(lines))]})
                st.dataframe(table, hide_index=True, width="stretch",
                             column_config={t("predict.col.confidence"): st.column_config.ProgressColumn(
                                 min_value=0.0, max_value=1.0, format="percent")})
                chart(P.texts_figure(lines, res), key="predict_lines")
                show_provider(res)
                for note in res.notices:
                    st.caption(f"ℹ️ {note}")
            given = len([ln for ln in text.splitlines() if ln.strip()])
            if given > len(lines):
                st.caption(t("predict.lines_cut", n=len(lines), total=given))
            st.download_button(t("predict.download_texts"), icon="⬇️", on_click="ignore",
                               data=batch.csv_bytes(batch.texts_table(lines, card, res.probs)),
                               file_name=f"{model_id}-predictions.csv", mime="text/csv",
                               key=f"predict_dl_{model_id}", help=t("predict.download_texts_help"))
            explain = dict(texts=lines)
    publish(P.link_params(model_id, text=text))
    if explain:
        explain_view.panel(predictor, entry.folder, card, key=f"predict:{model_id}", **explain)

# ---------------------------------------------------------------------------- tables
elif card["task"] == "tabular":
    features = (card.get("preprocessing") or {}).get("features") or []
    dataset = card.get("dataset", "")

    def feature_label(name: str) -> str:
        return domain_page.feature_label(dataset, name)

    def value_label(name: str, value) -> str:
        """A model value as people read it: in display units (°C, %), codes in words, numbers rounded."""
        return domain_page.value_text(dataset, name, value)

    def coded(name: str) -> bool:
        return domain_page.has_codes(dataset, name)

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
                target = (card.get("preprocessing") or {}).get("target")
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
else:
    st.error(t("predict.unknown_task", task=card["task"]))
