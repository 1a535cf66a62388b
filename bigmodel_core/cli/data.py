"""The dataset commands: `datasets` lists the catalog, `fetch` downloads into the data cache with a
progress line on stderr.
"""
from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from typing import TextIO

from bigmodel_core.cli.common import json_option, megabytes, print_json, table
from bigmodel_core.errors import BigModelError


def cmd_datasets(args: argparse.Namespace) -> int:
    from bigmodel_core.data.catalog import availability, list_datasets

    rows = [dict(id=d.id, title=d.title, domain=d.domain, task=d.task, rows=d.rows, licence=d.licence,
                 citation=d.citation, available=availability(d), download_bytes=d.download_bytes)
            for d in list_datasets()]
    if args.json:
        print_json(rows)
    else:
        shown = [dict(r, download=megabytes(r["download_bytes"]) if r["download_bytes"] else "") for r in rows]
        print(table(shown, ["id", "title", "domain", "task", "rows", "licence", "available", "download"]))
    return 0


class TextProgress:
    """A download's progress on stderr: bytes done / total, MB/s, time left.

    On a terminal one line is redrawn in place (\r, at most 10 times a second);
    otherwise (a log, a pipe) a new line is written every ~10 % (every 10 MB when
    the total is unknown). Call it as a `download.fetch` progress callback, then `close()`.
    """

    def __init__(self, label: str, stream: TextIO | None = None, clock: Callable[[], float] = time.monotonic):
        self.label, self.stream, self.clock = label, stream or sys.stderr, clock
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.started = clock()
        self.last_drawn = None       # clock time of the last redraw (terminal)
        self.next_mark = 0.1         # next fraction (or byte count when the total is unknown) to log
        self.width = 0

    def __call__(self, done: int, total: int | None) -> None:
        now = self.clock()
        finished = total is not None and done >= total
        if self.tty:
            if self.last_drawn is not None and now - self.last_drawn < 0.1 and not finished:
                return
            self.last_drawn = now
            line = self.line(done, total, now - self.started)
            self.stream.write("\r" + line.ljust(self.width))
            self.width = max(self.width, len(line))
        else:
            reached = done / total if total else done
            if reached < self.next_mark and not finished:
                return
            step = 0.1 if total else 10e6
            self.next_mark = (reached // step + 1) * step
            self.stream.write(self.line(done, total, now - self.started) + "\n")
        self.stream.flush()

    def line(self, done: int, total: int | None, elapsed: float) -> str:
        rate = done / elapsed if elapsed > 0 else 0.0
        amount = f"{done / 1e6:.1f} / {megabytes(total)} ({100 * done / total:.0f} %)" if total else megabytes(done)
        parts = [self.label, amount, f"{rate / 1e6:.1f} MB/s"]
        if total and rate > 0:
            left = max(0, round((total - done) / rate))
            parts.append(f"{left // 60}:{left % 60:02d} left")
        return "  ".join(parts)

    def close(self) -> None:
        if self.tty and self.last_drawn is not None:
            self.stream.write("\n")
            self.stream.flush()


def cmd_fetch(args: argparse.Namespace) -> int:
    from bigmodel_core.data import catalog
    from bigmodel_core.data.download import fetch

    if args.all == bool(args.ids):
        raise BigModelError("Name the datasets to fetch, or --all (not both).",
                            hint="e.g. python -m bigmodel_core fetch mnist sst2; see the ids with `datasets`")
    infos = catalog.list_datasets() if args.all else [catalog.get(i) for i in args.ids]
    summary = []
    for info in infos:
        summary.append(_fetch_one(info, fetch))
        if not args.json:
            row = summary[-1]
            detail = {"bundled": "ships with a Python package", "cached": str(catalog.local_path(info)),
                      "downloaded": f"{megabytes(row['bytes'])} in {row['seconds']:.1f} s → "
                                    f"{catalog.local_path(info)}"}
            print(f"{info.id}: {row['status']} ({detail[row['status']]})")
    if args.json:
        print_json(summary)
    return 0


def _fetch_one(info, fetch) -> dict:
    """Fetch one dataset, with a progress bar when it downloads; its line of the summary."""
    from bigmodel_core.data.catalog import availability

    status = availability(info)
    started = time.monotonic()
    received = [0]
    if status == "needs download":
        bar = TextProgress(info.id)

        def progress(done, total):
            received[0] = done
            bar(done, total)

        try:
            paths = fetch(info, progress=progress)
        finally:
            bar.close()
        status = "downloaded"
    else:
        paths = fetch(info, allow_download=False)   # checks what is cached; never the network
    return dict(id=info.id, status=status, bytes=received[0], seconds=round(time.monotonic() - started, 2),
                paths=[str(p) for p in paths])


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """The `datasets` and `fetch` commands."""
    common = json_option()

    s = sub.add_parser("datasets", help="list the dataset catalog and what is available offline",
                       parents=[common])
    s.set_defaults(fn=cmd_datasets)

    s = sub.add_parser("fetch", help="download datasets into the data cache (sha256-checked)",
                       parents=[json_option("print a summary: one object per dataset")])
    s.add_argument("ids", nargs="*", metavar="ID", help="catalog ids (see `datasets`)")
    s.add_argument("--all", action="store_true", help="every dataset of the catalog")
    s.set_defaults(fn=cmd_fetch)
