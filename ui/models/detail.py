"""The models page's card of one model: headline, numbers, history, caveats, download, delete."""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from bigmodel_core.app import domains
from ui.downloads import zip_model
from ui.i18n import t
from ui.layout import (
    GOOD,
    PAGE_ICONS,
    PRIMARY,
    chart,
    fmt,
    fmt_bytes,
    label_text,
    metric_cards,
    metric_name,
    model_notes,
    model_title,
    style,
)
from ui.models.cards import METRICS, delete_model, headline, main_metric, metric_axis, range_text, score


def render(shown: list) -> None:
    """The model picker and its card, caveats last, then the actions."""
    st.subheader(f"🪪 {t('models.detail_title')}")
    ids = [e.id for e in shown]
    pick = st.selectbox(t("models.pick"), ids, key="models_pick",
                        format_func={e.id: f"{e.id} — {model_title(e.card)}" for e in shown}.get)
    entry = next(e for e in shown if e.id == pick)
    card = entry.card
    main = main_metric(card)
    test = card.metrics.get("test") or {}
    st.markdown(f"#### {model_title(card) or entry.id}")
    st.markdown(headline(card))                                   # the headline first; caveats come last
    st.caption(" · ".join(part for part in [
        t("models.kind_shipped") if card.shipped else t("models.kind_trained"),
        t(f"common.task.{card.task}"),
        f"{t('models.col.dataset')}: {card.dataset or '—'}",
        f"{t('models.col.architecture')}: {card.architecture or '—'}",
        (card.created or "")[:10],
    ] if part))
    metric_cards([
        (metric_name(main), fmt(test.get(main)), t("models.on_test")),
        (t("models.col.parameters"), fmt(card.parameters)),
        (t("models.col.size"), fmt_bytes(card.onnx_bytes)),
        (t("models.col.parity"), fmt(card.parity_max_abs_diff, 2), t("models.parity_help")),
    ])
    left, right = st.columns([1, 1], gap="large")
    with left:
        base = card.baseline or {}
        base_metrics = base.get("metrics") or {}
        names = [m for m in METRICS if m in test]
        st.markdown(f"##### {t('models.metrics_title')}")
        st.dataframe(pd.DataFrame({
            t("models.metric"): [metric_name(m) for m in names],
            t("models.this_model"): [test[m] for m in names],
            t("models.col.baseline"): [score(base_metrics.get(m)) for m in names],
        }), hide_index=True, width="stretch", column_config={
            t("models.this_model"): st.column_config.NumberColumn(format="%.3f"),
            t("models.col.baseline"): st.column_config.TextColumn()})
        if base.get("model"):
            st.caption(t("models.baseline_is", model=base["model"]))
        labels = card.labels
        if labels:
            st.markdown(f"**{t('models.labels')}:** " + ", ".join(label_text(x) for x in labels))
        else:
            target = card.preprocessing.get("target")
            if target:
                from ui.domain.labels import feature_label

                readable = feature_label(card.dataset or "", target)
                st.markdown(f"**{t('models.target')}:** "
                            + (f"{readable} (`{target}`)" if readable != target else f"`{target}`"))
            kept = range_text(card)
            if kept:
                st.markdown(f"**{t('models.range_title')}:** {kept}")
        cfg = card.train_config or {}
        if cfg:
            st.markdown(f"**{t('models.recipe')}:** " + ", ".join(
                f"{k}={cfg[k]}" for k in ("epochs", "batch_size", "lr", "optimizer", "scheduler")
                if cfg.get(k) is not None)
                + (f" · {t('models.trained_on', device=card.device or '?', s=fmt(card.training_time_s))}"
                   if card.training_time_s else ""))
    with right:
        hist = card.history or {}
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
    caveats = ([t(f"models.history_part.{hist['part']}")] if hist.get("part") in ("transformer", "first-member")
               else [])
    if card.notes:
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
        domain_id = domains.domain_of_model(entry.id, card.dataset)
        if domain_id:
            st.page_link(f"pages/domain_{domain_id.replace('-', '_')}.py", icon=domains.DOMAINS[domain_id].icon,
                         label=t("models.open_domain", domain=t(f"domain.{domain_id}.title")))
        st.page_link("pages/predict.py", icon=PAGE_ICONS["predict"], label=t("models.try"))
    with a3:
        if card.shipped:
            st.button(t("models.delete"), disabled=True, key=f"del:{entry.id}", width="stretch", icon="🔒")
            st.caption(t("models.protected"))
        else:
            with st.popover(t("models.delete"), icon="🗑️", width="stretch"):
                st.write(t("models.delete_warning", id=entry.id))
                st.button(t("models.delete_confirm", id=entry.id), type="primary", on_click=delete_model,
                          args=(entry.id,), key=f"delok:{entry.id}")
