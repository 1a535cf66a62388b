"""Per-task glue between a typed dataset and the `Trainer`: tensors, batches, loss, scoring, and what the
card and the export need (architecture config, preprocessing, input spec, assets such as the tokenizer
or the tabular encoder). `make_task(data, spec)` picks the image, text or tabular task by `data.kind`.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from bigmodel_core.errors import TrainingError
from bigmodel_core.nn.zoo import architectures_for
from bigmodel_core.serve import metrics as M
from bigmodel_core.serve.outputs import probabilities
from bigmodel_core.train.options import parse as parse_options
from bigmodel_core.train.spec import TrainSpec

if TYPE_CHECKING:
    from bigmodel_core.data.types import Dataset, TabularDataset

RANGE_PADDING = 0.05              # a range side taken from the training split: its extreme ± 5 % of the span


def target_range(data: TabularDataset, padding: float = RANGE_PADDING) -> dict:
    """The range a regression model's answers are kept in, and where each side comes from.

    A side with a known physical bound (`data.target_bounds`: bikes ≥ 0, grades 0-20) takes it;
    any other side comes from the training split (never validation or test), padded by
    `padding` × its span, so the model may answer a little beyond the values it saw but
    never something absurd (a negative count, a grade of 23).
    """
    y = data.frame[data.target].to_numpy(dtype=np.float64)[data.split["train"]]
    y = y[np.isfinite(y)]
    if not len(y):
        raise TrainingError("The training split has no target values.", hint="check the target column")
    lo_train, hi_train = float(y.min()), float(y.max())
    span = hi_train - lo_train
    step = 10.0 ** np.floor(np.log10(span)) / 100 if span > 0 else 1.0    # round outwards, to 2-3 digits
    known_lo, known_hi = getattr(data, "target_bounds", (None, None))
    lo = float(known_lo) if known_lo is not None else float(np.floor((lo_train - padding * span) / step) * step)
    hi = float(known_hi) if known_hi is not None else float(np.ceil((hi_train + padding * span) / step) * step)
    out = dict(min=round(lo, 10), max=round(hi, 10),
               source=dict(min="known bound" if known_lo is not None else "training split",
                           max="known bound" if known_hi is not None else "training split"),
               training=dict(min=lo_train, max=hi_train), padding=padding)
    if getattr(data, "target_bounds_why", ""):
        out["why"] = data.target_bounds_why
    return out


def _class_weight(name: str | None, y_train: torch.Tensor, classes: int,
                  problem: str = "classification") -> torch.Tensor | None:
    """None, or ("balanced") one loss weight per class, inversely proportional to its training count."""
    if name is None:
        return None
    if name != "balanced" or problem != "classification":
        raise TrainingError(f"Cannot weight classes by '{name}' here.",
                            hint="class_weight is 'balanced' or left out, and only for classification")
    from sklearn.utils.class_weight import compute_class_weight

    # n / (classes × count) per class; a class with no training row counts as one row (as it always has)
    y = y_train.numpy()
    y = np.concatenate([y, np.setdiff1d(np.arange(classes), y)])
    return torch.tensor(compute_class_weight("balanced", classes=np.arange(classes), y=y), dtype=torch.float32)


class _Task:
    """Per-task glue: tensors, batches, loss, evaluation, preprocessing assets."""

    problem = "classification"
    eval_batch_size = 512                         # rows per forward pass when scoring (TrainConfig.eval_batch_size)

    def batches(self, split, batch_size, shuffle, gen=None):
        n = len(self.y[split])
        order = torch.randperm(n, generator=gen) if shuffle else torch.arange(n)
        for i in range(0, n, batch_size):
            idx = order[i:i + batch_size]
            yield self.inputs(split, idx), self.y[split][idx]

    def outputs(self, model, split, device, batch_size=None) -> np.ndarray:
        model.eval()
        outs = []
        with torch.inference_mode():
            for inputs, _ in self.batches(split, batch_size or self.eval_batch_size, shuffle=False):
                outs.append(model(*(x.to(device) for x in inputs)).float().cpu())
        return torch.cat(outs).numpy() if outs else np.zeros((0,))

    def score(self, model, split, device) -> tuple[dict, np.ndarray]:
        out = self.outputs(model, split, device)
        y = self.y[split].numpy()
        if self.problem == "regression":
            return M.regression_metrics(y, out), out
        probs = probabilities(out)
        return M.classification_metrics(y, probs), probs

    def loss(self, out, target):
        return F.cross_entropy(out, target, weight=self.class_weight, label_smoothing=self.label_smoothing)

    def monitor(self) -> str:
        return getattr(self, "monitor_name", None) or M.primary_metric(self.problem, len(self.labels))

    def choose_monitor(self, name: str | None, allowed: list[str]) -> None:
        """The validation metric that picks the best epoch (None: the problem's primary metric)."""
        if name is not None and name not in allowed:
            raise TrainingError(f"Cannot pick the best epoch by '{name}'.", hint=f"choose one of: {', '.join(allowed)}")
        self.monitor_name = name


class _ImageTask(_Task):
    def __init__(self, data, spec: TrainSpec):
        self.data, self.labels = data, list(data.class_names)
        # fancy indexing copies, so the loader's cached (read-only) array is never touched
        # uint8 [N, C, H, W]
        self.x = {s: torch.from_numpy(data.images[data.split[s]]) for s in ("train", "val", "test")}
        o = parse_options(spec.architecture, spec.options)
        size = o.size
        c, h, w = self.x["train"].shape[1:]
        if spec.architecture == "lenet" and min(h, w) < 28:
            size = size or 32
        if size and (h, w) != (size, size):
            self.x = {s: F.interpolate(x.float(), size=(size, size), mode="bilinear", align_corners=False)
                      .round().clamp(0, 255).to(torch.uint8) for s, x in self.x.items()}
            h = w = size
        self.y = {s: torch.from_numpy(data.labels[data.split[s]].astype(np.int64)) for s in ("train", "val", "test")}
        train = self.x["train"].float() / 255.0
        mean = train.mean(dim=(0, 2, 3)).tolist()
        std = train.std(dim=(0, 2, 3)).clamp(min=1e-3).tolist()
        k = len(self.labels)
        self.arch_config = dict(in_channels=c, size=h, num_classes=k, mean=mean, std=std)
        if spec.architecture == "mlp-seed":
            self.arch_config.update(in_features=c * h * w, hidden=list(o.hidden))
        elif spec.architecture == "small-cnn":
            self.arch_config.update(widths=list(o.widths), dropout=o.dropout)
        self.preprocessing = dict(channels=c, height=h, width=w, invert=o.invert,
                                  scale="pixels / 255 → [0, 1]; per-channel normalisation is inside the model",
                                  mean=mean, std=std)
        self.input_spec = [dict(name="pixels", dtype="float32", shape=["batch", c, h, w])]
        self.assets = {}
        self.class_weight, self.label_smoothing = None, spec.config.label_smoothing

    def inputs(self, split, idx):
        return (self.x[split][idx].float() / 255.0,)                        # [B, C, H, W] in [0, 1]

    def example_feed(self, n=16):
        return {"pixels": (self.x["test"][:n].float() / 255.0).numpy()}


class _TextTask(_Task):
    def __init__(self, data, spec: TrainSpec):
        from bigmodel_core.nn.text_nets import minilm_tokenizer, tiny_bert_config, train_wordpiece

        o = parse_options(spec.architecture, spec.options)
        self.data, self.labels = data, list(data.class_names)
        max_length = o.max_length
        texts = {s: [data.texts[i] for i in data.split[s]] for s in ("train", "val", "test")}
        if spec.architecture == "minilm":
            self.tokenizer = minilm_tokenizer(max_length)
            self.arch_config = dict(num_classes=len(self.labels), dropout=o.dropout)
        else:
            self.tokenizer = train_wordpiece(texts["train"], vocab_size=o.vocab_size,
                                             max_length=max_length)
            bert = tiny_bert_config(self.tokenizer.get_vocab_size(), len(self.labels),
                                    hidden=o.hidden, layers=o.layers, heads=o.heads, intermediate=o.intermediate,
                                    max_position=max_length + 2, dropout=o.dropout)
            self.arch_config = dict(bert=bert, num_classes=len(self.labels), pooling=o.pooling)
            if o.ngram_buckets:
                self.arch_config["ngram_buckets"] = o.ngram_buckets
                if o.ngram_order != 2:
                    self.arch_config["ngram_order"] = o.ngram_order
            if o.ngram_fusion != "sum":                       # "late" (the options refuse any other name)
                if not (o.ngram_buckets and o.wide_first) or o.transfer:
                    raise TrainingError(f"ngram_fusion={o.ngram_fusion!r} is not possible here.",
                                        hint="ngram_fusion='late' needs ngram_buckets and wide_first, and no "
                                             "transfer stage (it would train the halves together)")
                self.arch_config["ngram_fusion"] = "late"
        self.ids, self.mask = {}, {}
        for s, t in texts.items():
            self.ids[s], self.mask[s] = encode_texts(self.tokenizer, t)
        self.y = {s: torch.from_numpy(data.labels[data.split[s]].astype(np.int64)) for s in ("train", "val", "test")}
        self.class_weight = _class_weight(o.class_weight, self.y["train"], len(self.labels))
        self.label_smoothing = spec.config.label_smoothing
        self.choose_monitor(o.monitor, ["accuracy", "macro_f1", "roc_auc"])   # macro_f1: imbalanced classes
        self.preprocessing = dict(tokenizer="tokenizer.json", max_length=max_length, language=data.language)
        self.input_spec = [dict(name="input_ids", dtype="int64", shape=["batch", "sequence"]),
                           dict(name="attention_mask", dtype="int64", shape=["batch", "sequence"])]
        self.assets = {"tokenizer.json": self.tokenizer.to_str().encode("utf-8")}

    def inputs(self, split, idx):
        return trimmed(self.ids[split][idx], self.mask[split][idx])

    def example_feed(self, n=16):
        ids, mask = self.inputs("test", torch.arange(min(n, len(self.y["test"]))))
        return {"input_ids": ids.numpy(), "attention_mask": mask.numpy()}


def encode_texts(tokenizer, texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
    """Texts → int64 input_ids and attention_mask [N, T], padded to the longest, truncated by the tokenizer."""
    enc = tokenizer.encode_batch(texts) if texts else []
    ids = torch.tensor([e.ids for e in enc], dtype=torch.int64).reshape(len(texts), -1)
    mask = torch.tensor([e.attention_mask for e in enc], dtype=torch.int64).reshape(len(texts), -1)
    return ids, mask


def trimmed(ids: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """One batch [B, T] without the padding columns no text in it needs."""
    longest = int(mask.sum(1).max()) if len(mask) else 1
    return ids[:, :longest], mask[:, :longest]


class _TabularTask(_Task):
    def __init__(self, data, spec: TrainSpec):
        from bigmodel_core.serve.preprocess import TabularEncoder, category_strings

        o = parse_options(spec.architecture, spec.options)
        self.data, self.problem = data, data.problem
        frame = data.frame
        parts = {s: frame.iloc[data.split[s]] for s in ("train", "val", "test")}
        target = frame[data.target].to_numpy()
        self.encoder = TabularEncoder.fit(parts["train"], data.feature_types, derived=o.derived_features,
                                          bins=o.bins, bin_edges=o.bin_edges,
                                          target=target[data.split["train"]], regression=self.problem == "regression")
        self.x = {s: torch.from_numpy(self.encoder.transform(p)) for s, p in parts.items()}
        self.target_range = None
        if self.problem == "regression":
            self.labels = []
            self.y = {s: torch.from_numpy(target[data.split[s]].astype(np.float32)) for s in parts}
            self.target_range = target_range(data)
            mean, std = float(self.y["train"].mean()), float(self.y["train"].std().clamp(min=1e-6))
            out = 1
        else:
            self.labels = list(data.class_names)
            self.y = {s: torch.from_numpy(target[data.split[s]].astype(np.int64)) for s in parts}
            mean, std, out = 0.0, 1.0, len(self.labels)
        hidden = list(getattr(o, "hidden", []))              # linear: no hidden layer
        self.arch_config = dict(in_features=self.x["train"].shape[1], out_features=out, hidden=hidden,
                                dropout=o.dropout, target_mean=mean, target_std=std,
                                regression=self.problem == "regression")
        self.target_std = std
        self.class_weight, self.label_smoothing = _class_weight(o.class_weight, self.y["train"], out,
                                                                self.problem), spec.config.label_smoothing
        # The validation metric that picks the best epoch. "neg_log_loss" (classification) is for tiny
        # validation sets, where accuracy and ROC-AUC reach their maximum early and the first such epoch wins.
        self.choose_monitor(o.monitor, ["r2"] if self.problem == "regression" else
                            ["accuracy", "macro_f1", "neg_log_loss"] + (["roc_auc"] if out == 2 else []))
        features = []
        for col in self.encoder.columns:
            if col in self.encoder.numeric:
                st = self.encoder.numeric[col]
                integer = bool(np.all(np.mod(parts["train"][col].dropna().to_numpy(dtype=float), 1) == 0))
                features.append(dict(name=col, type="numeric", min=st["min"], max=st["max"],
                                     default=st["median"], integer=integer))
            else:
                cats = self.encoder.categorical[col]
                mode = pd.Series(category_strings(parts["train"][col].dropna())).mode()
                features.append(dict(name=col, type="categorical", categories=cats,
                                     default=str(mode.iloc[0]) if len(mode) else cats[0]))
        self.preprocessing = dict(encoder="encoder.json", target=data.target, features=features)
        self.input_spec = [dict(name="features", dtype="float32", shape=["batch", self.x["train"].shape[1]])]
        self.assets = {"encoder.json": self.encoder.to_json().encode("utf-8")}

    def inputs(self, split, idx):
        return (self.x[split][idx],)                                           # [B, F]

    def loss(self, out, target):
        if self.problem == "regression":
            return F.mse_loss(out, target) / (self.target_std ** 2)             # MSE in standardised units
        return super().loss(out, target)

    def outputs(self, model, split, device, batch_size=None) -> np.ndarray:
        """The model's answers, kept inside the target range as the exported graph keeps them."""
        out = super().outputs(model, split, device, batch_size)
        if self.target_range:
            out = np.clip(out, self.target_range["min"], self.target_range["max"])
        return out

    def score(self, model, split, device) -> tuple[dict, np.ndarray]:
        metrics, out = super().score(model, split, device)
        if self.monitor_name == "neg_log_loss":                                 # mean log-probability of the true class
            y = self.y[split].numpy()
            metrics["neg_log_loss"] = float(np.mean(np.log(np.clip(out[np.arange(len(y)), y], 1e-12, 1.0))))
        return metrics, out

    def example_feed(self, n=16):
        return {"features": self.x["test"][:n].numpy()}

    def baseline(self) -> dict:
        """A linear scikit-learn model on the same split and features: the bar to beat."""
        from sklearn.linear_model import LinearRegression, LogisticRegression

        xtr, ytr = self.x["train"].numpy(), self.y["train"].numpy()
        xte, yte = self.x["test"].numpy(), self.y["test"].numpy()
        if self.problem == "regression":
            model = LinearRegression().fit(xtr, ytr)
            return {"model": "linear regression (scikit-learn)",
                    "metrics": M.regression_metrics(yte, model.predict(xte))}
        model = LogisticRegression(max_iter=2000).fit(xtr, ytr)
        probs = np.zeros((len(yte), len(self.labels)))
        probs[:, model.classes_] = model.predict_proba(xte)
        return {"model": "logistic regression (scikit-learn)", "metrics": M.classification_metrics(yte, probs)}


def make_task(data: Dataset, spec: TrainSpec) -> _Task:
    task = {"image": _ImageTask, "text": _TextTask, "tabular": _TabularTask}[data_task(data)]
    if spec.architecture not in architectures_for(data_task(data)):
        raise TrainingError(f"'{spec.architecture}' does not fit a {data_task(data)} dataset.",
                            hint=f"choose one of: {', '.join(architectures_for(data_task(data)))}")
    made = task(data, spec)
    made.eval_batch_size = spec.config.eval_batch_size
    return made


def data_task(data: Dataset) -> str:
    """The task of models trained on `data`: "image", "text" or "tabular" (its `kind`)."""
    return data.kind.value

