"""The playground's settings column: the data (set, noise, split) and the network (layers, width, activation, …)."""
from __future__ import annotations

import streamlit as st

from bigmodel_core.teach import playground as P
from ui.i18n import t


def render() -> None:
    """The two bordered boxes of settings; their keys are the Config fields (`state.WIDGETS`)."""
    with st.container(border=True):
        st.markdown(f"**{t('playground.data')}**")
        # format_func is a lookup in texts made now (AppTest calls it outside the script, in no language)
        st.selectbox(t("playground.dataset"), P.DATASETS, key="pg_dataset",
                     format_func={d: t(f"playground.dataset.{d}") for d in P.DATASETS}.get)
        st.slider(t("playground.noise"), 0.0, 1.0, step=0.05, key="pg_noise", help=t("playground.noise_help"))
        st.slider(t("playground.split"), 10, 90, step=10, key="pg_split", format="%d%%",
                  help=t("playground.split_help"))
    with st.container(border=True):
        st.markdown(f"**{t('playground.network')}**")
        c1, c2 = st.columns(2)
        c1.number_input(t("playground.layers"), 0, P.MAX_LAYERS, step=1, key="pg_layers",
                        help=t("playground.layers_help"))
        c2.number_input(t("playground.width"), 1, P.MAX_WIDTH, step=1, key="pg_width",
                        help=t("playground.width_help"))
        c1, c2 = st.columns(2)
        c1.selectbox(t("playground.activation"), list(P.ACTIVATIONS), key="pg_activation",
                     format_func={a: t(f"playground.activation.{a}") for a in P.ACTIVATIONS}.get)
        c2.number_input(t("playground.seed"), 0, 9999, step=1, key="pg_seed", help=t("playground.seed_help"))
        st.select_slider(t("playground.lr"), P.LEARNING_RATES, key="pg_lr", format_func=lambda v: f"{v:g}",
                         help=t("playground.lr_help"))
        st.select_slider(t("playground.reg"), P.REGULARISATION, key="pg_reg", format_func=lambda v: f"{v:g}",
                         help=t("playground.reg_help"))
