"""The Ray backend against a real local cluster on 127.0.0.1: a head (1 CPU) and a worker node (1 CPU) that
offers the custom resource `trainer_node`, both stopped at the end; no mocks of Ray.

A training that needs `trainer_node` must run on that node, stream its epochs,
stop when asked and come back (weights, ONNX bytes) through the object store
into the app's registry with the same predictions as the same seed trained in a
local worker. A node killed under a training is a clear failure and the head
keeps working.
"""
import json
import os
import time

import numpy as np
import pytest

ray = pytest.importorskip("ray")

from bigmodel_core.app import jobs as J  # noqa: E402
from bigmodel_core.serve import registry  # noqa: E402
from bigmodel_core.train.pipeline import export  # noqa: E402
from bigmodel_core.train.spec import TrainSpec  # noqa: E402
from bigmodel_core.train.trainer import TrainConfig  # noqa: E402
from bigmodel_core.workers import ray_backend  # noqa: E402
from bigmodel_core.workers.local import LocalProcessRunner  # noqa: E402
from tests.polling import alive, wait_for  # noqa: E402
from tests.ray_cluster import LocalRayCluster  # noqa: E402

SEED_SPEC = TrainSpec("diabetes", "mlp", TrainConfig(epochs=3, batch_size=32, lr=3e-3, seed=7, threads=1),
                      {"hidden": [16]})




def rss_mib(pids) -> float:
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status") as status:
                for line in status:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


@pytest.fixture(scope="module")
def cluster():
    c = LocalRayCluster(object_store_mb=80)
    try:
        c.start_head(num_cpus=1)
        worker = c.add_node(num_cpus=1, resources={"trainer_node": 1})
        nodes = c.alive_nodes()
        trainer_node = next(n["NodeID"] for n in nodes if "trainer_node" in n["Resources"])
        print(f"\nlocal Ray cluster: {len(nodes)} nodes, {len(c.pids())} processes, "
              f"{rss_mib(c.pids()):.0f} MiB resident")
        yield c, trainer_node, worker
    finally:
        ray_backend.disconnect()
        pids = c.pids()
        c.stop()
        wait_for(lambda: not any(alive(p) for p in pids), 15)      # SIGKILLed processes take a moment to go
        left = [p for p in pids if alive(p)]
        assert not left, f"Ray processes left behind: {left}"


def manager(address, **resources):
    return J.JobManager(max_running=1, runner=ray_backend.RayRunner(address, resources=resources or None))


def test_a_training_needing_the_trainer_resource_runs_on_that_node_and_matches_a_local_training(
        cluster, tmp_path):
    c, trainer_node, _ = cluster
    m = manager(c.address, trainer_node=1)
    job = m.wait(m.submit("alice", SEED_SPEC), 300)
    assert job.status == J.DONE, job.error
    assert job.where["backend"] == "ray" and job.where["node"] == trainer_node and not job.where["gpu"]
    assert job.where["pid"] != os.getpid()
    epochs = [e for e in job.events if e["kind"] == "epoch_end"]
    assert [e["epoch"] for e in epochs] == [1, 2, 3] and all(e["val"]["r2"] is not None for e in epochs)
    trained = job.result
    assert trained.onnx and trained.onnx[:4] != b"" and trained.history.device == "cpu"

    remote_entry = export(trained, "from-ray", root=tmp_path / "ray-models")     # the app's own registry
    assert remote_entry.card.parity_max_abs_diff <= 1e-4
    assert (remote_entry.folder / "model.onnx").read_bytes() == trained.onnx      # the bytes that came back
    local = LocalProcessRunner(threads=1)(SEED_SPEC, None, {}, None)
    local_entry = export(local, "from-local", root=tmp_path / "local-models")

    import onnxruntime as ort

    feed = {k: np.asarray(v) for k, v in local.example_feed.items()}
    answers = [ort.InferenceSession(str(e.folder / "model.onnx"), providers=["CPUExecutionProvider"]).run(None, feed)[0]
               for e in (remote_entry, local_entry)]
    assert np.max(np.abs(answers[0] - answers[1])) <= 1e-5
    assert np.max(np.abs(np.asarray(trained.test_scores) - np.asarray(local.test_scores))) <= 1e-5
    assert trained.metrics["test"]["r2"] == pytest.approx(local.metrics["test"]["r2"], abs=1e-5)
    assert registry.load("from-ray", tmp_path / "ray-models").card.dataset == "diabetes"


def test_stop_reaches_the_actor_and_the_partial_model_comes_back(cluster):
    c, trainer_node, _ = cluster
    m = manager(c.address, trainer_node=1)
    job = m.get(m.submit("alice", TrainSpec("digits", "mlp-seed", TrainConfig(epochs=300, batch_size=8))))
    assert wait_for(lambda: sum(e["kind"] == "epoch_end" for e in job.events) >= 2, 300), job.error
    assert job.where["node"] == trainer_node
    assert m.stop(job.id, owner="alice")
    assert m.wait(job.id, 120).status == J.STOPPED, job.error
    assert job.result is not None and job.result.history.stopped
    assert len(job.result.history.epochs) < 300
    assert job.latest("train_end")["step"] < job.events[0]["total_steps"]


def test_a_queued_job_cancelled_before_it_starts_never_reaches_the_cluster(cluster):
    c, _, _ = cluster
    m = manager(c.address, trainer_node=1)
    first = m.get(m.submit("alice", TrainSpec("digits", "mlp-seed", TrainConfig(epochs=300, batch_size=8))))
    second = m.submit("bob", SEED_SPEC)
    assert m.stop(second, owner="bob") and m.get(second).status == J.STOPPED and m.get(second).where is None
    assert m.stop(first.id, owner="alice")
    assert m.wait(first.id, 300).status == J.STOPPED


@pytest.mark.slow
def test_a_node_killed_under_a_training_is_a_clear_failure_and_the_head_keeps_working(cluster):
    c, _, _ = cluster
    doomed = c.add_node(num_cpus=1, resources={"doomed": 1})
    m = manager(c.address, doomed=1)
    job = m.get(m.submit("alice", TrainSpec("digits", "mlp-seed", TrainConfig(epochs=300, batch_size=8))))
    assert wait_for(lambda: job.latest("batch_end") is not None, 300), job.error
    t0 = time.monotonic()
    doomed.kill()
    assert not doomed.pids()
    assert m.wait(job.id, 120).status == J.FAILED, "a lost node must never leave a job hanging"
    noticed = time.monotonic() - t0
    assert "Ray node" in job.error and "lost" in job.error and "Traceback" not in job.error, job.error
    print(f"\nnode killed → job failed in {noticed:.1f} s: {job.error}")
    head = manager(c.address)                                       # no custom resource: any node, the head included
    after = head.wait(head.submit("bob", TrainSpec("diabetes", "linear", TrainConfig(epochs=1))), 300)
    assert after.status == J.DONE, after.error
    assert json.dumps(after.where)


def test_the_cli_trains_through_a_ray_client_address(cluster, tmp_path):
    """`train … --ray ray://host:port` (Ray Client, the address an app outside the cluster uses): the epochs
    stream to the terminal, the node is named, and the run comes back as a model the CLI can export."""
    import subprocess
    import sys

    c, trainer_node, _ = cluster
    out = subprocess.run([sys.executable, "-m", "bigmodel_core", "train", "--dataset", "diabetes", "--arch", "mlp",
                          "--epochs", "2", "--batch-size", "32", "--seed", "7", "--threads", "1",
                          "--ray", c.client_address, "--out", str(tmp_path / "run"), "--json"],
                         capture_output=True, text=True, timeout=300, env=dict(os.environ, RAY_USAGE_STATS_ENABLED="0"))
    assert out.returncode == 0, out.stderr[-2000:]
    summary = json.loads(out.stdout)
    assert summary["epochs"] == 2 and "r2" in summary["metrics"]["test"]
    assert "training on Ray node" in out.stderr and out.stderr.count("epoch ") >= 2
    assert (tmp_path / "run").is_dir()
