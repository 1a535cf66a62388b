"""A fair GPU benchmark: PyTorch eager CUDA vs ONNX Runtime CUDA (numpy in/out, IO binding, CUDA graph, fp16).

Fairness rules: every engine gets the same inputs; inputs of the device-resident engines are
copied to the GPU once per shape (IO binding, torch tensors on the device), outside the
timing; torch calls end with `torch.cuda.synchronize()` (ORT's `run` synchronises its
stream itself); TF32 is set explicitly and identically on both sides
(`torch.backends.cuda.matmul.allow_tf32`, `torch.backends.cudnn.allow_tf32`, ORT `use_tf32`);
every shape is warmed up on every engine; engines are interleaved in short bursts
(bench.py); at batch 1 every engine makes at least `calls_b1` (default 1000) timed calls.
The first request after loading (session or model build + first call) is timed separately.

Without a usable GPU the same code runs the CPU engines (torch eager CPU, ORT CPU numpy,
ORT CPU IO binding, ORT CPU fp16) and lists the CUDA engines under `skipped` with the
reason, so it is tested on the CPU with small call counts.

When the registry has no `weights.safetensors` for a model (cifar10-cnn, sst2-minilm are
shipped as ONNX only), PyTorch runs the same architecture with freshly initialised weights:
its timing is that of the same network, and its agreement is not checked (`agreement` None).
"""
from __future__ import annotations

import subprocess
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from bigmodel_core.errors import ModelError
from bigmodel_core.serve import registry
from bigmodel_core.serve.bench import Engine, synthetic_feed
from bigmodel_core.serve.runtime import CUDA, default_threads

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    import onnxruntime as ort
    import torch

DEFAULT_BATCHES = (1, 8, 64, 256)
GRAPH_BATCHES = (1, 64)
MIN_CALLS = 20


def cuda_ready() -> tuple[bool, str]:
    """(True, "") where ONNX Runtime can run CUDA here, else (False, why not)."""
    import onnxruntime as ort

    from bigmodel_core.serve.runtime import gpu_usable

    if CUDA not in ort.get_available_providers():
        return False, f"this onnxruntime ({ort.__version__}) has no CUDAExecutionProvider"
    if not gpu_usable():
        return False, "no usable CUDA GPU on this machine (runtime.gpu_usable() is False)"
    return True, ""


def calls_for(batch: int, calls_b1: int) -> int:
    """Timed calls per engine at a batch size: `calls_b1` at batch 1, fewer for big batches (at least MIN_CALLS)."""
    return max(MIN_CALLS, int(calls_b1 / max(1, batch) ** 0.5)) if batch > 1 else max(1, calls_b1)


def set_tf32(enabled: bool) -> dict:
    """The same TF32 rule for PyTorch as `use_tf32` gives ONNX Runtime; returns what was set."""
    try:
        import torch
    except ImportError:
        return {"torch": None, "ort_use_tf32": enabled}
    torch.backends.cuda.matmul.allow_tf32 = enabled
    torch.backends.cudnn.allow_tf32 = enabled
    return {"torch_matmul_allow_tf32": torch.backends.cuda.matmul.allow_tf32,
            "torch_cudnn_allow_tf32": torch.backends.cudnn.allow_tf32, "ort_use_tf32": enabled}


def torch_model(entry: registry.Entry) -> tuple[torch.nn.Module, bool]:
    """(PyTorch eager model in eval mode, True if it has the registry's trained weights)."""
    from bigmodel_core.nn.nets import clamp_to_range
    from bigmodel_core.nn.zoo import build_model

    model = build_model(entry.card.architecture, dict(entry.card.arch_config, pretrained=False))
    weights = entry.folder / "weights.safetensors"
    trained = weights.exists()
    if trained:
        from safetensors.torch import load_file

        model.load_state_dict(load_file(str(weights)))
    return clamp_to_range(model.eval(), entry.card.target_range), trained


def torch_engine(model: torch.nn.Module, device: str) -> Engine:
    """PyTorch eager on `device`; inputs moved there once per shape (prepare), each call synchronised."""
    import torch

    model = model.to(device)
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)

    def prepare(feed):
        return [torch.from_numpy(np.ascontiguousarray(v)).to(device) for v in feed.values()]

    def run(tensors):
        with torch.inference_mode():
            out = model(*tensors)
        sync()
        return out
    return Engine(f"torch-{device}", run, f"pytorch-{device}", prepare)


def ort_host_engine(name: str, session: ort.InferenceSession, provider: str) -> Engine:
    """ONNX Runtime with numpy in and out (host↔device copies inside every call on a GPU)."""
    out = [session.get_outputs()[0].name]
    return Engine(name, lambda feed: session.run(out, feed), provider)


def ort_bound_engine(name: str, session: ort.InferenceSession, provider: str, device: str) -> Engine:
    """ONNX Runtime with IO binding: inputs on `device` once per shape, the output left there."""
    from bigmodel_core.gpu.iobinding import bind

    out = [session.get_outputs()[0].name]

    def run(binding):
        session.run_with_iobinding(binding)
        return binding
    return Engine(name, run, provider, lambda feed: bind(session, feed, out, device))


def ort_graph_engine(path: Path, threads: int, tf32: bool) -> Engine:
    """ONNX Runtime CUDA graph: one captured graph per input shape (built in prepare), replayed per call."""
    from bigmodel_core.gpu.cuda_graph import GraphRunner

    def prepare(feed):
        return GraphRunner(path, feed, threads=threads, use_tf32=tf32)

    return Engine("ort-cuda-graph", lambda runner: runner.run(), CUDA, prepare)


def _output(value) -> np.ndarray:
    """Any engine's result as a float64 numpy array (first output)."""
    if hasattr(value, "copy_outputs_to_cpu"):
        value = value.copy_outputs_to_cpu()
    if hasattr(value, "numpy") and hasattr(value, "data_ptr") and not hasattr(value, "detach"):
        value = value.numpy()                                  # an OrtValue
    value = value[0] if isinstance(value, (list, tuple)) else value
    if hasattr(value, "detach"):
        value = value.detach().float().cpu().numpy()
    return np.asarray(value, dtype=np.float64)


def time_interleaved(engines: list[Engine], prepared: dict, calls: int, warmup: int, burst: int = 50) -> dict:
    """{engine: [ms per call]}: warm-up, then rounds of `burst` calls per engine until each has `calls`."""
    for e in engines:
        for _ in range(warmup):
            e.run(prepared[e.name])
    times = {e.name: [] for e in engines}
    while min(len(t) for t in times.values()) < calls:
        for e in engines:
            x = prepared[e.name]
            for _ in range(min(burst, calls - len(times[e.name])) or 0):
                t0 = time.perf_counter()
                e.run(x)
                times[e.name].append((time.perf_counter() - t0) * 1000)
    return times


def gpu_info() -> dict:
    """nvidia-smi's name, driver and clocks of GPU 0 (or why they could not be read)."""
    query = "name,driver_version,clocks.sm,clocks.mem,clocks.max.sm,memory.total"
    try:
        out = subprocess.run(["nvidia-smi", f"--query-gpu={query}", "--format=csv,noheader"], capture_output=True,
                             text=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return {"error": f"nvidia-smi not available: {exc}"}
    if out.returncode != 0 or not out.stdout.strip():
        return {"error": f"nvidia-smi failed: {(out.stderr or out.stdout).strip()[:200]}"}
    values = [v.strip() for v in out.stdout.strip().splitlines()[0].split(",")]
    return dict(zip(query.split(","), values, strict=False))


def library_versions() -> dict:
    import platform

    import onnxruntime as ort

    versions = {"python": platform.python_version(), "onnxruntime": ort.__version__, "numpy": np.__version__}
    for name in ("onnx", "onnxconverter_common", "torch"):
        try:
            module = __import__(name)
            versions[name] = getattr(module, "__version__", "?")
        except ImportError:
            versions[name] = None
    try:
        import torch

        versions["torch_cuda"] = torch.version.cuda
        versions["cudnn"] = torch.backends.cudnn.version() if torch.cuda.is_available() else None
    except ImportError:
        pass
    return versions


def first_request(make: Callable[[], Engine], feed: dict[str, np.ndarray]) -> dict:
    """Milliseconds to load (make) an engine and to answer its first request (prepare + one call)."""
    t0 = time.perf_counter()
    engine = make()
    t1 = time.perf_counter()
    _output(engine.run(engine.prepare(feed)))
    t2 = time.perf_counter()
    return {"load_ms": (t1 - t0) * 1000, "first_call_ms": (t2 - t1) * 1000, "total_ms": (t2 - t0) * 1000}


def fp32_path(path: Path, tmp: Path, notes: list[str]) -> Path:
    """`path`, or an fp32 copy of it when it is dynamically quantised (int8 kernels would run on the CPU)."""
    import onnx

    from bigmodel_core.convert.dequantize import dequantize_model
    from bigmodel_core.convert.fp16 import QUANTISED_OPS

    model = onnx.load(str(path))
    if not any(n.op_type in QUANTISED_OPS for n in model.graph.node):
        return path
    notes.append("the registry's model.onnx is dynamic int8: ONNX Runtime runs its weights dequantised to fp32 "
                 "(dequantize.py), as the fp32 engines of this benchmark")
    onnx.save(dequantize_model(model), str(tmp / "fp32.onnx"))
    return tmp / "fp32.onnx"


def gpu_benchmark(model: str, batches: Sequence[int] = DEFAULT_BATCHES, calls_b1: int = 1000, warmup: int = 10,
                  tf32: bool = False,
                  threads: int | None = None, force_cpu: bool = False) -> dict:
    """Time the GPU engines (or, without a GPU, their CPU counterparts) on one registry model.

    Returns {"model", "mode": "cuda"|"cpu", "skipped": [{engine, reason}], "results": [rows: engine, batch,
    p50/p90/p99 ms, throughput, n, provider], "agreement": {engine: max |Δ| vs ORT numpy or None},
    "first_request": {engine: {load_ms, first_call_ms, total_ms}}, "tf32", "gpu", "versions", "notes"}.
    """
    from bigmodel_core.convert.fp16 import convert
    from bigmodel_core.serve import runtime

    entry = registry.load(model)
    threads = threads or default_threads()
    ok, why = (False, "forced onto the CPU") if force_cpu else cuda_ready()
    mode = "cuda" if ok else "cpu"
    device = "cuda" if ok else "cpu"
    skipped, notes = [], []
    if not ok:
        skipped = [{"engine": e, "reason": why} for e in
                   ("torch-cuda", "ort-cuda", "ort-cuda-iobind", "ort-cuda-graph", "ort-cuda-fp16")]
    tf32_set = set_tf32(tf32)
    tmp_dir = tempfile.TemporaryDirectory()
    path = fp32_path(entry.folder / "model.onnx", Path(tmp_dir.name), notes)
    feeds = {int(b): synthetic_feed(entry.card, int(b), folder=entry.folder) for b in batches}
    probe = feeds[min(feeds)]

    def make_session(p):
        if ok:
            from bigmodel_core.gpu import cuda_session

            return cuda_session.create(str(p), runtime.session_options(threads), use_tf32=tf32)
        return runtime.make_session(p, device="cpu", threads=threads)

    engines, first, holder = [], {}, {}
    try:
        import torch

        torch.set_num_threads(threads)

        def make_torch():
            holder["model"], holder["trained"] = torch_model(entry)
            return torch_engine(holder["model"], device)
        first[f"torch-{device}"] = first_request(make_torch, probe)
        engines.append(torch_engine(holder["model"], device))
        if not holder["trained"]:
            notes.append("no weights.safetensors: PyTorch runs the same architecture with fresh weights "
                         "(timing only, agreement not checked)")
    except ImportError:
        skipped.append({"engine": f"torch-{device}", "reason": "torch is not installed"})
    sessions = {}

    def make_host():
        sessions["fp32"] = make_session(path)
        return ort_host_engine(f"ort-{device}", *sessions["fp32"])
    first[f"ort-{device}"] = first_request(make_host, probe)
    session, provider = sessions["fp32"]
    engines.append(ort_host_engine(f"ort-{device}", session, provider))
    engines.append(ort_bound_engine(f"ort-{device}-iobind", session, provider, device))
    with tmp_dir as tmp:
        try:
            half, half_provider = make_session(convert(path, Path(tmp) / "fp16.onnx"))
            engines.append(ort_bound_engine(f"ort-{device}-fp16", half, half_provider, device))
        except ModelError as exc:
            skipped.append({"engine": f"ort-{device}-fp16", "reason": str(exc)})
        graph = None
        if ok:
            from bigmodel_core.gpu.cuda_graph import GraphNotEligible, GraphRunner

            try:
                GraphRunner(path, probe, threads=threads, use_tf32=tf32)          # eligible at all?
                graph = ort_graph_engine(path, threads, tf32)
                first["ort-cuda-graph"] = first_request(lambda: graph, probe)
            except GraphNotEligible as exc:
                skipped.append({"engine": "ort-cuda-graph", "reason": str(exc)})
        results = []
        for batch, feed in feeds.items():
            active = engines + ([graph] if graph is not None and batch in GRAPH_BATCHES else [])
            prepared = {e.name: e.prepare(feed) for e in active}
            times = time_interleaved(active, prepared, calls_for(batch, calls_b1), warmup)
            for e in active:
                t = np.array(times[e.name])
                p50 = float(np.percentile(t, 50))
                results.append(dict(engine=e.name, batch=batch, p50_ms=p50, p90_ms=float(np.percentile(t, 90)),
                                    p99_ms=float(np.percentile(t, 99)), throughput=float(batch / p50 * 1000.0),
                                    n=len(t), provider=e.provider))
            del prepared
        check = feeds.get(8, probe)
        ref_engine = next(e for e in engines if e.name == f"ort-{device}")
        ref = _output(ref_engine.run(ref_engine.prepare(check)))
        agreement = {}
        for e in engines + ([graph] if graph is not None and len(next(iter(check.values()))) in GRAPH_BATCHES else []):
            if e.name.startswith("torch") and not holder.get("trained", True):
                agreement[e.name] = None
                continue
            agreement[e.name] = float(np.max(np.abs(_output(e.run(e.prepare(check))) - ref))) if ref.size else 0.0
    return {"model": entry.id, "mode": mode, "threads": threads, "skipped": skipped, "results": results,
            "agreement": agreement, "first_request": first, "tf32": tf32_set, "notes": notes,
            "gpu": gpu_info() if ok else {"error": why}, "versions": library_versions(),
            "calls_b1": calls_b1, "warmup": warmup}


def speedups(result: dict, base: str, other: str) -> dict[int, float]:
    """{batch: p50(base) / p50(other)} from one report (engines measured side by side)."""
    p50 = {(r["engine"], r["batch"]): r["p50_ms"] for r in result["results"]}
    return {b: p50[(base, b)] / p50[(other, b)] for (e, b) in p50 if e == other and (base, b) in p50}
