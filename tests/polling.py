"""Waiting in tests: until a condition holds (with a time limit), and whether a process id still runs."""
from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path


def wait_for(pred: Callable[[], object], timeout: float = 10.0, every: float = 0.02) -> bool:
    """Poll `pred` every `every` seconds; True as soon as it holds, False after `timeout` seconds."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if pred():
            return True
        time.sleep(every)
    return False


def alive(pid: int) -> bool:
    """The process exists and is not a zombie (a zombie runs nothing)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"
