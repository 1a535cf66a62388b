"""Predict with any registry model through ONNX Runtime: draw, upload or photograph; type texts; fill a form.

The input widgets follow the model's card (task, image size, feature spec). The
answer shows the label, the probabilities, the execution provider that ran and
the latency, and an "Explain this prediction" expander below it (`ui/explain_view.py`).
ONNX sessions come from the one process-wide cache (bigmodel_core.serve.predictors).

The default model reads the interface's language (中文 → waimai-tiny, English →
sst2-tiny) until a model is chosen; a text in the other language than the model's gets
a notice and a button that switches to a model for it. The address holds the model and
its input (`?model=…&text=…`, `&example=N` for a real example picture, `&f.<feature>=…`
for a form), so a link opens the same prediction. Several lines of text, or a CSV of
rows for a tabular model, come back as a downloadable CSV with labels and scores. The parts live in ui/predict/.
"""
from __future__ import annotations

import streamlit as st

from ui.i18n import t
from ui.layout import page_header
from ui.predict import choose, images, tables, texts

page_header("🔮", t("predict.title"), t("predict.subtitle"))
chosen = choose.choose()
task = chosen.card.task
if task == "image":
    images.render(chosen)                   # the inputs and answer are a fragment, columns included
elif task in ("text", "tabular"):
    left, right = st.columns([1, 1], gap="medium")
    {"text": texts, "tabular": tables}[task].render(chosen, left, right)
else:
    st.error(t("predict.unknown_task", task=task))
