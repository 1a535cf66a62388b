"""PyTorch → ONNX with the default (dynamo) exporter, and the parity check against PyTorch.

One self-contained `.onnx` file (`external_data=False`), a dynamic batch axis
(and a dynamic sequence axis for text). The exporter's progress lines are kept
off stdout so `--json` output stays clean. A regression model's output is then
clamped to its target's valid range by a `Clip` appended to the graph
(`clip_output`), so ONNX Runtime never answers −6 bikes an hour.
"""
from __future__ import annotations

import contextlib
import inspect
import io
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from bigmodel_core.errors import ModelError

if TYPE_CHECKING:
    import onnx


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
    from bigmodel_core.serve.runtime import make_session

    session, _ = make_session(onnx_path, device="cpu")
    ort_out = session.run(None, feed)[0]
    ref = torch_outputs(model, feed)
    if ort_out.shape != ref.shape:
        raise ModelError(f"ONNX output shape {ort_out.shape} differs from PyTorch {ref.shape}.")
    return float(np.max(np.abs(ort_out.astype(np.float64) - ref.astype(np.float64)))) if ref.size else 0.0


CLIP_NODE = "target_range_clip"           # the Clip that `clip_output` appends (found again by this name)


def clip_output(model: onnx.ModelProto, lo: float | None, hi: float | None) -> onnx.ModelProto:
    """`model` (an onnx.ModelProto) with its first output clamped to [lo, hi] by a `Clip` node.

    Either bound may be None (no limit on that side). The producer of the output now writes
    `<output>_unclipped`, and the Clip writes the output under its old name, so callers see
    the same graph interface. Calling it again on a clipped graph replaces the bounds instead
    of stacking a second Clip. Needs the default-domain opset ≥ 11 (Clip with min/max inputs).
    """
    import copy

    import onnx
    from onnx import helper, numpy_helper

    if lo is None and hi is None:
        raise ModelError("clip_output needs at least one bound.")
    if lo is not None and hi is not None and lo > hi:
        raise ModelError(f"Invalid target range: min {lo} > max {hi}.")
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)
    if opset < 11:
        raise ModelError(f"Cannot clip the output of an opset {opset} graph.", hint="re-export with opset 11 or newer")
    model = copy.deepcopy(model)
    graph = model.graph
    out = graph.output[0]
    dtype = onnx.helper.tensor_dtype_to_np_dtype(out.type.tensor_type.elem_type)
    lo_name, hi_name = f"{CLIP_NODE}_min", f"{CLIP_NODE}_max"
    old = next((n for n in graph.node if n.name == CLIP_NODE), None)
    if old is not None:                                    # clipped before: drop that Clip and its bounds
        raw = old.input[0]
        graph.node.remove(old)
        for init in [i for i in graph.initializer if i.name in (lo_name, hi_name)]:
            graph.initializer.remove(init)
    else:
        raw = f"{out.name}_unclipped"
        for node in graph.node:
            for field in (node.input, node.output):
                for k, name in enumerate(field):
                    if name == out.name:
                        field[k] = raw
    inputs = [raw]
    for name, bound in ((lo_name, lo), (hi_name, hi)):
        if bound is None:
            inputs.append("")                              # an omitted optional input
        else:
            graph.initializer.append(numpy_helper.from_array(np.asarray(bound, dtype=dtype), name))
            inputs.append(name)
    while inputs[-1] == "":
        inputs.pop()
    graph.node.append(helper.make_node("Clip", inputs, [out.name], name=CLIP_NODE))
    onnx.checker.check_model(model)
    return model


def clip_onnx_file(path: Path, lo: float | None, hi: float | None, out: Path | None = None) -> Path:
    """`clip_output` on a file: read `path`, write the clipped graph to `out` (default: over `path`)."""
    import onnx

    model = clip_output(onnx.load(str(path)), lo, hi)
    out = Path(out or path)
    onnx.save(model, str(out))
    return out
