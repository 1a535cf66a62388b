"""Side-by-side latency benchmark: PyTorch eager vs ONNX Runtime (CPU, CUDA, int8).

Engines are interleaved round by round (each round times every engine once per
batch size) so machine noise hits all alike; each input shape is warmed up
before timing; torch runs in eval + inference mode with the same thread count
as ONNX Runtime. Results are plain dicts (the `bench --json` contract).
"""
from __future__ import annotations

import json
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from bigmodel_core.errors import ModelError
from bigmodel_core.serve import registry
from bigmodel_core.serve.card import ModelCard
from bigmodel_core.serve.runtime import CUDA, default_threads, gpu_usable, make_session

if TYPE_CHECKING:
    from collections.abc import Sequence

    import onnxruntime as ort

DEFAULT_BATCHES = (1, 8, 64, 256)
GPU_DEVICE = "cuda"                # where IO binding puts tensors (tests bind on "cpu" to exercise the logic)
BURST_MS = 20.0                    # per engine per round: long enough that switching engines is rare
MAX_BURST = 50
SETTLE_S = 0.005                   # untimed pause before each burst: idle threads stop spinning
_pause = time.sleep
SAMPLE_TEXTS = [
    "a gripping, beautifully acted film that stays with you",
    "the plot is thin and the jokes fall flat",
    "这家外卖送得很快，味道也不错",
    "an uneven but often charming comedy",
]


def synthetic_feed(card: ModelCard, batch: int, seed: int = 0, folder: Path | None = None) -> dict[str, np.ndarray]:
    """Realistic inputs of one batch size for a model: random pixels, real sentences, typical rows."""
    rng = np.random.default_rng(seed)
    task = card.task
    if task == "image":
        spec = card.input_spec[0]
        c, h, w = spec["shape"][1:]
        return {spec["name"]: rng.random((batch, c, h, w), dtype=np.float32)}
    if task == "text":
        from bigmodel_core.serve.preprocess import encode_texts, load_tokenizer

        tok = load_tokenizer(Path(folder) / card.preprocessing.get("tokenizer", "tokenizer.json"))
        texts = [SAMPLE_TEXTS[i % len(SAMPLE_TEXTS)] for i in range(batch)]
        return encode_texts(tok, texts)
    if task == "tabular":
        spec = card.input_spec[0]
        return {spec["name"]: rng.standard_normal((batch, spec["shape"][1])).astype(np.float32)}
    raise ModelError(f"Unknown task '{task}'.")


@dataclass
class Engine:
    """One way to run a model. `prepare(feed)` runs once per input shape, outside the timing
    (e.g. copying inputs to the GPU); `run(prepared)` is what is timed."""
    name: str
    run: Callable
    provider: str = ""
    prepare: Callable = lambda feed: feed


def torch_engine(entry: registry.Entry, threads: int) -> Engine | None:
    """PyTorch eager for a registry model, rebuilt from weights.safetensors (None if not kept)."""
    weights = entry.folder / "weights.safetensors"
    if not weights.exists():
        return None
    import torch
    from safetensors.torch import load_file

    from bigmodel_core.nn.zoo import build_model

    torch.set_num_threads(threads)
    from bigmodel_core.nn.nets import clamp_to_range

    model = build_model(entry.card.architecture, dict(entry.card.arch_config, pretrained=False))
    model.load_state_dict(load_file(str(weights)))
    model = clamp_to_range(model.eval(), entry.card.target_range)      # as the ONNX graph clips

    def run(feed):
        with torch.inference_mode():
            return model(*[torch.from_numpy(v) for v in feed.values()])
    return Engine("torch", run, "pytorch-cpu")


def ort_engine(name: str, path: Path, device: str, threads: int) -> Engine:
    session, provider = make_session(path, device=device, threads=threads)
    out = [session.get_outputs()[0].name]

    def run(feed):
        return session.run(out, feed)
    return Engine(name, run, provider)


def iobinding_engine(name: str, session: ort.InferenceSession, provider: str, device: str = "cuda",
                     device_id: int = 0) -> Engine:
    """ONNX Runtime with IO binding: inputs copied to `device` once (in `prepare`), outputs left there.

    This is how a GPU serves a stream of requests whose tensors already live on the device;
    the host↔device copies it avoids are timed separately by `transfer_times`.
    """
    import onnxruntime as ort

    out_name = session.get_outputs()[0].name

    def prepare(feed):
        binding = session.io_binding()
        for k, v in feed.items():
            binding.bind_ortvalue_input(k, ort.OrtValue.ortvalue_from_numpy(np.ascontiguousarray(v), device, device_id))
        binding.bind_output(out_name, device, device_id)
        return binding

    def run(binding):
        session.run_with_iobinding(binding)
        return binding
    return Engine(name, run, provider, prepare)


def transfer_times(feed: dict[str, np.ndarray], session: ort.InferenceSession, device: str = "cuda", device_id: int = 0,
                   repeats: int = 20) -> dict:
    """Median milliseconds to copy one batch's inputs host→device and its output device→host."""
    import onnxruntime as ort

    h2d, d2h = [], []
    binding = iobinding_engine("x", session, "", device, device_id).prepare(feed)
    session.run_with_iobinding(binding)
    out = binding.get_outputs()[0]
    for _ in range(repeats):
        t0 = time.perf_counter()
        for v in feed.values():
            ort.OrtValue.ortvalue_from_numpy(np.ascontiguousarray(v), device, device_id)
        h2d.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        out.numpy()
        d2h.append((time.perf_counter() - t0) * 1000)
    return dict(h2d_ms=float(np.median(h2d)), d2h_ms=float(np.median(d2h)))


def machine_info() -> dict:
    import onnxruntime as ort

    info = dict(cpu=platform.processor() or platform.machine(), cores=default_threads(),
                python=platform.python_version(), onnxruntime=ort.__version__, gpu=None)
    try:
        import torch

        info["torch"] = torch.__version__
        if gpu_usable():
            info["gpu"] = torch.cuda.get_device_name(0)
    except (ImportError, RuntimeError, AssertionError):      # no torch, or a CUDA that cannot name its device
        pass
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return info


def engines_for(entry: registry.Entry, names: list[str] | None, threads: int) -> list[Engine]:
    wanted = names or ["torch", "ort-cpu", "ort-cuda", "ort-int8"]
    engines = []
    if "torch" in wanted:
        eng = torch_engine(entry, threads)
        if eng:
            engines.append(eng)
    if "ort-cpu" in wanted:
        engines.append(ort_engine("ort-cpu", entry.folder / "model.onnx", "cpu", threads))
    if "ort-cuda" in wanted and gpu_usable():
        session, provider = make_session(entry.folder / "model.onnx", device="cuda", threads=threads)
        if provider == CUDA:
            engines.append(iobinding_engine("ort-cuda", session, provider, GPU_DEVICE))
            engines.append(Engine("ort-cuda-host", (lambda s: lambda feed: s.run(None, feed))(session), provider))
    if "ort-int8" in wanted:
        int8 = entry.folder.parent / f"{entry.id}-int8"
        if (int8 / "model.onnx").exists():
            registry.load(int8)
            engines.append(ort_engine("ort-int8", int8 / "model.onnx", "cpu", threads))
    return engines


def time_engines(engines: list[Engine], feeds: dict[int, dict[str, np.ndarray]], rounds: int = 30,
                 warmup: int = 5, min_time_s: float = 0.0, burst_ms: float = BURST_MS,
                 max_burst: int = MAX_BURST, settle_s: float = SETTLE_S) -> list[dict]:
    """Time every engine on every batch's feed, interleaved round by round; one result row per (engine, batch).

    Each input shape is warmed up on every engine before its rounds; large batches get
    fewer rounds (at least 5). In a round each engine makes a short burst of timed calls
    (until `burst_ms` has passed, at least one call, at most `max_burst`): slow drifts of the
    machine still hit every engine alike, but one engine's idle worker threads, which keep
    spinning for a moment after its call, do not land on the other engine's every call —
    with one call per engine per round on a 2-core machine they would halve both. A short
    untimed pause (`settle_s`) before each burst lets those threads go back to sleep.
    Rows: engine, batch, p50/p90/p99 ms, throughput (items/s), provider, n (timed calls).
    """
    results = []
    for batch, feed in feeds.items():
        prepared = {e.name: e.prepare(feed) for e in engines}
        for e in engines:                                # warm-up for this input shape
            for _ in range(warmup):
                e.run(prepared[e.name])
        times = {e.name: [] for e in engines}
        n_rounds = rounds if batch <= 64 else max(5, rounds // 3)
        start = time.perf_counter()
        r = 0
        while r < n_rounds or (time.perf_counter() - start) < min_time_s:
            for e in engines:                            # interleaved: one burst per engine per round
                if settle_s and len(engines) > 1:
                    _pause(settle_s)                     # let the previous engine's worker threads go idle
                x, spent, calls = prepared[e.name], 0.0, 0
                while calls == 0 or (spent < burst_ms and calls < max_burst):
                    t0 = time.perf_counter()
                    e.run(x)
                    ms = (time.perf_counter() - t0) * 1000
                    times[e.name].append(ms)
                    spent, calls = spent + ms, calls + 1
            r += 1
        for e in engines:
            t = np.array(times[e.name])
            p50 = float(np.percentile(t, 50))
            results.append(dict(engine=e.name, batch=int(batch), p50_ms=p50, p90_ms=float(np.percentile(t, 90)),
                                p99_ms=float(np.percentile(t, 99)), throughput=float(batch / p50 * 1000.0),
                                provider=e.provider, n=len(t)))
    return results


def same_answers(engines: list[Engine], feed: dict[str, np.ndarray]) -> dict[str, float]:
    """Max |difference| of each engine's output from the first engine's, on one feed."""
    def value(e):
        out = e.run(e.prepare(feed))
        if hasattr(out, "copy_outputs_to_cpu"):                  # an IO binding
            out = out.copy_outputs_to_cpu()
        out = out[0] if isinstance(out, (list, tuple)) else out
        return np.asarray(out.detach().numpy() if hasattr(out, "detach") else out, dtype=np.float64)

    ref = value(engines[0])
    out = {engines[0].name: 0.0}
    for e in engines[1:]:
        out[e.name] = float(np.max(np.abs(value(e) - ref))) if ref.size else 0.0
    return out


def benchmark(model: str, batches: Sequence[int] = DEFAULT_BATCHES, engines: list[str] | None = None,
              rounds: int = 30,
              warmup: int = 5, threads: int | None = None, min_time_s: float = 0.0,
              burst_ms: float = BURST_MS) -> dict:
    """Time every engine at every batch size.

    Returns {"model", "threads", "results": [row per engine × batch], "agreement": {engine: max |Δ| vs the
    first engine at batch 8}, "transfers": {batch: {h2d_ms, d2h_ms}} (GPU only), "machine": {...}}.
    """
    import torch

    entry = registry.load(model)
    threads = threads or default_threads()
    before = torch.get_num_threads()
    try:
        return _benchmark(entry, batches, engines, rounds, warmup, threads, min_time_s, burst_ms)
    finally:
        torch.set_num_threads(before)          # the torch engine sets the process-wide thread count


def _benchmark(entry, batches, engines, rounds, warmup, threads, min_time_s, burst_ms) -> dict:
    engs = engines_for(entry, engines, threads)
    if not engs:
        raise ModelError("No engine could run this model.", hint="export it again with weights kept")
    feeds = {int(b): synthetic_feed(entry.card, int(b), folder=entry.folder) for b in batches}
    results = time_engines(engs, feeds, rounds=rounds, warmup=warmup, min_time_s=min_time_s, burst_ms=burst_ms)
    agreement = same_answers(engs, synthetic_feed(entry.card, 8, seed=1, folder=entry.folder))
    transfers = {}
    cuda = next((e for e in engs if e.name == "ort-cuda-host"), None)
    if cuda is not None:
        session, _ = make_session(entry.folder / "model.onnx", device="cuda", threads=threads)
        transfers = {b: transfer_times(f, session, GPU_DEVICE) for b, f in feeds.items()}
    return {"model": entry.id, "threads": threads, "results": results, "agreement": agreement,
            "transfers": transfers, "machine": machine_info()}


CONTRACT_ENGINES = ("torch", "ort-cpu", "ort-cuda", "ort-int8")   # ort-cuda-host (GPU with host copies): reports only
CONTRACT_KEYS = ("engine", "batch", "p50_ms", "p90_ms", "p99_ms", "throughput")


def contract_rows(result: dict) -> list[dict]:
    """The rows `bench --json` prints (and the benchmark page downloads): one per engine and batch size."""
    return [{k: r[k] for k in CONTRACT_KEYS} for r in result["results"] if r["engine"] in CONTRACT_ENGINES]


def contract_json(result: dict) -> str:
    """`contract_rows` as the one line of JSON that `bench --json` prints."""
    return json.dumps(contract_rows(result), ensure_ascii=False) + "\n"


def speedups(results: list[dict], base: str = "torch") -> dict:
    """{engine: {batch: p50(base) / p50(engine)}} for engines measured beside `base`."""
    p50 = {(r["engine"], r["batch"]): r["p50_ms"] for r in results}
    out = {}
    for (engine, batch), v in p50.items():
        if engine != base and (base, batch) in p50:
            out.setdefault(engine, {})[batch] = p50[(base, batch)] / v
    return out
