"""The training studio's own data: a CSV or a zip of images, its column choices, parsed once per session.

Imported by pages/train.py after `require_torch` (the training side needs PyTorch).
"""
from __future__ import annotations

import hashlib
import io

import streamlit as st

from bigmodel_core.data import uploads as D
from bigmodel_core.data.csvio import read_csv_safely
from ui.i18n import t


def upload_key(kind: str, raw: bytes, *options) -> str:
    return f"{kind}:{hashlib.sha256(raw).hexdigest()[:16]}:{options}"


def cached_upload(key: str, load):
    """Parsed uploads are kept in this session (last two), so reruns do not re-read them."""
    cache = st.session_state.setdefault("train_upload_cache", {})
    if key not in cache:
        cache[key] = load()
        for old in list(cache)[:-2]:
            del cache[old]
    return cache[key]


def named(raw: bytes, name: str) -> io.BytesIO:
    buf = io.BytesIO(raw)
    buf.name = name
    return buf


def upload_widgets(task: str):
    """The upload for `task` and its column choices → a loaded dataset (or None, with a message shown)."""
    if task == "image":
        f = st.file_uploader(t("train.upload.zip"), type=["zip"], key="train_up_image",
                             help=t("train.upload.zip_help"))
        if f is None:
            st.caption(t("train.upload.zip_help"))
            return None
        raw = f.getvalue()
        return cached_upload(upload_key("image", raw), lambda: D.load_image_zip(named(raw, f.name)))
    f = st.file_uploader(t("train.upload.csv"), type=["csv", "tsv", "txt"], key=f"train_up_{task}",
                         help=t(f"train.upload.csv_help_{task}"))
    if f is None:
        st.caption(t(f"train.upload.csv_help_{task}"))
        return None
    raw = f.getvalue()
    frame = cached_upload(upload_key("frame", raw), lambda: read_csv_safely(raw))
    columns = [str(c) for c in frame.columns]
    with st.expander(t("train.upload.preview", rows=len(frame), cols=len(columns))):
        st.dataframe(frame.head(8), hide_index=True)
    if len(columns) < 2:
        raise D.DataError(t("train.upload.one_column"), hint=D.CSV_HINT)
    if task == "text":
        lower = [c.lower() for c in columns]
        text_default = next((columns[lower.index(n)] for n in D.TEXT_COLUMNS if n in lower), columns[0])
        label_default = next((columns[lower.index(n)] for n in D.LABEL_COLUMNS if n in lower), columns[-1])
        c1, c2 = st.columns(2)
        text_col = c1.selectbox(t("train.upload.text_col"), columns, index=columns.index(text_default),
                                key="train_up_text_col")
        label_col = c2.selectbox(t("train.upload.label_col"), columns, index=columns.index(label_default),
                                 key="train_up_label_col")
        if text_col == label_col:
            st.warning(t("train.upload.same_columns"))
            return None
        return cached_upload(upload_key("text", raw, text_col, label_col),
                             lambda: D.load_csv_text(named(raw, f.name), text_col, label_col))
    c1, c2 = st.columns(2)
    target = c1.selectbox(t("train.upload.target"), columns, index=len(columns) - 1, key="train_up_target",
                          help=t("train.upload.target_help"))
    problem = c2.selectbox(t("train.upload.problem"), ["auto", "classification", "regression"],
                           format_func=lambda p: t(f"train.problem.{p}"), key="train_up_problem")
    return cached_upload(upload_key("tabular", raw, target, problem),
                         lambda: D.load_csv_tabular(named(raw, f.name), target,
                                                    None if problem == "auto" else problem))


def describe_upload(data) -> None:
    n = {s: len(v) for s, v in data.split.items()}
    if isinstance(data, D.TabularDataset):
        kind = t(f"train.problem.{data.problem}")
        extra = t("train.upload.target_is", target=data.target, kind=kind)
    else:
        extra = t("train.upload.classes", classes=", ".join(map(str, data.class_names[:12])))
    st.success(t("train.upload.ok", rows=len(data), train=n["train"], val=n["val"], test=n["test"]) + " " + extra,
               icon="✅")
    for note in data.notes:
        st.caption(f"ℹ️ {note}")
