"""IO binding for ONNX Runtime: inputs copied to the device once, outputs left there when wanted.

Without IO binding every `session.run` on a GPU copies its numpy inputs to the device
and its outputs back, and a benchmark then mostly times those copies. With a binding
the inputs become device tensors (`OrtValue.ortvalue_from_numpy(x, "cuda", 0)`) before
the call, and the output stays on the device until the caller asks for it. On a CPU
machine the same code runs with device "cpu", which is how it is tested without a GPU.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import onnxruntime as ort


def device_for(provider: str) -> str:
    """The OrtValue device name for a session's provider: "cuda" for CUDA, "cpu" otherwise."""
    return "cuda" if provider == "CUDAExecutionProvider" else "cpu"


def to_device(array: np.ndarray, device: str = "cuda", device_id: int = 0) -> ort.OrtValue:
    """One numpy array as an OrtValue on `device` (one host→device copy)."""
    import onnxruntime as ort

    return ort.OrtValue.ortvalue_from_numpy(np.ascontiguousarray(array), device, device_id)


def bind(session: ort.InferenceSession, feed: dict, output_names: list[str] | None = None, device: str = "cuda",
         device_id: int = 0) -> ort.IOBinding:
    """An IO binding of `feed` (numpy arrays or OrtValues already on the device) with outputs on `device`."""
    binding = session.io_binding()
    for name, value in feed.items():
        binding.bind_ortvalue_input(name, value if hasattr(value, "data_ptr") else to_device(value, device, device_id))
    for name in output_names or [o.name for o in session.get_outputs()]:
        binding.bind_output(name, device, device_id)
    return binding


def run_bound(session: ort.InferenceSession, feed: dict, output_names: list[str] | None = None, device: str = "cuda",
              device_id: int = 0, keep_on_device: bool = False) -> list:
    """Run `session` through an IO binding. Returns numpy arrays, or OrtValues on `device` with `keep_on_device`."""
    binding = bind(session, feed, output_names, device, device_id)
    session.run_with_iobinding(binding)
    if keep_on_device:
        return binding.get_outputs()
    return binding.copy_outputs_to_cpu()
