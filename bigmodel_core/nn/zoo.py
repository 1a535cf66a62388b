"""Architecture names → constructors, so a model can be rebuilt from its card or run file.

`build_model(name, arch_config)` is the single place that knows which class
each architecture name means; `arch_config` holds every constructor argument.
"""
from __future__ import annotations

import torch.nn as nn

from bigmodel_core.errors import ModelError

ARCHITECTURES = {
    "lenet": ("image", "LeNet-5 from the seeds (conv 6 → conv 16 → 120 → 84)"),
    "mlp-seed": ("image", "MLP from seed 003 (784 → 256 → 128 → 10)"),
    "small-cnn": ("image", "Modern small CNN (conv-BN-ReLU blocks, global pooling)"),
    "tiny-bert": ("text", "Tiny BERT trained from scratch with its own WordPiece vocabulary"),
    "minilm": ("text", "Pre-trained all-MiniLM-L6-v2 encoder + classification head"),
    "linear": ("tabular", "Linear model (logistic / linear regression)"),
    "mlp": ("tabular", "Multi-layer perceptron"),
}


def architectures_for(task: str) -> list[str]:
    return [name for name, (t, _) in ARCHITECTURES.items() if t == task]


def build_model(name: str, cfg: dict) -> nn.Module:
    from bigmodel_core.nn import nets

    if int(cfg.get("members", 1)) > 1:                      # an ensemble of seeds (pipeline options.ensemble)
        one = {k: v for k, v in cfg.items() if k != "members"}
        return nets.Ensemble([build_model(name, one) for _ in range(int(cfg["members"]))],
                             regression=bool(cfg.get("regression", False)))
    if name == "lenet":
        return nets.SeedLeNet(cfg["in_channels"], cfg["size"], cfg["num_classes"], cfg.get("mean"), cfg.get("std"))
    if name == "mlp-seed":
        return nets.SeedMLP(cfg["in_features"], tuple(cfg.get("hidden", (256, 128))), cfg["num_classes"],
                            cfg.get("mean"), cfg.get("std"), cfg["in_channels"])
    if name == "small-cnn":
        return nets.SmallCNN(cfg["in_channels"], cfg["num_classes"], tuple(cfg.get("widths", (32, 64, 128))),
                             cfg.get("dropout", 0.2), cfg.get("mean"), cfg.get("std"))
    if name in ("linear", "mlp"):
        return nets.TabularNet(cfg["in_features"], cfg["out_features"], tuple(cfg.get("hidden", ())),
                               cfg.get("dropout", 0.0), cfg.get("target_mean", 0.0), cfg.get("target_std", 1.0),
                               cfg.get("regression", False))
    if name == "tiny-bert":
        from bigmodel_core.nn.text_nets import TinyBert

        return TinyBert(cfg["bert"], cfg.get("pooling", "cls"), int(cfg.get("ngram_buckets", 0)),
                        int(cfg.get("ngram_order", 2)), cfg.get("ngram_fusion", "sum"))
    if name == "minilm":
        from bigmodel_core.nn.text_nets import MiniLMClassifier

        return MiniLMClassifier(cfg["num_classes"], cfg.get("dropout", 0.1), pretrained=cfg.get("pretrained", True))
    raise ModelError(f"Unknown architecture '{name}'.", hint=f"choose one of: {', '.join(ARCHITECTURES)}")
