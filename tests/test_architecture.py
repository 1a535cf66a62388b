"""The layout docs/architecture.md promises: the library never imports the UI, and its packages import
only downwards at module level (a function may import an optional, heavy part lazily)."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORE = ROOT / "bigmodel_core"

# bottom first: a package's module-level imports may reach only packages to its left
ORDER = ["errors", "config", "paths", "warm", "data", "nn", "gpu", "serve", "convert", "explain", "train", "teach",
         "workers", "app", "cli", "__main__"]


def _package(path: Path) -> str:
    parts = path.relative_to(CORE).parts
    return parts[0] if len(parts) > 1 else path.stem


def _imports(node: ast.AST) -> list[str]:
    if isinstance(node, ast.ImportFrom) and node.module:
        return [node.module] + [f"{node.module}.{a.name}" for a in node.names]
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    return []


def _core_files() -> list[Path]:
    return sorted(p for p in CORE.rglob("*.py") if "__pycache__" not in p.parts)


def test_every_package_and_module_is_in_the_documented_order():
    packages = {_package(p) for p in _core_files()} - {"__init__"}
    assert packages <= set(ORDER), packages - set(ORDER)
    documented = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    for package in packages - {"__main__"}:
        assert f"`{package}" in documented, f"docs/architecture.md does not describe {package}"


def test_the_library_never_imports_streamlit_or_the_ui():
    offenders = []
    for path in _core_files():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            for name in _imports(node):
                if name.split(".")[0] in ("streamlit", "ui", "pages"):
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} {name}")
    assert offenders == []


def test_module_level_imports_only_reach_down():
    upward = []
    for path in _core_files():
        here = _package(path)
        if here == "__init__":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        top = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
        top += [n for block in tree.body if isinstance(block, ast.If) for n in block.body    # TYPE_CHECKING
                if isinstance(n, (ast.Import, ast.ImportFrom))]
        for node in top:
            if isinstance(node, ast.ImportFrom) and node.level:
                continue                                   # relative: inside the same package
            for name in _imports(node):
                parts = name.split(".")
                if parts[0] != "bigmodel_core" or len(parts) < 2 or parts[1] not in ORDER:
                    continue
                there = parts[1]
                if there != here and ORDER.index(there) > ORDER.index(here):
                    upward.append(f"{path.relative_to(ROOT)}:{node.lineno} {here} → {there}")
    assert upward == []


def test_no_module_imports_a_moved_flat_name():
    """`from bigmodel_core import registry` would fail at run time only on the path that reaches it."""
    flat = {p.stem for p in CORE.glob("*.py")} | {p.name for p in CORE.iterdir() if p.is_dir()}
    offenders = []
    for path in [ROOT / "app.py", *ROOT.glob("pages/*.py"), *ROOT.glob("ui/**/*.py"), *ROOT.glob("scripts/*.py"),
                 *ROOT.glob("tests/*.py"), *_core_files()]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module == "bigmodel_core":
                offenders += [f"{path.relative_to(ROOT)}:{node.lineno} {a.name}" for a in node.names
                              if a.name not in flat]
    assert offenders == []


def test_the_ui_never_imports_a_page_and_stays_small():
    """pages/ are thin (about 150 lines at most), no UI module is over 500 lines, and ui/ never imports pages."""
    offenders = []
    for path in sorted((ROOT / "pages").glob("*.py")):
        if len(path.read_text(encoding="utf-8").splitlines()) > 150:
            offenders.append(f"{path.relative_to(ROOT)} is over 150 lines")
    for path in sorted((ROOT / "ui").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        if len(text.splitlines()) > 500:
            offenders.append(f"{path.relative_to(ROOT)} is over 500 lines")
        for node in ast.walk(ast.parse(text)):
            if any(name.split(".")[0] == "pages" for name in _imports(node)):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} imports pages")
    assert offenders == []


def test_the_readme_lists_every_ui_module():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = [str(p.relative_to(ROOT / "ui").with_suffix("")).replace("/", ".")
               for p in sorted((ROOT / "ui").rglob("*.py")) if p.name != "__init__.py"]
    missing = [m for m in missing if f"`{m}`" not in readme]
    assert missing == [], f"README.md does not list ui modules {missing}"
