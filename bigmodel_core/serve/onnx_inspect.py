"""Bring your own ONNX model: read a file someone hands you, say what it is, run it, time it.

`inspect_onnx` checks the file (size, protobuf, `onnx.checker`, and that ONNX Runtime
can build a session from it) and reports its inputs/outputs with shapes and dtypes,
opsets, an operator histogram, the parameter count and sizes. `feed_for` makes an
input batch (random values, or a picture fitted to an image-shaped input);
`run_onnx` runs it and `bench_onnx` times it with the same engine loop as the
registry benchmark. Nothing here unpickles anything: ONNX is a protobuf.
"""
from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

import numpy as np

from bigmodel_core.data.limits import MAX_UPLOAD_BYTES
from bigmodel_core.errors import DataError, ModelError

if TYPE_CHECKING:
    from collections.abc import Sequence

MAX_ONNX_BYTES = MAX_UPLOAD_BYTES          # the app's upload limit (.streamlit/config.toml)

# ONNX TensorProto element types → numpy (the ones a model input can sensibly have)
_DTYPES = {1: np.float32, 2: np.uint8, 3: np.int8, 5: np.int16, 6: np.int32, 7: np.int64, 9: np.bool_,
           10: np.float16, 11: np.float64, 12: np.uint32, 13: np.uint64}


@dataclass
class TensorInfo:
    name: str
    dtype: str                             # numpy name, e.g. "float32"
    shape: list                            # ints for fixed dims, strings for named ones, None for unknown

    def describe(self) -> str:
        dims = ", ".join("?" if d is None else str(d) for d in self.shape)
        return f"{self.name}: {self.dtype}[{dims}]"


@dataclass
class OnnxReport:
    file_bytes: int
    ir_version: int
    producer: str
    opsets: dict[str, int]
    inputs: list[TensorInfo]
    outputs: list[TensorInfo]
    operators: dict[str, int]              # op type → count, most frequent first
    nodes: int
    parameters: int                        # elements in the initializers (the weights)
    parameter_bytes: int
    providers: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        d = dict(self.__dict__)
        d["inputs"] = [t.__dict__ for t in self.inputs]
        d["outputs"] = [t.__dict__ for t in self.outputs]
        return d


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:240] if text else type(exc).__name__


def read_bytes(source: str | Path | bytes | BinaryIO) -> bytes:
    """Bytes of a path, bytes or file-like upload, refusing empty and oversized files before parsing."""
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.is_file():
            raise DataError(f"No such file: {path}.", hint="check the path")
        if path.stat().st_size > MAX_ONNX_BYTES:
            raise DataError(f"The file is {path.stat().st_size / 2**20:.0f} MB; "
                            f"the limit is {MAX_ONNX_BYTES // 2**20} MB.",
                            hint="use a smaller model (or quantise it to int8)")
        data = path.read_bytes()
    elif isinstance(source, (bytes, bytearray)):
        data = bytes(source)
    else:
        data = source.getvalue() if hasattr(source, "getvalue") else source.read()
    if not data:
        raise DataError("The file is empty.", hint="upload a .onnx model file")
    if len(data) > MAX_ONNX_BYTES:
        raise DataError(f"The file is {len(data) / 2**20:.0f} MB; the limit is {MAX_ONNX_BYTES // 2**20} MB.",
                        hint="use a smaller model (or quantise it to int8)")
    return data


def _tensor_info(value_info) -> TensorInfo:
    t = value_info.type.tensor_type
    dtype = _DTYPES.get(t.elem_type)
    shape = []
    if t.HasField("shape"):
        for d in t.shape.dim:
            shape.append(int(d.dim_value) if d.HasField("dim_value") else (d.dim_param or None))
    return TensorInfo(value_info.name, np.dtype(dtype).name if dtype else f"onnx-type-{t.elem_type}", shape)


def inspect_onnx(source: str | Path | bytes | BinaryIO, device: str = "cpu") -> OnnxReport:
    """Check and describe an ONNX model; raises DataError/ModelError with a clear message when it is not usable."""
    import onnx
    from google.protobuf.message import DecodeError

    from bigmodel_core.serve.runtime import make_session

    data = read_bytes(source)
    try:
        model = onnx.load_model_from_string(data)
    except (DecodeError, ValueError, RuntimeError) as exc:
        raise ModelError(f"This is not an ONNX model (the file could not be parsed: {_first_line(exc)}).",
                         hint="upload a .onnx file exported by PyTorch, TensorFlow, scikit-learn, …") from exc
    if not model.graph.node:
        raise ModelError("The file parsed, but it holds no ONNX graph.", hint="upload a .onnx model file")
    if any(t.data_location == onnx.TensorProto.EXTERNAL for t in model.graph.initializer):
        raise ModelError("The model keeps its weights in separate files (ONNX external data).",
                         hint="save it as one self-contained .onnx file "
                              "(e.g. onnx.save(model, path, save_as_external_data=False))")
    try:
        onnx.checker.check_model(model)
    except Exception as exc:  # noqa: BLE001 - onnx raises several types for invalid graphs
        raise ModelError(f"The ONNX model is invalid: {_first_line(exc)}",
                         hint="re-export it with a current exporter") from exc
    session, provider = make_session(data, device=device)          # ModelError when ORT cannot run it
    init_names = {t.name for t in model.graph.initializer}
    ops = Counter(n.op_type if n.domain in ("", "ai.onnx") else f"{n.domain}.{n.op_type}" for n in model.graph.node)
    params = sum(int(np.prod(t.dims)) if len(t.dims) else 1 for t in model.graph.initializer)
    param_bytes = sum(len(t.raw_data) if t.raw_data else 0 for t in model.graph.initializer)
    by_name = {vi.name: vi for vi in model.graph.input}
    inputs = [_tensor_info(by_name[i.name]) if i.name in by_name else TensorInfo(i.name, i.type, list(i.shape))
              for i in session.get_inputs() if i.name not in init_names]
    outputs = [_tensor_info(o) for o in model.graph.output]
    return OnnxReport(file_bytes=len(data), ir_version=int(model.ir_version), producer=model.producer_name or "",
                      opsets={(o.domain or "ai.onnx"): int(o.version) for o in model.opset_import},
                      inputs=inputs, outputs=outputs, operators=dict(ops.most_common()), nodes=len(model.graph.node),
                      parameters=params, parameter_bytes=param_bytes or params * 4, providers=[provider])


def _concrete(shape: list, batch: int) -> list[int]:
    """Fixed dims stay; a named or unknown first dim becomes `batch`, any other unknown dim 1."""
    return [d if isinstance(d, int) and d > 0 else (batch if i == 0 else 1) for i, d in enumerate(shape)]


def image_input(report: OnnxReport) -> TensorInfo | None:
    """The model's single image-like input ([N, 1|3, H, W] float with fixed H, W), if it has one."""
    if len(report.inputs) != 1:
        return None
    t = report.inputs[0]
    ok = (t.dtype in ("float32", "float16", "float64") and len(t.shape) == 4 and t.shape[1] in (1, 3)
          and all(isinstance(d, int) and d > 0 for d in t.shape[2:]))
    return t if ok else None


def feed_for(report: OnnxReport, batch: int = 1, seed: int = 0, image: object = None, invert: bool | None = None,
             scale: float = 1.0) -> dict[str, np.ndarray]:
    """An input batch: random values for every input, or `image` (any picture) fitted to an image-shaped input.

    Random floats are uniform in [0, 1); random integers are 0 or 1 (safe as token ids or flags).
    For a picture, `invert=None` inverts it when it is mostly light (a dark digit on paper → MNIST style).
    """
    rng = np.random.default_rng(seed)
    if image is not None:
        t = image_input(report)
        if t is None:
            raise DataError("This model has no single image-shaped input ([N, 1 or 3, H, W] float).",
                            hint="run it on random input instead")
        from bigmodel_core.serve.preprocess import prepare_images

        c, h, w = t.shape[1], t.shape[2], t.shape[3]
        arr = prepare_images([image], dict(channels=c, height=h, width=w))         # [1, C, H, W] in [0, 1]
        if invert if invert is not None else float(arr.mean()) > 0.5:
            arr = 1.0 - arr
        arr = np.repeat(arr, _concrete(t.shape, batch)[0], axis=0) * scale
        return {t.name: arr.astype(t.dtype)}
    feed = {}
    for t in report.inputs:
        shape = _concrete(t.shape, batch)
        if t.dtype.startswith("float"):
            feed[t.name] = rng.random(shape).astype(t.dtype)
        elif t.dtype == "bool":
            feed[t.name] = rng.random(shape) < 0.5
        elif t.dtype.startswith(("int", "uint")):
            feed[t.name] = rng.integers(0, 2, size=shape).astype(t.dtype)
        else:
            raise DataError(f"Cannot make an input of type {t.dtype} for '{t.name}'.",
                            hint="this input type is not supported")
    return feed


def run_onnx(source: str | Path | bytes | BinaryIO, feed: dict[str, np.ndarray], device: str = "cpu") -> dict:
    """Run once (after one warm-up): {"outputs": {name: array}, "latency_ms", "provider"}."""
    from bigmodel_core.serve.runtime import make_session

    session, provider = make_session(read_bytes(source), device=device)
    try:
        session.run(None, feed)
        t0 = time.perf_counter()
        values = session.run(None, feed)
        latency = (time.perf_counter() - t0) * 1000
    except Exception as exc:  # noqa: BLE001 - ORT raises its own types for bad shapes / types
        raise ModelError(f"The model could not run on this input: {_first_line(exc)}",
                         hint="check the input shapes and types above") from exc
    return dict(outputs={o.name: v for o, v in zip(session.get_outputs(), values, strict=False)}, latency_ms=latency,
                provider=provider)


def top_classes(logits: np.ndarray, k: int = 5) -> list[tuple[int, float]]:
    """For a [1, K] or [K] score vector: the k most likely class indices with softmax probabilities."""
    from bigmodel_core.serve.outputs import probabilities

    p = probabilities(np.asarray(logits).reshape(1, -1), keep_if_normalised=True)[0]
    order = np.argsort(-p)[:k]
    return [(int(i), float(p[i])) for i in order]


def bench_onnx(source: str | Path | bytes | BinaryIO, report: OnnxReport, batches: Sequence[int] = (1,),
               rounds: int = 30, warmup: int = 5, devices: Sequence[str] = ("cpu",),
               threads: int | None = None) -> dict:
    """Latency of the model on ONNX Runtime per device and batch (batch > 1 only where the first dim is free)."""
    from bigmodel_core.serve.bench import Engine, machine_info, time_engines
    from bigmodel_core.serve.runtime import default_threads, gpu_usable, make_session

    data = read_bytes(source)
    threads = threads or default_threads()
    engines = []
    for device in devices:
        if device == "cuda" and not gpu_usable():
            continue
        session, provider = make_session(data, device=device, threads=threads)
        engines.append(Engine(f"ort-{device}", (lambda s: lambda feed: s.run(None, feed))(session), provider))
    free_batch = all(not isinstance(t.shape[0], int) if t.shape else False for t in report.inputs)
    sizes = [b for b in batches if b == 1 or free_batch] or [1]
    results = time_engines(engines, {b: feed_for(report, batch=b) for b in sizes}, rounds=rounds, warmup=warmup)
    return {"results": results, "threads": threads, "machine": machine_info(), "batch_sweep": free_batch}


# ----------------------------------------------------------------------------- a sample to try

SAMPLE_ID = "onnx-mnist-8"
SAMPLE_FILE = "mnist-8.onnx"
SAMPLE_URL = ("https://github.com/onnx/models/raw/main/validated/vision/classification/mnist/model/mnist-8.onnx")
SAMPLE_SHA256 = "2f06e72de813a8635c9bc0397ac447a601bdbfa7df4bebc278723b958831c9bf"


def sample_model() -> Path:
    """The ONNX Model Zoo's MNIST CNN (26 KB, MIT): from the data cache, else downloaded and sha256-checked.

    Its input `Input3` is a [1, 1, 28, 28] float picture (light digit on dark, pixels in 0–1); its
    output `Plus214_Output_0` holds 10 digit scores.
    """
    from types import SimpleNamespace

    from bigmodel_core.data.catalog import RemoteFile
    from bigmodel_core.data.download import ensure_file

    return ensure_file(SimpleNamespace(id=SAMPLE_ID), RemoteFile(SAMPLE_FILE, SAMPLE_URL, SAMPLE_SHA256))


OWN_DEMO = "mnist-cnn"       # a shipped model: always on disk, so the inspector has something to open offline


def demo_model() -> tuple[str, Path]:
    """(file name, path) of a model to try the inspector on, with no network.

    The ONNX Model Zoo's mnist-8 when it is in the data cache (`fetch onnx-mnist-8` or the mirror),
    else this app's own digit CNN, which ships in `models/`.
    """
    from bigmodel_core.data.checksums import cached_sha256
    from bigmodel_core.paths import data_dir, models_dir

    zoo = data_dir() / SAMPLE_ID / SAMPLE_FILE
    if zoo.is_file() and cached_sha256(zoo) == SAMPLE_SHA256:
        return SAMPLE_FILE, zoo
    own = models_dir() / OWN_DEMO / "model.onnx"
    if own.is_file():
        return f"{OWN_DEMO}.onnx", own
    raise DataError("No demo model is on this machine.",
                    hint=f"restore the shipped model folder models/{OWN_DEMO} (e.g. git checkout models)")

