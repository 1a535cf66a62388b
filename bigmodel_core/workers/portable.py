"""A trained model as plain data (bytes, numbers, arrays): what a training worker sends back to the app.

`pack(trained)` turns a `spec.TrainedModel` into a dict that holds no torch
objects — the weights as safetensors bytes, the preprocessing assets as bytes,
the run's metadata as JSON-ready values and the test-split arrays as numpy —
optionally with the exported ONNX bytes and their parity. `unpack(package)`
rebuilds the same `TrainedModel` (the network from its architecture and weights,
never from pickled code). A worker process sends the package through a pipe, a
Ray actor through the object store; either way the app saves it into its own
registry with `pipeline.export`, exactly as a model trained in the app.
"""
from __future__ import annotations

import json
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from bigmodel_core.train.spec import TrainedModel

FORMAT = 1


def pack(trained: TrainedModel, with_onnx: bool = False) -> dict:
    """`trained` as plain data; `with_onnx` also exports it to ONNX here (the parity is checked in `export_bytes`)."""
    from safetensors.torch import save

    h = trained.history
    model = trained.model.to("cpu").eval()
    meta = dict(spec=trained.spec.to_dict(), task=trained.task, problem=trained.problem, labels=trained.labels,
                arch_config=trained.arch_config, preprocessing=trained.preprocessing,
                input_spec=trained.input_spec, metrics=trained.metrics, baseline=trained.baseline,
                target_range=trained.target_range,
                history=dict(epochs=h.epochs, train_loss=h.train_loss, val=h.val, best_epoch=h.best_epoch,
                             stopped=h.stopped, elapsed_s=h.elapsed_s, device=h.device))
    package = dict(format=FORMAT, meta=json.dumps(meta, ensure_ascii=False),
                   weights=save({k: v.contiguous() for k, v in model.state_dict().items()}),
                   assets=dict(trained.assets), example_feed=dict(trained.example_feed),
                   test_true=trained.test_true, test_scores=trained.test_scores, test_index=trained.test_index,
                   onnx=None, onnx_parity=None)
    if with_onnx:
        package["onnx"], package["onnx_parity"] = export_bytes(trained)
    return package


def export_bytes(trained: TrainedModel) -> tuple[bytes, float]:
    """The ONNX file `pipeline.export` would write for `trained` (range clip included) and its parity."""
    import tempfile
    from pathlib import Path

    import torch

    from bigmodel_core.convert.export import clip_onnx_file, export_onnx, parity
    from bigmodel_core.errors import ModelError
    from bigmodel_core.nn.nets import clamp_to_range
    from bigmodel_core.train.pipeline import PARITY_LIMIT

    model = trained.model.to("cpu").eval().to(memory_format=torch.contiguous_format)
    example = {k: torch.from_numpy(v[:2]) for k, v in trained.example_feed.items()}
    with tempfile.TemporaryDirectory() as tmp:
        path = export_onnx(model, example, Path(tmp) / "model.onnx",
                           output_name="logits" if trained.problem == "classification" else "prediction",
                           sequence_axis=trained.task == "text")
        rng = trained.target_range if trained.problem == "regression" else None
        if rng:
            clip_onnx_file(path, rng["min"], rng["max"])
        diff = parity(clamp_to_range(model, rng), path, trained.example_feed)
        if not diff <= PARITY_LIMIT:
            raise ModelError(f"ONNX parity check failed: max |ONNX − PyTorch| = {diff:.2e} > {PARITY_LIMIT:g}.",
                             hint="the model was not saved; report this architecture")
        return path.read_bytes(), float(diff)


def unpack(package: dict) -> TrainedModel:
    """The `TrainedModel` a package holds (its ONNX bytes, if any, kept on it for `pipeline.export`)."""
    from safetensors.torch import load

    from bigmodel_core.errors import ModelError
    from bigmodel_core.nn.zoo import build_model
    from bigmodel_core.train.spec import TrainedModel, TrainSpec
    from bigmodel_core.train.trainer import TrainHistory

    if not isinstance(package, dict) or package.get("format") != FORMAT:
        raise ModelError("The training worker sent back something that is not a trained model.",
                         hint="the worker and the app must run the same version of BigModel Studio")
    meta = json.loads(package["meta"])
    spec = TrainSpec.from_dict(meta["spec"])
    model = build_model(spec.architecture, dict(meta["arch_config"], pretrained=False))
    model.load_state_dict(load(package["weights"]))
    model.eval()
    h = meta["history"]
    history = TrainHistory(h["epochs"], h["train_loss"], h["val"], h["best_epoch"], h["stopped"], h["elapsed_s"],
                           h["device"])
    trained = TrainedModel(spec=spec, model=model, task=meta["task"], problem=meta["problem"], labels=meta["labels"],
                           arch_config=meta["arch_config"], preprocessing=meta["preprocessing"],
                           input_spec=meta["input_spec"], assets=dict(package["assets"]), history=history,
                           metrics=meta["metrics"], baseline=meta["baseline"],
                           example_feed={k: np.array(v) for k, v in package["example_feed"].items()},  # writable copies
                           test_true=package["test_true"], test_scores=package["test_scores"],
                           test_index=package["test_index"], target_range=meta["target_range"])
    trained.onnx = package.get("onnx")
    return trained
