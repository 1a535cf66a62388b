"""CUDA sessions of ONNX Runtime with deliberate options, and a strict check that CUDA really runs.

onnxruntime-gpu lists CUDAExecutionProvider on any machine and quietly falls back to
the CPU when the CUDA libraries cannot load; `strict_provider_check` turns that into a
clear error. The provider options chosen here:

- `cudnn_conv_algo_search=HEURISTIC`: the default exhaustive search costs hundreds of ms
  for every new input shape;
- `arena_extend_strategy=kSameAsRequested`: the default arena grows by powers of two;
- `gpu_mem_limit`: from the `gpu_mem_limit` setting (bytes; `BIGMODEL_GPU_MEM_LIMIT` or
  `[bigmodel] gpu_mem_limit`), unset = no limit;
- `use_tf32`: explicit, so a benchmark can match PyTorch's TF32 setting;
- the copy stream is left at ORT's default.
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from bigmodel_core import config
from bigmodel_core.errors import ModelError

if TYPE_CHECKING:
    import onnxruntime as ort

log = logging.getLogger(__name__)

CPU = "CPUExecutionProvider"
CUDA = "CUDAExecutionProvider"


class CudaUnavailable(ModelError):
    """CUDA was asked for but the session did not get it (it would have run on the CPU)."""


def gpu_mem_limit() -> int | None:
    """The arena's byte limit from the `gpu_mem_limit` setting; None (no limit) when unset or not positive."""
    value = config.GPU_MEM_LIMIT.get()
    return value if value and value > 0 else None


def cuda_provider_options(device_id: int = 0, use_tf32: bool = True, cuda_graph: bool = False,
                          mem_limit: int | None = None) -> dict[str, str]:
    """The CUDAExecutionProvider options this project uses (all values as strings, as ORT expects)."""
    options = {
        "device_id": str(device_id),
        "cudnn_conv_algo_search": "HEURISTIC",
        "arena_extend_strategy": "kSameAsRequested",
        "use_tf32": "1" if use_tf32 else "0",
    }
    limit = mem_limit if mem_limit is not None else gpu_mem_limit()
    if limit:
        options["gpu_mem_limit"] = str(int(limit))
    if cuda_graph:
        options["enable_cuda_graph"] = "1"
    return options


def cuda_providers(**options: Any) -> list:
    """The `providers` argument for a CUDA session: CUDA with its options, then the CPU."""
    return [(CUDA, cuda_provider_options(**options)), CPU]


def preload() -> str | None:
    """Load the CUDA/cuDNN libraries (those the torch wheels bring) before a CUDA session; why not, if it failed."""
    import onnxruntime as ort

    if not hasattr(ort, "preload_dlls"):
        return None
    try:
        ort.preload_dlls()
    except Exception as exc:  # noqa: BLE001 - a failed preload only means CUDA will not start
        return str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
    return None


def strict_provider_check(session: ort.InferenceSession, preload_error: str | None = None) -> str:
    """The provider that really runs; raises CudaUnavailable when it is not CUDA.

    Call it only where CUDA was requested: `session.get_providers()` lists what the session
    got, CUDA first when it loaded. Anything else means ORT fell back to the CPU.
    """
    got = list(session.get_providers())
    if got and got[0] == CUDA:
        return CUDA
    import onnxruntime as ort

    why = ("the CUDA libraries could not load"
           + (f" ({preload_error})" if preload_error else "")
           + f"; ONNX Runtime {ort.__version__} lists {', '.join(ort.get_available_providers())} but this "
           + f"session got {', '.join(got) or 'no provider'}")
    raise CudaUnavailable(f"CUDA was requested but the session would run on the CPU: {why}.",
                          hint="install the CUDA 12/13 runtime and cuDNN (the torch CUDA wheels bring them), "
                               "check nvidia-smi, or use the CPU")


def create(source: str | bytes, sess_options: ort.SessionOptions,
           **options: Any) -> tuple[ort.InferenceSession, str]:
    """An InferenceSession on CUDA with the options above, checked strictly. Returns (session, CUDA).

    `source` is a path string or model bytes; `options` go to `cuda_provider_options`.
    """
    import onnxruntime as ort

    preload_error = preload()
    session = ort.InferenceSession(source, sess_options=sess_options, providers=cuda_providers(**options))
    return session, strict_provider_check(session, preload_error)
