"""Batch predictions as tables: many texts, or the rows of a CSV, with their answers — and as CSV bytes.

`answers_table` puts a model's answers beside its inputs: the predicted label and one
`p_<class>` score column per class (classification), or the predicted value
(regression). `check_rows` says what is wrong with an uploaded table before a tabular
model sees it — missing feature columns, too many rows — and what the model will
quietly make of it: empty, non-numeric or infinite numbers are read as the training
median (as `TabularEncoder` does), and categories it never saw count as none of the
known ones. `predict_rows` refuses what cannot be predicted (`DataError`) and returns
the same rows with the answers. `csv_bytes` writes a table as UTF-8 CSV with a
byte-order mark, so that spreadsheet programs show Chinese text correctly.
"""
from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from bigmodel_core.errors import DataError
from bigmodel_core.serve.card import ModelCard
from bigmodel_core.serve.preprocess import TabularEncoder, category_strings

if TYPE_CHECKING:
    from bigmodel_core.serve.runtime import Predictor

MAX_ROWS = 50_000            # rows of one uploaded table predicted at once
CHUNK = 4096                 # rows per ONNX Runtime call
SHOWN_VALUES = 5             # unknown categories named per column in a message


def score_column(label: object) -> str:
    return f"p_{label}"


def _free(name: str, taken) -> str:
    """`name`, or `name_2`, `name_3` … when the table already has a column of that name."""
    if name not in taken:
        return name
    k = 2
    while f"{name}_{k}" in taken:
        k += 1
    return f"{name}_{k}"


def answer_column(card: ModelCard, rows: bool = True) -> str:
    """The column of the answer: `label` for texts, `predicted_label` or `predicted_<target>` for table rows."""
    if card.problem == "regression":
        target = (card.preprocessing or {}).get("target")
        return f"predicted_{target}" if target else "predicted_value"
    return "predicted_label" if rows else "label"


def answers_table(inputs: pd.DataFrame, card: ModelCard, out: np.ndarray, rows: bool = True) -> pd.DataFrame:
    """`inputs` with the answers appended. `out`: probabilities [N, K] (classification) or values [N]."""
    table = inputs.reset_index(drop=True).copy()
    if card.problem == "regression":
        table[_free(answer_column(card, rows), table.columns)] = np.asarray(out, dtype=np.float64).reshape(-1)
        return table
    labels = [str(x) for x in card.labels or []]
    probs = np.asarray(out, dtype=np.float64)
    table[_free(answer_column(card, rows), table.columns)] = [labels[int(k)] for k in probs.argmax(axis=1)]
    for k, label in enumerate(labels):
        table[_free(score_column(label), table.columns)] = probs[:, k]
    return table


def texts_table(lines: list[str], card: ModelCard, out: np.ndarray) -> pd.DataFrame:
    """One row per text: text, label, p_<class> …"""
    return answers_table(pd.DataFrame({"text": list(lines)}), card, out, rows=False)


# ============================================================================ uploaded tables

@dataclass
class RowCheck:
    rows: int
    expected: list[str]                                          # the model's feature columns, in order
    missing: list[str] = field(default_factory=list)             # feature columns the table lacks
    filled: dict[str, int] = field(default_factory=dict)         # numeric column → values read as the median
    unknown: dict[str, int] = field(default_factory=dict)        # categorical column → unknown or empty values
    unknown_values: dict[str, list[str]] = field(default_factory=dict)   # a few of them, for the message

    @property
    def too_many(self) -> bool:
        return self.rows > MAX_ROWS

    @property
    def ok(self) -> bool:
        return not self.missing and not self.too_many and self.rows > 0


def check_rows(frame: pd.DataFrame, encoder: TabularEncoder) -> RowCheck:
    """What a tabular model (its `TabularEncoder`) will make of `frame`, before predicting."""
    check = RowCheck(rows=len(frame), expected=list(encoder.columns))
    check.missing = [c for c in encoder.columns if c not in frame.columns]
    for col in encoder.columns:
        if col in check.missing:
            continue
        if col in encoder.numeric:
            v = pd.to_numeric(frame[col], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
            bad = int((~np.isfinite(v)).sum())
            if bad:
                check.filled[col] = bad
        else:
            known = set(encoder.categorical.get(col, []))
            present = frame[col].notna().to_numpy()
            values = np.array(category_strings(frame[col]), dtype=object)
            odd = ~present | ~np.isin(values, list(known))
            if odd.any():
                check.unknown[col] = int(odd.sum())
                seen = [v for v in pd.unique(values[odd & present])][:SHOWN_VALUES]
                check.unknown_values[col] = [str(v) for v in seen]
    return check


def predict_rows(predictor: Predictor, frame: pd.DataFrame) -> tuple[pd.DataFrame, RowCheck]:
    """The rows of `frame` with the tabular model's answers appended, and the check of the rows."""
    check = check_rows(frame, predictor.encoder)
    if check.rows == 0:
        raise DataError("The table has no rows.", hint="add data rows")
    if check.missing:
        raise DataError(f"Missing feature columns: {', '.join(check.missing)}.",
                        hint=f"the model expects: {', '.join(check.expected)}")
    if check.too_many:
        raise DataError(f"The table has {check.rows:,} rows; at most {MAX_ROWS:,} are predicted at once.",
                        hint="split the file into smaller ones")
    parts = [predictor.raw(frame.iloc[i:i + CHUNK]) for i in range(0, len(frame), CHUNK)]
    out = np.concatenate(parts, axis=0)
    return answers_table(frame, predictor.card, out), check


# ============================================================================ CSV

def csv_bytes(frame: pd.DataFrame) -> bytes:
    """`frame` as CSV text (UTF-8 with a byte-order mark, no index), built in memory."""
    buf = io.StringIO()
    frame.to_csv(buf, index=False)
    return buf.getvalue().encode("utf-8-sig")
