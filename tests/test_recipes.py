"""The shipped models' recipe table is shared: building one (on another device, or as a GPU-build variant)
must never change it, or a second build in the same process would train something else."""
from __future__ import annotations

import copy
import importlib.util
import json
import re
from pathlib import Path

import pytest

from bigmodel_core.serve.card import ModelCard
from bigmodel_core.train import recipes

ROOT = Path(__file__).resolve().parent.parent


def _gpu_build():
    spec = importlib.util.spec_from_file_location("gpu_build", ROOT / "scripts" / "gpu_build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)             # defines functions only: nothing builds on import
    return module


def test_a_build_on_another_device_leaves_the_recipe_table_unchanged():
    before = copy.deepcopy(recipes.RECIPES)
    spec = recipes.spec_for(recipes.RECIPES["mnist-cnn"], device="cuda")
    assert spec.config.device == "cuda" and spec.options == before["mnist-cnn"].spec.options
    assert before == recipes.RECIPES and recipes.RECIPES["mnist-cnn"].spec.config.device == "auto"


def test_a_gpu_build_variant_is_a_copy_and_the_recipe_table_is_unchanged():
    before = copy.deepcopy(recipes.RECIPES)
    gpu_build = _gpu_build()
    wide = gpu_build.recipe_for('sst2-tiny={"as": "sst2-wide", "options": {"hidden": 256}, "config": {"epochs": 2}}')
    assert wide.id == "sst2-wide" and wide.spec.options["hidden"] == 256 and wide.spec.config.epochs == 2
    assert wide.spec.options["layers"] == before["sst2-tiny"].spec.options["layers"]     # the rest is the recipe's
    built = recipes.spec_for(wide, device="cuda")
    assert built.config.device == "cuda" and built.config.epochs == 2
    assert before == recipes.RECIPES
    assert gpu_build.recipe_for("mnist-cnn") == before["mnist-cnn"]
    with pytest.raises(TypeError):                                             # a misspelt config field
        gpu_build.recipe_for("mnist-cnn=" + json.dumps({"config": {"epohcs": 3}}))
    assert before == recipes.RECIPES


def test_the_card_notes_build_defaults_writes_are_translated_and_kept_short():
    """A recipe's notes become the card's "Notes and caveats", shown in English or Chinese; trial logs live
    in docs/experiments.md, not in these strings."""
    en = json.loads((ROOT / "ui" / "locales" / "en.json").read_text(encoding="utf-8"))
    zh = json.loads((ROOT / "ui" / "locales" / "zh.json").read_text(encoding="utf-8"))
    for recipe in recipes.RECIPES.values():
        if not recipe.notes:
            continue
        assert en[f"model.{recipe.id}.notes"] == recipe.notes, recipe.id
        assert re.search(r"[\u4e00-\u9fff]", zh[f"model.{recipe.id}.notes"]), recipe.id
        card = ROOT / "models" / recipe.id / "card.json"
        if card.exists():
            assert ModelCard.read(card).notes == recipe.notes, recipe.id
        assert len(recipe.notes) <= 800, f"{recipe.id}: move the experiment log to docs/experiments.md"
    log = (ROOT / "docs" / "experiments.md").read_text(encoding="utf-8")
    assert "## `sst2-tiny`" in log and "## `waimai-tiny`" in log
