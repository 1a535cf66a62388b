"""Traps issue 16 listed, kept fixed: `TrainConfig.eval_batch_size` is used when a split is scored, and
TensorRT is never asked for though onnxruntime-gpu lists it (runtime.py's docstring says so).

(The other traps have their own tests: the recipe table is never changed in place, tests/test_recipes.py;
the README names every module, tests/test_readme_layout.py; every BIGMODEL_ setting is declared,
tests/test_config.py.)"""
from __future__ import annotations

import torch

from bigmodel_core.data.loaders import load_dataset
from bigmodel_core.serve import runtime
from bigmodel_core.train.spec import TrainSpec
from bigmodel_core.train.tasks import make_task
from bigmodel_core.train.trainer import TrainConfig


class _Counting(torch.nn.Module):
    def __init__(self, classes: int):
        super().__init__()
        self.classes, self.rows = classes, []

    def forward(self, *inputs):
        self.rows.append(len(inputs[0]))
        return torch.zeros(len(inputs[0]), self.classes)


def test_scoring_a_split_uses_the_configured_eval_batch_size():
    data = load_dataset("breast-cancer")                       # bundled with scikit-learn: no download
    for size in (16, 512):
        task = make_task(data, TrainSpec("breast-cancer", "mlp", TrainConfig(eval_batch_size=size)))
        model = _Counting(len(task.labels))
        out = task.outputs(model, "test", "cpu")
        rows = len(task.y["test"])
        assert len(out) == rows and sum(model.rows) == rows
        assert max(model.rows) == min(size, rows) and len(model.rows) == -(-rows // size)


def test_tensorrt_is_never_asked_for_even_where_it_is_listed_and_cuda_works():
    listed = [runtime.TENSORRT, runtime.CUDA, runtime.CPU]
    for device in ("auto", "cuda"):
        assert runtime.choose_providers(device, listed, cuda_ok=True) == [runtime.CUDA, runtime.CPU]
    assert runtime.choose_providers("auto", listed, cuda_ok=False) == [runtime.CPU]
