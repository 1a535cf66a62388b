"""Does a CUDA session of ONNX Runtime really start on this machine? Asked of ONNX Runtime itself, no torch.

onnxruntime-gpu lists `CUDAExecutionProvider` on any machine, GPU or not, and silently falls back to
the CPU when CUDA cannot start. `cuda_session_starts()` therefore opens a session of a 69-byte model
(one Identity node) with CUDA first and checks that CUDA is the provider that came up and that the
model runs. Cheap exits first: no CUDA provider in this build, or no NVIDIA driver library to load.
The result is cached by `runtime.gpu_usable()` (once per process).
"""
from __future__ import annotations

import contextlib
import ctypes
import sys

CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"

# ModelProto: y = Identity(x), x and y float[1], opset 13, IR version 8 — what
# onnx.helper.make_model(make_graph([make_node("Identity", ["x"], ["y"])], "probe", …)) writes
# (tests rebuild it with onnx.helper and compare), kept as bytes so the probe never imports onnx.
PROBE_MODEL = (b'\x08\x08:;\n\x10\n\x01x\x12\x01y"\x08Identity\x12\x05probeZ\x0f\n\x01x\x12\n\n\x08\x08\x01\x12'
               b'\x04\n\x02\x08\x01b\x0f\n\x01y\x12\n\n\x08\x08\x01\x12\x04\n\x02\x08\x01B\x04\n\x00\x10\r')
DRIVER_LIBRARIES = {"win32": ("nvcuda.dll",)}.get(sys.platform, ("libcuda.so.1", "libcuda.so"))


def driver_present() -> bool:
    """The NVIDIA driver's CUDA library can be loaded (CUDA cannot start without it)."""
    for name in DRIVER_LIBRARIES:
        try:
            ctypes.CDLL(name)
            return True
        except OSError:
            continue
    return False


def cuda_session_starts() -> bool:
    """True when ONNX Runtime opens the probe model on CUDA and runs it; False otherwise, silently."""
    import numpy as np
    import onnxruntime as ort

    if CUDA not in ort.get_available_providers() or not driver_present():
        return False
    if hasattr(ort, "preload_dlls"):
        # CUDA/cuDNN from the nvidia-* wheels (the full install's torch brings them); a failed preload only
        # means CUDA may not start, and the session says so
        with contextlib.suppress(Exception):
            ort.preload_dlls()
    options = ort.SessionOptions()
    options.log_severity_level = 4
    ort.set_default_logger_severity(4)            # a failing CUDA provider logs errors before any session exists
    try:
        session = ort.InferenceSession(PROBE_MODEL, sess_options=options, providers=[CUDA, CPU])
        if session.get_providers()[0] != CUDA:
            return False
        out = session.run(None, {"x": np.ones(1, dtype=np.float32)})[0]
        return bool(out.shape == (1,) and out[0] == 1.0)
    except Exception:  # noqa: BLE001 - any failure to start or run means: no usable CUDA
        return False
    finally:
        ort.set_default_logger_severity(2)        # ONNX Runtime's default (warnings)
