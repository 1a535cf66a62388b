"""Panels of the predict page beside the prediction itself: the Share box, the other-language notice, CSV rows.

- `share_box`: a popover with the address of this prediction, ready to copy;
- `language_notice`: text in another language than the model reads gets a warning
  and a button that switches to a model reading that language (`bigmodel_core.app.language`);
- `rows_panel`: a CSV of rows for a tabular model → the same rows with the predicted
  label or value and scores, checked first (`bigmodel_core.serve.batch`), to download.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote, urlencode

import pandas as pd
import streamlit as st

from bigmodel_core.app import language
from bigmodel_core.data.csvio import read_csv_safely
from bigmodel_core.errors import BigModelError
from bigmodel_core.serve import batch
from bigmodel_core.serve.card import ModelCard
from ui.i18n import t
from ui.layout import fmt, show_error

PREVIEW_ROWS = 200          # rows of a predicted CSV shown on the page (the download has them all)
SHOWN_COLUMNS = 12          # input columns named in the upload's help


def share_box(slot, model_only: bool = False) -> None:
    """The page's address (with its query parameters) in a popover with a copy button."""
    with slot.container(), st.popover(t("predict.share"), icon="🔗", width="stretch", key="predict_share"):
        st.caption(t("predict.share_help"))
        query = urlencode(st.query_params.to_dict(), quote_via=quote)
        st.code(f"{st.context.url or 'predict'}?{query}", language=None, wrap_lines=True)
        if model_only:
            st.caption(t("predict.share_model_only"))


def language_notice(lines: list[str], text: str, card: ModelCard, model_id: str, cards: dict,
                    switch: Callable[[str, str], None]) -> None:
    """Lines in another language than the model reads: say how many, and offer a model that reads it.

    The switch is offered when most lines whose language is clear are in that other language.
    """
    lang = language.card_language(card)
    found = [f for f in language.detect_lines(lines) if f]
    other = [f for f in found if f != lang]
    if not lang or not other:
        return
    text_lang = max(sorted(set(other)), key=other.count)
    names = dict(text_lang=t(f"predict.lang.{text_lang}"), model_lang=t(f"predict.lang.{lang}"), model=model_id)
    if len(lines) == 1:
        message = t("predict.lang_mismatch", **names)
    else:
        message = t("predict.lang_mismatch_lines", n=len(other), total=len(lines), **names)
    better = language.text_model_for(cards, text_lang)
    if better is None:
        message += " " + t("predict.lang_none", text_lang=names["text_lang"])
    st.warning(message, icon="🌐")
    if better is not None and 2 * len(other) > len(found):
        st.button(t("predict.lang_switch", model=better, text_lang=names["text_lang"]), icon="🔀", type="primary",
                  key=f"predict_lang_switch_{model_id}", on_click=switch, args=(better, text))


def rows_panel(model_id: str, predictor, examples, feature_label: Callable[[str], str]) -> None:
    """Many rows at once: a CSV upload → the same rows with the predicted label or value and scores, to download."""
    columns = list(predictor.encoder.columns)
    key = f"predict_csv_{model_id}"
    with st.expander(t("predict.batch.title"), icon="📄", expanded=st.session_state.get(key) is not None):
        named = ", ".join(columns[:SHOWN_COLUMNS])
        if len(columns) > SHOWN_COLUMNS:
            named += " " + t("predict.batch.more_columns", n=len(columns) - SHOWN_COLUMNS)
        st.caption(t("predict.batch.help", n=len(columns), columns=named))
        if examples is not None:
            sample = examples.frame[[c for c in columns if c in examples.frame.columns]].head(5)
        else:
            sample = pd.DataFrame([{f["name"]: f.get("default") for f in predictor.card.preprocessing["features"]}])
        st.download_button(t("predict.batch.template"), data=batch.csv_bytes(sample), icon="📋", on_click="ignore",
                           file_name=f"{model_id}-rows.csv", mime="text/csv", key=f"predict_template_{model_id}")
        upload = st.file_uploader(t("predict.batch.upload"), type=["csv", "tsv", "txt"], key=key)
        if upload is None:
            return
        try:
            frame = read_csv_safely(upload)
        except BigModelError as exc:
            show_error(exc)
            return
        check = batch.check_rows(frame, predictor.encoder)
        if check.missing:
            st.error(t("predict.batch.missing", missing=", ".join(check.missing), expected=", ".join(columns),
                       found=", ".join(map(str, frame.columns))), icon="🚫")
            return
        if check.too_many:
            st.error(t("predict.batch.too_many", n=fmt(check.rows), limit=fmt(batch.MAX_ROWS)), icon="🚫")
            return
        try:
            out, check = batch.predict_rows(predictor, frame)
        except BigModelError as exc:
            show_error(exc)
            return
        st.success(t("predict.batch.done", n=fmt(len(out)), file=upload.name), icon="✅")
        if check.filled:
            st.warning(t("predict.batch.filled", items=", ".join(
                f"{feature_label(c)} ({n})" for c, n in check.filled.items())), icon="⚠️")
        if check.unknown:
            st.warning(t("predict.batch.unknown", items="; ".join(
                f"{feature_label(c)} ({n}: {', '.join(check.unknown_values.get(c) or ['—'])})"
                for c, n in check.unknown.items())), icon="⚠️")
        answers = list(out.columns[len(frame.columns):])                # the answers first on the page
        scores = {c: st.column_config.ProgressColumn(c, min_value=0.0, max_value=1.0, format="percent")
                  for c in answers[1:]}                                # classification: one score per class
        st.dataframe(out.head(PREVIEW_ROWS)[answers + list(out.columns[:len(frame.columns)])], hide_index=True,
                     width="stretch", column_config=scores)
        if len(out) > PREVIEW_ROWS:
            st.caption(t("predict.batch.preview", n=PREVIEW_ROWS, total=fmt(len(out))))
        stem = Path(upload.name).stem or model_id
        st.download_button(t("predict.batch.download"), data=batch.csv_bytes(out), icon="⬇️",
                           on_click="ignore", file_name=f"{stem}-predictions.csv", mime="text/csv",
                           type="primary", key=f"predict_rows_dl_{model_id}")
