"""The typed model card: shipped cards round-trip byte for byte; bad cards are refused on load and on write."""
import json
import shutil
from pathlib import Path

import pydantic
import pytest

from bigmodel_core.errors import ModelError
from bigmodel_core.serve import registry
from bigmodel_core.serve.card import ModelCard

MODELS = Path(__file__).resolve().parents[1] / "models"
SHIPPED = sorted(p.parent.name for p in MODELS.glob("*/card.json"))
CARD = dict(task="tabular", problem="regression", labels=[], input_spec=[], preprocessing={})


def _onnx(tmp_path, content=b"fake onnx bytes"):
    p = tmp_path / "src.onnx"
    p.write_bytes(content)
    return p


def _entries(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir() if p.name != registry.LOCK_FILE)     # .tmp-* folders count


@pytest.mark.parametrize("model_id", SHIPPED)
def test_every_shipped_card_is_written_back_byte_identical(model_id):
    text = (MODELS / model_id / "card.json").read_text(encoding="utf-8")
    card = ModelCard.read(MODELS / model_id / "card.json")
    assert card.id == model_id and card.to_json() == text
    assert ModelCard.from_dict(card.to_dict()).to_json() == text          # and again from its fields


def test_a_registry_update_without_changes_keeps_the_card_byte_identical(tmp_registry):
    shutil.copytree(MODELS / "diabetes-mlp", tmp_registry / "diabetes-mlp")
    before = (tmp_registry / "diabetes-mlp" / "card.json").read_bytes()
    registry.update("diabetes-mlp", {}, root=tmp_registry)
    assert (tmp_registry / "diabetes-mlp" / "card.json").read_bytes() == before
    entry = registry.load("diabetes-mlp", tmp_registry)
    assert isinstance(entry.card, ModelCard) and entry.card.problem == "regression" and entry.card.shipped


def test_fields_never_written_stay_out_of_the_json(tmp_registry, tmp_path):
    registry.save("demo", _onnx(tmp_path), CARD)
    written = json.loads((tmp_registry / "demo" / "card.json").read_text())
    assert set(written) == set(CARD) | {"id", "sha256", "onnx_bytes", "assets", "created", "card_version"}
    card = registry.load("demo").card
    assert card.dataset is None and card.metrics == {} and card.shipped is False and card.seed == 0


def test_unknown_field_is_refused_on_load(tmp_registry, tmp_path):
    registry.save("odd", _onnx(tmp_path), CARD)
    path = tmp_registry / "odd" / "card.json"
    path.write_text(json.dumps(dict(json.loads(path.read_text()), surprise=1, another=2)))
    with pytest.raises(ModelError, match="The card of 'odd' has unknown fields: another, surprise"):
        registry.load("odd")
    good, bad = registry.list_models()
    assert good == [] and "unknown fields" in bad["odd"]


def test_unknown_field_is_refused_on_write_and_nothing_is_written(tmp_registry, tmp_path):
    with pytest.raises(ModelError, match="unknown fields: surprise"):
        registry.save("odd", _onnx(tmp_path), dict(CARD, surprise=1))
    assert _entries(tmp_registry) == []
    registry.save("fine", _onnx(tmp_path), CARD)
    before = (tmp_registry / "fine" / "card.json").read_bytes()
    with pytest.raises(ModelError, match="unknown fields: surprise"):
        registry.update("fine", {"surprise": 1})
    assert (tmp_registry / "fine" / "card.json").read_bytes() == before and _entries(tmp_registry) == ["fine"]


def test_missing_required_field_is_named(tmp_registry, tmp_path):
    with pytest.raises(ModelError, match="The card of 'demo' lacks: input_spec, task"):
        registry.save("demo", _onnx(tmp_path), {k: v for k, v in CARD.items() if k not in ("task", "input_spec")})
    assert _entries(tmp_registry) == []
    registry.save("demo", _onnx(tmp_path), CARD)
    path = tmp_registry / "demo" / "card.json"
    path.write_text(json.dumps({k: v for k, v in json.loads(path.read_text()).items() if k != "labels"}))
    with pytest.raises(ModelError, match="The card of 'demo' lacks: labels"):
        registry.load("demo")


@pytest.mark.parametrize("field, value", [("parameters", "many"), ("task", "audio"), ("metrics", [1, 2]),
                                          ("labels", [1, 2]), ("shipped", "yes"), ("parity_max_abs_diff", "0")])
def test_a_wrong_type_is_refused_before_anything_is_written_and_names_the_field(tmp_registry, tmp_path, field, value):
    with pytest.raises(ModelError, match=f"wrong value in '{field}") as err:
        registry.save("demo", _onnx(tmp_path), dict(CARD, **{field: value}))
    assert "\n" not in str(err.value)
    assert _entries(tmp_registry) == []                                   # not even a temporary folder
    registry.save("demo", _onnx(tmp_path), CARD)
    before = (tmp_registry / "demo" / "card.json").read_bytes()
    with pytest.raises(ModelError, match=f"wrong value in '{field}"):
        registry.update("demo", {field: value}, files={"extra.txt": "x"})
    assert (tmp_registry / "demo" / "card.json").read_bytes() == before
    assert _entries(tmp_registry) == ["demo"] and not (tmp_registry / "demo" / "extra.txt").exists()


def test_a_wrong_type_in_a_card_on_disk_is_refused_at_load(tmp_registry, tmp_path):
    registry.save("demo", _onnx(tmp_path), CARD)
    path = tmp_registry / "demo" / "card.json"
    path.write_text(json.dumps(dict(json.loads(path.read_text()), onnx_bytes="15")))
    with pytest.raises(ModelError, match="The card of 'demo' has a wrong value in 'onnx_bytes'"):
        registry.load("demo")


def test_a_value_json_cannot_hold_is_refused(tmp_path):
    with pytest.raises(ModelError, match="cannot be written as JSON"):
        ModelCard.from_dict(dict(CARD, id="demo", sha256="0", notes=object()))


def test_the_card_is_frozen():
    card = ModelCard.read(MODELS / "mnist-cnn" / "card.json")
    with pytest.raises(pydantic.ValidationError, match="frozen"):
        card.task = "text"


def test_model_copy_validates_and_leaves_the_original_alone():
    card = ModelCard.read(MODELS / "diabetes-mlp" / "card.json")
    rng = {"min": 25.0, "max": 346.0}
    copy = card.model_copy(update={"target_range": rng, "notes": "changed"})
    assert copy.target_range == rng and copy.notes == "changed" and card.notes != "changed"
    assert list(json.loads(copy.to_json())) == list(json.loads(card.to_json()))   # known keys keep their place
    new = card.model_copy(update={"ood": {"method": "x"}})
    assert list(json.loads(new.to_json()))[-1] == "ood"                            # a new key goes last
    with pytest.raises(ModelError, match="wrong value in 'seed'"):
        card.model_copy(update={"seed": "zero"})


def test_save_accepts_a_model_card(tmp_registry, tmp_path):
    card = ModelCard(id="ignored", sha256="ignored", **CARD).model_copy(update={"title": "A demo"})
    registry.save("demo", _onnx(tmp_path), card)
    loaded = registry.load("demo").card
    assert loaded.id == "demo" and loaded.title == "A demo" and loaded.sha256 != "ignored"


def test_fields_read_as_attributes_match_the_json_and_string_keys_are_gone():
    card = ModelCard.read(MODELS / "mnist-cnn" / "card.json")
    raw = json.loads((MODELS / "mnist-cnn" / "card.json").read_text(encoding="utf-8"))
    assert card.task == raw["task"] and card.dataset == raw["dataset"] and card.ood == raw["ood"]
    assert card.target_range is None and not card.is_set("target_range") and card.is_set("ood")
    with pytest.raises(TypeError):
        card["task"]                                        # a card is read by attribute, never by string key
