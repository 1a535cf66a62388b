"""Command line: every core operation, headless. `python -m bigmodel_core --help`.

Contracts used by outside checks: `predict … --json` prints one JSON object per
input line; `eval … --json` one object of metrics; `bench … --json` a list of
timings; `fetch … --json` one object per dataset. Any error exits non-zero with
one line on stderr, never a traceback.

The commands live in one module per group (`data`, `training`, `inference`, `speed`, `models`), each
adding its parsers to the one `build_parser` makes; `common` holds what they share.
"""
from __future__ import annotations

import argparse
import sys

from bigmodel_core.cli import data, inference, models, speed, training
from bigmodel_core.errors import BigModelError


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bigmodel_core",
                                description="BigModel Studio: datasets, training, ONNX export and inference.")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in (data, training, inference, speed, models):       # the order `--help` lists them in
        group.add_parsers(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.fn(args)
    except BigModelError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - the CLI promises one line, never a traceback
        from bigmodel_core.config import DEBUG

        if DEBUG.get():
            raise
        msg = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
        print(f"error: unexpected {type(exc).__name__}: {msg} (set BIGMODEL_DEBUG=1 for details)", file=sys.stderr)
        return 1
