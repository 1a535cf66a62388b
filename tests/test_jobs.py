"""The background JobManager: real (tiny) trainings, stop within a second, FIFO queue, failures, owners."""
import threading
import time

import pytest

from bigmodel_core import jobs as J
from bigmodel_core.errors import TrainingError
from bigmodel_core.pipeline import TrainSpec
from bigmodel_core.training import TrainConfig


def tiny(dataset="diabetes", arch="linear", **cfg):
    return TrainSpec(dataset, arch, TrainConfig(**dict(dict(epochs=1, batch_size=32), **cfg)))


class Gate:
    """A fake runner: each job blocks until released; records the order jobs started in."""

    def __init__(self):
        self.started, self.release = [], {}
        self.lock = threading.Lock()

    def __call__(self, spec, data, callbacks, on_trainer):
        with self.lock:
            self.started.append(spec.dataset)
            ev = self.release.setdefault(spec.dataset, threading.Event())
        assert ev.wait(10), "never released"
        if spec.dataset == "boom":
            raise RuntimeError("kaput")
        return f"result of {spec.dataset}"

    def open(self, name):
        with self.lock:
            self.release.setdefault(name, threading.Event()).set()


def wait_for(pred, timeout=10.0):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if pred():
            return True
        time.sleep(0.01)
    return False


def test_real_training_runs_in_background_and_records_events():
    m = J.JobManager(max_running=1)
    job_id = m.submit("alice", tiny())
    job = m.wait(job_id, timeout=120)
    assert job.status == J.DONE, job.error
    kinds = [e["kind"] for e in job.events]
    assert kinds[0] == "batch_end" and "epoch_end" in kinds and kinds[-1] == "train_end"
    first = job.events[0]
    assert {"kind", "epoch", "step", "total_steps", "loss", "val", "elapsed", "eta"} <= set(first)
    assert job.latest("epoch_end")["val"]["r2"] is not None
    assert "r2" in job.result.metrics["test"] and job.result.baseline
    assert job.data is not None and len(job.data.split["test"]) == len(job.result.test_true)


def test_stop_takes_effect_within_a_second():
    m = J.JobManager(max_running=1)
    job_id = m.submit("alice", tiny("digits", "mlp-seed", epochs=500, batch_size=8))
    job = m.get(job_id)
    assert wait_for(lambda: job.latest("batch_end") is not None, 120), job.error
    t0 = time.monotonic()
    assert m.stop(job_id, owner="alice")
    assert job.status in (J.STOPPING, J.STOPPED)
    assert wait_for(lambda: not job.active, 1.0), "still running a second after stop"
    assert time.monotonic() - t0 < 1.0
    assert job.status == J.STOPPED and job.result is not None and job.result.history.stopped
    steps = job.latest("train_end")["step"]
    assert steps < job.events[0]["total_steps"]
    assert not m.stop(job_id), "a finished job cannot be stopped again"


def test_queue_is_fifo_with_visible_positions_and_a_queued_job_can_be_cancelled():
    gate = Gate()
    m = J.JobManager(max_running=1, runner=gate)
    a, b, c, d = (m.submit(owner, tiny(name)) for owner, name in
                  [("u1", "a"), ("u2", "b"), ("u3", "c"), ("u4", "d")])
    assert wait_for(lambda: gate.started == ["a"])
    assert m.get(a).status == J.RUNNING
    assert [m.queue_position(x) for x in (a, b, c, d)] == [None, 1, 2, 3]
    assert m.stop(c) and m.get(c).status == J.STOPPED          # cancelled while queued: never starts
    assert m.queue_position(d) == 2
    gate.open("a")
    assert wait_for(lambda: gate.started == ["a", "b"])
    assert m.get(a).status == J.DONE and m.get(a).result == "result of a"
    assert m.queue_position(d) == 1
    gate.open("b")
    gate.open("d")
    assert wait_for(lambda: m.get(d).status == J.DONE)
    assert gate.started == ["a", "b", "d"]
    assert m.stats()["running"] == 0 and m.stats()["queued"] == 0


def test_two_jobs_run_at_once_when_allowed():
    gate = Gate()
    m = J.JobManager(max_running=2, runner=gate)
    m.submit("u1", tiny("a"))
    m.submit("u2", tiny("b"))
    third = m.submit("u3", tiny("c"))
    assert wait_for(lambda: sorted(gate.started) == ["a", "b"])
    assert m.queue_position(third) == 1
    for name in "abc":
        gate.open(name)
    assert m.wait(third, 10).status == J.DONE


def test_failures_are_captured_as_messages():
    m = J.JobManager(max_running=1)
    bad = m.wait(m.submit("alice", tiny("diabetes", "lenet")), 60)
    assert bad.status == J.FAILED and bad.result is None
    assert "does not fit a tabular dataset" in bad.error and "Traceback" not in bad.error
    missing = m.wait(m.submit("alice", tiny("no-such-dataset")), 60)
    assert missing.status == J.FAILED and "unknown dataset" in missing.error
    diverged = m.wait(m.submit("alice", tiny("diabetes", "mlp", lr=1e12, epochs=5, batch_size=8)), 60)
    assert diverged.status == J.FAILED and "diverged" in diverged.error
    gate = Gate()
    g = J.JobManager(max_running=1, runner=gate)
    boom = g.submit("bob", tiny("boom"))
    gate.open("boom")
    job = g.wait(boom, 10)
    assert job.status == J.FAILED and "RuntimeError: kaput" in job.error


def test_owners_are_isolated_and_cleanup_stops_only_theirs():
    gate = Gate()
    m = J.JobManager(max_running=1, runner=gate)
    a = m.submit("alice", tiny("a"))
    b = m.submit("bob", tiny("b"))
    assert wait_for(lambda: gate.started == ["a"])
    assert [j.id for j in m.jobs_for("alice")] == [a]
    assert [j.id for j in m.jobs_for("bob")] == [b]
    assert m.get(a, owner="bob") is None and m.get(a, owner="alice") is not None
    assert not m.stop(a, owner="bob"), "bob must not stop alice's job"
    assert m.get(a).status == J.RUNNING
    with pytest.raises(TrainingError):                     # a second submit never duplicates a running job
        m.submit("alice", tiny("a2"))
    assert m.cleanup("bob") == 1 and m.jobs_for("bob") == []
    assert m.get(a).status == J.RUNNING
    assert m.cleanup("alice") == 1 and m.jobs_for("alice") == []
    gate.open("a")
    assert wait_for(lambda: m.stats()["running"] == 0)


def test_reap_cleans_up_owners_that_are_gone():
    gate = Gate()
    m = J.JobManager(max_running=1, runner=gate)
    m.submit("gone", tiny("a"))
    m.submit("here", tiny("b"))
    m.watch_owners(lambda owner: owner == "here", interval=3600)
    assert m.reap() == ["gone"]
    assert m.jobs_for("gone") == [] and len(m.jobs_for("here")) == 1
    gate.open("a")
    gate.open("b")
    assert wait_for(lambda: m.stats()["running"] == 0)


def test_finished_jobs_are_bounded_per_owner_and_events_are_thinned():
    gate = Gate()
    m = J.JobManager(max_running=1, keep_finished=2, runner=gate)
    ids = []
    for name in "abcd":
        gate.open(name)
        ids.append(m.submit("alice", tiny(name)))
        m.wait(ids[-1], 10)
    assert [j.id for j in m.jobs_for("alice")] == ids[-3:]    # 2 finished kept + the newest
    job = J.Job(id="x", owner="o", spec=None)
    for step in range(1, 10_001):
        job._record(dict(kind="batch_end", step=step))
        if step % 100 == 0:
            job._record(dict(kind="epoch_end", step=step))
    assert len(job.events) <= J.MAX_EVENTS
    assert sum(e["kind"] == "epoch_end" for e in job.events) == 100
    steps = [e["step"] for e in job.events if e["kind"] == "batch_end"]
    assert steps[0] == 1 and steps[-1] > 9_000 and steps == sorted(steps)


def test_default_concurrency_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("BIGMODEL_MAX_TRAININGS", "3")
    assert J.default_max_running() == 3
    monkeypatch.delenv("BIGMODEL_MAX_TRAININGS")
    monkeypatch.setattr(J.os, "sched_getaffinity", lambda pid: set(range(2)), raising=False)
    assert J.default_max_running() == 1
    assert J.manager() is J.manager()
