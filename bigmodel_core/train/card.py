"""The model card of a trained model: what it is, how it was trained and split, how well it scored,
what it reads and answers — everything `registry.save` writes into card.json beside model.onnx.
"""
from __future__ import annotations

from bigmodel_core.nn.zoo import ARCHITECTURES
from bigmodel_core.train.spec import TrainedModel


def _history_part(arch_config: dict) -> dict:
    """Which part of the model the recorded epochs belong to, where it is not the whole model."""
    if arch_config.get("members"):
        return {"part": "first-member"}                       # an ensemble: the first seed's training
    if arch_config.get("ngram_fusion") == "late":
        return {"part": "transformer"}                        # late fusion: the transformer's own stage
    return {}


def card_for(trained: TrainedModel, title: str | None = None, parity_diff: float | None = None,
             shipped: bool = False, notes: str = "") -> dict:
    from bigmodel_core.nn.nets import count_parameters

    h = trained.history
    return dict(
        title=title or f"{ARCHITECTURES[trained.spec.architecture][1]} on {trained.spec.dataset}",
        task=trained.task, problem=trained.problem, dataset=trained.spec.dataset,
        split=dict(seed=trained.spec.split_seed, evaluated_on="test", max_rows=trained.spec.max_rows,
                   validation=trained.spec.options.get("validation", "default")),
        architecture=trained.spec.architecture, arch_config=trained.arch_config,
        parameters=count_parameters(trained.model), metrics=trained.metrics, baseline=trained.baseline,
        labels=trained.labels, input_spec=trained.input_spec,
        output=dict(name="logits" if trained.problem == "classification" else "prediction",
                    meaning="class logits (apply softmax)" if trained.problem == "classification"
                    else f"predicted {trained.preprocessing.get('target', 'value')}"),
        preprocessing=trained.preprocessing, parity_max_abs_diff=parity_diff, seed=trained.spec.config.seed,
        training_time_s=round(h.elapsed_s, 2),
        train_config=dict(trained.spec.config.to_dict(), options=trained.spec.options),
        history=dict(epochs=h.epochs, train_loss=[round(x, 6) for x in h.train_loss], val=h.val,
                     best_epoch=h.best_epoch, stopped=h.stopped, **_history_part(trained.arch_config)),
        device=h.device, shipped=shipped, notes=notes, weights="weights.safetensors",
        **({"target_range": trained.target_range} if trained.target_range else {}),
    )
