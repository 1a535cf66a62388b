"""Trainings run in spawned worker processes, never in the server: kill -9, Stop, closed tabs, priority, the page.

Real worker processes, real tiny trainings. Whether a process is gone is checked
by its id in /proc (a zombie counts as gone: it runs nothing).
"""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from bigmodel_core.app import jobs as J
from bigmodel_core.train.spec import TrainSpec
from bigmodel_core.train.trainer import TrainConfig
from bigmodel_core.workers.worker import cores, default_threads
from tests.polling import alive, wait_for
from ui import studio as S

ROOT = Path(__file__).resolve().parent.parent


def tiny(dataset="diabetes", arch="linear", **cfg):
    return TrainSpec(dataset, arch, TrainConfig(**dict(dict(epochs=1, batch_size=32), **cfg)))


def long_job():
    return tiny("digits", "mlp-seed", epochs=500, batch_size=8)



def niceness(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat[stat.rindex(")") + 2:].split()[16])



def running_worker(m, owner="alice"):
    job = m.get(m.submit(owner, long_job()))
    assert wait_for(lambda: job.latest("batch_end") is not None, 120), job.error
    pid = job.where["pid"]
    assert job.where["backend"] == "local" and pid != os.getpid() and alive(pid)
    return job, pid


def test_the_training_runs_in_its_own_lower_priority_process_and_stop_leaves_nothing_behind():
    m = J.JobManager(max_running=1)
    job, pid = running_worker(m)
    assert niceness(pid) > niceness(os.getpid()), "the worker must yield the CPU to the server"
    assert job.where["threads"] == default_threads() == max(1, cores() - 1)      # 2 cores: 1 thread
    assert m.stop(job.id, owner="alice")
    assert m.wait(job.id, 30).status == J.STOPPED
    assert job.result is not None and job.result.history.stopped
    assert job.latest("train_end")["step"] < job.events[0]["total_steps"]
    assert wait_for(lambda: not alive(pid), 10), f"worker {pid} still alive after its training stopped"


def test_a_worker_killed_with_sigkill_is_a_clear_failure_and_the_next_training_runs():
    m = J.JobManager(max_running=1)
    job, pid = running_worker(m)
    os.kill(pid, signal.SIGKILL)                      # as the out-of-memory killer would
    assert m.wait(job.id, 30).status == J.FAILED, "a dead worker must never leave a job hanging"
    assert "killed (SIGKILL)" in job.error and str(pid) in job.error and "Traceback" not in job.error
    assert job.result is None and m.stats()["running"] == 0
    after = m.wait(m.submit("alice", tiny()), 120)
    assert after.status == J.DONE, after.error
    assert after.where["pid"] != pid and not alive(after.where["pid"])


def test_a_closed_tabs_training_is_stopped_and_its_worker_ends():
    m = J.JobManager(max_running=1)
    job, pid = running_worker(m, owner="gone")
    queued = m.submit("other", tiny())
    assert m.cleanup("gone") == 1 and m.jobs_for("gone") == []
    assert wait_for(lambda: not alive(pid), 30), f"worker {pid} of a closed tab still alive"
    assert m.wait(queued, 120).status == J.DONE                  # the freed slot goes to the next in line


def test_cli_training_whose_worker_is_killed_says_training_failed_in_one_line():
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    cli = subprocess.Popen([sys.executable, "-m", "bigmodel_core", "train", "--dataset", "digits", "--arch", "mlp-seed",
                            "--epochs", "500", "--batch-size", "8"], cwd=ROOT, env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        def workers():                     # the CLI's children that run spawn_main (not the resource tracker)
            out = []
            for entry in Path("/proc").iterdir():
                try:
                    if entry.name.isdigit() and (entry / "stat").read_text().split(") ")[1].split()[1] == str(cli.pid) \
                            and b"spawn_main" in (entry / "cmdline").read_bytes():
                        out.append(int(entry.name))
                except (OSError, IndexError):
                    pass
            return out

        assert wait_for(workers, 60), "the CLI started no worker process"
        [worker] = workers()
        time.sleep(3)                                  # let it get into its training
        os.kill(worker, signal.SIGKILL)
        _, err = cli.communicate(timeout=60)
    finally:
        if cli.poll() is None:
            cli.kill()
    lines = [line for line in err.splitlines() if line.strip() and not line.startswith("epoch ")]
    assert cli.returncode != 0 and len(lines) == 1, err
    assert lines[0].startswith("error: training failed: the training worker process") and "SIGKILL" in lines[0]
    assert not alive(worker)


@pytest.fixture
def own_manager(monkeypatch):
    mgr = J.JobManager(max_running=1)
    monkeypatch.setattr(J, "_MANAGER", mgr)
    monkeypatch.setattr(S, "session_owner", lambda: "page-owner")
    yield mgr
    mgr.cleanup("page-owner")


def test_the_training_page_says_the_job_ran_in_a_local_worker(own_manager):
    at = AppTest.from_file(str(ROOT / "pages" / "train.py"), default_timeout=90)
    at.session_state["lang"] = "en"
    at.run()
    at.slider(key="train_linear_epochs").set_value(1).run()
    at.button(key="train_start").click().run()
    assert not at.exception, at.exception
    [job] = own_manager.jobs_for("page-owner")
    assert own_manager.wait(job.id, 120).status == J.DONE, job.error
    at.run()
    assert not at.exception, at.exception
    assert any("local worker" in c.value for c in at.caption), [c.value for c in at.caption]


def test_where_a_job_runs_in_both_languages():
    from ui.i18n import table

    def words(lang):
        return lambda key, **kw: table(lang)[key].format(**kw)

    ray_gpu = dict(backend="ray", node="1a2b3c4d5e6f7a8b", gpu=True)
    assert S.where_text(dict(backend="local", pid=1), words("en")) == "local worker"
    assert S.where_text(ray_gpu, words("en")) == "Ray node 1a2b3c4d (GPU)"
    assert S.where_text(dict(ray_gpu, gpu=False), words("en")) == "Ray node 1a2b3c4d (CPU)"
    assert S.where_text(dict(backend="local"), words("zh")) == "本机工作进程"
    assert S.where_text(ray_gpu, words("zh")) == "Ray 节点 1a2b3c4d（GPU）"


def test_a_worker_never_reruns_the_servers_main_script(tmp_path, monkeypatch):
    """Streamlit sets sys.modules["__main__"] to the page script it last ran; spawn would re-run it in every worker."""
    import types

    marker = tmp_path / "ran"
    script = tmp_path / "page.py"
    script.write_text(f"open({str(marker)!r}, 'w').write('the page script ran in the worker')\n")
    fake = types.ModuleType("__main__")
    fake.__file__ = str(script)
    monkeypatch.setitem(sys.modules, "__main__", fake)
    m = J.JobManager(max_running=1)
    job = m.wait(m.submit("alice", tiny()), 120)
    assert job.status == J.DONE, job.error
    assert not marker.exists()
    assert sys.modules["__main__"] is fake                    # put back after the start
