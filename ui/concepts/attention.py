"""Concepts tab 5: self-attention step by step, and the attention maps of the trained tiny BERT."""
from __future__ import annotations

import zlib

import numpy as np
import streamlit as st

from bigmodel_core.app.domains import build_command
from bigmodel_core.errors import BigModelError
from bigmodel_core.teach import attention
from bigmodel_core.warm import torch_available
from ui.concepts.common import MAX_TOKENS, edited, frame, heatmap, kept_editor, labelled, num
from ui.full_install import notice
from ui.i18n import t
from ui.layout import chart, empty_state, fact_cards, label_text, show_error


def render() -> None:
    st.markdown(t("concepts.att.intro"))
    st.latex(t("concepts.tex.attention"))
    left, right = st.columns([3, 1])
    sentence = left.text_input(t("concepts.att.sentence"), attention.EXAMPLE_SENTENCE, key="concepts_att_sentence",
                               persist_state="page")
    d = right.slider(t("concepts.att.d"), 2, 8, 4, key="concepts_att_d", persist_state="page")
    toks = attention.tokens(sentence)[:MAX_TOKENS]
    if not toks:
        st.info(t("concepts.att.empty"), icon="✏️")
    else:
        if len(attention.tokens(sentence)) > MAX_TOKENS:
            st.caption(t("concepts.att.truncated", n=MAX_TOKENS))
        calculator(toks, d)
    st.divider()
    tiny_model_section()


def calculator(toks: list[str], d: int) -> None:
    names = labelled(toks)
    dims = [f"d{i + 1}" for i in range(d)]
    weights = attention.default_weights(d)
    sentence_key = zlib.crc32(" ".join(toks).encode("utf-8"))
    with st.expander(t("concepts.att.inputs"), expanded=True):
        st.caption(t("concepts.att.inputs_caption"))
        st.markdown(f"**{t('concepts.att.embeddings')}**")
        X = edited(kept_editor(frame(attention.embed(toks, d), names, dims, 2),
                                  key=f"concepts_att_X_{sentence_key}_{d}", width="stretch"))
        cols = st.columns(3)
        W = {}
        for col, name in zip(cols, ("Wq", "Wk", "Wv"), strict=True):
            col.markdown(f"**{t(f'concepts.att.{name}')}**")
            W[name] = edited(kept_editor(frame(weights[name], dims, dims, 2), key=f"concepts_att_{name}_{d}", where=col,
                                             width="stretch"))
    res = attention.self_attention(X, W["Wq"], W["Wk"], W["Wv"])

    st.markdown(f"**1. {t('concepts.att.step.qkv')}**")
    cols = st.columns(3)
    for col, name in zip(cols, ("Q", "K", "V"), strict=True):
        col.caption(name)
        col.dataframe(frame(res[name], names, dims, 3), width="stretch")
    left, right = st.columns(2)
    with left:
        st.markdown(f"**2. {t('concepts.att.step.scores')}**")
        st.dataframe(frame(res["scores"], names, names, 3), width="stretch")
    with right:
        st.markdown(f"**3. {t('concepts.att.step.scaled', d=d, root=num(np.sqrt(d), 3))}**")
        st.dataframe(frame(res["scaled"], names, names, 3), width="stretch")
    st.markdown(f"**4. {t('concepts.att.step.softmax')}**")
    left, right = st.columns([1, 1])
    left.dataframe(frame(res["weights"], names, names, 3), width="stretch")
    with right:
        chart(heatmap(res["weights"], names, names, t("concepts.att.heat_title"), t("concepts.att.key"),
                      t("concepts.att.query"), height=340), key="concepts_att_heat")
    st.markdown(f"**5. {t('concepts.att.step.output')}**")
    st.dataframe(frame(res["out"], names, dims, 3), width="stretch")
    top = int(np.argmax(res["weights"][0]))
    st.caption(t("concepts.att.read", q=toks[0], k=toks[top], w=num(res["weights"][0, top], 2)))


@st.cache_resource(max_entries=2, show_spinner=False)
def tiny_model(folder: str):
    return attention.load_text_model(folder)


@st.cache_data(max_entries=32, show_spinner=False)
def tiny_model_maps(folder: str, sha256: str, text: str) -> dict:
    """The tiny model's attention maps for a sentence: computed once, not on every rerun of the page."""
    model, tokenizer, _ = tiny_model(folder)
    return attention.attention_maps(model, tokenizer, text)


def tiny_model_section() -> None:
    st.subheader(t("concepts.att.model_title"))
    st.markdown(t("concepts.att.model_intro"))
    folder = attention.tiny_model_folder()
    if not torch_available():       # the light install: this one section needs PyTorch
        notice("attention")
        return
    if not (folder / "weights.safetensors").exists():
        empty_state(t("concepts.att.no_model", id=attention.TINY_MODEL), build_command([attention.TINY_MODEL]))
        return
    try:
        model, tokenizer, card = tiny_model(str(folder))
    except BigModelError as exc:
        show_error(exc)
        return
    bert = card.arch_config["bert"]
    cols = st.columns([3, 1, 1])
    text = cols[0].text_input(t("concepts.att.en_sentence"), t("concepts.att.en_default"), key="concepts_att_en",
                              persist_state="page")
    layer = cols[1].selectbox(t("concepts.att.layer"), range(bert["num_hidden_layers"]),
                              format_func=lambda i: str(i + 1),
                              key="concepts_att_layer", persist_state="page")
    head = cols[2].selectbox(t("concepts.att.head"), range(bert["num_attention_heads"]),
                             format_func=lambda i: str(i + 1),
                             key="concepts_att_head", persist_state="page")
    if not text.strip():
        st.info(t("concepts.att.empty"), icon="✏️")
        return
    res = tiny_model_maps(str(folder), str(card.sha256), text)
    labels = card.labels
    best = int(np.argmax(res["probs"]))
    verdict = label_text(labels[best]) if best < len(labels) else str(best)
    fact_cards([(t("concepts.att.tokens"), str(len(res["tokens"]))),
                (t("concepts.att.prediction"), f"{verdict} · {res['probs'][best]:.0%}"),
                (t("concepts.att.shape"), " × ".join(map(str, res["maps"].shape)))])
    names = labelled(res["tokens"])
    amap = res["maps"][layer, head]                                       # [T, T]
    chart(heatmap(amap, names, names, t("concepts.att.model_heat", layer=layer + 1, head=head + 1),
                  t("concepts.att.key"), t("concepts.att.query"), height=max(360, 28 * len(names) + 120)),
          key="concepts_att_model_heat")
    st.caption(t("concepts.att.model_caption"))
    if card.arch_config.get("ngram_buckets"):                          # wide and deep: say what the maps leave out
        st.caption(t("concepts.att.wide_caption"))
    with st.expander(t("concepts.att.model_table")):
        st.dataframe(frame(amap, names, names, 3), width="stretch")
