"""GPU detection without torch: ONNX Runtime is asked whether a CUDA session really starts.

On this CPU machine the environment is simulated — ONNX Runtime's provider list, the NVIDIA driver
library and the providers a session comes up with — never our own functions. On a machine with a
working CUDA GPU the last test asks the real thing.
"""
import ctypes

import numpy as np
import onnxruntime as ort
import pytest

from bigmodel_core.gpu import cuda_probe
from bigmodel_core.gpu.cuda_probe import CPU, CUDA, PROBE_MODEL
from bigmodel_core.serve import runtime

REAL_SESSION = ort.InferenceSession
REAL_CDLL = ctypes.CDLL


def test_the_probe_model_is_what_onnx_helper_builds_and_it_runs():
    from onnx import TensorProto, checker, helper

    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "probe",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    checker.check_model(model)
    assert model.SerializeToString() == PROBE_MODEL
    session = REAL_SESSION(PROBE_MODEL, providers=[CPU])
    assert session.run(None, {"x": np.array([3.5], dtype=np.float32)})[0].tolist() == [3.5]


class Machine:
    """A simulated machine: what ONNX Runtime lists, whether the driver loads, what a CUDA session becomes."""

    def __init__(self, monkeypatch, available, driver=True, comes_up=(CUDA, CPU), fails=False):
        self.sessions = 0
        monkeypatch.setattr(ort, "get_available_providers", lambda: list(available))
        monkeypatch.setattr(ort, "preload_dlls", lambda *a, **k: None, raising=False)

        def cdll(name, *args, **kwargs):
            if name in cuda_probe.DRIVER_LIBRARIES:
                if driver:
                    return object()
                raise OSError(f"{name}: cannot open shared object file")
            return REAL_CDLL(name, *args, **kwargs)
        monkeypatch.setattr(ctypes, "CDLL", cdll)
        machine = self

        class Session:                                    # a real CPU session that reports the simulated providers
            def __init__(self, model, sess_options=None, providers=None):
                machine.sessions += 1
                if fails:
                    raise RuntimeError("CUDA failure 100: no CUDA-capable device is detected")
                self._real = REAL_SESSION(model, sess_options=sess_options, providers=[CPU])
                names = [p[0] if isinstance(p, tuple) else p for p in providers]   # ORT takes (name, options) too
                self._providers = [p for p in comes_up if p in names]

            def get_providers(self):
                return self._providers

            def __getattr__(self, name):
                return getattr(self._real, name)
        monkeypatch.setattr(ort, "InferenceSession", Session)
        monkeypatch.delenv("BIGMODEL_FORCE_CPU", raising=False)
        runtime.gpu_usable.cache_clear()


@pytest.fixture
def tabular_export():
    """A shipped tabular model (registry entry)."""
    from bigmodel_core.serve import registry

    return registry.load("bike-demand-mlp"), None


@pytest.fixture(autouse=True)
def fresh_cache():
    runtime.gpu_usable.cache_clear()
    yield
    runtime.gpu_usable.cache_clear()


def test_a_working_gpu_is_used_and_reported(monkeypatch, tabular_export):
    machine = Machine(monkeypatch, [CUDA, CPU])
    assert runtime.gpu_usable() and runtime.gpu_usable()
    assert machine.sessions == 1                                   # probed once per process, then cached
    assert runtime.choose_providers("auto") == [CUDA, CPU]
    entry, _ = tabular_export
    predictor = runtime.Predictor(entry.folder, entry.card)
    assert predictor.provider == CUDA                              # the provider that came up is the one reported


def test_onnxruntime_gpu_on_a_machine_without_a_gpu_stays_on_the_cpu(monkeypatch, tabular_export):
    machine = Machine(monkeypatch, [CUDA, CPU], comes_up=(CPU,))     # the silent fallback of onnxruntime-gpu
    assert not runtime.gpu_usable()
    assert machine.sessions == 1
    assert runtime.choose_providers("auto") == [CPU]
    entry, _ = tabular_export
    assert runtime.Predictor(entry.folder, entry.card).provider == CPU
    with pytest.raises(runtime.ModelError, match="no usable GPU"):
        runtime.choose_providers("cuda")


@pytest.mark.parametrize("case", ["cpu build", "no driver", "session fails", "forced cpu"])
def test_no_cuda_in_every_other_case(monkeypatch, case):
    machine = Machine(monkeypatch, [CPU] if case == "cpu build" else [CUDA, CPU],
                      driver=case != "no driver", fails=case == "session fails")
    if case == "forced cpu":
        monkeypatch.setenv("BIGMODEL_FORCE_CPU", "1")
    assert runtime.gpu_usable() is False
    assert machine.sessions == (1 if case == "session fails" else 0)   # cheap exits open no session


def test_this_machine_answers_without_torch_and_without_error_spam(capfd):
    import subprocess
    import sys

    code = ("import sys; from bigmodel_core.serve import runtime; ok = runtime.gpu_usable(); "
            "print(ok, 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    usable, torch_loaded = out.stdout.split()
    assert torch_loaded == "False"
    if usable == "False":
        assert "CUDA" not in out.stderr and "rror" not in out.stderr


@pytest.mark.skipif(not cuda_probe.driver_present() or CUDA not in ort.get_available_providers(),
                    reason="no NVIDIA driver or no onnxruntime-gpu here: the simulated tests above cover the logic")
def test_a_real_gpu_starts_a_cuda_session():
    assert cuda_probe.cuda_session_starts()
    assert runtime.gpu_usable()
