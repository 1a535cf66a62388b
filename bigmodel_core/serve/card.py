"""The model card as a typed, frozen object: `ModelCard`, validated whenever it is read or written.

A card is the `card.json` beside each registry model's `model.onnx`. `ModelCard` has one typed
field per key a card may hold; unknown keys are refused, the required ones must be present, and
a value of the wrong type is refused with a message naming its field. The object is frozen: a
changed card is a new one (`card.model_copy(update={...})`, which validates again).

The card keeps the order and the set of its keys, so `to_json()` writes exactly what was read
(fields never set are left out rather than written as null) and a shipped card loaded and
written back is byte-identical. Values are held as they are in JSON (lists, not tuples; string
keys), so the card in memory is the card on disk.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, PrivateAttr, ValidationError, model_validator

from bigmodel_core.errors import ModelError

Number = int | float          # ints stay ints and floats stay floats, so a card round-trips byte for byte


class ModelCard(BaseModel):
    """What a registry model is, how it was trained and how well it scored (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    id: str
    task: Literal["image", "text", "tabular"]
    problem: Literal["classification", "regression"]
    labels: list[str]                                   # class names; [] for a regression model
    input_spec: list[dict[str, Any]]                    # the ONNX inputs: name, shape, dtype
    preprocessing: dict[str, Any]                       # what serve/preprocess.py needs
    sha256: str                                         # of model.onnx, checked at load
    title: str | None = None
    dataset: str | None = None
    split: dict[str, Any] | None = None
    architecture: str | None = None
    arch_config: dict[str, Any] | None = None
    parameters: int | None = None
    metrics: dict[str, Any] = {}                        # {"val": {...}, "test": {...}}
    baseline: dict[str, Any] | None = None
    output: dict[str, Any] | None = None
    parity_max_abs_diff: Number | None = None
    created: str | None = None
    onnx_bytes: int | None = None
    seed: int = 0
    training_time_s: Number | None = None
    train_config: dict[str, Any] | None = None
    history: dict[str, Any] | None = None
    shipped: bool = False
    notes: str | None = None
    quantized_from: dict[str, Any] | None = None
    weights: str | None = None                          # the safetensors asset, None when there is none
    device: str | None = None
    assets: list[str] = []
    card_version: int | None = None
    examples: dict[str, Any] | None = None
    ood: dict[str, Any] | None = None
    target_range: dict[str, Any] | None = None

    _order: tuple[str, ...] = PrivateAttr(default=())   # the keys set, in the order they came

    @model_validator(mode="wrap")
    @classmethod
    def _as_json(cls, data: Any, handler: Any) -> ModelCard:
        """Validate the JSON form of `data` (what would be written) and remember its keys' order."""
        if isinstance(data, ModelCard):
            return data
        if isinstance(data, dict):
            try:
                data = json.loads(json.dumps(data, ensure_ascii=False))
            except (TypeError, ValueError) as exc:
                raise ValueError(f"the card cannot be written as JSON ({exc})") from None
        card = handler(data)
        if isinstance(data, dict):
            card._order = tuple(data)
        return card

    # --- reading and writing -------------------------------------------------------------------

    @classmethod
    def from_dict(cls, data: Any, name: str = "this model") -> ModelCard:
        """Validate a card's fields; a ModelError names what is wrong (`name`: the model, for the message)."""
        if not isinstance(data, dict):
            raise ModelError(f"The card of '{name}' is not a JSON object.", hint="re-export the model")
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise _card_error(exc, name) from None

    @classmethod
    def from_json(cls, text: str, name: str = "this model") -> ModelCard:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ModelError(f"The card of '{name}' is not valid JSON.", hint="re-export the model") from exc
        return cls.from_dict(data, name)

    @classmethod
    def read(cls, path: Path, name: str | None = None) -> ModelCard:
        """The card in `path` (a card.json); `name` defaults to its folder's name."""
        path = Path(path)
        name = name or path.parent.name
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ModelError(f"The card of '{name}' is not valid JSON.", hint="re-export the model") from exc
        return cls.from_json(text, name)

    def to_dict(self) -> dict[str, Any]:
        """The fields set, in their order, as plain JSON values (a copy: changing it changes no card)."""
        return json.loads(json.dumps({key: getattr(self, key) for key in self._order}, ensure_ascii=False))

    def to_json(self) -> str:
        """The text of card.json (indent 2, UTF-8 kept as is), exactly as the registry writes it."""
        return json.dumps({key: getattr(self, key) for key in self._order}, indent=2, ensure_ascii=False)

    def write(self, path: Path) -> None:
        Path(path).write_text(self.to_json(), encoding="utf-8")

    def model_copy(self, *, update: dict[str, Any] | None = None, deep: bool = False) -> ModelCard:
        """A copy with `update` applied and validated again (new keys go last, as `dict(card, **update)`)."""
        if not update:
            return super().model_copy(deep=deep)
        try:
            return type(self).model_validate({**self.to_dict(), **update})
        except ValidationError as exc:
            raise _card_error(exc, self.id) from None

    def split_args(self) -> dict[str, Any]:
        """How the model's dataset was split: `load_dataset`'s seed and max_rows (0 and every row when unrecorded)."""
        split = self.split or {}
        return {"seed": split.get("seed", 0), "max_rows": split.get("max_rows")}

    def is_set(self, key: str) -> bool:
        """Whether the card holds `key` (a field left at its default is not written)."""
        return key in self._order


def _card_error(exc: ValidationError, name: str) -> ModelError:
    """One clear line for the first kind of problem pydantic found (unknown, missing, then wrong type)."""
    errors = exc.errors()
    unknown = sorted({str(e["loc"][0]) for e in errors if e["type"] == "extra_forbidden" and e["loc"]})
    if unknown:
        return ModelError(f"The card of '{name}' has unknown fields: {', '.join(unknown)}.",
                          hint="the card may come from another tool or version; re-export the model")
    missing = sorted({str(e["loc"][0]) for e in errors if e["type"] == "missing" and len(e["loc"]) == 1})
    if missing:
        return ModelError(f"The card of '{name}' lacks: {', '.join(missing)}.", hint="re-export the model")
    first = errors[0]
    if not first["loc"]:
        return ModelError(f"The card of '{name}' is not valid: {first['msg'].removeprefix('Value error, ')}.")
    field = str(first["loc"][0])
    where = ".".join([field] + [str(p) for p in first["loc"][1:] if isinstance(p, int)])   # not union tags
    said = dict.fromkeys(e["msg"] for e in errors if e["loc"] and str(e["loc"][0]) == field)
    return ModelError(f"The card of '{name}' has a wrong value in '{where}': {' or '.join(said)}.",
                      hint="re-export the model")
