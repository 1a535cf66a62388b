"""Shared AppTest helpers: open a page in a language, find widgets and the prediction, collect what went wrong.

Every page test builds its `AppTest` here, so the time-outs, the language switch and the
"no exception" check are the same everywhere:

- `APP`, `DOMAIN_PAGES`, `EN`/`ZH` (the page words), `built(model_id)`;
- `open_page(page, lang)`: the whole app (app.py, its navigation), switched to `page`;
- `run_page(path, lang)`: one page file run on its own (faster; no navigation);
- `no_exception(at)`, `errors(at)`: what went wrong, as a user would see it;
- `by_label(at, kind, label)`, `metric_value(at, label)`: widgets found by the words they show;
- `prediction_metrics(at, lang)`: the prediction a domain page shows (label or number);
- `shown_texts(at)`: every word a page shows (text elements, widget labels, options, help).
"""
from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from bigmodel_core.app import domains
from bigmodel_core.paths import models_dir
from ui.i18n import table

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
EN, ZH = table("en"), table("zh")
DOMAIN_PAGES = {d: f"pages/domain_{d.replace('-', '_')}.py" for d in domains.DOMAINS}


def built(model_id: str) -> bool:
    """Whether the registry holds `model_id` (a shipped model may not be built yet)."""
    return (models_dir() / model_id / "model.onnx").exists()


def words(lang: str) -> dict:
    """The page words of `lang` ("en" or "zh")."""
    return EN if lang == "en" else ZH


def no_exception(at: AppTest) -> None:
    """The page ran without a traceback (Streamlit's red exception box)."""
    assert not at.exception, [e.value for e in at.exception]


def errors(at: AppTest) -> list[str]:
    """Every error box and exception the page shows, as text."""
    return [e.value for e in at.error] + [str(e.value) for e in at.exception]


def _prepare(at: AppTest, lang: str, params: dict | None, state: dict) -> AppTest:
    at.session_state["lang"] = lang
    for key, value in state.items():
        at.session_state[key] = value
    at.query_params.update(params or {})
    return at


def open_page(page: str | None = None, lang: str = "en", *, params: dict | None = None, timeout: float = 180,
              check: bool = True, **state) -> AppTest:
    """The whole app in `lang` with `state` set, switched to `page` (None: the home page); `check`: no exception."""
    at = _prepare(AppTest.from_file(APP, default_timeout=timeout), lang, params, state)
    at.run()
    if page:
        at.switch_page(page).run()
    if check:
        no_exception(at)
    return at


def run_page(path: str | Path, lang: str = "en", *, params: dict | None = None, timeout: float = 90,
             check: bool = True, **state) -> AppTest:
    """One page file run on its own in `lang` with `state` set; `check`: no exception."""
    at = _prepare(AppTest.from_file(str(path), default_timeout=timeout), lang, params, state)
    at.run()
    if check:
        no_exception(at)
    return at


def by_label(at: AppTest, kind: str, label: str):
    """The first widget of `kind` ("slider", "button", "metric", …) whose label is `label`."""
    found = [w for w in getattr(at, kind) if w.label == label]
    assert found, f"no {kind} labelled {label!r}: {[w.label for w in getattr(at, kind)]}"
    return found[0]


def metric_value(at: AppTest, label: str) -> str:
    """The value shown by the metric labelled `label`."""
    return by_label(at, "metric", label).value


def prediction_metrics(at: AppTest, lang: str = "en") -> list:
    """The metrics a domain page shows its prediction in ("Prediction", or "Predicted <target>")."""
    tab = words(lang)
    prefix = tab["domain.predicted"].split("{")[0]
    return [m for m in at.metric if m.label == tab["domain.prediction"] or m.label.startswith(prefix)]


def shown_prediction(at: AppTest, lang: str = "en") -> list[tuple[str, str | None]]:
    """What the prediction metrics say: (value, delta) each — the label or number and its confidence."""
    return [(m.value, m.delta) for m in prediction_metrics(at, lang)]


TEXT_KINDS = ("title", "header", "subheader", "markdown", "caption", "warning", "error", "info", "success",
              "metric", "button", "expander", "selectbox", "radio", "toggle", "slider", "select_slider",
              "checkbox", "tabs")


def shown_texts(at: AppTest) -> list[str]:
    """What the page shows in words: text elements, widget labels, options and help."""
    texts = []
    for kind in TEXT_KINDS:
        for el in getattr(at, kind, []):
            for attr in ("value", "label", "delta", "help", "placeholder"):
                value = getattr(el, attr, None)
                if isinstance(value, str):
                    texts.append(value)
            if kind in ("selectbox", "radio"):
                texts += [str(o) for o in el.options]
    return texts
