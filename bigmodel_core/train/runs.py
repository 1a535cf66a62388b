"""A trained model kept between processes (the CLI's `train` then `export`): weights.safetensors,
run.json and the assets in one folder — never pickle.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from bigmodel_core.errors import ModelError
from bigmodel_core.nn.zoo import build_model
from bigmodel_core.train.spec import TrainedModel, TrainSpec
from bigmodel_core.train.trainer import TrainHistory


def save_run(trained: TrainedModel, folder: Path) -> Path:
    """Keep a trained model between processes: weights.safetensors + run.json + assets."""
    from safetensors.torch import save_file

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in trained.model.state_dict().items()}, str(folder / "weights.safetensors"))
    for name, content in trained.assets.items():
        (folder / name).write_bytes(content)
    np.savez(folder / "example_feed.npz", **trained.example_feed)
    h = trained.history
    run = dict(spec=trained.spec.to_dict(), task=trained.task, problem=trained.problem, labels=trained.labels,
               arch_config=trained.arch_config, preprocessing=trained.preprocessing, input_spec=trained.input_spec,
               assets=sorted(trained.assets), metrics=trained.metrics, baseline=trained.baseline,
               target_range=trained.target_range,
               history=dict(epochs=h.epochs, train_loss=h.train_loss, val=h.val, best_epoch=h.best_epoch,
                            stopped=h.stopped, elapsed_s=h.elapsed_s, device=h.device))
    (folder / "run.json").write_text(json.dumps(run, indent=2, ensure_ascii=False), encoding="utf-8")
    return folder


def load_run(folder: Path) -> TrainedModel:
    from safetensors.torch import load_file

    folder = Path(folder)
    try:
        run = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(f"{folder} is not a training run folder (run.json missing or invalid).",
                         hint="pass the folder printed by `train`") from exc
    spec = TrainSpec.from_dict(run["spec"])
    # the saved weights replace every parameter, so a pre-trained encoder need not be loaded first
    model = build_model(spec.architecture, dict(run["arch_config"], pretrained=False))
    model.load_state_dict(load_file(str(folder / "weights.safetensors")))
    model.eval()
    h = run["history"]
    history = TrainHistory(h["epochs"], h["train_loss"], h["val"], h["best_epoch"], h["stopped"], h["elapsed_s"],
                           h["device"])
    with np.load(folder / "example_feed.npz") as z:
        feed = {k: z[k] for k in z.files}
    assets = {name: (folder / name).read_bytes() for name in run["assets"]}
    return TrainedModel(spec=spec, model=model, task=run["task"], problem=run["problem"], labels=run["labels"],
                        arch_config=run["arch_config"], preprocessing=run["preprocessing"],
                        input_spec=run["input_spec"], assets=assets, history=history, metrics=run["metrics"],
                        baseline=run.get("baseline"), example_feed=feed, target_range=run.get("target_range"))
