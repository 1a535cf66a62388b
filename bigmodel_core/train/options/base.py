"""What every architecture's training options share: refusing unknown keys, the ensemble size, slider ranges.

Each family (image, text, tabular) declares its options as a frozen pydantic model
derived from `Options`, with the defaults the pipeline trains with, and `sliders`: the
range and first value of each control the training page shows for it.
"""
from __future__ import annotations

from typing import Any, ClassVar, NamedTuple

from pydantic import BaseModel, ConfigDict, field_validator

MAX_MEMBERS = 16                                  # seeds averaged in one ensemble (options.ensemble)


class Slider(NamedTuple):
    """One control of the training page: its range, step and first value."""

    lo: float
    hi: float
    step: float
    default: float


class Options(BaseModel):
    """Options every architecture accepts. Unknown keys are refused; values are checked by type."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # the training page's shape controls: "width", "depth", "dropout" (absent: no such control)
    sliders: ClassVar[dict[str, Slider]] = {}

    ensemble: int = 1                             # K copies trained with seeds seed, seed+1, …, averaged

    @field_validator("ensemble", mode="before")
    @classmethod
    def _members(cls, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_MEMBERS:
            raise ValueError(f"An ensemble has 1 to {MAX_MEMBERS} members, not {value!r}")
        return value

    @classmethod
    def from_sliders(cls, width: int, depth: int, dropout: float, augment: str) -> dict:
        """The training page's control values → the options dict a `TrainSpec` carries."""
        return {}


class Stage(BaseModel):
    """A nested group of options (one extra training stage): unknown keys refused too."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def empty_is_none(value: Any) -> Any:
    """An empty stage ({} or None) means no such stage, as it always has."""
    return value or None
