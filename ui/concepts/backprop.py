"""Concepts tab 4: backpropagation by hand through a 3-4-2 network whose numbers can be edited."""
from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from bigmodel_core.teach import backprop
from ui.concepts.common import edited, frame, kept_editor, kept_key, num
from ui.i18n import t
from ui.layout import metric_cards

BP_KEYS = ("concepts_bp_x", "concepts_bp_y", "concepts_bp_W1", "concepts_bp_W2")


def render() -> None:
    st.markdown(t("concepts.bp.intro"))
    st.latex(t("concepts.tex.bp_forward"))
    ex = backprop.default_example()
    inputs, hidden, outputs = ["x1", "x2", "x3"], ["h1", "h2", "h3", "h4"], ["o1", "o2"]

    if st.button(t("concepts.bp.reset"), key="concepts_bp_reset"):
        for key in BP_KEYS:
            st.session_state.pop(key, None)
            st.session_state.pop(kept_key(key), None)
        st.rerun()
    cols = st.columns([1, 2, 2])
    with cols[0]:
        st.markdown(f"**{t('concepts.bp.inputs')}**")
        x = edited(kept_editor(frame(ex["x"], inputs, ["x"]), key="concepts_bp_x", width="stretch"))[:, 0]
        st.markdown(f"**{t('concepts.bp.targets')}**")
        y = edited(kept_editor(frame(ex["y"], outputs, ["y"]), key="concepts_bp_y", width="stretch"))[:, 0]
    with cols[1]:
        st.markdown(f"**{t('concepts.bp.layer1')}**")
        w1 = pd.DataFrame(np.column_stack([ex["W1"], ex["b1"]]), index=hidden, columns=inputs + ["b1"])
        w1_df = edited(kept_editor(w1, key="concepts_bp_W1", width="stretch"))
    with cols[2]:
        st.markdown(f"**{t('concepts.bp.layer2')}**")
        w2 = pd.DataFrame(np.column_stack([ex["W2"], ex["b2"]]), index=outputs, columns=hidden + ["b2"])
        w2_df = edited(kept_editor(w2, key="concepts_bp_W2", width="stretch"))
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
    lr = st.slider(t("concepts.bp.lr"), 0.05, 2.0, 0.5, step=0.05, key="concepts_bp_lr", persist_state="page")
    after = backprop.forward(backprop.sgd_update(params, grads, lr), x, y)
    metric_cards([(t("concepts.bp.loss_before"), num(fwd["loss"])),
                  (t("concepts.bp.loss_after", lr=num(lr, 2)), num(after["loss"]),),
                  (t("concepts.bp.p_after"), num(after["p"][int(np.argmax(y))]))])
