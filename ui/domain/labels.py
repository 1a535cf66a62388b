"""Names in words for the domain pages: feature labels, codes (weathersit 1 → 'clear'), display units, titles."""
from __future__ import annotations

import numpy as np

from bigmodel_core.app import domains
from bigmodel_core.app.domains import slug
from bigmodel_core.data import catalog
from ui.layout import fmt, tr


def feature_label(dataset: str, column: str) -> str:
    return tr(f"domain.feat.{dataset}.{slug(column)}", column)


def _code_key(value) -> str:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return str(value)
    return str(int(v)) if v.is_integer() else f"{v:g}"


def code_text(dataset: str, column: str, value) -> str:
    """A coded value in words where the data has a code book (weathersit 1 → 'clear'), else the value."""
    codes = tr(f"domain.codes.{dataset}.{slug(column)}", None)
    key = _code_key(value)
    if isinstance(codes, dict) and key in codes:
        return codes[key]
    if isinstance(value, str):
        return tr(f"common.value.{slug(value)}", value)
    return key if isinstance(value, (int, float, np.integer, np.floating)) else str(value)


def value_text(dataset: str, column: str, value) -> str:
    """A value as the data (and the model) holds it, written as people read it: in display units (the bike
    data's temperature 0.5 → '20.5', °C), codes in words (weather 1 → 'clear'), other numbers rounded.
    The explanations of the domain pages and of the predict page both label their bars with it."""
    if isinstance(value, str):
        return code_text(dataset, column, value)
    if column in domains.display_scale(dataset):
        return fmt(domains.to_display(dataset, column, value))
    shown = code_text(dataset, column, value)
    if shown != _code_key(value):
        return shown                                                # a code in words
    v = float(value)
    return f"{int(v):,}" if v.is_integer() else fmt(v)              # hour 12, not 12.0


def has_codes(dataset: str, column: str) -> bool:
    """Whether the column's values have names in words (a code book) for this dataset."""
    return isinstance(tr(f"domain.codes.{dataset}.{slug(column)}", None), dict)


def code_order(dataset: str, column: str, values) -> list:
    """Distinct values in code-book order (L, M, H) where there is one, else sorted."""
    codes = tr(f"domain.codes.{dataset}.{slug(column)}", None)
    values = sorted(set(values))
    if isinstance(codes, dict):
        keys = list(codes)
        return sorted(values, key=lambda v: keys.index(_code_key(v)) if _code_key(v) in keys else len(keys))
    return values


def dataset_title(dataset: str) -> str:
    return tr(f"domain.ds.{dataset}.title", catalog.get(dataset).title)


def unit_of(dataset: str) -> str:
    return tr(f"domain.unit.{dataset}", "")
