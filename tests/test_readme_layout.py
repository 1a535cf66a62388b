"""README.md's layout section lists every module of `bigmodel_core` and `ui`, one row each, and no module
that is gone (issue 16: it once named 20 of 37)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _table_rows(header: str) -> set[str]:
    """The first-column names of the README table whose header cell is `header`."""
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"| `{header}` |"))
    rows = set()
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        rows.add(re.match(r"\| `([\w.]+)` \|", line).group(1))
    return rows


def _modules(package: str) -> set[str]:
    found = set()
    for path in (ROOT / package).rglob("*.py"):
        parts = path.relative_to(ROOT / package).with_suffix("").parts
        if "__pycache__" not in parts and parts[-1] not in ("__init__", "__main__"):
            found.add(".".join(parts))
    return found


@pytest.mark.parametrize("package", ["bigmodel_core", "ui"])
def test_the_readme_names_every_module_and_only_real_ones(package):
    rows, modules = _table_rows(f"{package}."), _modules(package)
    # a sub-package may have one row for its modules (`train.options`)
    missing = sorted(m for m in modules
                     if not any(".".join(m.split(".")[:n]) in rows for n in range(1, m.count(".") + 2)))
    packages = {".".join(m.split(".")[:n]) for m in modules for n in range(1, m.count(".") + 1)}
    stale = sorted(rows - modules - packages)
    assert missing == [], f"add a row to README.md's layout table for: {missing}"
    assert stale == [], f"README.md's layout table names modules that are gone: {stale}"
