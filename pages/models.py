"""Model registry: shipped and trained models with their cards, compared side by side; download; delete."""
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from bigmodel_core.app import domains
from bigmodel_core.errors import BigModelError
from bigmodel_core.serve import registry
from bigmodel_core.serve.metrics import primary_metric
from ui.downloads import zip_model
from ui.i18n import t
from ui.layout import (
    GOOD,
    MUTED,
    PAGE_ICONS,
    PRIMARY,
    chart,
    empty_state,
    fmt,
    fmt_bytes,
    label_text,
    metric_cards,
    metric_name,
    model_notes,
    model_title,
    page_header,
    style,
    tr,
)

METRICS = ("accuracy", "macro_f1", "roc_auc", "r2", "mae", "rmse")
SHARES = ("accuracy", "macro_f1", "roc_auc")            # metrics that are shares: never below 0 or above 1


def _score(value) -> str:
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


def headline(card: dict) -> str:
    """The card's first sentence: what the model scores on the held-out test split, beside its baseline."""
    main = _main_metric(card)
    value = ((card.get("metrics") or {}).get("test") or {}).get(main)
    if value is None:
        return t("models.headline_none")
    base = (((card.get("baseline") or {}).get("metrics") or {}).get(main))
    n = (card.get("examples") or {}).get("test_rows")
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


def range_text(card: dict) -> str | None:
    """Where a regression model's answers are kept, and why each side is where it is (None without a range)."""
    rng = card.get("target_range")
    if not rng:
        return None
    from ui.domain.labels import unit_of

    unit = unit_of(card.get("dataset", ""))
    why = tr(f"models.range_why.{card.get('dataset', '')}", rng.get("why") or "—")
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


def _delete(model_id: str) -> None:
    try:
        registry.delete(model_id)
    except BigModelError as exc:
        st.session_state["models_flash"] = ("error", str(exc))
        return                             # (the registry also dropped the model's cached predictor)
    st.session_state["models_flash"] = ("success", t("models.deleted", id=model_id))
    st.session_state.pop("models_pick", None)


def _main_metric(card: dict) -> str:
    return primary_metric(card.get("problem", "classification"), len(card.get("labels") or []) or None)


page_header(PAGE_ICONS["models"], t("nav.models"), t("models.subtitle"))
flash = st.session_state.pop("models_flash", None)
if flash:
    (st.success if flash[0] == "success" else st.error)(flash[1])

entries, refused = registry.list_models()
shipped = [e for e in entries if e.card.get("shipped")]
metric_cards([(t("models.n_shipped"), len(shipped)), (t("models.n_trained"), len(entries) - len(shipped)),
              (t("models.n_refused"), len(refused), t("models.refused_help"))])

if refused:
    with st.expander(f"⚠️ {t('models.refused_title')} ({len(refused)})", expanded=not entries):
        for name, reason in refused.items():
            st.warning(t("models.refused_item", id=name, reason=reason))

if not entries:
    empty_state(t("models.empty"), "python -m bigmodel_core build-defaults")
    st.stop()

# --- side by side ----------------------------------------------------------------------------
st.subheader(f"📊 {t('models.compare_title')}")
tasks = sorted({e.card["task"] for e in entries})
task = st.segmented_control(t("models.filter_task"), ["all"] + tasks, default="all", required=True,
                            format_func={k: t("models.all") if k == "all" else t(f"common.task.{k}")
                                         for k in ["all"] + tasks}.get,
                            key="models_task")
shown = [e for e in entries if task in (None, "all") or e.card["task"] == task]
rows = []
for e in shown:
    c = e.card
    test = (c.get("metrics") or {}).get("test") or {}
    base = ((c.get("baseline") or {}).get("metrics") or {})
    main = _main_metric(c)
    # Eight columns that fit a 1280-px screen; every metric, the architecture and the parity are in the card below.
    rows.append({
        t("models.col.id"): e.id + ("" if c.get("shipped") else " 🛠️"),
        t("models.col.task"): t(f"common.task.{c['task']}"),
        t("models.col.dataset"): c.get("dataset") or "—",
        t("models.col.lead"): metric_name(main),
        t("models.col.score"): test.get(main, 0.0),
        t("models.col.baseline"): _score(base.get(main)),
        t("models.col.parameters"): fmt(c.get("parameters")),
        t("models.col.size"): fmt_bytes(c.get("onnx_bytes")),
    })
table = pd.DataFrame(rows)
fmt3 = st.column_config.NumberColumn(format="%.3f")
config = {
    t("models.col.id"): st.column_config.TextColumn(help=t("models.id_help")),
    t("models.col.task"): st.column_config.TextColumn(width="small"),
    t("models.col.lead"): st.column_config.TextColumn(width="small"),
    t("models.col.score"): st.column_config.ProgressColumn(format="%.3f", min_value=0, max_value=1, width="small",
                                                          help=t("models.score_help")),
    t("models.col.baseline"): st.column_config.TextColumn(width="small", help=t("models.baseline_help")),
    t("models.col.parameters"): st.column_config.TextColumn(width="small"),
    t("models.col.size"): st.column_config.TextColumn(width="small"),
}
st.dataframe(table, hide_index=True, width="stretch", column_config=config, height=min(36 * (len(table) + 1) + 4, 480))

# The lead metric of each model beside its linear baseline.
fig = go.Figure()
names = [f"{e.id} · {metric_name(_main_metric(e.card))}" for e in shown][::-1]
scores = [((e.card.get("metrics") or {}).get("test") or {}).get(_main_metric(e.card)) for e in shown][::-1]
baselines = [((e.card.get("baseline") or {}).get("metrics") or {}).get(_main_metric(e.card)) for e in shown][::-1]
fig.add_bar(name=t("models.col.baseline"), y=names, x=baselines, orientation="h", marker_color=MUTED)
fig.add_bar(name=t("models.this_model"), y=names, x=scores, orientation="h", marker_color=PRIMARY,
            text=[fmt(v) for v in scores], textposition="outside")
fig.update_layout(barmode="group", bargap=0.25)
fig.update_xaxes(range=[min([0.0] + [v for v in scores + baselines if v is not None]), 1.12])
chart(style(fig, t("models.chart_title"), t("models.chart_y"), None, height=110 + 34 * len(shown), legend=""),
      key="models_compare")

# --- one card ------------------------------------------------------------------------------
st.subheader(f"🪪 {t('models.detail_title')}")
ids = [e.id for e in shown]
pick = st.selectbox(t("models.pick"), ids, key="models_pick",
                    format_func={e.id: f"{e.id} — {model_title(e.card)}" for e in shown}.get)
entry = next(e for e in shown if e.id == pick)
card = entry.card
main = _main_metric(card)
test = (card.get("metrics") or {}).get("test") or {}
st.markdown(f"#### {model_title(card) or entry.id}")
st.markdown(headline(card))                                   # the headline first; caveats come last
st.caption(" · ".join(part for part in [
    t("models.kind_shipped") if card.get("shipped") else t("models.kind_trained"),
    t(f"common.task.{card['task']}"),
    f"{t('models.col.dataset')}: {card.get('dataset') or '—'}",
    f"{t('models.col.architecture')}: {card.get('architecture') or '—'}",
    (card.get("created") or "")[:10],
] if part))
metric_cards([
    (metric_name(main), fmt(test.get(main)), t("models.on_test")),
    (t("models.col.parameters"), fmt(card.get("parameters"))),
    (t("models.col.size"), fmt_bytes(card.get("onnx_bytes"))),
    (t("models.col.parity"), fmt(card.get("parity_max_abs_diff"), 2), t("models.parity_help")),
])
left, right = st.columns([1, 1], gap="large")
with left:
    base = card.get("baseline") or {}
    base_metrics = base.get("metrics") or {}
    names = [m for m in METRICS if m in test]
    st.markdown(f"##### {t('models.metrics_title')}")
    st.dataframe(pd.DataFrame({
        t("models.metric"): [metric_name(m) for m in names],
        t("models.this_model"): [test[m] for m in names],
        t("models.col.baseline"): [_score(base_metrics.get(m)) for m in names],
    }), hide_index=True, width="stretch", column_config={
        t("models.this_model"): fmt3, t("models.col.baseline"): st.column_config.TextColumn()})
    if base.get("model"):
        st.caption(t("models.baseline_is", model=base["model"]))
    labels = card.get("labels") or []
    if labels:
        st.markdown(f"**{t('models.labels')}:** " + ", ".join(label_text(x) for x in labels))
    else:
        target = (card.get("preprocessing") or {}).get("target")
        if target:
            from ui.domain.labels import feature_label

            readable = feature_label(card.get("dataset") or "", target)
            st.markdown(f"**{t('models.target')}:** "
                        + (f"{readable} (`{target}`)" if readable != target else f"`{target}`"))
        kept = range_text(card)
        if kept:
            st.markdown(f"**{t('models.range_title')}:** {kept}")
    cfg = card.get("train_config") or {}
    if cfg:
        st.markdown(f"**{t('models.recipe')}:** " + ", ".join(
            f"{k}={cfg[k]}" for k in ("epochs", "batch_size", "lr", "optimizer", "scheduler") if cfg.get(k) is not None)
            + (f" · {t('models.trained_on', device=card.get('device', '?'), s=fmt(card.get('training_time_s')))}"
               if card.get("training_time_s") else ""))
with right:
    hist = card.get("history") or {}
    if hist.get("epochs") and hist.get("train_loss"):
        fig = go.Figure()
        fig.add_scatter(x=hist["epochs"], y=hist["train_loss"], name=t("models.train_loss"), mode="lines+markers",
                        line=dict(color=PRIMARY))
        val = [v.get(main) if isinstance(v, dict) else None for v in hist.get("val") or []]
        style(fig, t("models.history_title"), t("models.epoch"), t("models.train_loss"), height=320, legend="")
        if any(v is not None for v in val):
            fig.add_scatter(x=hist["epochs"][:len(val)], y=val, name=f"{t('models.val')} {metric_name(main)}",
                            mode="lines+markers", line=dict(color=GOOD), yaxis="y2")
            axis = metric_axis(main, val)
            fig.update_layout(yaxis2=dict(overlaying="y", side="right", title=dict(text=metric_name(main)),
                                          showgrid=False, range=axis))
            if axis and axis[1] - axis[0] <= 1.5:  # its own ticks (0, 0.25 … 1), not ones lined up with the loss
                fig.update_layout(yaxis2=dict(tickmode="linear", tick0=0, dtick=0.25))
        chart(fig, key="models_history")
    else:
        st.caption(t("models.no_history"))

# --- caveats, after the headline and the numbers ---------------------------------------------
caveats = ([t(f"models.history_part.{hist['part']}")] if hist.get("part") in ("transformer", "first-member") else [])
if card.get("notes"):
    caveats.insert(0, model_notes(card))
if caveats:
    st.markdown(f"##### 📝 {t('models.notes_title')}")
    for note in caveats:
        st.caption(note)

# --- actions -------------------------------------------------------------------------------
a1, a2, a3 = st.columns(3)
with a1:
    st.download_button(t("models.download"), data=lambda: zip_model(str(entry.folder)), file_name=f"{entry.id}.zip",
                       mime="application/zip", key=f"dl:{entry.id}", width="stretch", icon="⬇️")
with a2:
    domain_id = domains.domain_of_model(entry.id, card.get("dataset"))
    if domain_id:
        st.page_link(f"pages/domain_{domain_id.replace('-', '_')}.py", icon=domains.DOMAINS[domain_id].icon,
                     label=t("models.open_domain", domain=t(f"domain.{domain_id}.title")))
    st.page_link("pages/predict.py", icon=PAGE_ICONS["predict"], label=t("models.try"))
with a3:
    if card.get("shipped"):
        st.button(t("models.delete"), disabled=True, key=f"del:{entry.id}", width="stretch", icon="🔒")
        st.caption(t("models.protected"))
    else:
        with st.popover(t("models.delete"), icon="🗑️", width="stretch"):
            st.write(t("models.delete_warning", id=entry.id))
            st.button(t("models.delete_confirm", id=entry.id), type="primary", on_click=_delete, args=(entry.id,),
                      key=f"delok:{entry.id}")
