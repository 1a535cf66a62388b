"""CUDA graphs for ONNX Runtime: capture one fixed-shape call, then replay it for new data.

A CUDA graph removes the per-kernel launch cost that dominates small models at batch 1.
ONNX Runtime captures the graph on the first `run_with_iobinding` of a session made with
`enable_cuda_graph=1`; every later call replays it on the same device buffers. So the
inputs and the output are bound once to fixed OrtValues, new data is copied into the
bound input (`update_inplace`), and one runner serves exactly one input shape (the
benchmark uses batch 1 and 64). ONNX Runtime refuses the option for a model whose every
node does not run on CUDA; `GraphRunner` then raises `GraphNotEligible` saying so.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from bigmodel_core.errors import ModelError

if TYPE_CHECKING:
    import onnxruntime as ort

GRAPH_BATCHES = (1, 64)


class GraphNotEligible(ModelError):
    """The model cannot be served as a CUDA graph (not every node runs on CUDA, or no CUDA at all)."""


def output_specs(source: str | bytes, feed: dict[str, np.ndarray]) -> list[tuple[str, tuple, np.dtype]]:
    """(name, shape, dtype) of each output for this feed, from one plain CPU run (a graph needs them preallocated)."""
    import onnxruntime as ort

    from bigmodel_core.serve.runtime import session_options

    cpu = ort.InferenceSession(source, sess_options=session_options(1), providers=["CPUExecutionProvider"])
    outs = cpu.run(None, feed)
    return [(o.name, v.shape, v.dtype) for o, v in zip(cpu.get_outputs(), outs, strict=False)]


class GraphRunner:
    """One model at one fixed input shape, captured as a CUDA graph.

    `run(feed)` copies `feed` into the bound device inputs and replays the graph; the
    output stays on the GPU (`output`, an OrtValue) until `result()` copies it back.
    """

    def __init__(self, model: str | Path | bytes, template: dict[str, np.ndarray], threads: int | None = None,
                 device_id: int = 0,
                 use_tf32: bool = True, device: str = "cuda"):
        """`device="cpu"` runs the same bound-buffer logic on a plain CPU session (no graph): tests without a GPU."""
        import onnxruntime as ort

        from bigmodel_core.gpu import cuda_session
        from bigmodel_core.serve.runtime import session_options

        source = str(model) if isinstance(model, (str, Path)) else model
        self.shape = {k: tuple(v.shape) for k, v in template.items()}
        try:
            if device == "cpu":
                self.session = ort.InferenceSession(source, sess_options=session_options(threads),
                                                    providers=["CPUExecutionProvider"])
                self.provider = "CPUExecutionProvider"
            else:
                self.session, self.provider = cuda_session.create(source, session_options(threads), device_id=device_id,
                                                                  use_tf32=use_tf32, cuda_graph=True)
        except cuda_session.CudaUnavailable:
            raise
        except Exception as exc:  # noqa: BLE001 - ORT refuses graph capture when a node would run on the CPU
            first = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
            raise GraphNotEligible(f"This model cannot run as a CUDA graph: {first}",
                                   hint="CUDA graphs need every node on CUDA; serve it with IO binding "
                                        "instead") from exc
        self.inputs = {k: ort.OrtValue.ortvalue_from_numpy(np.ascontiguousarray(v), device, device_id)
                       for k, v in template.items()}
        self.outputs = {name: ort.OrtValue.ortvalue_from_shape_and_type(list(shape), np.dtype(dtype).type, device,
                                                                        device_id)
                        for name, shape, dtype in output_specs(source, template)}
        self.binding = self.session.io_binding()
        for k, v in self.inputs.items():
            self.binding.bind_ortvalue_input(k, v)
        for k, v in self.outputs.items():
            self.binding.bind_ortvalue_output(k, v)
        self.session.run_with_iobinding(self.binding)        # warm-up + capture
        self.output = next(iter(self.outputs.values()))

    def run(self, feed: dict[str, np.ndarray] | None = None) -> ort.OrtValue:
        """Replay the graph, after copying `feed` (same shapes as the template) into the bound inputs."""
        for k, v in (feed or {}).items():
            if tuple(v.shape) != self.shape[k]:
                raise ModelError(f"A CUDA graph replays one shape only: {k} is {tuple(v.shape)}, "
                                 f"the graph was captured for {self.shape[k]}.")
            self.inputs[k].update_inplace(np.ascontiguousarray(v))
        self.session.run_with_iobinding(self.binding)
        return self.output

    def result(self) -> np.ndarray:
        """The first output of the last replay, copied to the host."""
        return self.output.numpy()
