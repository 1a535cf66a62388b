"""The registry: atomic saves, sha256 checked at load, safe ids, broken entries refused one by one."""
import json

import pytest

from bigmodel_core.errors import ModelError
from bigmodel_core.serve import registry

CARD = dict(task="tabular", problem="regression", labels=[], input_spec=[], preprocessing={})


def _onnx(tmp_path, content=b"fake onnx bytes"):
    p = tmp_path / "src.onnx"
    p.write_bytes(content)
    return p


def test_save_then_load_round_trip(tmp_registry, tmp_path):
    folder = registry.save("demo", _onnx(tmp_path), CARD, {"encoder.json": "{}"})
    entry = registry.load("demo")
    assert entry.folder == folder and entry.card.sha256 == registry.sha256_file(folder / "model.onnx")
    assert (folder / "encoder.json").read_text() == "{}"
    assert not list(tmp_registry.glob(".tmp-*"))


@pytest.mark.parametrize("bad", ["../evil", "a/b", "UPPER", "", "x" * 80, ".hidden", "dots.in.id", "-lead"])
def test_unsafe_ids_are_refused(bad, tmp_registry, tmp_path):
    with pytest.raises(ModelError, match="not a valid model id"):
        registry.save(bad, _onnx(tmp_path), CARD)
    assert list(tmp_registry.iterdir()) == []


def test_tampered_model_is_refused_but_others_still_listed(tmp_registry, tmp_path):
    registry.save("good", _onnx(tmp_path), CARD)
    registry.save("tampered", _onnx(tmp_path), CARD)
    (tmp_registry / "tampered" / "model.onnx").write_bytes(b"changed")
    with pytest.raises(ModelError, match="sha256"):
        registry.load("tampered")
    good, bad = registry.list_models()
    assert [e.id for e in good] == ["good"] and "sha256" in bad["tampered"]


def test_missing_and_unknown_card_fields_are_refused(tmp_registry, tmp_path):
    registry.save("odd", _onnx(tmp_path), CARD)
    card_path = tmp_registry / "odd" / "card.json"
    card = json.loads(card_path.read_text())
    card_path.write_text(json.dumps(dict(card, surprise=1)))
    with pytest.raises(ModelError, match="unknown fields: surprise"):
        registry.load("odd")
    (tmp_registry / "odd" / "card.json").unlink()
    _, bad = registry.list_models()
    assert bad["odd"] == "card.json is missing"


def test_unknown_model_names_the_known_ones(tmp_registry, tmp_path):
    registry.save("alpha", _onnx(tmp_path), CARD)
    with pytest.raises(ModelError) as info:
        registry.load("beta")
    assert "alpha" in info.value.hint


def test_overwrite_replaces_completely_and_interrupted_swap_is_recovered(tmp_registry, tmp_path):
    registry.save("m", _onnx(tmp_path, b"v1"), CARD, {"a.txt": "old"})
    registry.save("m", _onnx(tmp_path, b"v2"), CARD)
    assert (tmp_registry / "m" / "model.onnx").read_bytes() == b"v2"
    assert not (tmp_registry / "m" / "a.txt").exists()
    # a crash between moving the old entry aside and renaming the new one in
    import os

    (tmp_registry / "m").rename(tmp_registry / ".old-m-deadbeef")
    (tmp_registry / ".tmp-m-cafe0000").mkdir()
    (tmp_registry / ".tmp-m-fresh000").mkdir()          # a save still running elsewhere: left alone
    long_ago = 1_000_000_000
    for name in (".old-m-deadbeef", ".tmp-m-cafe0000"):
        os.utime(tmp_registry / name, (long_ago, long_ago))
    good, _ = registry.list_models()
    assert [e.id for e in good] == ["m"]
    hidden = sorted(p.name for p in tmp_registry.glob(".*") if p.name != registry.LOCK_FILE)   # the swap lock stays
    assert hidden == [".tmp-m-fresh000"]


def test_shipped_models_cannot_be_deleted_or_replaced(tmp_registry, tmp_path):
    registry.save("ship", _onnx(tmp_path), dict(CARD, shipped=True))
    with pytest.raises(ModelError, match="cannot be deleted"):
        registry.delete("ship")
    with pytest.raises(ModelError, match="cannot be replaced"):
        registry.save("ship", _onnx(tmp_path), CARD)
    registry.save("mine", _onnx(tmp_path), CARD)
    registry.delete("mine")
    assert [e.id for e in registry.list_models()[0]] == ["ship"]
