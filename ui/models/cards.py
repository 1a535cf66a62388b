"""What the models page reads out of a model card: the headline, the lead metric, the kept range, axes."""
from __future__ import annotations

import streamlit as st

from bigmodel_core.errors import BigModelError
from bigmodel_core.serve import registry
from bigmodel_core.serve.card import ModelCard
from bigmodel_core.serve.metrics import primary_metric
from ui.i18n import t
from ui.layout import fmt, metric_name, tr

METRICS = ("accuracy", "macro_f1", "roc_auc", "r2", "mae", "rmse")
SHARES = ("accuracy", "macro_f1", "roc_auc")            # metrics that are shares: never below 0 or above 1


def score(value) -> str:
    """A metric for a table cell: three decimals, or a dash where the model has none (never 'None')."""
    return "—" if value is None else f"{value:.3f}"


def metric_axis(name: str, values: list) -> list[float] | None:
    """The y range of a validation-metric curve: [0, 1] for shares (a ROC AUC axis never reads 1.03),
    up to 1 for R² (down to its worst epoch); None (automatic) for errors in the target's units."""
    if name in SHARES:
        return [0.0, 1.0]
    if name == "r2":
        seen = [v for v in values if v is not None]
        return [min([0.0] + seen), 1.0]
    return None


def headline(card: ModelCard) -> str:
    """The card's first sentence: what the model scores on the held-out test split, beside its baseline."""
    main = main_metric(card)
    value = (card.metrics.get("test") or {}).get(main)
    if value is None:
        return t("models.headline_none")
    base = (((card.baseline or {}).get("metrics") or {}).get(main))
    n = (card.examples or {}).get("test_rows")
    where = t("models.headline_rows", n=fmt(n)) if n else t("models.headline_split")
    text = t("models.headline", metric=metric_name(main), value=f"{value:.3f}", where=where)
    if base is not None:
        text += " " + t("models.headline_base", base=f"{base:.3f}")
    return text


def _plain(value) -> str:
    """A bound as people write it: 977, 1,026, 4.1 (no trailing '.0')."""
    if value is None:
        return "—"
    return f"{int(value):,}" if float(value).is_integer() else fmt(value)


def range_text(card: ModelCard) -> str | None:
    """Where a regression model's answers are kept, and why each side is where it is (None without a range)."""
    rng = card.target_range
    if not rng:
        return None
    from ui.domain.labels import unit_of

    unit = unit_of(card.dataset or "")
    why = tr(f"models.range_why.{card.dataset or ''}", rng.get("why") or "—")
    source = rng.get("source") or {}
    if source.get("min") == source.get("max") == "known bound":
        sides = [t("models.range_both_known", why=why)]
    else:
        sides = []
        for side in ("min", "max"):
            if source.get(side) == "known bound":
                sides.append(t(f"models.range_{side}_known", why=why))
            elif source.get(side) == "training split":
                sides.append(t(f"models.range_{side}_train", seen=_plain((rng.get("training") or {}).get(side)),
                               pad=f"{rng.get('padding', 0):.0%}"))
    span = f"{_plain(rng['min'])} – {_plain(rng['max'])}" + (f" {unit}" if unit else "")
    return t("models.range", span=span, sides=t("models.range_sep").join(sides))


def delete_model(model_id: str) -> None:
    try:
        registry.delete(model_id)
    except BigModelError as exc:
        st.session_state["models_flash"] = ("error", str(exc))
        return                             # (the registry also dropped the model's cached predictor)
    st.session_state["models_flash"] = ("success", t("models.deleted", id=model_id))
    st.session_state.pop("models_pick", None)


def main_metric(card: ModelCard) -> str:
    return primary_metric(card.problem, len(card.labels) or None)
