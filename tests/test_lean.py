"""Issue 19: a prediction needs neither torch nor scikit-learn.

Each CLI verb of the inference path runs in a fresh interpreter; after it has printed its answer,
neither `torch` nor `sklearn` (nor scipy) may be in `sys.modules`. The answers are checked too, so a
verb that silently did nothing cannot pass.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bigmodel_core.serve.card import ModelCard
from tests.conftest import requires_dataset

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "sklearn", "scipy", "captum", "transformers")
PROBE = ("import atexit, json, runpy, sys\n"
         f"atexit.register(lambda: sys.stderr.write('LOADED=' + json.dumps([m for m in {HEAVY!r}\n"
         "                                                                if m in sys.modules])))\n"
         "sys.argv = ['bigmodel_core'] + sys.argv[1:]\n"
         "runpy.run_module('bigmodel_core', run_name='__main__', alter_sys=True)\n")


def run_verb(*argv: str) -> tuple[str, list[str]]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", PROBE, *argv], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout, json.loads(out.stderr.rsplit("LOADED=", 1)[1])


def test_predict_text_loads_no_torch_nor_sklearn():
    out, loaded = run_verb("predict", "sst2-tiny", "a wonderful, moving film", "--json")
    assert json.loads(out)["label"] == "positive"
    assert loaded == []


def test_predict_image_loads_no_torch_nor_sklearn():
    out, loaded = run_verb("predict", "cifar10-cnn", str(ROOT / "models/cifar10-cnn/examples/000.png"), "--json")
    answer = json.loads(out)
    assert answer["label"] in answer["scores"] and abs(sum(answer["scores"].values()) - 1) < 1e-6
    assert loaded == []


def test_predict_table_row_loads_no_torch_nor_sklearn(tmp_path):
    rows = (ROOT / "models/bike-demand-mlp/examples/examples.csv").read_text().splitlines()[:3]
    (tmp_path / "rows.csv").write_text("\n".join(rows) + "\n")
    out, loaded = run_verb("predict", "bike-demand-mlp", "--csv", str(tmp_path / "rows.csv"), "--json")
    answers = [json.loads(line)["prediction"] for line in out.splitlines()]
    assert len(answers) == 2 and all(a >= 0 for a in answers)
    assert loaded == []


@pytest.mark.parametrize("model", [pytest.param("sst2-tiny", marks=requires_dataset("sst2"), id="sst2-tiny"),
                                   pytest.param("bike-demand-mlp", marks=requires_dataset("bike-sharing"),
                                                id="bike-demand-mlp")])
def test_eval_scores_the_card_without_torch_nor_sklearn(model):
    """The card's test figures come from the whole test split: skips (naming the fetch command) without it."""
    out, loaded = run_verb("eval", model, "--json")
    card = ModelCard.read(ROOT / "models" / model / "card.json")
    result = json.loads(out)
    for name, value in card.metrics["test"].items():       # the same rows, the same numbers as the card
        assert result[name] == pytest.approx(value, abs=1e-6), name
    assert loaded == []


@pytest.mark.parametrize("verb", ["models", "datasets"])
def test_listing_verbs_load_no_torch_nor_sklearn(verb):
    out, loaded = run_verb(verb, "--json")
    listing = json.loads(out)
    assert (listing["models"] if verb == "models" else listing)
    assert loaded == []
