"""Concepts: the maths behind large models, computed live — activations, losses, optimisers, backprop, attention.

Every number on this page comes from bigmodel_core (activations, losses, optim2d,
backprop, attention); this file only lays out widgets, tables and charts.
"""
from __future__ import annotations

import zlib

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from bigmodel_core.app.domains import build_command
from bigmodel_core.errors import BigModelError
from bigmodel_core.teach import activations as act
from bigmodel_core.teach import attention, backprop, losses, optim2d
from bigmodel_core.warm import torch_available
from ui.full_install import notice
from ui.i18n import t
from ui.layout import (
    GOOD,
    MUTED,
    PAGE_ICONS,
    PALETTE,
    SEQUENTIAL,
    chart,
    empty_state,
    fact_cards,
    label_text,
    metric_cards,
    page_header,
    show_error,
    style,
)

ACT_NAMES = list(act.ACTIVATIONS)
OPT_COLORS = {"sgd": PALETTE[0], "momentum": PALETTE[2], "adam": PALETTE[3]}
LR_CHOICES = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5]
MAX_TOKENS = 12


def num(value, digits: int = 4) -> str:
    return f"{float(value):.{digits}f}"


def frame(values, index, columns, digits: int = 4) -> pd.DataFrame:
    """A table of numbers rounded for reading."""
    values = np.atleast_1d(np.asarray(values, dtype=float))
    if values.ndim == 1:
        values = values[:, None]
    return pd.DataFrame(np.round(values, digits), index=list(index), columns=list(columns))


def labelled(tokens: list[str]) -> list[str]:
    """Unique axis labels for tokens that may repeat ('the' twice): '1 the', '2 cat', …"""
    return [f"{i + 1} {tok}" for i, tok in enumerate(tokens)]


def heatmap(matrix, rows: list[str], cols: list[str], title: str, x: str, y: str, height: int = 380):
    fig = go.Figure(go.Heatmap(z=matrix, x=cols, y=rows, colorscale=SEQUENTIAL, zmin=0, zmax=1,
                               text=np.round(matrix, 2), texttemplate="%{text}",
                               colorbar=dict(title=dict(text=t("concepts.att.weight")))))
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(type="category", side="bottom")
    return style(fig, title, x, y, height=height)


def edited(df: pd.DataFrame) -> np.ndarray:
    """An edited table as floats; an emptied cell counts as 0."""
    return df.apply(pd.to_numeric, errors="coerce").fillna(0.0).to_numpy(dtype=float)


# ============================================================================ 1. activation functions

def activations_tab() -> None:
    st.markdown(t("concepts.act.intro"))
    left, right = st.columns([1, 2])
    with left:
        # Options are the visible labels (not names + format_func) so the widget state holds plain strings.
        by_label = {t(f"concepts.act.name.{n}"): n for n in ACT_NAMES}
        name = by_label[st.radio(t("concepts.act.function"), list(by_label), horizontal=True, key="concepts_act_name")]
        x0 = st.slider(t("concepts.act.x"), -5.0, 5.0, 1.0, step=0.1, key="concepts_act_x")
        st.latex(t(f"concepts.tex.{name}"))
        st.latex(t(f"concepts.tex.{name}_grad"))
        tan = act.tangent(name, x0, [x0 - 2.0, x0 + 2.0])
        metric_cards([(t("concepts.act.value", x=num(x0, 1)), num(tan["y0"])),
                      (t("concepts.act.slope", x=num(x0, 1)), num(tan["slope"]))])
        st.caption(t(f"concepts.act.note.{name}"))
    with right:
        c = act.curve(name)
        fig = go.Figure()
        fig.add_scatter(x=c["x"], y=c["y"], name=t("concepts.act.f"), line=dict(color=PALETTE[0], width=3))
        fig.add_scatter(x=c["x"], y=c["dy"], name=t("concepts.act.df"), line=dict(color=PALETTE[1], dash="dash"))
        fig.add_scatter(x=[x0 - 2.0, x0 + 2.0], y=tan["line"], mode="lines", name=t("concepts.act.tangent"),
                        line=dict(color=PALETTE[3], dash="dot", width=2))
        fig.add_scatter(x=[x0], y=[tan["y0"]], mode="markers", name=t("concepts.act.point"),
                        marker=dict(color=PALETTE[3], size=11))
        lo, hi = min(c["y"].min(), c["dy"].min()), max(c["y"].max(), c["dy"].max())
        fig.update_yaxes(range=[lo - 0.3, hi + 0.3])
        chart(style(fig, t("concepts.act.chart", name=t(f"concepts.act.name.{name}")), "x", t("concepts.act.y"),
                    height=400, legend=""), key="concepts_act_chart")

    fig = go.Figure()
    for i, n in enumerate(ACT_NAMES):
        c = act.curve(n)
        fig.add_scatter(x=c["x"], y=c["dy"], name=t(f"concepts.act.name.{n}"), line=dict(color=PALETTE[i]))
    chart(style(fig, t("concepts.act.compare_title"), "x", t("concepts.act.df"), height=300, legend=""),
          key="concepts_act_compare")
    st.caption(t("concepts.act.compare_caption"))

    st.subheader(t("concepts.sm.title"))
    st.markdown(t("concepts.sm.intro"))
    st.latex(t("concepts.tex.softmax"))
    left, right = st.columns([1, 2])
    with left:
        temperature = st.slider(t("concepts.sm.temperature"), 0.1, 5.0, 1.0, step=0.1, key="concepts_sm_temp")
        base = pd.DataFrame({t("concepts.sm.logit"): [2.0, 1.0, 0.1, -1.0]}, index=["A", "B", "C", "D"])
        logits_df = st.data_editor(base, key="concepts_sm_logits", width="stretch")
        z = edited(logits_df)[:, 0]
    p, p1 = act.softmax(z, temperature), act.softmax(z)
    labels = list(logits_df.index)
    with right:
        fig = go.Figure()
        fig.add_bar(x=labels, y=p1, name=t("concepts.sm.at_one"), marker_color=MUTED)
        fig.add_bar(x=labels, y=p, name=t("concepts.sm.at_t", t=num(temperature, 1)), marker_color=PALETTE[0])
        fig.update_layout(barmode="group")
        fig.update_yaxes(range=[0, 1])
        chart(style(fig, t("concepts.sm.chart"), t("concepts.sm.class"), t("concepts.sm.prob"), height=340,
                    legend=""), key="concepts_sm_chart")
    table = pd.DataFrame({t("concepts.sm.logit"): z, t("concepts.sm.scaled"): z / temperature,
                          t("concepts.sm.exp"): np.exp(z / temperature - (z / temperature).max()),
                          t("concepts.sm.prob"): p}, index=labels).round(4)
    st.dataframe(table, width="stretch")
    st.caption(t("concepts.sm.caption", top=labels[int(np.argmax(p))], p=num(p.max(), 3)))
    with st.expander(t("concepts.sm.jacobian")):
        st.latex(t("concepts.tex.softmax_grad"))
        st.dataframe(frame(act.softmax_jacobian(z, temperature), labels, labels), width="stretch")


# ============================================================================ 2. loss functions

def losses_tab() -> None:
    st.markdown(t("concepts.loss.intro"))
    left, right = st.columns(2)
    left.latex(t("concepts.tex.mse"))
    right.latex(t("concepts.tex.ce"))

    st.subheader(t("concepts.loss.example_title"))
    ex = losses.example()
    st.markdown(t("concepts.loss.example_setup"))
    left, right = st.columns(2)
    with left, st.container(border=True):
        st.markdown(f"**{t('concepts.loss.mse')}**")
        st.latex(t("concepts.tex.mse_example", a=num(ex["squared"][0]), b=num(ex["squared"][1]), mse=num(ex["mse"])))
    with right, st.container(border=True):
        st.markdown(f"**{t('concepts.loss.ce')}**")
        st.latex(t("concepts.tex.ce_example", ce=num(ex["ce"])))
    st.info(t("concepts.loss.never_negative"), icon="💡")

    st.subheader(t("concepts.loss.explore_title"))
    left, right = st.columns([1, 2])
    with left:
        q = st.slider(t("concepts.loss.q"), 0.01, 0.99, 0.9, step=0.01, key="concepts_loss_q")
        now = losses.binary_losses(q)
        metric_cards([(t("concepts.loss.mse"), num(now["mse"])), (t("concepts.loss.ce"), num(now["ce"]))])
        st.caption(t("concepts.loss.explore_caption", q=num(q, 2), r=num(1 - q, 2)))
    with right:
        curves = losses.binary_curves()
        fig = go.Figure()
        fig.add_scatter(x=curves["q"], y=curves["mse"], name=t("concepts.loss.mse"), line=dict(color=PALETTE[1]))
        fig.add_scatter(x=curves["q"], y=curves["ce"], name=t("concepts.loss.ce"), line=dict(color=PALETTE[0]))
        fig.add_scatter(x=[q, q], y=[now["mse"], now["ce"]], mode="markers", name=t("concepts.loss.now"),
                        marker=dict(color=PALETTE[3], size=11))
        fig.update_yaxes(range=[0, 5])
        chart(style(fig, t("concepts.loss.chart"), t("concepts.loss.q_axis"), t("concepts.loss.loss"), height=360,
                    legend=""), key="concepts_loss_chart")


# ============================================================================ 3. optimisers

def optimisers_tab() -> None:
    st.markdown(t("concepts.opt.intro"))
    cols = st.columns(3)
    for col, name in zip(cols, optim2d.OPTIMISERS, strict=True):
        with col, st.container(border=True):
            st.markdown(f"**{t(f'concepts.opt.name.{name}')}**")
            st.latex(t(f"concepts.tex.{name}"))
    st.caption(t("concepts.opt.adam_note"))

    cols = st.columns(4)
    by_label = {t(f"concepts.opt.surface.{s}"): s for s in optim2d.SURFACES}
    surface_id = by_label[cols[0].selectbox(t("concepts.opt.surface"), list(by_label), key="concepts_opt_surface")]
    surface = optim2d.SURFACES[surface_id]
    start_i = cols[1].selectbox(t("concepts.opt.start"), range(len(surface.starts)),
                                format_func=lambda i: f"({surface.starts[i][0]:g}, {surface.starts[i][1]:g})",
                                key=f"concepts_opt_start_{surface_id}")
    lr = cols[2].select_slider(t("concepts.opt.lr"), LR_CHOICES, value=surface.lr, key=f"concepts_opt_lr_{surface_id}")
    steps = cols[3].slider(t("concepts.opt.steps"), 1, 300, 50, key="concepts_opt_steps")
    st.caption(t(f"concepts.opt.surface_note.{surface_id}"))
    start = surface.starts[start_i]
    paths = optim2d.run_all(surface, start, lr, steps)

    g = optim2d.grid(surface)
    z = np.log10(g["z"] + 1e-3) if surface.log_contours else g["z"]
    fig = go.Figure(go.Contour(x=g["x"], y=g["y"], z=z, colorscale="Blues", reversescale=True, ncontours=30,
                               showscale=True, name=t("concepts.opt.loss"),
                               colorbar=dict(title=dict(text=t("concepts.opt.log_loss" if surface.log_contours
                                                               else "concepts.opt.loss")))))
    for name, path in paths.items():
        fig.add_scatter(x=path.points[:, 0], y=path.points[:, 1], mode="lines+markers",
                        name=t(f"concepts.opt.name.{name}"),
                        line=dict(color=OPT_COLORS[name], width=2), marker=dict(size=4))
    fig.add_scatter(x=[start[0]], y=[start[1]], mode="markers", name=t("concepts.opt.start_point"),
                    marker=dict(color="black", size=11, symbol="circle-open", line=dict(width=2)))
    fig.add_scatter(x=[surface.minimum[0]], y=[surface.minimum[1]], mode="markers", name=t("concepts.opt.minimum"),
                    marker=dict(color=GOOD, size=14, symbol="star"))
    fig.update_xaxes(range=list(surface.x_range), constrain="domain")
    fig.update_yaxes(range=list(surface.y_range), scaleanchor="x", scaleratio=1, constrain="domain")
    chart(style(fig, t("concepts.opt.chart", surface=t(f"concepts.opt.surface.{surface_id}"), steps=steps), "x", "y",
                height=520, legend=""), key="concepts_opt_chart")

    st.markdown(f"**{t('concepts.opt.counter', steps=steps)}**")
    cards = []
    for name, path in paths.items():
        x, y = path.points[-1]
        value = t("concepts.opt.diverged") if path.diverged else num(path.losses[-1])
        cards.append((t(f"concepts.opt.name.{name}"), value, t("concepts.opt.where", x=num(x, 3), y=num(y, 3))))
    metric_cards(cards)
    st.caption("  ·  ".join(f"{label}: {where}" for label, _, where in cards))
    for name, path in paths.items():
        if path.diverged:
            st.warning(t("concepts.opt.diverged_note", name=t(f"concepts.opt.name.{name}"), step=path.steps + 1),
                       icon="💥")

    fig = go.Figure()
    for name, path in paths.items():
        fig.add_scatter(x=np.arange(path.steps + 1), y=np.maximum(path.losses, 1e-12),
                        name=t(f"concepts.opt.name.{name}"),
                        line=dict(color=OPT_COLORS[name]))
    fig.update_yaxes(type="log", exponentformat="power")
    chart(style(fig, t("concepts.opt.loss_chart"), t("concepts.opt.step"), t("concepts.opt.loss_log"), height=300,
                legend=""), key="concepts_opt_loss_chart")


# ============================================================================ 4. backpropagation

BP_KEYS = ("concepts_bp_x", "concepts_bp_y", "concepts_bp_W1", "concepts_bp_W2")


def backprop_tab() -> None:
    st.markdown(t("concepts.bp.intro"))
    st.latex(t("concepts.tex.bp_forward"))
    ex = backprop.default_example()
    inputs, hidden, outputs = ["x1", "x2", "x3"], ["h1", "h2", "h3", "h4"], ["o1", "o2"]

    if st.button(t("concepts.bp.reset"), key="concepts_bp_reset"):
        for key in BP_KEYS:
            st.session_state.pop(key, None)
        st.rerun()
    cols = st.columns([1, 2, 2])
    with cols[0]:
        st.markdown(f"**{t('concepts.bp.inputs')}**")
        x = edited(st.data_editor(frame(ex["x"], inputs, ["x"]), key="concepts_bp_x", width="stretch"))[:, 0]
        st.markdown(f"**{t('concepts.bp.targets')}**")
        y = edited(st.data_editor(frame(ex["y"], outputs, ["y"]), key="concepts_bp_y", width="stretch"))[:, 0]
    with cols[1]:
        st.markdown(f"**{t('concepts.bp.layer1')}**")
        w1 = pd.DataFrame(np.column_stack([ex["W1"], ex["b1"]]), index=hidden, columns=inputs + ["b1"])
        w1_df = edited(st.data_editor(w1, key="concepts_bp_W1", width="stretch"))
    with cols[2]:
        st.markdown(f"**{t('concepts.bp.layer2')}**")
        w2 = pd.DataFrame(np.column_stack([ex["W2"], ex["b2"]]), index=outputs, columns=hidden + ["b2"])
        w2_df = edited(st.data_editor(w2, key="concepts_bp_W2", width="stretch"))
    params = {"W1": w1_df[:, :3], "b1": w1_df[:, 3], "W2": w2_df[:, :4], "b2": w2_df[:, 4]}
    if np.any(y < 0) or y.sum() <= 0:
        st.warning(t("concepts.bp.bad_target"), icon="⚠️")
        return
    st.caption(t("concepts.bp.edit_hint"))

    fwd = backprop.forward(params, x, y)
    grads = backprop.backward(params, fwd)

    st.subheader(t("concepts.bp.forward_title"))
    left, right = st.columns(2)
    left.dataframe(frame(np.column_stack([fwd["z1"], fwd["a1"]]), hidden, ["z1", "a1 = σ(z1)"]), width="stretch")
    right.dataframe(frame(np.column_stack([fwd["z2"], fwd["p"], y]), outputs, ["z2", "p = softmax(z2)", "y"]),
                    width="stretch")
    metric_cards([(t("concepts.bp.loss"), num(fwd["loss"]), t("concepts.bp.loss_help"))])

    st.subheader(t("concepts.bp.backward_title"))
    steps = [("z2", outputs, ["dL/dz2"]), ("W2", outputs, hidden), ("b2", outputs, ["dL/db2"]),
             ("a1", hidden, ["dL/da1"]), ("z1", hidden, ["dL/dz1"]), ("W1", hidden, inputs), ("b1", hidden, ["dL/db1"])]
    for row in range(0, len(steps), 2):
        cols = st.columns(2)
        for col, (i, (name, index, columns)) in zip(cols, enumerate(steps[row:row + 2], start=row + 1), strict=False):
            with col, st.container(border=True):
                st.markdown(f"**{i}. {t(f'concepts.bp.step.{name}')}**")
                st.latex(t(f"concepts.tex.bp_{name}"))
                st.dataframe(frame(grads[name], index, columns, digits=5), width="stretch")
    st.caption(t("concepts.bp.check", diff=f"{backprop.gradient_check(params, x, y):.1e}"))

    st.subheader(t("concepts.bp.step_title"))
    lr = st.slider(t("concepts.bp.lr"), 0.05, 2.0, 0.5, step=0.05, key="concepts_bp_lr")
    after = backprop.forward(backprop.sgd_update(params, grads, lr), x, y)
    metric_cards([(t("concepts.bp.loss_before"), num(fwd["loss"])),
                  (t("concepts.bp.loss_after", lr=num(lr, 2)), num(after["loss"]),),
                  (t("concepts.bp.p_after"), num(after["p"][int(np.argmax(y))]))])


# ============================================================================ 5. self-attention

def attention_tab() -> None:
    st.markdown(t("concepts.att.intro"))
    st.latex(t("concepts.tex.attention"))
    left, right = st.columns([3, 1])
    sentence = left.text_input(t("concepts.att.sentence"), attention.EXAMPLE_SENTENCE, key="concepts_att_sentence")
    d = right.slider(t("concepts.att.d"), 2, 8, 4, key="concepts_att_d")
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
        X = edited(st.data_editor(frame(attention.embed(toks, d), names, dims, 2),
                                  key=f"concepts_att_X_{sentence_key}_{d}", width="stretch"))
        cols = st.columns(3)
        W = {}
        for col, name in zip(cols, ("Wq", "Wk", "Wv"), strict=True):
            col.markdown(f"**{t(f'concepts.att.{name}')}**")
            W[name] = edited(col.data_editor(frame(weights[name], dims, dims, 2), key=f"concepts_att_{name}_{d}",
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
    bert = card["arch_config"]["bert"]
    cols = st.columns([3, 1, 1])
    text = cols[0].text_input(t("concepts.att.en_sentence"), t("concepts.att.en_default"), key="concepts_att_en")
    layer = cols[1].selectbox(t("concepts.att.layer"), range(bert["num_hidden_layers"]),
                              format_func=lambda i: str(i + 1),
                              key="concepts_att_layer")
    head = cols[2].selectbox(t("concepts.att.head"), range(bert["num_attention_heads"]),
                             format_func=lambda i: str(i + 1),
                             key="concepts_att_head")
    if not text.strip():
        st.info(t("concepts.att.empty"), icon="✏️")
        return
    res = tiny_model_maps(str(folder), str(card.get("sha256", "")), text)
    labels = card.get("labels") or []
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
    if card["arch_config"].get("ngram_buckets"):                          # wide and deep: say what the maps leave out
        st.caption(t("concepts.att.wide_caption"))
    with st.expander(t("concepts.att.model_table")):
        st.dataframe(frame(amap, names, names, 3), width="stretch")


# ============================================================================ the page

page_header(PAGE_ICONS["concepts"], t("nav.concepts"), t("concepts.subtitle"))
tabs = st.tabs([t(f"concepts.tab.{name}") for name in ("activations", "losses", "optimisers", "backprop", "attention")])
with tabs[0]:
    activations_tab()
with tabs[1]:
    losses_tab()
with tabs[2]:
    optimisers_tab()
with tabs[3]:
    backprop_tab()
with tabs[4]:
    attention_tab()
