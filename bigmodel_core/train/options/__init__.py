"""Typed training options, one small module per architecture family (image, text, tabular).

`parse(architecture, raw)` turns a `TrainSpec.options` dict into that architecture's frozen
options model, with its defaults filled in. A misspelt or unknown option, or a value of the
wrong kind, is a `TrainingError` in one line (with the closest known name), never silently
ignored. `sliders(architecture)` gives the ranges the training page's controls use.
"""
from __future__ import annotations

import difflib

from pydantic import BaseModel, ValidationError

from bigmodel_core.errors import TrainingError

from .base import MAX_MEMBERS, Options, Slider
from .image import LeNetOptions, SeedMlpOptions, SmallCnnOptions
from .tabular import LinearOptions, MlpOptions
from .text import MiniLMOptions, TinyBertOptions

__all__ = ["FAMILIES", "MAX_MEMBERS", "Options", "Slider", "options_for", "parse", "sliders"]

FAMILIES: dict[str, type[Options]] = {
    "lenet": LeNetOptions, "mlp-seed": SeedMlpOptions, "small-cnn": SmallCnnOptions,
    "tiny-bert": TinyBertOptions, "minilm": MiniLMOptions,
    "linear": LinearOptions, "mlp": MlpOptions,
}


def options_for(architecture: str) -> type[Options]:
    """The options model of `architecture`."""
    try:
        return FAMILIES[architecture]
    except KeyError:
        raise TrainingError(f"Unknown architecture '{architecture}'.",
                            hint=f"choose one of: {', '.join(FAMILIES)}") from None


def sliders(architecture: str) -> dict[str, Slider]:
    """The training page's shape controls of `architecture` ("width", "depth", "dropout"): range and first value."""
    return dict(options_for(architecture).sliders)


def parse(architecture: str, raw: dict | None) -> Options:
    """`raw` options (a TrainSpec's dict, the CLI's --option pairs) → the architecture's typed options."""
    model = options_for(architecture)
    if raw is not None and not isinstance(raw, dict):
        raise TrainingError(f"Options must be a mapping of names to values, not {type(raw).__name__}.")
    try:
        return model.model_validate(raw or {})
    except ValidationError as exc:
        raise _one_line(exc, architecture, model) from None


def _fields_at(model: type[BaseModel], path: tuple) -> list[str]:
    """The option names known at `path` (a nested stage's own names inside it)."""
    for part in path:
        field = model.model_fields.get(part)
        nested = [a for a in getattr(field.annotation, "__args__", (field.annotation,)) if isinstance(a, type)
                  and issubclass(a, BaseModel)] if field else []
        if not nested:
            break
        model = nested[0]
    return list(model.model_fields)


def _one_line(exc: ValidationError, architecture: str, model: type[Options]) -> TrainingError:
    err = exc.errors()[0]
    loc = tuple(str(p) for p in err["loc"])
    name = ".".join(loc)
    if err["type"] == "extra_forbidden":
        known = _fields_at(model, loc[:-1])
        close = difflib.get_close_matches(loc[-1], known, n=1)
        hint = (f"did you mean '{'.'.join(loc[:-1] + (close[0],))}'? " if close else "") + \
            f"{'.'.join(loc[:-1]) or architecture} knows: {', '.join(known)}"
        return TrainingError(f"Unknown option '{name}' for {architecture}.", hint=hint)
    if err["type"] == "value_error":                                    # our own validators' words
        return TrainingError(str(err["ctx"]["error"]) + ".", hint=f"set options.{name} to a small whole number")
    return TrainingError(f"Option '{name}' = {err.get('input')!r} is not valid for {architecture}: "
                         f"{err['msg'][:1].lower() + err['msg'][1:]}.", hint="see --help or the architecture's options")
