"""`bigmodel_core/config.py` is the one place that names and reads every `BIGMODEL_*` setting.

Checked here: every `BIGMODEL_` name anywhere in the project is declared there; no other library
module reads the environment; the README's settings table is the generated one; and reads happen at
call time, so a changed environment is seen without a restart.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from bigmodel_core import config, paths

ROOT = Path(__file__).resolve().parent.parent
NAME = re.compile(r"\bBIGMODEL_[A-Z][A-Z0-9_]*")
SKIP = {".git", ".venv", ".venv-light", ".cache", "models", "node_modules", "__pycache__", "artifacts"}
TEXT = {".py", ".sh", ".md", ".toml", ".txt", ".ini", ".cfg", ".json", ".yml", ".yaml", ""}


def _project_files() -> list[Path]:
    found = []
    for path in ROOT.rglob("*"):
        rel = path.relative_to(ROOT).parts
        if any(part in SKIP or part.startswith(".venv") for part in rel) or not path.is_file():
            continue
        if path.suffix in TEXT and path.stat().st_size < 2_000_000:
            found.append(path)
    return found


def test_every_bigmodel_name_in_the_project_is_declared_in_config():
    declared = {s.env for s in config.SETTINGS}
    undeclared = {}
    for path in _project_files():
        for name in NAME.findall(path.read_text(encoding="utf-8", errors="replace")):
            if name not in declared:
                undeclared.setdefault(name, str(path.relative_to(ROOT)))
    assert undeclared == {}, "declare these in bigmodel_core/config.py"
    assert len(declared) == len(config.SETTINGS), "a setting is declared twice"


def test_the_readme_lists_every_setting_exactly_as_config_declares_it():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert config.markdown_table() in readme, (
        "README.md's Settings section is stale: paste the output of "
        "python -c 'from bigmodel_core.config import markdown_table; print(markdown_table())'")


def _reads_environment(node: ast.AST) -> bool:
    """`os.environ.get(…)`, `os.getenv(…)`, `os.environ[…]` read, `… in os.environ`: not a write or setdefault."""
    def is_environ(n: ast.AST) -> bool:
        return isinstance(n, ast.Attribute) and n.attr == "environ"

    call = node.func if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) else None
    if call and (call.attr == "getenv" or (call.attr == "get" and is_environ(call.value))):
        return True
    if isinstance(node, ast.Subscript) and is_environ(node.value) and isinstance(node.ctx, ast.Load):
        return True
    return isinstance(node, ast.Compare) and any(is_environ(c) for c in node.comparators)


def test_no_library_module_but_config_reads_the_environment():
    readers = []
    for path in sorted((ROOT / "bigmodel_core").rglob("*.py")):
        if path.name == "config.py" and path.parent.name == "bigmodel_core":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if _reads_environment(node):
                readers.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert readers == [], "ask bigmodel_core.config instead"


def test_each_setting_is_read_where_config_says():
    names = {id(v): k for k, v in vars(config).items() if isinstance(v, config.Setting)}
    assert {id(s) for s in config.SETTINGS} == set(names), "a Setting is missing from config.SETTINGS"
    for setting in config.SETTINGS:
        assert setting.read_by and setting.meaning and setting.default_text, setting.env
        if setting.read_by.startswith("bigmodel_core."):           # a module, or the package it was split into
            module = ROOT / Path(*setting.read_by.split("."))
            files = [module.with_suffix(".py")] if module.with_suffix(".py").exists() else sorted(module.rglob("*.py"))
        else:                                                      # a shell script reads the variable itself
            files = [ROOT / setting.read_by]
        source = "".join(f.read_text(encoding="utf-8") for f in files)
        read = f"{names[id(setting)]}.get()" in source or (files[0].suffix == ".sh" and setting.env in source)
        assert read, f"{setting.read_by} does not read {setting.env}"


def test_reads_happen_at_call_time(monkeypatch, tmp_path):
    monkeypatch.setenv("BIGMODEL_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("BIGMODEL_MODELS_DIR", "~/registry")
    monkeypatch.setenv("BIGMODEL_CACHE_DIR", str(tmp_path / "derived"))
    assert paths.data_dir() == tmp_path / "data"
    assert paths.models_dir() == Path.home() / "registry"
    assert paths.cache_dir() == tmp_path / "derived" and (tmp_path / "derived").is_dir()
    monkeypatch.delenv("BIGMODEL_MODELS_DIR")
    assert paths.models_dir() == paths.PROJECT_ROOT / "models"
    monkeypatch.setenv("BIGMODEL_MODELS_DIR", "")                      # empty is unset
    assert paths.models_dir() == paths.PROJECT_ROOT / "models"


def test_flags_numbers_and_typos(monkeypatch, caplog):
    monkeypatch.delenv("BIGMODEL_DEBUG", raising=False)
    assert config.DEBUG.get() is False
    monkeypatch.setenv("BIGMODEL_DEBUG", "0")                          # any value turns a flag on, as before
    assert config.DEBUG.get() is True
    monkeypatch.setenv("BIGMODEL_LOAD_SESSIONS", "3")
    assert config.LOAD_SESSIONS.get() == 3
    monkeypatch.setenv("BIGMODEL_LOAD_SESSIONS", "three")              # a typo: logged, the default
    assert config.LOAD_SESSIONS.get() == 8 and "BIGMODEL_LOAD_SESSIONS" in caplog.text


def test_the_toml_keys_and_their_types(monkeypatch, tmp_path):
    cfg = tmp_path / "bigmodel.toml"
    cfg.write_text('[bigmodel]\nray_address = " auto "\nray_cpus = 4\nray_resources = {trainer = 1}\n'
                   "gpu_mem_limit = 1024\n")
    monkeypatch.setenv("BIGMODEL_CONFIG", str(cfg))
    for name in ("RAY_ADDRESS", "RAY_CPUS", "RAY_RESOURCES", "GPU_MEM_LIMIT"):
        monkeypatch.delenv(f"BIGMODEL_{name}", raising=False)
    assert config.config_file() == cfg
    assert config.RAY_ADDRESS.get() == "auto" and config.RAY_CPUS.get() == 4.0
    assert config.RAY_RESOURCES.get() == {"trainer": 1.0} and config.GPU_MEM_LIMIT.get() == 1024
    monkeypatch.setenv("BIGMODEL_RAY_RESOURCES", '{"gpu_node": 2}')        # the environment wins, as JSON
    assert config.RAY_RESOURCES.get() == {"gpu_node": 2.0}
    monkeypatch.setenv("BIGMODEL_RAY_RESOURCES", '{"gpu_node": -1}')       # refused: the file's value
    assert config.RAY_RESOURCES.get() == {"trainer": 1.0}
    with pytest.raises(KeyError):
        config.setting("max_traning", 1)                                     # only declared keys are read


def test_the_minilm_folder_and_the_forced_cpu_are_asked_of_config(monkeypatch, tmp_path):
    pytest.importorskip("torch")
    from bigmodel_core.nn import text_nets
    from bigmodel_core.serve import runtime

    monkeypatch.setenv("BIGMODEL_MINILM_DIR", str(tmp_path))
    assert text_nets.minilm_path() == str(tmp_path)
    monkeypatch.setenv("BIGMODEL_FORCE_CPU", "1")
    runtime.gpu_usable.cache_clear()
    try:
        assert runtime.gpu_usable() is False and runtime.choose_providers("auto") == [runtime.CPU]
    finally:
        runtime.gpu_usable.cache_clear()
