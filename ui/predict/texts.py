"""The predict page for a text model: one sentence or many lines; labels, scores and a CSV of them."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from bigmodel_core.app import language
from bigmodel_core.errors import BigModelError
from bigmodel_core.serve import batch
from ui import explain_view
from ui import predict_panels as panels
from ui import predict_tools as P
from ui.i18n import t
from ui.layout import chart, label_text, show_error
from ui.predict.answer import show_provider, show_single
from ui.predict.choose import Chosen, built_in_examples, next_example


def render(c: Chosen, left, right) -> None:
    """The text box (left), the answer (right), then the explanation."""
    model_id, entry, card, predictor, pending = c.model_id, c.entry, c.card, c.predictor, c.pending
    publish = c.publish
    explain = None          # what the full-width "Explain this prediction" expander below the columns explains
    examples = built_in_examples(str(entry.folder), card.sha256)
    cards, switch_model = c.cards, c.switch_model
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
                                      t("predict.col.confidence"): [100 * res.confidence(i)
                                                                      for i in range(len(lines))]})
                st.dataframe(table, hide_index=True, width="stretch",
                             column_config={                  # every column on screen in the half-width column
                                 t("predict.col.text"): st.column_config.TextColumn(width="medium"),
                                 t("predict.col.confidence"): st.column_config.NumberColumn(format="%.1f%%",  # 95.5%
                                                                                            width="small")})
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
