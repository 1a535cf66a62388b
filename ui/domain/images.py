"""The hands-on panel of an image model: a gallery of real test images (or an upload), then the answers."""
from __future__ import annotations

import numpy as np
import streamlit as st

from bigmodel_core.app.domains import Showcase
from bigmodel_core.errors import DataError
from ui.domain.address import link_example, publish
from ui.domain.data import predictor
from ui.domain.results import results
from ui.i18n import t
from ui.layout import label_text, model_title, show_error


def image_panel(show: Showcase, entries, missing: list[str], domain_id: str) -> None:
    """A gallery of real test images (each model's answers, mistakes marked) or an upload; then the answer."""
    from bigmodel_core.app.gallery import answer
    from bigmodel_core.serve.preprocess import prepare_images
    from ui import gallery_view, predict_tools

    spec = entries[0].card.preprocessing
    seen = (spec["width"], spec["height"])
    truth, source, example = None, None, None
    pick = f"gallery:{show.dataset}"
    wanted = link_example(domain_id)
    if wanted is not None and str(wanted).isdigit():                 # a link to gallery image no. N (from 1)
        st.session_state[f"imgsrc:{show.dataset}"] = "test"
        st.session_state[f"{pick}:pick"] = max(1, int(wanted)) - 1
    mode = st.radio(t("domain.image_source"), ["test", "upload"], horizontal=True, key=f"imgsrc:{show.dataset}",
                    format_func={m: t(f"domain.image_{m}") for m in ("test", "upload")}.get)
    if mode == "test":
        try:
            gal = gallery_view.load_gallery(str(entries[0].folder), entries[0].card.sha256)
        except DataError as exc:
            show_error(exc, warning=True)
            return
        if gal is None:
            st.info(t("gallery.none"), icon="🖼️")
            return
        answers = [(_short_name(entry), entry.card, answer(predictor(str(entry.folder), entry.card.sha256), gal))
                   for entry in entries]
        idx = gallery_view.render(pick, gal, answers, per_row=6)
        example = idx + 1
        source = gal.images[idx]
        truth = gal.class_names[int(gal.labels[idx])]
    left, right = st.columns([1, 2], gap="large")
    with left:
        st.markdown(f"##### {t('domain.inputs_title')}")
        if mode == "test":
            _show_image(source, seen)
            st.caption(t("domain.true_label", label=label_text(truth)))
        else:
            upload = st.file_uploader(t("domain.upload"), type=["png", "jpg", "jpeg", "bmp", "webp", "gif"],
                                      key=f"upload:{show.dataset}")
            if upload is None:
                st.info(t("domain.upload_hint"), icon="📷")
            else:
                source = upload.getvalue()
                _show_image(source, seen)
    publish(domain_id, show, example)
    with right:
        st.markdown(f"##### {t('domain.result_title')}")
        if source is None:
            st.caption(t("domain.waiting_input"))
            return
        try:
            x = prepare_images([source], spec)[0]
        except DataError as exc:                         # an unreadable upload, in the page's language
            show_error(predict_tools.picture_error(exc))
            return
        gallery_view.warn([(_short_name(e), gallery_view.familiarity(e.folder, e.card, x)) for e in entries],
                          show.dataset)
        results(show, entries, [source], truth, missing)


def _short_name(entry) -> str:
    """A model's title without its dataset ("Small CNN — CIFAR-10 photos" → "Small CNN")."""
    return (model_title(entry.card) or entry.id).split(" — ")[0].split(" (")[0].split("（")[0]


def _show_image(source, seen: tuple[int, int]) -> None:
    """The picture, enlarged, with its size and the size the model sees it at (`seen` = width, height)."""
    from PIL import Image

    from bigmodel_core.serve.preprocess import load_image

    try:
        if isinstance(source, np.ndarray):
            img = Image.fromarray(source.transpose(1, 2, 0) if source.shape[0] in (1, 3) else source)
        else:
            img = load_image(source, 3)
    except DataError:
        return                         # the prediction below reports it
    scale = max(1, 192 // max(img.size))
    shown = img.resize((img.width * scale, img.height * scale), Image.Resampling.NEAREST) if scale > 1 else img
    caption = t("domain.image_caption", w=img.width, h=img.height) if img.size == seen else \
        t("domain.image_caption_resized", w=img.width, h=img.height, mw=seen[0], mh=seen[1])
    st.image(shown, caption=caption, width=192)
