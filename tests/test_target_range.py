"""Regression answers stay inside the target's valid range: no negative bike counts, no grade above 20.

The exported ONNX graph ends in a `Clip` (export.clip_output), the PyTorch twin is clamped the
same way (nets.ClampOutput), and the card records the range and where each side comes from.
The shipped regression models were upgraded in place (`python -m bigmodel_core clip-range`,
pipeline.clip_registered), without retraining.
"""
import shutil
from pathlib import Path

import numpy as np
import onnx
import pandas as pd
import pytest
import torch

from bigmodel_core.convert.export import CLIP_NODE, clip_onnx_file, clip_output, export_onnx, parity
from bigmodel_core.errors import ModelError
from bigmodel_core.nn.nets import ClampOutput, clamp_to_range
from bigmodel_core.nn.zoo import build_model
from bigmodel_core.serve import registry, runtime
from bigmodel_core.serve.card import ModelCard
from bigmodel_core.train import pipeline, tasks
from bigmodel_core.train.spec import TrainSpec
from bigmodel_core.train.trainer import TrainConfig
from tests.conftest import requires_dataset

MODELS = Path(__file__).resolve().parent.parent / "models"
REGRESSION = {"bike-demand-mlp": "bike-sharing", "diabetes-mlp": "diabetes",
              "student-grade-mlp": "student-performance", "energy-heating-mlp": "energy-efficiency"}


def _card(model_id: str) -> ModelCard:
    return ModelCard.read(MODELS / model_id / "card.json")


def _inside(values: np.ndarray, rng: dict) -> np.ndarray:
    """Which float32 answers lie in the range (compared with the float32 bounds the Clip holds)."""
    return (values >= np.float32(rng["min"])) & (values <= np.float32(rng["max"]))


def _regressor(tmp_path: Path, mean: float = 5.0, std: float = 40.0):
    """A small regression MLP whose raw answers often fall below -5 and above 5, exported to ONNX."""
    torch.manual_seed(0)
    model = build_model("mlp", dict(in_features=6, out_features=1, hidden=[16], regression=True,
                                    target_mean=mean, target_std=std)).eval()
    path = export_onnx(model, {"features": torch.randn(2, 6)}, tmp_path / "raw.onnx", output_name="prediction")
    return model, path


def _same_answers(twin, ort_out: np.ndarray, feed: dict, rng: dict) -> None:
    """ONNX Runtime and the clamped PyTorch twin agree: both hit the same bounds, and elsewhere they differ
    by float32 rounding only, which on inputs this extreme (hidden values in the thousands) is relative to
    the size of the range, not 1e-4."""
    from bigmodel_core.convert.export import torch_outputs

    ref = torch_outputs(twin, feed)
    np.testing.assert_allclose(ort_out, ref, rtol=1e-5, atol=1e-4 + 1e-5 * (rng["max"] - rng["min"]))
    for bound in (np.float32(rng["min"]), np.float32(rng["max"])):
        np.testing.assert_array_equal(ort_out == bound, ref == bound)


def _run(path: Path, feed: dict) -> np.ndarray:
    session, _ = runtime.make_session(path, device="cpu")
    return session.run(None, feed)[0]


# ============================================================================ the Clip and its PyTorch twin

def test_clip_output_clamps_onnx_answers_exactly_as_the_clamped_pytorch_model(tmp_path):
    model, raw_path = _regressor(tmp_path)
    feed = {"features": (np.random.default_rng(1).standard_normal((400, 6)) * 3).astype(np.float32)}
    raw = _run(raw_path, feed)
    assert (raw < -5).sum() > 20 and (raw > 5).sum() > 20           # the unclipped model does go out of range
    clipped = clip_onnx_file(raw_path, -5.0, 5.0, out=tmp_path / "clipped.onnx")
    out = _run(clipped, feed)
    assert out.shape == raw.shape and out.min() == -5.0 and out.max() == 5.0
    inside = (raw >= -5) & (raw <= 5)
    np.testing.assert_array_equal(out[inside], raw[inside])         # answers in range are untouched
    assert parity(ClampOutput(model, -5.0, 5.0), clipped, feed) <= 1e-4
    assert parity(model, clipped, feed) > 1.0                        # … and an unclamped twin would not match
    graph = onnx.load(str(clipped)).graph
    assert graph.node[-1].op_type == "Clip" and graph.output[0].name == "prediction"


def test_one_sided_clip_and_a_second_clip_replaces_the_bounds(tmp_path):
    model, raw_path = _regressor(tmp_path)
    feed = {"features": (np.random.default_rng(2).standard_normal((300, 6)) * 3).astype(np.float32)}
    floor_only = clip_output(onnx.load(str(raw_path)), 0.0, None)
    onnx.save(floor_only, str(tmp_path / "floor.onnx"))
    out = _run(tmp_path / "floor.onnx", feed)
    assert out.min() == 0.0 and out.max() > 5                        # no upper limit on a count
    assert parity(ClampOutput(model, 0.0, None), tmp_path / "floor.onnx", feed) <= 1e-4
    again = clip_output(floor_only, -10.0, 5.0)
    assert [n.name for n in again.graph.node].count(CLIP_NODE) == 1     # replaced, not stacked
    onnx.save(again, str(tmp_path / "again.onnx"))
    out = _run(tmp_path / "again.onnx", feed)
    assert out.min() == -10.0 and out.max() == 5.0


@pytest.mark.parametrize("lo, hi", [(None, None), (5.0, 1.0)])
def test_clip_output_refuses_an_empty_or_upside_down_range(tmp_path, lo, hi):
    _, raw_path = _regressor(tmp_path)
    with pytest.raises(ModelError):
        clip_output(onnx.load(str(raw_path)), lo, hi)


def test_clamp_to_range_leaves_a_model_without_a_range_alone():
    model = torch.nn.Linear(2, 1)
    assert clamp_to_range(model, None) is model
    assert isinstance(clamp_to_range(model, {"min": 0.0, "max": None}), ClampOutput)


# ============================================================================ where the range comes from

def _toy_data(y: np.ndarray, bounds=(None, None), why=""):
    from bigmodel_core.data.types import TabularDataset

    frame = pd.DataFrame({"x": np.arange(len(y), dtype=float), "y": y})
    n = len(y)
    split = {"train": np.arange(0, n - 4), "val": np.arange(n - 4, n - 2), "test": np.arange(n - 2, n)}
    return TabularDataset("toy", frame, "y", "regression", {"x": "numeric"}, None, split=split,
                          target_bounds=bounds, target_bounds_why=why)


def test_a_range_from_the_training_split_is_padded_and_rounded_outwards():
    y = np.array([31.0, 100.0, 200.0, 346.0, 100.0, 100.0, 1000.0, -500.0])   # the last four: val and test
    rng = tasks.target_range(_toy_data(y))
    assert rng["training"] == {"min": 31.0, "max": 346.0}          # only the training split counts
    assert rng["min"] == 15.0 and rng["max"] == 362.0              # 5 % of the 315 span, rounded outwards
    assert rng["source"] == {"min": "training split", "max": "training split"} and "why" not in rng


def test_a_known_bound_wins_over_the_training_split():
    y = np.array([1.0, 50.0, 977.0, 3.0, 1.0, 1.0, 1.0, 1.0])
    rng = tasks.target_range(_toy_data(y, (0.0, None), "a count is never negative"))
    assert rng["min"] == 0.0 and rng["max"] == 1026.0
    assert rng["source"] == {"min": "known bound", "max": "training split"}
    assert rng["why"] == "a count is never negative"


@pytest.mark.parametrize("dataset, lo, hi", [("bike-sharing", 0.0, None), ("student-performance", 0.0, 20.0),
                                             ("diabetes", None, None), ("energy-efficiency", None, None)])
def test_catalog_datasets_know_their_physical_bounds(dataset, lo, hi):
    from bigmodel_core.data.loaders import load_dataset
    from tests.conftest import missing_dataset

    if missing_dataset(dataset):
        pytest.skip(missing_dataset(dataset))
    data = load_dataset(dataset)
    assert data.target_bounds == (lo, hi)
    assert bool(data.target_bounds_why) == (lo is not None or hi is not None)


def test_a_trained_regression_model_exports_clipped_and_records_its_range(tmp_registry):
    spec = TrainSpec("diabetes", "mlp", TrainConfig(epochs=2, batch_size=64, seed=0, device="cpu"),
                              options=dict(hidden=[8]))
    trained = pipeline.train(spec)
    rng = trained.target_range
    assert rng["source"] == {"min": "training split", "max": "training split"}
    assert trained.test_scores.min() >= rng["min"] and trained.test_scores.max() <= rng["max"]
    entry = pipeline.export(trained, "diab-clip")
    assert entry.card.target_range == rng and entry.card.parity_max_abs_diff <= 1e-4
    graph = onnx.load(str(entry.folder / "model.onnx")).graph
    assert graph.node[-1].op_type == "Clip"
    wild = {"features": (np.random.default_rng(0).standard_normal((200, trained.arch_config["in_features"]))
                         * 50).astype(np.float32)}                   # far outside anything seen in training
    out = _run(entry.folder / "model.onnx", wild)
    assert _inside(out, rng).all() and (out == np.float32(rng["min"])).any() | (out == np.float32(rng["max"])).any()
    from bigmodel_core.explain.common import load_torch_model

    twin = load_torch_model(entry.folder, entry.card)             # the PyTorch side is clamped the same way
    _same_answers(twin, out, wild, rng)


# ============================================================================ the shipped models

@pytest.mark.parametrize("model_id", list(REGRESSION))
def test_shipped_regression_model_records_its_range_and_its_graph_ends_in_a_clip(model_id):
    card = _card(model_id)
    rng = card.target_range
    assert rng["min"] < rng["training"]["min"] <= rng["training"]["max"] <= rng["max"] or \
        rng["source"]["min"] == "known bound"
    assert set(rng["source"].values()) <= {"known bound", "training split"}
    if model_id == "bike-demand-mlp":
        assert rng["min"] == 0.0 and rng["source"]["min"] == "known bound"
    if model_id == "student-grade-mlp":
        assert (rng["min"], rng["max"]) == (0.0, 20.0) and rng["source"] == {"min": "known bound", "max": "known bound"}
    graph = onnx.load(str(MODELS / model_id / "model.onnx")).graph
    clip = graph.node[-1]
    assert clip.op_type == "Clip" and clip.name == CLIP_NODE and clip.output[0] == graph.output[0].name


@pytest.mark.parametrize("model_id", list(REGRESSION))
def test_shipped_regression_model_answers_inside_its_range_on_its_examples_and_on_wild_inputs(model_id):
    """Runs without any dataset: the built-in examples, then inputs far outside anything seen."""
    from bigmodel_core.explain.common import load_torch_model
    from bigmodel_core.serve import examples
    from bigmodel_core.serve.evaluation import predict_split
    from bigmodel_core.serve.runtime import Predictor

    entry = registry.load(model_id, MODELS)
    rng = entry.card.target_range
    predictor = Predictor(entry.folder, entry.card, device="cpu")
    pred, _ = predict_split(predictor, examples.load(model_id, MODELS), "test")
    assert len(pred) == entry.card.examples["count"] and _inside(pred, rng).all()
    width = entry.card.input_spec[0]["shape"][1]
    wild = {"features": (np.random.default_rng(5).standard_normal((500, width)) * 20).astype(np.float32)}
    out = predictor.run(wild)
    assert _inside(out, rng).all()
    twin = load_torch_model(entry.folder, entry.card)
    assert twin is not None
    _same_answers(twin, out, wild, rng)


@pytest.mark.parametrize("model_id", [pytest.param(m, marks=requires_dataset(d), id=m) for m, d in REGRESSION.items()])
def test_no_answer_falls_outside_the_range_over_the_whole_dataset(model_id):
    """Every row of the dataset (train, validation and test), through ONNX Runtime."""
    from dataclasses import replace

    from bigmodel_core.data.loaders import load_dataset
    from bigmodel_core.serve.evaluation import predict_split
    from bigmodel_core.serve.runtime import Predictor

    entry = registry.load(model_id, MODELS)
    rng = entry.card.target_range
    data = load_dataset(entry.card.dataset, seed=entry.card.split["seed"])
    everything = replace(data, split={"all": np.arange(len(data))})
    pred, _ = predict_split(Predictor(entry.folder, entry.card, device="cpu"), everything, "all")
    assert len(pred) == len(data)
    if model_id == "bike-demand-mlp":
        assert len(pred) == 17_379 and (pred < 0).sum() == 0         # 271 were negative before the Clip
    assert _inside(pred, rng).all(), f"{(~_inside(pred, rng)).sum()} of {len(pred)} answers outside {rng}"


# ============================================================================ the in-place upgrade

def _strip_clip(path: Path) -> None:
    """Turn a clipped graph back into the old, unclipped export (as the models were before the upgrade)."""
    model = onnx.load(str(path))
    clip = next(n for n in model.graph.node if n.name == CLIP_NODE)
    for node in model.graph.node:
        for k, name in enumerate(node.output):
            if name == clip.input[0]:
                node.output[k] = clip.output[0]
    model.graph.node.remove(clip)
    for init in [i for i in model.graph.initializer if i.name.startswith(CLIP_NODE)]:
        model.graph.initializer.remove(init)
    onnx.save(model, str(path))


def test_clip_registered_upgrades_an_old_export_in_place_and_keeps_its_card_honest(tmp_registry, tmp_path):
    shutil.copytree(MODELS / "diabetes-mlp", tmp_registry / "diabetes-mlp")
    old = tmp_path / "old.onnx"
    shutil.copyfile(tmp_registry / "diabetes-mlp" / "model.onnx", old)
    _strip_clip(old)
    card = _card("diabetes-mlp")
    registry.update("diabetes-mlp", {"target_range": None}, root=tmp_registry, onnx_file=old)
    before = registry.load("diabetes-mlp", tmp_registry)
    assert before.card.sha256 != card.sha256 and onnx.load(str(old)).graph.node[-1].op_type != "Clip"

    result = pipeline.clip_registered("diabetes-mlp", root=tmp_registry)
    after = registry.load("diabetes-mlp", tmp_registry)               # sha256 checked against the new graph
    assert after.card.target_range == result["target_range"] == card.target_range
    assert after.card.sha256 == card.sha256                      # the same graph as the shipped upgrade
    assert after.card.onnx_bytes == (after.folder / "model.onnx").stat().st_size
    assert result["outside_after"] == 0 and result["rows"] == 442
    assert after.card.metrics["test"]["r2"] == pytest.approx(card.metrics["test"]["r2"], abs=1e-6)
    assert after.card.parity_max_abs_diff <= 1e-4
    assert (after.folder / "examples" / "examples.csv").exists()       # the rest of the entry is kept
    again = pipeline.clip_registered("diabetes-mlp", root=tmp_registry)   # idempotent: one Clip, same file
    assert registry.load("diabetes-mlp", tmp_registry).card.sha256 == card.sha256
    assert again["metric_change"]["test"]["r2"] == 0


def test_clip_range_refuses_a_classification_model_in_one_line(tmp_registry, capsys):
    from bigmodel_core.cli import main

    shutil.copytree(MODELS / "breast-cancer-mlp", tmp_registry / "breast-cancer-mlp")
    assert main(["clip-range", "breast-cancer-mlp"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "not a regression model" in err and "\n" not in err
