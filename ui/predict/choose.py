"""The predict page's model choice: the default follows the language, a link or a preset picks one, and the
model's facts line; the ONNX Runtime predictor and built-in examples of the chosen model."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import streamlit as st

from bigmodel_core.app import language
from bigmodel_core.errors import BigModelError
from bigmodel_core.serve import predictors, registry
from bigmodel_core.serve.card import ModelCard
from bigmodel_core.serve.runtime import Predictor
from ui import links
from ui import predict_panels as panels
from ui import predict_tools as P
from ui.i18n import current, t
from ui.layout import TASK_ICONS, empty_state, fmt, metric_name, model_title, show_error


def get_predictor(folder: str, sha256: str) -> Predictor:
    """The model's ONNX Runtime predictor from the process-wide cache (cleared on delete and replace)."""
    return predictors.get(folder, sha256)


@st.cache_data(max_entries=16, show_spinner=False)
def built_in_examples(folder: str, sha256: str):
    """The model's built-in examples (a sample of its test split), or None for a model without them."""
    from bigmodel_core.serve import examples

    try:
        return examples.load(Path(folder))
    except BigModelError:
        return None


def next_example(model_id: str, n: int) -> int:
    """Draw another example index for this model (kept in the session)."""
    key = f"predict_ex_{model_id}"
    draws = st.session_state.get(f"{key}_draws", 0) + 1
    st.session_state[f"{key}_draws"] = draws
    st.session_state[key] = int(pd.Series(range(n)).sample(1, random_state=draws).iloc[0])
    return st.session_state[key]


@dataclass
class Chosen:
    """The model the visitor chose, with what the task modules need around it."""
    model_id: str
    entry: object
    card: ModelCard
    cards: dict
    predictor: Predictor
    pending: dict
    publish: Callable[[dict], None]
    switch_model: Callable[[str, str], None]


def choose() -> Chosen:
    """The header's model picker and facts; stops the page when there is no model to use."""
    entries, broken = registry.list_models()
    if broken:
        with st.expander(t("predict.broken", n=len(broken)), icon="⚠️"):
            for name, why in broken.items():
                st.caption(f"**{name}** — {why}")
    if not entries:
        empty_state(t("predict.empty"), "python -m bigmodel_core build-defaults")
        st.stop()

    by_id = {e.id: e for e in entries}
    ids = list(by_id)
    cards = {i: e.card for i, e in by_id.items()}
    # The default model reads the interface's language, and follows it until someone picks a model.
    default_id = (language.text_model_for(cards, current())
                  or next((i for i in ("mnist-mlp-seed",) if i in by_id), ids[0]))

    # A link (?model=…&text=…) opened in this session for the first time sets the model and, below, its input.
    link = P.link_part(st.query_params.to_dict())
    pending = link if link.get("model") and links.is_new("predict", link) else {}
    if pending:
        links.remember("predict", pending)              # followed once, even if the page stops before publishing
    preset = st.session_state.pop("predict_preset", None)
    if pending and pending["model"] not in by_id:
        st.warning(t("predict.link_unknown", model=pending["model"]), icon="🔗")
        pending = {}
    wanted = pending.get("model") or preset
    if wanted in by_id:
        st.session_state["predict_model"] = wanted
        st.session_state["predict_auto_model"] = None
    # "predict_auto_model": the model the page picked by itself; once someone picks one (here, a link, a
    # preset, or any code setting predict_model), the page stops following the language.
    chosen = st.session_state.get("predict_model")
    if chosen not in by_id or chosen == st.session_state.get("predict_auto_model"):
        st.session_state["predict_model"] = st.session_state["predict_auto_model"] = default_id


    def model_chosen() -> None:
        st.session_state["predict_auto_model"] = None


    def switch_model(other: str, text: str) -> None:
        """The other-language notice's button: that model, with the same text in its box."""
        st.session_state["predict_model"] = other
        st.session_state["predict_auto_model"] = None
        st.session_state[f"predict_text_{other}"] = text


    def publish(params: dict) -> None:
        """Put this prediction in the address (keeping ?lang= and the rest) and in the Share box."""
        links.publish("predict", params, P.is_link_key)
        panels.share_box(share_slot, model_only=len(params) == 1)


    def model_label(model_id: str) -> str:
        card = by_id[model_id].card
        return f"{TASK_ICONS.get(card.task, '🧩')} {model_title(card) or model_id}  ·  {model_id}"


    pick, share = st.columns([5, 1], vertical_alignment="bottom")
    model_id = pick.selectbox(t("predict.model"), ids, key="predict_model",
                              format_func={i: model_label(i) for i in ids}.get,   # labels made now, in this language
                              persist_state="session", on_change=model_chosen)
    share_slot = share.empty()                  # the Share box, filled once the input is known
    entry = by_id[model_id]
    card = entry.card
    test = card.metrics.get("test", {})
    facts = [t(f"predict.task.{card.task}"), t("predict.dataset", dataset=card.dataset or "—")]
    facts += [f"{metric_name(k)} {fmt(v)}" for k, v in list(test.items())[:2]]
    if card.parameters:
        facts.append(t("predict.params", n=fmt(card.parameters)))
    facts.append(t("predict.shipped") if card.shipped else t("predict.trained"))
    st.caption("  ·  ".join(facts))

    try:
        predictor = get_predictor(str(entry.folder), card.sha256)
    except BigModelError as exc:
        show_error(exc)
        st.stop()
    return Chosen(model_id, entry, card, cards, predictor, pending, publish, switch_model)
