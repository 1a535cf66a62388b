"""What the command groups share: JSON and table output, and the options several commands take (given
to each through argparse `parents=`).
"""
from __future__ import annotations

import argparse
import json
import sys


def print_json(obj: object) -> None:
    """One JSON document on one line of stdout, flushed (the `--json` contract)."""
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def table(rows: list[dict], columns: list[str]) -> str:
    """`rows` as aligned text columns under a header line."""
    widths = {c: max(len(c), *(len(str(r.get(c, ""))) for r in rows)) if rows else len(c) for c in columns}
    line = "  ".join(c.ljust(widths[c]) for c in columns)
    out = [line, "  ".join("-" * widths[c] for c in columns)]
    out += ["  ".join(str(r.get(c, "")).ljust(widths[c]) for c in columns) for r in rows]
    return "\n".join(out)


def megabytes(n_bytes: int) -> str:
    """ "3.2 MB": sizes in decimal megabytes, as download pages give them."""
    return f"{n_bytes / 1e6:.1f} MB"


def json_option(json_help: str = "print JSON instead of a table or text") -> argparse.ArgumentParser:
    """The --json option every command shares (given to each through argparse `parents=`)."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help=json_help)
    return common


def device_option(default: str) -> argparse.ArgumentParser:
    """The --device option, with the command's own default."""
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument("--device", default=default, choices=["auto", "cpu", "cuda"])
    return parent


def model_argument() -> argparse.ArgumentParser:
    """The MODEL argument of the commands that work on one registry model."""
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument("model", help="registry id or model folder")
    return parent

