"""ONNX Runtime sessions with honest provider choice, and the `Predictor` that serves a registry model.

CUDA is requested (never TensorRT, though onnxruntime-gpu lists it) only when a GPU is really
usable: onnxruntime-gpu lists CUDA on any machine and falls back to CPU with error spam
otherwise, so `gpu_usable()` asks ONNX Runtime itself, once per
process, whether a CUDA session of a tiny model really starts (`cuda_probe`). The provider that
actually runs is reported with every prediction. Inference needs onnxruntime, numpy and tokenizers
only: no torch, no scikit-learn.
"""
from __future__ import annotations

import functools
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from bigmodel_core import config
from bigmodel_core.errors import ModelError
from bigmodel_core.serve.card import ModelCard

if TYPE_CHECKING:
    from collections.abc import Iterable

    import onnxruntime as ort
    import pandas as pd

    # what `Predictor.predict` takes: pictures (paths, bytes, PIL images, arrays), texts, or a table
    Inputs = Iterable[Any] | pd.DataFrame

CPU = "CPUExecutionProvider"
CUDA = "CUDAExecutionProvider"
TENSORRT = "TensorrtExecutionProvider"


@functools.lru_cache(maxsize=1)
def gpu_usable() -> bool:
    """True only where a CUDA GPU really works (not merely where onnxruntime-gpu is installed). Cached."""
    if config.FORCE_CPU.get():
        return False
    from bigmodel_core.gpu.cuda_probe import cuda_session_starts

    return cuda_session_starts()


def default_threads() -> int:
    """Threads for both torch and ONNX Runtime: the physical cores we may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


def choose_providers(device: str = "auto", available: list[str] | None = None,
                     cuda_ok: bool | None = None) -> list[str]:
    """Providers to ask for, in order. `device`: auto | cpu | cuda.

    `available` and `cuda_ok` default to this machine; tests pass them to simulate a GPU.
    """
    import onnxruntime as ort

    available = ort.get_available_providers() if available is None else available
    cuda_ok = gpu_usable() if cuda_ok is None else cuda_ok
    if device == "cpu" or not cuda_ok or CUDA not in available:
        if device == "cuda":
            raise ModelError("CUDA was requested but no usable GPU was found.", hint="use the CPU provider")
        return [CPU]
    return [CUDA, CPU]


def session_options(threads: int | None = None) -> ort.SessionOptions:
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.intra_op_num_threads = threads or default_threads()
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.log_severity_level = 3          # errors only: no provider-fallback spam
    return so


def make_session(model: str | Path | bytes, device: str = "auto", threads: int | None = None,
                 providers: list[str] | None = None) -> tuple[ort.InferenceSession, str]:
    """An InferenceSession for a path or bytes. Returns (session, provider actually used)."""
    import onnxruntime as ort

    providers = providers or choose_providers(device)
    source = str(model) if isinstance(model, (str, Path)) else model
    try:
        if CUDA in providers:          # deliberate CUDA options + strict check: cuda_session.py
            from bigmodel_core.gpu import cuda_session

            try:
                return cuda_session.create(source, session_options(threads))
            except cuda_session.CudaUnavailable as exc:
                if device == "cuda":
                    raise
                logging.getLogger(__name__).warning("%s Running on the CPU.", exc)
                providers = [CPU]
        session = ort.InferenceSession(source, sess_options=session_options(threads), providers=providers)
    except ModelError:
        raise
    except Exception as exc:  # noqa: BLE001
        first = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
        raise ModelError(f"ONNX Runtime could not load the model: {first}",
                         hint="the file must be a valid, self-contained ONNX model") from exc
    return session, session.get_providers()[0]


@dataclass
class Prediction:
    label: str | None = None
    scores: dict[str, float] | None = None
    value: float | None = None

    def to_json(self) -> dict:
        if self.value is not None:
            return {"prediction": self.value}
        return {"label": self.label, "scores": self.scores}


class Predictor:
    """Everything needed to predict with one registry model: card, ORT session, preprocessing.

    `predict(inputs)` takes images (paths/bytes/PIL/arrays), texts, or a DataFrame
    according to the card's task and returns one `Prediction` per input.
    """

    def __init__(self, folder: Path, card: ModelCard, device: str = "auto", threads: int | None = None):
        self.folder, self.card = Path(folder), card
        self.task, self.problem = card.task, card.problem
        self.labels = card.labels or []
        self.session, self.provider = make_session(self.folder / "model.onnx", device=device, threads=threads)
        self.input_names = [i.name for i in self.session.get_inputs()]
        self.output_name = self.session.get_outputs()[0].name
        pre = card.preprocessing
        self.tokenizer = self.encoder = None
        if self.task == "text":
            from bigmodel_core.serve.preprocess import load_tokenizer

            self.tokenizer = load_tokenizer(self.folder / pre.get("tokenizer", "tokenizer.json"))
        elif self.task == "tabular":
            from bigmodel_core.serve.preprocess import TabularEncoder

            self.encoder = TabularEncoder.from_json((self.folder / pre.get("encoder", "encoder.json")).read_text())
        self.last_latency_ms = None
        self.notices: list[str] = []

    # -- inputs → feed -----------------------------------------------------------------------
    def prepare(self, inputs: Inputs) -> dict[str, np.ndarray]:
        from bigmodel_core.serve import preprocess as pp

        self.notices = []
        if self.task == "image":
            return {self.input_names[0]: pp.prepare_images(list(inputs), self.card.preprocessing)}
        if self.task == "text":
            texts, self.notices = pp.clean_texts(inputs)
            feed = pp.encode_texts(self.tokenizer, texts)
            unknown = [k for k in self.input_names if k not in feed]
            if unknown:
                raise ModelError(f"The model asks for inputs a text model does not have: {', '.join(unknown)}.",
                                 hint="the model.onnx does not fit its card; re-export the model")
            return {k: feed[k] for k in self.input_names}
        if self.task == "tabular":
            return {self.input_names[0]: self.encoder.transform(inputs)}
        raise ModelError(f"Unknown task '{self.task}' in the model card.")

    def run(self, feed: dict[str, np.ndarray], keep_on_device: bool = False) -> np.ndarray | ort.OrtValue:
        """The model's output for one batch; on CUDA (or with `keep_on_device`) through IO binding
        (iobinding.py), and with `keep_on_device` an OrtValue left on the session's device."""
        t0 = time.perf_counter()
        try:
            if keep_on_device or self.provider == CUDA:
                from bigmodel_core.gpu.iobinding import device_for, run_bound

                out = run_bound(self.session, feed, [self.output_name], device_for(self.provider),
                                keep_on_device=keep_on_device)[0]
            else:
                out = self.session.run([self.output_name], feed)[0]
        except Exception as exc:  # noqa: BLE001 - ORT raises its own types for a wrong shape or type
            first = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
            raise ModelError(f"The model could not run on this input: {first}",
                             hint="the model's inputs do not fit its card (shape or type); "
                                  "re-export the model") from exc
        self.last_latency_ms = (time.perf_counter() - t0) * 1000
        return out

    def scores(self, out: np.ndarray) -> np.ndarray:
        """Raw outputs of `run` → probabilities [N, K] (classification) or values [N] (regression)."""
        from bigmodel_core.serve.outputs import scores

        return scores(out, self.problem)

    def scores_of(self, feed: dict[str, np.ndarray]) -> np.ndarray:
        """Probabilities or values for a ready feed (a batch of prepared inputs)."""
        return self.scores(self.run(feed))

    def raw(self, inputs: Inputs) -> np.ndarray:
        """Model outputs: probabilities [N, K] for classification, values [N] for regression."""
        return self.scores_of(self.prepare(inputs))

    def predict(self, inputs: Inputs) -> list[Prediction]:
        out = self.raw(inputs)
        if self.problem == "regression":
            return [Prediction(value=float(v)) for v in out]
        return [Prediction(label=self.labels[int(p.argmax())],
                           scores={lab: float(s) for lab, s in zip(self.labels, p, strict=False)}) for p in out]
