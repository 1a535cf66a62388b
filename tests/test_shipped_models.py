"""Every shipped model, re-scored through ONNX Runtime on its test split, keeps its card's promise.

The card can never drift from the artefact: a metric more than 0.005 below the
card fails, and so does a card below its recipe's target or its linear baseline.
A full re-score needs the model's whole dataset: without it (a fresh clone, no
mirror) that test skips, naming the fetch command. Every shipped model is also
scored on its built-in examples (a sample of its own test split, committed beside
it), and compared with its PyTorch weights there: that runs on every machine.
"""
from pathlib import Path

import numpy as np
import pytest

from bigmodel_core.serve import examples, registry
from bigmodel_core.serve.card import ModelCard
from bigmodel_core.serve.evaluation import dataset_inputs, evaluate
from bigmodel_core.train.recipes import RECIPES, check_targets
from tests.conftest import requires_dataset

MODELS = Path(__file__).resolve().parent.parent / "models"
SHIPPED = sorted(p.name for p in MODELS.iterdir() if (p / "card.json").exists()) if MODELS.exists() else []


MISSING = sorted(set(RECIPES) - set(SHIPPED))


# Shipped although below the target (the card and the README say so); the test fails
# as soon as one of them reaches its target, so this list cannot go stale.
BELOW_TARGET: dict[str, str] = {}     # model id → why it ships below its target (none today)


def shipped_card(model_id: str) -> ModelCard:
    return ModelCard.read(MODELS / model_id / "card.json")


def source_recipe(model_id: str) -> str:
    """The recipe a shipped model comes from: its own, or its fp32 parent's for an int8 sibling."""
    return (shipped_card(model_id).quantized_from or {}).get("model", model_id)


def with_its_dataset(model_ids):
    """`parametrize` values: each shipped model, skipping (with the fetch command) when its dataset is absent."""
    return [pytest.param(m, marks=requires_dataset(shipped_card(m).dataset), id=m) for m in model_ids]


@pytest.mark.xfail(bool(MISSING), strict=True, reason=f"recipes not built into models/ yet (issue 3): {MISSING}")
def test_every_recipe_is_shipped():
    assert not MISSING
    assert {source_recipe(m) for m in SHIPPED} <= set(RECIPES), "a folder in models/ has no recipe"


def test_models_folder_fits_the_size_limits():
    files = [f for f in MODELS.rglob("*") if f.is_file()]
    assert sum(f.stat().st_size for f in files) <= 60 * 1024 * 1024
    assert max(f.stat().st_size for f in files) <= 25 * 1024 * 1024


@pytest.mark.parametrize("model_id", with_its_dataset(SHIPPED))
def test_shipped_model_meets_its_card_through_onnx_runtime(model_id):
    entry = registry.load(model_id, MODELS)
    card = entry.card
    assert card.shipped is True and card.parity_max_abs_diff <= 1e-4
    if card.task == "text":                          # the predict page picks its examples and units by it
        assert card.preprocessing["language"] == ("zh" if card.dataset == "waimai10k" else "en")
    result = evaluate(str(entry.folder), split="test", device="cpu")
    promised = card.metrics["test"]
    for metric, value in promised.items():
        if metric in ("accuracy", "macro_f1", "roc_auc", "r2"):
            assert result[metric] >= value - 0.005, f"{model_id}: {metric} {result[metric]:.4f} < card {value:.4f}"
    problems = check_targets(RECIPES[source_recipe(model_id)], result, card.baseline)
    if model_id in BELOW_TARGET:                        # shipped for the demo, honest about the shortfall
        assert problems, f"{model_id} now meets its target: remove it from BELOW_TARGET"
        assert not [p for p in problems if "baseline" in p], problems   # it must still beat the linear model
        pytest.xfail(f"{BELOW_TARGET[model_id]}: {problems}")
    assert not problems
    if card.quantized_from:                      # int8: at most 1 point below its fp32 parent
        q = card.quantized_from
        fp32 = q.get("fp32_test") or q["fp32_metrics"]           # sibling entry / int8-only recipe
        assert result["accuracy"] >= fp32["accuracy"] - 0.01


# How far a model's metric on its built-in examples (30 images, 40 texts, up to 200 table rows) may fall
# below the card's full-test-split value. Measured: accuracy at worst 0.05 below (sst2-tiny, 40 reviews),
# macro-F1 0.11 below (ai4i: 8 failures among 200 rows, so one missed failure costs 0.03), R² never
# below. A model answering one class for everything, or at chance, is far outside these bounds.
EXAMPLE_SLACK = {"accuracy": 0.15, "macro_f1": 0.20, "r2": 0.10}


@pytest.mark.parametrize("model_id", SHIPPED)
def test_shipped_model_scores_on_its_built_in_examples_and_matches_pytorch(model_id):
    """Runs without any dataset: ONNX Runtime on the examples shipped with the model, then PyTorch on the same
    inputs."""
    from bigmodel_core.convert.export import torch_outputs
    from bigmodel_core.explain.common import load_torch_model
    from bigmodel_core.serve.runtime import Predictor

    entry = registry.load(model_id, MODELS)
    card, meta = entry.card, entry.card.examples
    data = examples.load(model_id, MODELS)
    result = evaluate(str(entry.folder), split="test", device="cpu", data=data)
    assert result["n"] == meta["count"] == len(data)
    promised = card.metrics["test"]
    whole = meta["count"] == meta["test_rows"]          # small tables ship their whole test split
    for metric, slack in EXAMPLE_SLACK.items():
        if metric in promised:
            bound = promised[metric] - (0.005 if whole else slack)
            assert result[metric] >= bound, f"{model_id}: {metric} {result[metric]:.4f} on {len(data)} examples"

    if not (entry.folder / "weights.safetensors").exists() or card.quantized_from:
        return                                          # ONNX-only or int8: no PyTorch twin to compare with
    model = load_torch_model(entry.folder, card)
    assert model is not None, f"{model_id} ships weights.safetensors but its PyTorch model cannot be rebuilt"
    predictor = Predictor(entry.folder, card, device="cpu")
    inputs, _ = dataset_inputs(predictor, data, "test")
    feed = ({predictor.input_names[0]: np.ascontiguousarray(inputs)} if predictor.task == "image"
            else predictor.prepare(inputs))
    ort, ref = predictor.run(feed).astype(np.float64), torch_outputs(model, feed).astype(np.float64)
    assert ort.shape == ref.shape
    # 1e-4, plus float32 rounding of large outputs (bike rentals near 700: 2e-4 apart, 3e-7 relative)
    np.testing.assert_allclose(ort, ref, rtol=1e-6, atol=1e-4, err_msg=f"{model_id}: ONNX Runtime vs PyTorch")


@requires_dataset("energy-efficiency")
def test_build_defaults_rebuilds_a_small_model_end_to_end(tmp_path):
    from bigmodel_core.train.recipes import build_defaults

    [result] = build_defaults(["energy-heating-mlp"], device="cpu", root=tmp_path)
    assert result["problems"] == [] and result["parity"] <= 1e-4
    card = ModelCard.read(tmp_path / "energy-heating-mlp" / "card.json")
    assert card.metrics["test"]["r2"] >= 0.99 and card.baseline["metrics"]["r2"] < card.metrics["test"]["r2"]
    assert card.split["evaluated_on"] == "test" and card.is_set("seed") and card.seed == 0


def test_build_defaults_rebuilds_a_model_of_bundled_data_as_shipped(tmp_path):
    """Runs everywhere (the diabetes data ships with scikit-learn): the rebuilt card matches the shipped one."""
    from bigmodel_core.train.recipes import build_defaults

    [result] = build_defaults(["diabetes-mlp"], device="cpu", root=tmp_path)
    assert result["problems"] == [] and result["parity"] <= 1e-4
    card = ModelCard.read(tmp_path / "diabetes-mlp" / "card.json")
    shipped = shipped_card("diabetes-mlp")
    assert card.metrics["test"]["r2"] == pytest.approx(shipped.metrics["test"]["r2"], abs=0.02)
    assert card.baseline["metrics"]["r2"] < card.metrics["test"]["r2"]
    assert card.split == shipped.split and card.is_set("seed") and card.seed == 0
