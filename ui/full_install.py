"""The light install has no PyTorch: where a page needs it, one friendly sentence with the command.

`require_torch(what)` stops a page that cannot work without torch (training, the playground);
`notice(what)` is the same sentence for one part of a page (a gradient explanation, the PyTorch
column of the benchmark, the attention view of a real model), which then leaves that part out.
"""
from __future__ import annotations

import streamlit as st

from bigmodel_core.warm import torch_available, torch_installed
from ui.i18n import t

__all__ = ["notice", "require_torch", "torch_installed"]


def notice(what: str) -> None:
    """“Needs the full install: <what> uses PyTorch … `./run.sh`”, in the visitor's language."""
    st.info(t("light.needs_full", what=t(f"light.what.{what}")), icon="🧰")


def require_torch(what: str) -> None:
    """Import torch once (under the preload lock), or show the notice and stop the page."""
    if torch_available():
        return
    notice(what)
    st.stop()
