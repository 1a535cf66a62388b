"""The playground's state: the setup in widgets and in the address, the session's `Playground`, play/step/reset."""
from __future__ import annotations

import streamlit as st

from bigmodel_core.teach import playground as P
from ui.layout import PALETTE

TICK_SECONDS = 0.4          # one fragment rerun while playing …
TICK_EPOCHS = 20            # … trains this many full-batch epochs
STEP_EPOCHS = 10            # one ⏭ Step
MAX_EPOCHS = 3000           # epochs one ▶ Play runs before it pauses on its own
HEIGHT = 400                # both charts
CLASS_COLORS = ("#F59E0B", PALETTE[0])          # class 0 amber, class 1 indigo (as TF Playground's orange/blue)
BOUNDARY_SCALE = [[0.0, CLASS_COLORS[0]], [0.5, "#FFFFFF"], [1.0, CLASS_COLORS[1]]]

# widget key → Config field
WIDGETS = {"pg_dataset": "dataset", "pg_noise": "noise", "pg_split": "train_pct", "pg_seed": "seed",
           "pg_layers": "layers", "pg_width": "width", "pg_activation": "activation", "pg_lr": "lr",
           "pg_reg": "reg"}


# ----------------------------------------------------------------------------- state

def sync_widgets_from_url() -> None:
    """Widgets take the URL's setup when a (new) link is opened, else keep what this session had."""
    params = st.query_params.to_dict()
    from_url = P.from_query_params(params) if any(k in params for k in P.PARAMS.values()) else None
    kept = st.session_state.get("pg_config")
    new_link = from_url is not None and from_url != kept
    source = from_url if new_link else (kept or P.Config())
    for key, field in WIDGETS.items():
        if new_link or key not in st.session_state:
            st.session_state[key] = getattr(source, field)


def config_from_widgets() -> P.Config:
    return P.Config(**{field: st.session_state[key] for key, field in WIDGETS.items()})


def current_playground(config: P.Config) -> P.Playground:
    """The session's playground for this setup; a changed setup starts a fresh one (playing goes on)."""
    pg = st.session_state.get("pg_state")
    if pg is None or pg.config != config:
        pg = st.session_state["pg_state"] = P.Playground(config)
        st.session_state["pg_play_from"] = 0
    st.session_state["pg_config"] = config
    wanted = P.to_query_params(config)
    if any(st.query_params.get(k) != v for k, v in wanted.items()):
        st.query_params.update(wanted)
    return pg


def toggle_play() -> None:
    st.session_state["pg_playing"] = not st.session_state.get("pg_playing", False)
    pg = st.session_state.get("pg_state")
    st.session_state["pg_play_from"] = pg.epoch if pg is not None else 0


def step_once() -> None:
    st.session_state["pg_playing"] = False
    pg = st.session_state.get("pg_state")
    if pg is not None:
        pg.step(STEP_EPOCHS)


def reset() -> None:
    st.session_state["pg_playing"] = False
    st.session_state.pop("pg_state", None)
