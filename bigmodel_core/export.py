"""PyTorch → ONNX with the default (dynamo) exporter, and the parity check against PyTorch.

One self-contained `.onnx` file (`external_data=False`), a dynamic batch axis
(and a dynamic sequence axis for text). The exporter's progress lines are kept
off stdout so `--json` output stays clean.
"""
from __future__ import annotations

import contextlib
import inspect
import io
import warnings
from pathlib import Path

import numpy as np
import torch

from .errors import ModelError


def export_onnx(model: torch.nn.Module, example: dict[str, torch.Tensor], path: Path,
                output_name: str = "logits", sequence_axis: bool = False) -> Path:
    """Export `model(*example.values())` to `path`.

    `example` maps ONNX input names to example tensors in the order of the model's
    forward arguments, batch axis first.
    """
    model = model.eval().cpu()
    names = list(example)
    batch = torch.export.Dim("batch", min=1, max=4096)
    seq = torch.export.Dim("sequence", min=1, max=4096)
    dynamic = tuple({0: batch, 1: seq} if sequence_axis and t.dim() >= 2 else {0: batch} for t in example.values())
    params = inspect.signature(model.forward).parameters.values()
    if any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in params):     # forward(*inputs), e.g. an Ensemble
        dynamic = (dynamic,)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sink = io.StringIO()
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            warnings.simplefilter("ignore")
            program = torch.onnx.export(
                model, args=tuple(example.values()), input_names=names, output_names=[output_name],
                dynamic_shapes=dynamic, dynamo=True, external_data=False, verbose=False)
            program.save(str(path), external_data=False)
    except Exception as exc:  # noqa: BLE001 - the exporter raises many kinds
        raise ModelError(f"ONNX export failed: {str(exc).splitlines()[0][:300]}",
                         hint="see the model definition; the log is above") from exc
    return path


def torch_outputs(model: torch.nn.Module, feed: dict[str, np.ndarray]) -> np.ndarray:
    with torch.inference_mode():
        out = model.eval().cpu()(*[torch.from_numpy(v) for v in feed.values()])
    return out.detach().numpy()


def parity(model: torch.nn.Module, onnx_path: Path, feed: dict[str, np.ndarray]) -> float:
    """max |ONNX Runtime − PyTorch| over the outputs for one real batch."""
    from .runtime import make_session

    session, _ = make_session(onnx_path, device="cpu")
    ort_out = session.run(None, feed)[0]
    ref = torch_outputs(model, feed)
    if ort_out.shape != ref.shape:
        raise ModelError(f"ONNX output shape {ort_out.shape} differs from PyTorch {ref.shape}.")
    return float(np.max(np.abs(ort_out.astype(np.float64) - ref.astype(np.float64)))) if ref.size else 0.0
