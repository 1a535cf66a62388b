"""The predict page for an image model: draw, pick a real example, upload or photograph; the answer beside it.

The inputs and the answer are one fragment: a stroke, a new upload or a picked example reruns only
them, not the page's header and model picker. The answer keeps one layout whatever it holds (the
"unfamiliar input" warning sits in its own container above the label), so the browser updates the
label, bars and preview in place instead of building them again.
"""
from __future__ import annotations

import streamlit as st

from bigmodel_core.errors import BigModelError
from ui import digit_pad, explain_view
from ui import predict_tools as P
from ui.i18n import t
from ui.layout import label_text, model_title, show_error
from ui.predict.answer import show_single
from ui.predict.choose import Chosen


def render(c: Chosen) -> None:
    """Follow a link to one real example (once, in the full run), then the inputs and answer fragment."""
    from ui import gallery_view

    card = c.card
    try:
        gallery = gallery_view.load_gallery(str(c.entry.folder), card.sha256)
    except BigModelError:
        gallery = None
    sources = (["draw"] if P.is_digit_model(card) else []) + (["example"] if gallery else []) + \
        ["upload", "camera"]
    shown = P.example_from_link(c.pending, len(gallery)) if c.pending and gallery else None
    if shown is not None:                                    # a link to one real example
        st.session_state[f"predict_src_{c.model_id}"] = "example"
        st.session_state[f"predict_gallery_{c.model_id}:pick"] = shown
    if st.session_state.get(f"predict_src_{c.model_id}") not in sources:
        st.session_state[f"predict_src_{c.model_id}"] = sources[0]
    _inputs_and_answer(c, gallery, sources)


@st.fragment
def _inputs_and_answer(c: Chosen, gallery, sources: list[str]) -> None:
    """The image inputs (left), the answer (right), then the explanation."""
    from bigmodel_core.app.gallery import answer as gallery_answers
    from ui import gallery_view

    model_id, entry, card, predictor = c.model_id, c.entry, c.card, c.predictor
    spec = card.preprocessing
    digit = P.is_digit_model(card)
    explain = None          # what the full-width "Explain this prediction" expander below the columns explains

    def familiarity(x):
        return gallery_view.familiarity(entry.folder, card, x)

    short_name = (model_title(card) or model_id).split(" — ")[0]
    truth, shown = None, None
    left, right = st.columns([1, 1], gap="medium")
    with left:
        st.subheader(t("predict.input"))
        source = st.segmented_control(t("predict.source"), sources, key=f"predict_src_{model_id}",
                                      format_func={s: t(f"predict.source.{s}") for s in sources}.get, required=True,
                                      label_visibility="collapsed") or sources[0]
        outcome, error = None, None
        try:
            if source == "draw":
                st.caption(t("predict.draw_help"))
                image = digit_pad.draw(f"predict_canvas_{model_id}")      # each stroke answered at once
                if image is not None:
                    outcome = P.predict_drawing(predictor, card, image, familiarity)
            elif source == "example":
                i = shown = gallery_view.render(f"predict_gallery_{model_id}", gallery,
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
        notices = st.container()              # the warning, when there is one, without moving what follows
        if error is not None:
            show_error(error)
        elif outcome is None:
            st.info(t(f"predict.waiting.{source}"), icon="👈")
        else:
            res, seen = outcome
            with notices:
                gallery_view.warn([(short_name, res.familiar)], (card.dataset or ""))
            show_single(res)
            if truth is not None:
                st.caption(t("predict.true_label", label=label_text(truth)))
            st.image(P.preview(seen), caption=t("predict.model_sees", w=spec["width"], h=spec["height"]))
            explain = dict(image=seen)
    c.publish(P.link_params(model_id, example=shown))
    if explain:
        explain_view.panel(predictor, entry.folder, card, key=f"predict:{model_id}", **explain)
