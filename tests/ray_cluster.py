"""A real local Ray cluster on 127.0.0.1 for tests: a head and worker nodes, each its own `ray start --block`.

Every node runs in its own session (process group), on ports picked free for it,
under a private temp dir, so the test can kill one node as a crash would
(SIGKILL to its whole process group) and stop everything it started at the end —
never `ray stop`, which would end every Ray process on the machine.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RAY = str(Path(sys.executable).with_name("ray"))


def free_ports(n: int) -> list[int]:
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


def group_pids(pgid: int) -> list[int]:
    """Processes of the process group `pgid` that are still alive (zombies excluded)."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if fields[0] != "Z" and int(fields[2]) == pgid:
            out.append(int(entry.name))
    return out


class Node:
    def __init__(self, proc: subprocess.Popen, log: Path, resources: dict):
        self.proc, self.log, self.resources = proc, log, resources
        self.pgid = proc.pid                     # start_new_session: the group id is its pid

    def pids(self) -> list[int]:
        return group_pids(self.pgid)

    def kill(self) -> None:
        """SIGKILL every process of this node at once (as a crashed machine would go)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pgid, signal.SIGKILL)
        self.proc.wait(10)


class LocalRayCluster:
    def __init__(self, env: dict | None = None, object_store_mb: int = 80):
        self.tmp = Path(tempfile.mkdtemp(prefix="rbm-", dir="/tmp"))
        self.env = dict(os.environ, RAY_USAGE_STATS_ENABLED="0",
                        # a killed node is noticed within ~3 s, not ~30 s
                        RAY_health_check_period_ms="1000", RAY_health_check_failure_threshold="3",
                        RAY_health_check_initial_delay_ms="1000", **(env or {}))
        self.object_store = str(object_store_mb * 1024 * 1024)
        self.nodes: list[Node] = []
        self.port = None
        self.client_port = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def client_address(self) -> str:
        """The Ray Client address (`ray://`) of the head: what an app outside the cluster's network uses."""
        return f"ray://127.0.0.1:{self.client_port}"

    def _start(self, args: list[str], resources: dict, name: str) -> Node:
        ports = free_ports(8)
        cmd = [RAY, "start", "--block", "--node-ip-address", "127.0.0.1", "--disable-usage-stats",
               "--object-store-memory", self.object_store,
               "--node-manager-port", str(ports[0]), "--object-manager-port", str(ports[1]),
               "--dashboard-agent-listen-port", str(ports[2]), "--dashboard-agent-grpc-port", str(ports[3]),
               "--runtime-env-agent-port", str(ports[4]), "--metrics-export-port", str(ports[5]),
               *args]
        if resources:
            cmd += ["--resources", json.dumps(resources)]
        log = self.tmp / f"{name}.log"
        with open(log, "w") as out:
            proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=self.env, start_new_session=True)
        node = Node(proc, log, resources)
        self.nodes.append(node)
        return node

    def start_head(self, num_cpus: int = 1, resources: dict | None = None) -> Node:
        self.port, dashboard, self.client_port = free_ports(3)
        node = self._start(["--head", "--port", str(self.port), "--num-cpus", str(num_cpus),
                            "--ray-client-server-port", str(self.client_port),
                            "--include-dashboard=false", "--dashboard-port", str(dashboard),
                            "--temp-dir", str(self.tmp / "t")], resources or {}, "head")
        self.wait_nodes(1)
        return node

    def add_node(self, num_cpus: int = 1, resources: dict | None = None) -> Node:
        n = sum(1 for x in self.nodes if x.proc.poll() is None)
        node = self._start(["--address", self.address, "--num-cpus", str(num_cpus)], resources or {},
                           f"node{len(self.nodes)}")
        self.wait_nodes(n + 1)
        return node

    def gcs_up(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return True
        except OSError:
            return False

    def alive_nodes(self) -> list[dict]:
        if not self.gcs_up():
            return []
        try:
            out = subprocess.run([sys.executable, "-c",
                              f"import json, ray; ray.init(address={self.address!r}, logging_level='ERROR'); "
                              "print(json.dumps([n for n in ray.nodes() if n['Alive']]))"],
                                 capture_output=True, text=True, env=self.env, timeout=60)
        except subprocess.TimeoutExpired:
            return []
        if out.returncode:
            return []
        return json.loads(out.stdout.strip().splitlines()[-1])

    def wait_nodes(self, n: int, timeout: float = 120) -> list[dict]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for node in self.nodes:
                if node.proc.poll() is not None and node.proc.returncode not in (None, -9):
                    raise RuntimeError(f"ray start failed: {node.log.read_text()[-2000:]}")
            alive = self.alive_nodes()
            if len(alive) >= n:
                return alive
            time.sleep(1)
        raise TimeoutError(f"{n} Ray nodes did not come up in {timeout} s")

    def pids(self) -> list[int]:
        return [p for node in self.nodes for p in node.pids()]

    def stop(self) -> None:
        """Stop every node this cluster started (workers first), then remove its temp dir."""
        for node in reversed(self.nodes):
            if node.proc.poll() is None:
                node.proc.send_signal(signal.SIGTERM)          # `ray start --block` stops its node's processes
                with contextlib.suppress(subprocess.TimeoutExpired):
                    node.proc.wait(30)
            node.kill()
        shutil.rmtree(self.tmp, ignore_errors=True)
