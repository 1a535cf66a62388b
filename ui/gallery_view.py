"""Image models on the pages: a gallery of real test images, and the "doesn't look familiar" warning.

`render` shows a `bigmodel_core.app.gallery.Gallery` as tiles (true label, each model's answer,
mistakes framed in red and marked ✗) under the models' test accuracy from their cards;
a click on a tile picks that image for the detailed answer. `familiarity` asks a
model's calibrated check (`bigmodel_core.serve.ood`) about one input and `warn` says so next
to the answer when it fires. Used by the public-safety domain page and the predict page.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import streamlit as st

from bigmodel_core.app import gallery as G
from bigmodel_core.errors import BigModelError
from bigmodel_core.serve import ood
from bigmodel_core.serve.card import ModelCard
from ui.i18n import t
from ui.layout import BAD, fmt, label_text, tr

RIGHT = "#16A34A"             # frame colours: every model right (green, like the ✓ text)
MIXED = "#F59E0B"             # one model right, another wrong
TILE = 168                    # tile picture size in pixels before its frame (shown smaller: stays sharp)
FRAME = 5
MARKERS = ["①", "②", "③", "④"]


# ============================================================================ data

@st.cache_data(show_spinner=False, max_entries=8)
def load_gallery(folder: str, sha256: str) -> G.Gallery | None:
    """The gallery a model is shown with (its dataset's test split, else its built-in examples)."""
    from bigmodel_core.serve import registry

    entry = registry.load(Path(folder), verify=False)
    return G.for_model(entry.folder, entry.card)


@st.cache_resource(show_spinner=False, max_entries=16)
def _checker(folder: str, sha256: str):
    from bigmodel_core.serve import registry

    entry = registry.load(Path(folder), verify=False)
    try:
        return ood.Checker(entry.folder, entry.card) if ood.calibrated(entry.card) else None
    except BigModelError:                  # a broken calibration never stops a prediction
        return None


def familiarity(folder, card: ModelCard, x: np.ndarray) -> ood.Verdict | None:
    """The familiarity verdict on one model input (float [C, H, W]), or None for a model without a check."""
    if not ood.calibrated(card):
        return None
    checker = _checker(str(folder), card.sha256)
    if checker is None:
        return None
    try:
        return checker.check(np.asarray(x, dtype=np.float32)[None])[0]
    except BigModelError:
        return None


# ============================================================================ widgets

def warn(verdicts: list[tuple[str, ood.Verdict | None]], dataset: str) -> bool:
    """The friendly warning when a model finds the input unfamiliar; `verdicts` = (model name, verdict)."""
    flagged = [(name, v) for name, v in verdicts if v is not None and v.unfamiliar]
    if not flagged:
        return False
    what = tr(f"ood.what.{dataset}", t("ood.what.other"))
    st.warning(t("ood.warning", what=what), icon="🤔")
    share = round((1 - ood.QUANTILE) * 100)
    for name, v in flagged:
        st.caption(t("ood.detail", model=name, score=f"{v.score:.1f}", threshold=f"{v.threshold:.1f}", pct=share))
    return True


def _framed(image: np.ndarray, colour: str):
    """A gallery picture enlarged with sharp pixels, inside a coloured frame."""
    from PIL import Image, ImageOps

    arr = image[0] if image.shape[0] == 1 else image.transpose(1, 2, 0)
    pic = Image.fromarray(np.ascontiguousarray(arr)).convert("RGB")
    scale = max(1, TILE // max(pic.size))
    pic = pic.resize((pic.width * scale, pic.height * scale), Image.Resampling.NEAREST)
    return ImageOps.expand(pic, border=FRAME, fill=colour)


def _mark(right: bool, label: str) -> str:
    text = label.replace("[", "(").replace("]", ")")
    return f":green[✓ {text}]" if right else f":red[✗ {text}]"


def _accuracy_line(marker: str, name: str, card: ModelCard, answers: G.Answers, n: int) -> str:
    acc, rows = G.card_accuracy(card)
    line = f"{marker} **{name}** — " if marker else f"**{name}** — "
    if acc is not None:
        line += t("gallery.accuracy", acc=f"{acc * 100:.1f}", rows=fmt(rows) if rows else "—") + " · "
    return line + t("gallery.here", right=answers.n_right, n=n)


def render(key: str, gal: G.Gallery, models: list[tuple[str, dict, G.Answers]], per_row: int = 6) -> int:
    """The gallery tiles under each model's accuracy; returns the index of the picked image.

    `models` = (short name, card, answers on `gal`). The pick lives in `st.session_state[key + ":pick"]`.
    """
    state = f"{key}:pick"
    if not isinstance(st.session_state.get(state), int) or not 0 <= st.session_state[state] < len(gal):
        st.session_state[state] = 0
    chosen = st.session_state[state]
    many = len(models) > 1
    st.markdown("  \n".join(_accuracy_line(MARKERS[i] if many else "", name, card, answers, len(gal))
                             for i, (name, card, answers) in enumerate(models)))
    names = [label_text(c) for c in gal.class_names]
    for start in range(0, len(gal), per_row):
        cols = st.columns(per_row, gap="small")
        for col, i in zip(cols, range(start, min(start + per_row, len(gal))), strict=False):
            rights = [bool(a.right[i]) for _, _, a in models]
            colour = RIGHT if all(rights) else BAD if not any(rights) else MIXED
            with col:
                st.image(_framed(gal.images[i], colour), width="stretch")
                lines = [t("gallery.truth", label=names[int(gal.labels[i])])]
                for m, (_, card, answers) in enumerate(models):
                    labels = [str(x) for x in (card.labels or gal.class_names)]
                    said = label_text(labels[int(answers.predicted[i])])
                    lines.append((f"{MARKERS[m]} " if many else "") + _mark(rights[m], said))
                st.markdown("  \n".join(lines))
                st.button(t("gallery.picked") if i == chosen else t("gallery.pick"), key=f"{key}:tile:{i}",
                          type="primary" if i == chosen else "secondary", width="stretch",
                          on_click=st.session_state.__setitem__, args=(state, i))
    source = t("gallery.from_full", pool=fmt(gal.pool)) if gal.full else t("gallery.from_examples", pool=gal.pool)
    st.caption(t("gallery.caption", n=len(gal), source=source, seed=gal.seed) + " "
               + (t("gallery.legend_many") if many else t("gallery.legend_one")))
    return st.session_state[state]
