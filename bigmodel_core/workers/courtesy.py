"""Visitors first: a local training worker pauses between batches while the web server is answering someone.

At the lowest priority a worker still shares the machine with the server and the visitors'
browsers: on 2 vCPUs (often two threads of one physical core) a busy worker made every click
of the other visitors slower while it trained (scripts/training_impact.py). So the server
stamps a clock in shared memory whenever it starts answering (`answering()`: each page run
and each prediction), and the worker, after each batch, waits while that stamp is younger
than `QUIET_S` — at most `MAX_PAUSE_S` at a time, so a busy server slows a training down but
never stops it. Only local workers share the clock; a Ray node is another machine.
"""
from __future__ import annotations

import multiprocessing
import time

QUIET_S = 0.4          # the worker waits until the server has been quiet this long
MAX_PAUSE_S = 2.0      # ... but never longer than this at a time
_CTX = multiprocessing.get_context("spawn")
_clock = None          # made by the first local worker (`shared_clock`), stamped by `answering`


def shared_clock():
    """The shared stamp (a double of `time.monotonic()`, system-wide on Linux) the workers read."""
    global _clock
    if _clock is None:
        _clock = _CTX.RawValue("d", 0.0)
    return _clock


def answering() -> None:
    """The server starts answering a visitor: local workers hold back for a moment (no-op without workers)."""
    if _clock is not None:
        _clock.value = time.monotonic()


def pause_while_answering(clock, quiet_s: float = QUIET_S, most_s: float = MAX_PAUSE_S) -> float:
    """In a worker, between batches: sleep while the server answered within `quiet_s`; the seconds paused."""
    start = time.monotonic()
    while time.monotonic() - clock.value < quiet_s and time.monotonic() - start < most_s:
        time.sleep(0.02)
    return time.monotonic() - start
