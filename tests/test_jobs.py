"""The background JobManager: real (tiny) trainings, stop within a second, FIFO queue, failures, owners."""
import threading
import time

import pytest

from bigmodel_core.app import jobs as J
from bigmodel_core.errors import TrainingError
from bigmodel_core.train.spec import TrainSpec
from bigmodel_core.train.trainer import TrainConfig
from tests.polling import wait_for


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


class FakeClock:
    """An injectable clock for heartbeats: time moves only when the test says so."""

    def __init__(self, now=1000.0):
        self.now = now

    def __call__(self):
        return self.now

    def advance(self, seconds):
        self.now += seconds


class Counting:
    """A fake quick runner: sleeps `seconds`, records start order and the most jobs seen running at once."""

    def __init__(self, seconds=0.03):
        self.seconds, self.lock = seconds, threading.Lock()
        self.now = self.peak = 0
        self.started = []

    def __call__(self, spec, data, callbacks, on_trainer):
        with self.lock:
            self.now += 1
            self.peak = max(self.peak, self.now)
            self.started.append(spec.dataset)
        try:
            time.sleep(self.seconds)
            return spec.dataset
        finally:
            with self.lock:
                self.now -= 1



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
    clock = FakeClock()
    m = J.JobManager(max_running=1, runner=gate, owner_timeout=10, clock=clock)
    m.submit("gone", tiny("a"))
    m.submit("here", tiny("b"))
    clock.advance(11)                                     # both unseen past the timeout; only "here" is alive
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


# ============================================================================ bounded scheduler, owners, heartbeats

@pytest.mark.parametrize("n", [1, 2])
def test_at_most_n_trainings_run_at_once_and_the_queue_drains_in_order(n):
    runner = Counting(0.05)
    m = J.JobManager(max_running=n, runner=runner)
    ids = [m.submit(f"user{i}", tiny(f"job{i:02d}")) for i in range(10)]
    assert m.running_count() == n and m.queued_count() == 10 - n          # queued jobs are not "running"
    assert [m.queue_position(x) for x in ids[n:]] == list(range(1, 11 - n))
    for job_id in ids:
        assert m.wait(job_id, 20).status == J.DONE
    assert runner.peak == n, f"{runner.peak} ran at once with max_running={n}"
    if n == 1:
        assert runner.started == [f"job{i:02d}" for i in range(10)]       # strictly first come, first served
    else:
        assert set(runner.started[:2]) == {"job00", "job01"}          # the first two start together
    assert m.stats() == dict(running=0, queued=0, max_running=n, jobs=10, owners=10)


def test_cancel_is_only_for_the_owner_and_a_cancelled_job_never_starts():
    gate = Gate()
    m = J.JobManager(max_running=1, runner=gate)
    m.submit("alice", tiny("a"))                                          # runs first: the gate holds it
    b = m.submit("bob", tiny("b"))
    c = m.submit("carol", tiny("c"))
    assert wait_for(lambda: gate.started == ["a"])
    assert not m.stop(b, owner="carol") and m.queue_position(b) == 1        # not carol's to cancel
    assert m.get(b, owner="carol") is None and [j.id for j in m.jobs_for("carol")] == [c]
    assert m.stop(b, owner="bob") and m.get(b).status == J.STOPPED and m.queue_position(b) is None
    assert m.queue_position(c) == 1
    assert not m.stop(b, owner="bob"), "cancelling twice is a no-op"
    with pytest.raises(TrainingError):
        m.submit("carol", tiny("c2"))                                      # one active job per session
    b2 = m.submit("bob", tiny("b2"))                                       # a cancelled job frees the owner
    assert m.queue_position(b2) == 2
    for name in ("a", "c", "b2"):
        gate.open(name)
    assert m.wait(b2, 10).status == J.DONE
    assert gate.started == ["a", "c", "b2"]


def test_owners_unseen_past_the_timeout_are_cleaned_up_with_an_injected_clock():
    gate = Gate()
    clock = FakeClock()
    m = J.JobManager(max_running=1, runner=gate, owner_timeout=60, clock=clock)
    a = m.submit("closed-tab", tiny("a"))                 # running
    b = m.submit("open-tab", tiny("b"))                   # queued 1st
    c = m.submit("other-page", tiny("c"))                 # queued 2nd
    assert wait_for(lambda: gate.started == ["a"])
    running = m.get(a)
    assert m.last_seen("closed-tab") == 1000.0
    clock.advance(45)
    m.touch("open-tab")                                   # the open tab's page/fragment beats
    m.touch("stranger")                                   # owners without jobs are not remembered
    assert m.last_seen("stranger") is None
    assert m.reap() == [], "nobody has been away for 60 s yet"
    clock.advance(30)                                     # closed-tab and other-page unseen for 75 s
    assert m.is_gone("closed-tab") and not m.is_gone("open-tab")
    m.watch_owners(lambda owner: owner == "other-page", interval=3600)   # liveness vouches for an open tab
    assert m.reap() == ["closed-tab"]
    assert m.jobs_for("closed-tab") == [] and m.get(a) is None and m.last_seen("closed-tab") is None
    assert running._stop.is_set() and running.status == J.STOPPING       # the running training was told to stop
    assert [m.queue_position(x) for x in (b, c)] == [1, 2]
    gate.open("a")                                        # the stopped job's thread ends → the next one starts
    assert wait_for(lambda: gate.started == ["a", "b"])
    clock.advance(61)                                     # open-tab stopped beating; a broken check never kills
    m.watch_owners(lambda owner: 1 / 0, interval=3600)
    assert m.reap() == []
    m.watch_owners(lambda owner: False, interval=3600)
    assert sorted(m.reap()) == ["open-tab", "other-page"]
    assert m.stats()["jobs"] == 0 and m.stats()["queued"] == 0
    gate.open("b")
    assert wait_for(lambda: m.running_count() == 0)
    assert gate.started == ["a", "b"], "a cleaned-up queued job never starts"


def test_without_a_liveness_check_the_heartbeat_alone_decides():
    clock = FakeClock()
    m = J.JobManager(max_running=1, runner=Counting(0.0), owner_timeout=10, clock=clock)
    job = m.submit("alice", tiny("a"))
    m.wait(job, 5)
    clock.advance(9)
    m.touch("alice")
    clock.advance(9)
    assert m.reap() == [] and m.get(job) is not None                     # finished jobs stay while seen
    clock.advance(2)
    assert m.reap() == ["alice"] and m.get(job) is None
    assert m.last_seen("alice") is None


def test_the_scheduler_is_thread_safe_under_many_threads():
    runner = Counting(0.002)
    clock = FakeClock()
    m = J.JobManager(max_running=2, runner=runner, owner_timeout=30, clock=clock)
    errors, submitted = [], {}
    start = threading.Barrier(41)

    def session(i):
        try:
            start.wait()
            owner = f"s{i}"
            job_id = m.submit(owner, tiny(f"d{i}"))
            submitted[owner] = job_id
            for _ in range(20):
                m.touch(owner)
                m.queue_position(job_id)
                snap = m.get(job_id, owner).snapshot() if m.get(job_id, owner) else None
                assert snap is None or snap["owner"] == owner
                assert all(j.owner == owner for j in m.jobs_for(owner))
            if i % 4 == 0:
                m.stop(job_id, owner)                      # cancel (queued) or stop (running)
            if i % 8 == 1:
                m.cleanup(owner)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    def reaper():
        try:
            start.wait()
            for _ in range(200):
                m.reap()
                m.stats()
                m.running_count()
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=session, args=(i,)) for i in range(40)] + [threading.Thread(target=reaper)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(30)
    assert not errors, errors
    assert wait_for(lambda: m.running_count() == 0 and m.queued_count() == 0, 30)
    assert runner.peak <= 2
    for job_id in submitted.values():
        job = m.get(job_id)
        assert job is None or job.status in J.FINISHED
    assert len(submitted) == 40
    assert len(set(runner.started)) == len(runner.started), "a job ran twice"
    clock.advance(31)
    m.watch_owners(None, interval=3600)
    m.reap()
    assert m.stats()["jobs"] == 0


def test_settings_come_from_the_environment_then_bigmodel_toml(monkeypatch, tmp_path):
    from bigmodel_core import config as settings

    cfg = tmp_path / "bigmodel.toml"
    cfg.write_text("[bigmodel]\nmax_trainings = 2\nowner_timeout_s = 12.5\n")
    monkeypatch.setenv("BIGMODEL_CONFIG", str(cfg))
    monkeypatch.delenv("BIGMODEL_MAX_TRAININGS", raising=False)
    monkeypatch.delenv("BIGMODEL_OWNER_TIMEOUT_S", raising=False)
    assert J.default_max_running() == 2 and J.default_owner_timeout() == 12.5
    assert J.JobManager().max_running == 2 and J.JobManager().owner_timeout == 12.5
    monkeypatch.setenv("BIGMODEL_MAX_TRAININGS", "3")                     # the environment wins
    assert J.default_max_running() == 3
    monkeypatch.setenv("BIGMODEL_MAX_TRAININGS", "many")                  # a typo falls back to the file
    assert J.default_max_running() == 2
    cfg.write_text("[bigmodel\nbroken")                                   # a broken file is ignored
    monkeypatch.delenv("BIGMODEL_MAX_TRAININGS")
    monkeypatch.setattr(J.os, "sched_getaffinity", lambda pid: set(range(16)), raising=False)
    assert J.default_max_running() == 4 and J.default_owner_timeout() == 90.0
    monkeypatch.setenv("BIGMODEL_CONFIG", str(tmp_path / "missing.toml"))
    assert settings.setting("max_trainings", 7) == 7
