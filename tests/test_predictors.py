"""One cache of predictors per process: a second prediction reuses the session; deleting or replacing
a model drops its cached predictor, so a deleted model stops answering and a replaced one answers anew."""
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bigmodel_core.errors import ModelError
from bigmodel_core.serve import predictors, registry
from bigmodel_core.serve.card import ModelCard

SHIPPED = Path(__file__).resolve().parents[1] / "models"


def _copy(model_id: str, root: Path, new_id: str) -> Path:
    folder = root / new_id
    shutil.copytree(SHIPPED / model_id, folder)
    card = json.loads((folder / "card.json").read_text())
    card.update(id=new_id, shipped=False)
    (folder / "card.json").write_text(json.dumps(card))
    return folder


@pytest.fixture
def two_models(tmp_registry):
    predictors.forget()
    yield _copy("bike-demand-mlp", tmp_registry, "bikes"), _copy("energy-heating-mlp", tmp_registry, "energy")
    predictors.forget()


def _row(folder: Path) -> pd.DataFrame:
    return pd.read_csv(folder / "examples" / "examples.csv").head(1)


def test_the_same_model_reuses_one_session(two_models):
    bikes, _ = two_models
    sha = registry.load("bikes").card.sha256
    first = predictors.get(bikes, sha)
    assert predictors.get(str(bikes), sha) is first and predictors.get(bikes) is first
    assert predictors.cached_folders() == [str(bikes.resolve())]


def test_deleting_a_model_drops_its_predictor_and_only_its(two_models):
    bikes, energy = two_models
    predictors.get(bikes)
    predictors.get(energy)
    registry.delete("bikes")
    assert predictors.cached_folders() == [str(energy.resolve())]
    with pytest.raises(ModelError):
        predictors.get(bikes)                              # a deleted model answers with a clear error


def test_replacing_a_model_answers_with_the_new_one(two_models):
    bikes, energy = two_models
    row = _row(bikes)
    before = predictors.get(bikes).predict(row)[0].value
    # replace "bikes" by another network (the energy model's file, card and encoder) under the same id
    card = ModelCard.read(energy / "card.json").model_copy(update={"id": "bikes"})
    registry.save("bikes", energy / "model.onnx", card, {"encoder.json": energy / "encoder.json"})
    assert str(bikes.resolve()) not in predictors.cached_folders()
    now = predictors.get(bikes)
    assert now.card.sha256 == card.sha256
    energy_row = _row(energy)
    assert now.predict(energy_row)[0].value == pytest.approx(predictors.get(energy).predict(energy_row)[0].value)
    assert not np.isclose(before, now.predict(energy_row)[0].value)
