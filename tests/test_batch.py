"""Batch predictions as tables (texts, uploaded CSV rows) and their CSV bytes, with the shipped models."""
import io
import json

import numpy as np
import pandas as pd
import pytest

from bigmodel_core.data.csvio import read_csv_safely
from bigmodel_core.errors import DataError
from bigmodel_core.serve import batch, bench, registry
from bigmodel_core.serve.runtime import Predictor


def predictor(model_id: str) -> Predictor:
    entry = registry.load(model_id)
    return Predictor(entry.folder, entry.card, device="cpu")


def examples_frame(model_id: str) -> pd.DataFrame:
    return pd.read_csv(registry.load(model_id).folder / "examples" / "examples.csv")


def back(data: bytes) -> pd.DataFrame:
    assert data.startswith(b"\xef\xbb\xbf")                         # a BOM: spreadsheets read Chinese right
    return pd.read_csv(io.BytesIO(data), encoding="utf-8-sig")


def test_texts_table_has_text_label_and_a_score_per_class():
    p = predictor("waimai-tiny")
    lines = ["送餐很快，味道也很好！", "等了两个小时，饭菜都凉了。", "a, \"quoted\" line"]
    out = p.raw(lines)
    table = back(batch.csv_bytes(batch.texts_table(lines, p.card, out)))
    assert list(table.columns) == ["text", "label", "p_negative", "p_positive"]
    assert list(table["text"]) == lines                               # commas, quotes and Chinese survive
    assert list(table["label"][:2]) == ["positive", "negative"]
    assert np.allclose(table[["p_negative", "p_positive"]].sum(axis=1), 1.0)


def test_uploaded_rows_come_back_with_label_and_scores():
    p = predictor("ai4i-failure-mlp")
    frame = examples_frame("ai4i-failure-mlp")                         # features + the true answer
    raw = frame.to_csv(index=False).encode()
    out, check = batch.predict_rows(p, read_csv_safely(raw))
    assert check.ok and not check.filled and not check.unknown
    table = back(batch.csv_bytes(out))
    assert list(table.columns) == list(frame.columns) + ["predicted_label", "p_no failure", "p_failure"]
    assert table[list(frame.columns)].equals(frame)                   # the same rows, untouched
    expected = [pred.label for pred in p.predict(frame)]
    assert list(table["predicted_label"]) == expected
    assert np.allclose(table["p_failure"], [pred.scores["failure"] for pred in p.predict(frame)])


def test_regression_rows_get_the_predicted_target():
    p = predictor("diabetes-mlp")
    frame = examples_frame("diabetes-mlp").head(20)
    out, _ = batch.predict_rows(p, frame)
    assert out.columns[-1] == "predicted_progression"
    assert np.allclose(out["predicted_progression"], [pred.value for pred in p.predict(frame)])


def test_a_column_of_the_same_name_is_not_overwritten():
    p = predictor("diabetes-mlp")
    frame = examples_frame("diabetes-mlp").head(3)
    frame["predicted_progression"] = "mine"
    out, _ = batch.predict_rows(p, frame)
    assert list(out["predicted_progression"]) == ["mine"] * 3 and "predicted_progression_2" in out.columns


def test_bad_tables_are_checked_before_predicting():
    p = predictor("ai4i-failure-mlp")
    frame = examples_frame("ai4i-failure-mlp").head(6).copy()
    numeric = [c for c in p.encoder.columns if c in p.encoder.numeric][0]
    frame[numeric] = frame[numeric].astype(object)
    frame.loc[0, numeric], frame.loc[1, numeric], frame.loc[2, numeric] = np.nan, "abc", "inf"
    frame["Type"] = frame["Type"].astype(object)
    frame.loc[3, "Type"], frame.loc[4, "Type"] = "Z", None
    check = batch.check_rows(frame, p.encoder)
    assert check.filled == {numeric: 3}
    assert check.unknown == {"Type": 2} and check.unknown_values == {"Type": ["Z"]}
    out, _ = batch.predict_rows(p, frame)                              # still predicted: median / no category
    assert out["predicted_label"].notna().all() and np.isfinite(out["p_failure"]).all()
    missing = frame.drop(columns=["Type", numeric])
    check = batch.check_rows(missing, p.encoder)
    assert check.missing == [c for c in p.encoder.columns if c in ("Type", numeric)] and not check.ok
    with pytest.raises(DataError, match="Missing feature columns"):
        batch.predict_rows(p, missing)
    with pytest.raises(DataError, match="no rows"):
        batch.predict_rows(p, frame.head(0))


def test_too_many_rows_are_refused(monkeypatch):
    p = predictor("diabetes-mlp")
    monkeypatch.setattr(batch, "MAX_ROWS", 10)
    frame = examples_frame("diabetes-mlp").head(11)
    assert batch.check_rows(frame, p.encoder).too_many
    with pytest.raises(DataError, match="at most 10"):
        batch.predict_rows(p, frame)


def test_many_rows_are_predicted_in_chunks(monkeypatch):
    p = predictor("diabetes-mlp")
    monkeypatch.setattr(batch, "CHUNK", 7)
    frame = examples_frame("diabetes-mlp").head(30)
    out, _ = batch.predict_rows(p, frame)
    assert np.allclose(out["predicted_progression"], p.raw(frame))


def test_bench_contract_rows_and_json_are_what_the_cli_prints():
    result = {"results": [
        {"engine": "torch", "batch": 1, "p50_ms": 1.0, "p90_ms": 1.5, "p99_ms": 2.0, "throughput": 1000.0,
         "provider": "pytorch-cpu", "n": 30},
        {"engine": "ort-cuda-host", "batch": 1, "p50_ms": 0.5, "p90_ms": 0.6, "p99_ms": 0.7, "throughput": 2000.0},
        {"engine": "ort-cpu", "batch": 8, "p50_ms": 0.2, "p90_ms": 0.3, "p99_ms": 0.4, "throughput": 40000.0},
    ]}
    rows = bench.contract_rows(result)
    assert [r["engine"] for r in rows] == ["torch", "ort-cpu"]
    assert set(rows[0]) == {"engine", "batch", "p50_ms", "p90_ms", "p99_ms", "throughput"}
    assert json.loads(bench.contract_json(result)) == rows
    assert bench.contract_json(result).count("\n") == 1
