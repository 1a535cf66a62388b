"""Deployment settings: an environment variable first, then the `[bigmodel]` table of a TOML file.

`setting("max_trainings", 0)` reads `BIGMODEL_MAX_TRAININGS`, else `max_trainings`
under `[bigmodel]` in `bigmodel.toml` at the project root (or the file named by
`BIGMODEL_CONFIG`), else the default. Streamlit's own `.streamlit/config.toml`
is not used: it warns about sections it does not know.

    # bigmodel.toml
    [bigmodel]
    max_trainings = 2        # trainings that run at once; the rest wait in a queue
    owner_timeout_s = 90     # a closed tab's jobs are stopped this long after it was last seen
"""
from __future__ import annotations

import logging
import os
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bigmodel_core.paths import PROJECT_ROOT

log = logging.getLogger(__name__)


def config_file() -> Path:
    env = os.environ.get("BIGMODEL_CONFIG", "").strip()
    return Path(env).expanduser() if env else PROJECT_ROOT / "bigmodel.toml"


def _table() -> dict:
    path = config_file()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        log.warning("ignoring %s: %s", path, exc)
        return {}
    table = data.get("bigmodel", {})
    return table if isinstance(table, dict) else {}


def setting(name: str, default: Any = None, cast: Callable[[Any], Any] = int) -> Any:
    """`BIGMODEL_<NAME>` from the environment, else `[bigmodel] <name>` from the config file, else `default`.

    A value that `cast` refuses is logged and replaced by the default (a typo never stops the app).
    """
    env_name = f"BIGMODEL_{name.upper()}"
    sources = [(env_name, os.environ.get(env_name, "").strip() or None)]
    sources.append((f"{config_file().name} [bigmodel] {name}", _table().get(name)))
    for where, raw in sources:
        if raw is None:
            continue
        try:
            return cast(raw)
        except (TypeError, ValueError):
            log.warning("%s=%r is not valid; ignored", where, raw)
    return default
