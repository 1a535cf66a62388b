"""The training studio's export: a trained model → ONNX in the registry under an id the visitor picks.

Imported by pages/train.py after `require_torch` (the training side needs PyTorch).
"""
from __future__ import annotations

import streamlit as st

from bigmodel_core.errors import BigModelError, ModelError
from bigmodel_core.paths import models_dir
from bigmodel_core.serve import registry
from ui import studio as S
from ui.i18n import t
from ui.layout import show_error


def export_section(job_id: str, trained) -> None:
    st.subheader(f"📦 {t('train.export.title')}")
    st.caption(t("train.export.about"))
    key = f"train_model_id_{job_id}"
    if key not in st.session_state:                  # a fresh id: never one a shipped or trained model has
        st.session_state[key] = S.suggested_id(trained.spec.dataset, trained.spec.architecture, taken=S.id_taken)
    c1, c2 = st.columns([2, 1], vertical_alignment="bottom")
    model_id = c1.text_input(t("train.export.id"), key=key, max_chars=64, help=t("train.export.id_help")).strip()
    ok = True
    try:
        registry.validate_id(model_id)
        existing = models_dir() / model_id / "card.json"
        if existing.exists():
            try:
                shipped = bool(registry.load(model_id, verify=False).card.shipped)
            except BigModelError:
                shipped = False
            if shipped:
                st.error(t("train.export.shipped", id=model_id), icon="🔒")
                ok = False
            else:
                st.warning(t("train.export.replaces", id=model_id), icon="♻️")
    except ModelError:
        st.error(t("train.export.bad_id"), icon="🚫")
        ok = False
    if c2.button(t("train.export.button"), type="primary", icon="💾", disabled=not ok, key=f"export_{job_id}",
                 width="stretch"):
        from bigmodel_core.train.pipeline import export

        with st.spinner(t("train.export.running")):
            try:
                entry = export(trained, model_id)
                st.session_state["train_exported"] = dict(job=job_id, id=entry.id,
                                                          parity=entry.card.parity_max_abs_diff,
                                                          size=entry.card.onnx_bytes)
            except BigModelError as exc:
                show_error(exc)
    done = st.session_state.get("train_exported")
    if done and done.get("job") == job_id:
        st.success(t("train.export.done", id=done["id"], parity=f"{done['parity']:.1e}",
                     kb=f"{(done['size'] or 0) / 1024:.0f}"), icon="✅")
        l1, l2 = st.columns(2)
        for col, page, label, icon, params in ((l1, "pages/models.py", t("train.export.to_models"), "🗂️", None),
                                               (l2, "pages/predict.py", t("train.export.to_predict"), "🔮",
                                                {"model": done["id"]})):
            with col:
                try:
                    st.page_link(page, label=label, icon=icon, query_params=params)
                except Exception:  # noqa: BLE001 - the page is not registered (page run on its own, in tests)
                    st.caption(f"{icon} {label}")
