"""Visitors first: a local worker holds back between batches while the server answers, and never for long."""
from __future__ import annotations

import multiprocessing
import time

from bigmodel_core.workers import courtesy


def _stamp_for(clock, seconds: float) -> None:
    """Another process playing a busy server: stamps the shared clock every 50 ms for `seconds`."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        clock.value = time.monotonic()
        time.sleep(0.05)


def test_a_quiet_server_costs_the_worker_nothing():
    clock = multiprocessing.get_context("spawn").RawValue("d", 0.0)
    assert courtesy.pause_while_answering(clock) < 0.1                 # no pause at all (far under QUIET_S)


def test_the_worker_waits_while_another_process_answers_then_goes_on():
    ctx = multiprocessing.get_context("spawn")
    clock = ctx.RawValue("d", 0.0)
    server = ctx.Process(target=_stamp_for, args=(clock, 0.8))
    server.start()
    try:
        deadline = time.monotonic() + 30
        while clock.value == 0.0 and time.monotonic() < deadline:    # the other process has started stamping
            time.sleep(0.01)
        paused = courtesy.pause_while_answering(clock, quiet_s=0.2, most_s=5.0)
    finally:
        server.join(10)
    assert 0.3 < paused < 2.0            # until the "server" went quiet (≤ 0.8 s) plus the quiet time, not the cap


def test_a_server_that_never_rests_delays_a_batch_by_at_most_the_cap():
    clock = multiprocessing.get_context("spawn").RawValue("d", time.monotonic() + 3600)    # "answering" for an hour
    paused = courtesy.pause_while_answering(clock, most_s=0.3)
    assert 0.3 <= paused < 0.6


def test_answering_stamps_the_clock_only_once_a_worker_shares_it(monkeypatch):
    monkeypatch.setattr(courtesy, "_clock", None)
    courtesy.answering()                                   # no worker yet: nothing to stamp, nothing made
    assert courtesy._clock is None
    clock = courtesy.shared_clock()
    before = time.monotonic()
    courtesy.answering()
    assert clock.value >= before and courtesy.shared_clock() is clock
