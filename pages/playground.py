"""Neural-network playground: toy data, a small network, ▶ play and watch the decision boundary move.

All the maths lives in `bigmodel_core.teach.playground`; this page holds the widgets,
a `Playground` in session state (a new one whenever the setup changes) and a
fragment that, while playing, trains a few epochs per tick and redraws only
itself. The whole setup is mirrored in the URL (?dataset=xor&layers=2&…), so a
link reopens the same experiment. The parts live in ui/playground/.
"""
from __future__ import annotations

import streamlit as st

from bigmodel_core.warm import torch_available
from ui.full_install import notice
from ui.i18n import t
from ui.layout import PAGE_ICONS, page_header

if not torch_available():        # the light install: one sentence and the command, then the page stops
    page_header(PAGE_ICONS["playground"], t("nav.playground"), t("playground.subtitle"))
    notice("playground")
    st.stop()

# torch from here on (imported once, under the preload lock)
from ui.playground import settings  # noqa: E402
from ui.playground.live import live_view  # noqa: E402
from ui.playground.state import (  # noqa: E402
    MAX_EPOCHS,
    STEP_EPOCHS,
    TICK_EPOCHS,
    TICK_SECONDS,
    config_from_widgets,
    current_playground,
    reset,
    step_once,
    sync_widgets_from_url,
    toggle_play,
)

page_header(PAGE_ICONS["playground"], t("nav.playground"), t("playground.subtitle"))
sync_widgets_from_url()

setup, view = st.columns([1, 2.6], gap="medium")
with setup:
    settings.render()

config = config_from_widgets()
pg = current_playground(config)
playing = bool(st.session_state.get("pg_playing"))

with view:
    b1, b2, b3, status = st.columns([1.1, 1, 1, 2.4], vertical_alignment="center")
    b1.button(t("playground.pause" if playing else "playground.play"), key="pg_play", type="primary",
              on_click=toggle_play, width="stretch")
    b2.button(t("playground.step"), key="pg_step", on_click=step_once, width="stretch",
              help=t("playground.step_help", epochs=STEP_EPOCHS))
    b3.button(t("playground.reset"), key="pg_reset", on_click=reset, width="stretch",
              help=t("playground.reset_help"))
    status.caption(t("playground.playing", epochs=TICK_EPOCHS) if playing
                   else t("playground.paused", epochs=STEP_EPOCHS))
    flash = st.session_state.pop("pg_flash", None)
    if flash:
        st.warning(t(f"playground.flash.{flash}", epochs=MAX_EPOCHS), icon="⏸️")
    st.fragment(run_every=TICK_SECONDS if playing else None)(live_view)()

with st.expander(t("playground.how_title")):
    st.markdown(t("playground.how_body"))
st.caption(t("playground.share"))
