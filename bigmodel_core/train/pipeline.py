"""The one-call workflow behind the CLI and the pages: train → evaluate → export to the registry.

`train(spec)` loads the dataset, builds the model, runs the `Trainer` and scores
the result on the validation and test splits; `export(trained, model_id)`
writes ONNX + card + preprocessing assets into the registry after a parity
check; `clip_registered` keeps an exported regression model's answers inside its target range.
The parts live beside it: `spec` (what to train), `tasks` (per-task glue), `stages` (the training
stages of one model), `card` (the model card) and `runs` (a trained model kept on disk).
"""
from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from bigmodel_core.errors import ModelError, TrainingError
from bigmodel_core.nn.nets import Ensemble
from bigmodel_core.nn.zoo import ARCHITECTURES
from bigmodel_core.serve import registry
from bigmodel_core.train.card import card_for
from bigmodel_core.train.options import parse as parse_options
from bigmodel_core.train.spec import TrainedModel, TrainSpec
from bigmodel_core.train.stages import fit_one
from bigmodel_core.train.tasks import data_task, make_task, target_range
from bigmodel_core.train.trainer import Trainer

if TYPE_CHECKING:
    from bigmodel_core.data.types import Dataset, TabularDataset

PARITY_LIMIT = 1e-4


def check_splits(data: Dataset) -> None:
    sizes = {s: len(data.split.get(s, [])) for s in ("train", "val", "test")}
    if min(sizes.values()) < 1 or sizes["train"] < 2:
        raise TrainingError(f"The dataset is too small to split (train/val/test = {sizes}).",
                            hint="use at least a few dozen rows")


def train(spec: TrainSpec, data: Dataset | None = None, callbacks: dict[str, list[Callable]] | None = None,
          on_trainer: Callable[[Trainer], None] | None = None) -> TrainedModel:
    """Train `spec.architecture` on `data` (or the catalog dataset `spec.dataset`) and score it.

    options.ensemble = K trains K copies with seeds seed, seed+1, … (each keeping its best
    validation epoch) and averages them inside one model, so the ONNX file is still one graph.
    """
    from bigmodel_core.data.loaders import load_dataset

    if spec.architecture not in ARCHITECTURES:
        raise TrainingError(f"Unknown architecture '{spec.architecture}'.",
                            hint=f"choose one of: {', '.join(ARCHITECTURES)}")
    opts = parse_options(spec.architecture, spec.options)    # a misspelt or unknown option stops here
    if data is None:
        data = load_dataset(spec.dataset, seed=spec.split_seed, max_rows=spec.max_rows)
    if getattr(opts, "validation", "default") == "sentences":
        from bigmodel_core.data.partition import sentence_validation

        data = sentence_validation(data, seed=spec.split_seed)
    check_splits(data)
    members = opts.ensemble                                   # 1 to options.MAX_MEMBERS (checked there)
    torch.manual_seed(spec.config.seed)
    task = make_task(data, spec)
    # the baseline needs only the data: fitted before training, so no work of unknown length is left
    # after the last epoch (the time left that a page shows counts only the scoring there)
    baseline = task.baseline() if hasattr(task, "baseline") else None
    models, histories = [], []
    for i in range(members):
        if i:
            torch.manual_seed(spec.config.seed + i)
        model, h, stopped = fit_one(spec, replace(spec.config, seed=spec.config.seed + i), task, data,
                                    callbacks, on_trainer)
        models.append(model.to("cpu").eval())
        histories.append(h)
        if stopped:                                           # a stop request ends the whole ensemble
            break
    cpu = torch.device("cpu")
    history = histories[0]
    history.elapsed_s = sum(h.elapsed_s for h in histories)  # the card's training time covers every member
    member_val = [task.score(m, "val", cpu)[0] for m in models] if len(models) > 1 else []
    if len(models) > 1:
        model = Ensemble(models, regression=task.problem == "regression").eval()
        task.arch_config = dict(task.arch_config, members=len(models))
    val, _ = task.score(model, "val", cpu)
    test, test_scores = task.score(model, "test", cpu)
    metrics = {"val": val, "test": test}
    if member_val:
        metrics["val_members"] = member_val
    return TrainedModel(spec=spec, model=model, task=data_task(data), problem=task.problem, labels=task.labels,
                        arch_config=task.arch_config, preprocessing=task.preprocessing, input_spec=task.input_spec,
                        assets=task.assets, history=history, metrics=metrics, baseline=baseline,
                        example_feed=task.example_feed(), test_true=task.y["test"].numpy(),
                        test_scores=test_scores, test_index=np.asarray(data.split["test"]),
                        target_range=getattr(task, "target_range", None))


def export(trained: TrainedModel, model_id: str, root: Path | None = None, title: str | None = None,
           shipped: bool = False, notes: str = "", keep_weights: bool = True) -> registry.Entry:
    """Export to ONNX, check parity (≤ 1e-4) on a real test batch, write the registry entry atomically."""
    from safetensors.torch import save_file

    from bigmodel_core.convert.export import clip_onnx_file, export_onnx, parity
    from bigmodel_core.nn.nets import clamp_to_range

    registry.validate_id(model_id)
    model = trained.model.to("cpu").eval().to(memory_format=torch.contiguous_format)
    example = {k: torch.from_numpy(v[:2]) for k, v in trained.example_feed.items()}
    with tempfile.TemporaryDirectory() as tmp:
        rng = trained.target_range if trained.problem == "regression" else None
        if trained.onnx is not None:              # exported by the training worker: its parity is checked again here
            onnx_path = Path(tmp) / "model.onnx"
            onnx_path.write_bytes(trained.onnx)
        else:
            onnx_path = export_onnx(model, example, Path(tmp) / "model.onnx",
                                    output_name="logits" if trained.problem == "classification" else "prediction",
                                    sequence_axis=trained.task == "text")
            if rng:                               # answers kept inside the target's range, in ONNX and PyTorch
                clip_onnx_file(onnx_path, rng["min"], rng["max"])
        diff = parity(clamp_to_range(model, rng), onnx_path, trained.example_feed)
        if not diff <= PARITY_LIMIT:
            raise ModelError(f"ONNX parity check failed: max |ONNX − PyTorch| = {diff:.2e} > {PARITY_LIMIT:g}.",
                             hint="the model was not saved; report this architecture")
        assets = dict(trained.assets)
        if keep_weights:
            weights = Path(tmp) / "weights.safetensors"
            save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(weights))
            assets["weights.safetensors"] = weights.read_bytes()
        card = card_for(trained, title, diff, shipped, notes)
        if not keep_weights:
            card["weights"] = None
        folder = registry.save(model_id, onnx_path, card, assets, root=root)
    return registry.load(folder, root)


def clip_registered(model_id: str, root: Path | None = None, data: TabularDataset | None = None) -> dict:
    """Keep an exported regression model's answers inside its target range, without retraining.

    The in-place upgrade of models exported before answers were clamped (the `clip-range`
    CLI verb): the range comes from the model's own training split (`target_range`, with the
    dataset's known bounds), `export.clip_output` appends the Clip to its model.onnx, and the
    card's validation and test metrics are re-scored through ONNX Runtime on the clipped graph,
    its parity re-measured against the clamped PyTorch weights (when kept), and its sha256 and
    size updated — all in one atomic `registry.update`. Running it again replaces the bounds.
    Returns what changed, with the number of answers outside the range over the whole dataset
    before and after.
    """
    import shutil

    from bigmodel_core.convert.export import clip_onnx_file, parity
    from bigmodel_core.data.loaders import load_dataset
    from bigmodel_core.explain.common import load_torch_model
    from bigmodel_core.serve.evaluation import predict_split, score_split
    from bigmodel_core.serve.runtime import Predictor

    entry = registry.load(model_id, root)
    card = entry.card
    if card.problem != "regression":
        raise ModelError(f"'{model_id}' is not a regression model: it has no target range to keep.")
    if data is None:
        data = load_dataset(card.dataset, **card.split_args())
    rng = target_range(data)
    everything = replace(data, split=dict(data.split, all=np.arange(len(data))))

    def outside(pred: np.ndarray) -> int:             # float32 answers against the float32 bounds of the Clip
        return int(np.sum((pred < np.float32(rng["min"])) | (pred > np.float32(rng["max"]))))

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / model_id
        shutil.copytree(entry.folder, work)
        clip_onnx_file(entry.folder / "model.onnx", rng["min"], rng["max"], out=work / "model.onnx")
        before = Predictor(entry.folder, card, device="cpu")
        clipped = card.model_copy(update={"target_range": rng})
        after = Predictor(work, clipped, device="cpu")
        metrics = dict(card.metrics or {})
        changes = {}
        for name in ("val", "test"):
            if name in metrics and name in data.split:
                new = score_split(after, data, name)
                metrics[name] = {k: new[k] for k in metrics[name] if k in new}
                changes[name] = {k: round(metrics[name][k] - card.metrics[name][k], 6) for k in metrics[name]}
        diff = card.parity_max_abs_diff
        torch_model = load_torch_model(entry.folder, clipped)
        if torch_model is not None:
            rows = data.frame.iloc[data.split["test"][:256]]
            diff = parity(torch_model, work / "model.onnx", after.prepare(rows))
            if not diff <= PARITY_LIMIT:
                raise ModelError(f"ONNX parity check failed after clipping: {diff:.2e} > {PARITY_LIMIT:g}.",
                                 hint="the model was left as it was")
        result = dict(id=model_id, target_range=rng, metric_change=changes, parity=diff, rows=len(data),
                      outside_before=outside(predict_split(before, everything, "all")[0]),
                      outside_after=outside(predict_split(after, everything, "all")[0]))
        registry.update(model_id, dict(target_range=rng, metrics=metrics, parity_max_abs_diff=diff), root=root,
                        onnx_file=work / "model.onnx")
    return result
