"""Without a browser: how a worker's training affects CPU work in the server's process, and what it costs there.

    flock /work/cpu.lock .venv/bin/python scripts/worker_impact.py

Times a small numpy + Python workload (30 samples: p50, p95 in ms) in this process while
idle, while a credit-default MLP (batch size 8) trains in a local worker process, and after
Stop; prints the worker's niceness and thread count and the CPU this process spends reading
the worker's events.
"""
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bigmodel_core.app import jobs as J  # noqa: E402
from bigmodel_core.train.spec import TrainSpec  # noqa: E402
from bigmodel_core.train.trainer import TrainConfig  # noqa: E402


def bench() -> tuple[float, float]:
    """p50 and p95 (ms) of 30 timings of a small matrix + Python workload, 50 ms apart."""
    import numpy as np

    x = np.random.rand(200, 200)
    out = []
    for _ in range(30):
        t0 = time.perf_counter()
        for _ in range(20):
            x @ x
        sum(i * i for i in range(20000))
        out.append(time.perf_counter() - t0)
        time.sleep(0.05)
    out.sort()
    return round(1000 * out[len(out) // 2], 1), round(1000 * out[int(len(out) * 0.95)], 1)


def main() -> None:
    print("idle: p50, p95 ms", bench())
    m = J.JobManager(max_running=1)
    job = m.get(m.submit("me", TrainSpec("credit-default", "mlp", TrainConfig(epochs=30, batch_size=8))))
    while job.latest("batch_end") is None and job.active:
        time.sleep(0.1)
    pid = job.where["pid"]
    stat = Path(f"/proc/{pid}/stat").read_text()
    threads = next(line.split()[1] for line in Path(f"/proc/{pid}/status").read_text().splitlines()
                   if line.startswith("Threads"))
    print("worker", pid, "nice", stat[stat.rindex(")") + 2:].split()[16], "threads", threads)
    print("training: p50, p95 ms", bench())
    c0, t0 = os.times(), time.time()
    time.sleep(5)
    c1 = os.times()
    share = ((c1.user - c0.user) + (c1.system - c0.system)) / (time.time() - t0)
    print(f"this process's CPU while the worker trains: {100 * share:.1f} % of a core")
    m.stop(job.id)
    m.wait(job.id, 60)
    print("idle again: p50, p95 ms", bench())


if __name__ == "__main__":
    main()
