"""Several sessions on the training studio with one trainer (N = 1): the queue as people see it.

Each AppTest is one browser session. AppTest gives every session the same id,
so `session_owner` is pointed at a per-test value in session state. The first
training is held at a gate until the others have queued; trainings are tiny
(diabetes, linear model, 1 epoch).
"""
import threading
import time
from pathlib import Path

import pytest
import streamlit as st

from bigmodel_core.app import jobs as J
from tests.helpers import run_page
from ui import studio as S

ROOT = Path(__file__).resolve().parent.parent
TRAIN = str(ROOT / "pages" / "train.py")


@pytest.fixture
def one_trainer(monkeypatch):
    """A fresh process-wide manager with one slot; the first training waits until `gate` is set."""
    gate = threading.Event()

    def runner(spec, data, callbacks, on_trainer):
        assert gate.wait(60), "the gate never opened"
        return J._default_runner(spec, data, callbacks, on_trainer)

    mgr = J.JobManager(max_running=1, runner=runner)
    monkeypatch.setattr(J, "_MANAGER", mgr)
    monkeypatch.setattr(S, "session_owner", lambda: st.session_state.get("test_owner", "local"))
    yield mgr, gate
    gate.set()
    for owner in ("alice", "bob", "carol"):
        mgr.cleanup(owner)


def session(owner, lang="en"):
    return run_page(TRAIN, lang, test_owner=owner)


def start_tiny_training(at):
    assert at.selectbox(key="train_dataset").value == "diabetes"
    assert at.radio(key="train_arch").value == "linear"                    # the first (default) model
    at.slider(key="train_linear_epochs").set_value(1).run()
    at.button(key="train_start").click().run()
    assert not at.exception, at.exception
    return at


def infos(at):
    return [e.value for e in at.info]


def keys(at, prefix):
    return [b.key for b in at.button if (b.key or "").startswith(prefix)]


def run_until(at, predicate, timeout=90.0):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        at.run()
        assert not at.exception, at.exception
        if predicate(at):
            return at
        time.sleep(0.2)
    raise AssertionError("the page never reached the expected state")


def test_second_session_waits_in_line_then_trains_when_the_first_finishes(one_trainer):
    mgr, gate = one_trainer
    alice = start_tiny_training(session("alice"))
    [a] = mgr.jobs_for("alice")
    assert a.status == J.RUNNING and keys(alice, "stop_") == [f"stop_{a.id}"]

    bob = start_tiny_training(session("bob"))
    [b] = mgr.jobs_for("bob")
    assert b.status == J.QUEUED and mgr.queue_position(b.id) == 1
    assert any("1st in line" in s and "1 of 1" in s for s in infos(bob)), infos(bob)
    assert keys(bob, "cancel_") == [f"cancel_{b.id}"] and not keys(bob, "stop_")
    assert keys(bob, "") and f"stop_{a.id}" not in keys(bob, "")          # bob sees only his own job
    assert bob.button(key="train_start").disabled
    assert any("queue" in c for c in (e.value for e in bob.caption))

    carol = start_tiny_training(session("carol"))
    [c] = mgr.jobs_for("carol")
    assert any("2nd in line" in s for s in infos(carol)), infos(carol)
    carol_zh = session("carol", "zh")                                      # carol's page in Chinese (a fresh
    assert any("第 2 位" in s for s in infos(carol_zh)), infos(carol_zh)   # AppTest: its widgets format in zh)
    bob.run()
    assert any("1st in line" in s for s in infos(bob))
    carol.button(key=f"cancel_{c.id}").click().run()                       # carol leaves the queue
    assert not carol.exception and c.status == J.STOPPED and mgr.queue_position(c.id) is None
    assert any("stopped before it began" in s for s in infos(carol)), infos(carol)

    gate.set()                                                             # alice's training may finish now
    assert mgr.wait(a.id, 90).status == J.DONE
    run_until(bob, lambda at: mgr.get(b.id).status != J.QUEUED)           # bob's started by itself
    assert mgr.wait(b.id, 90).status == J.DONE
    assert b.started >= a.finished, "bob's training began before alice's had finished"
    run_until(bob, lambda at: any("🏁" in s.value for s in at.subheader))
    assert any("1 epoch" in s.value for s in bob.success)
    run_until(alice, lambda at: any("🏁" in s.value for s in at.subheader))
    assert mgr.stats()["running"] == 0 and mgr.stats()["queued"] == 0


def test_queue_words_in_both_languages():
    en = lambda key, **kw: __import__("ui.i18n", fromlist=["table"]).table("en")[key].format(**kw)  # noqa: E731
    zh = lambda key, **kw: __import__("ui.i18n", fromlist=["table"]).table("zh")[key].format(**kw)  # noqa: E731
    assert [S.ordinal(n, en) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 23, 101, 111)] == [
        "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "23rd", "101st", "111th"]
    assert S.queue_message(2, 1, 1, en).startswith("Waiting — 2nd in line")
    assert "第 2 位" in S.queue_message(2, 1, 1, zh)
    assert S.session_alive("no such session")                              # no runtime here: never kill jobs


def test_heavy_imports_are_preloaded_once_by_one_thread():
    import threading as th

    from bigmodel_core import warm

    calls = []
    monkey = ("json", "bigmodel_core.app.jobs")
    threads = [th.Thread(target=lambda: calls.append(warm.preload(monkey))) for _ in range(8)]
    for x in threads:
        x.start()
    for x in threads:
        x.join(30)
    assert calls == [True] * 8                          # every thread waited for the one that imported
    assert warm.preload(("no.such.module",)) is False   # a missing library is an answer, never an error
