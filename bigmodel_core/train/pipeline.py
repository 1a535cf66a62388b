"""The one-call workflow behind the CLI and the pages: train → evaluate → export to the registry.

`train(spec)` loads the dataset, builds the model, runs the `Trainer` and scores
the result on the validation and test splits; `export(trained, model_id)`
writes ONNX + card + preprocessing assets into the registry after a parity
check; `save_run` / `load_run` keep a trained model between processes
(safetensors weights + JSON, never pickle).
"""
from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from bigmodel_core.errors import ModelError, TrainingError
from bigmodel_core.nn.nets import Ensemble
from bigmodel_core.nn.zoo import ARCHITECTURES, architectures_for, build_model
from bigmodel_core.serve import metrics as M
from bigmodel_core.serve import registry
from bigmodel_core.serve.outputs import probabilities
from bigmodel_core.train.options import parse as parse_options
from bigmodel_core.train.trainer import TrainConfig, Trainer, TrainHistory

from .options.text import Pretrain, Transfer, WideFirst

if TYPE_CHECKING:
    from bigmodel_core.data.types import Dataset, TabularDataset

PARITY_LIMIT = 1e-4
RANGE_PADDING = 0.05              # a range side taken from the training split: its extreme ± 5 % of the span


@dataclass
class TrainSpec:
    dataset: str                                  # catalog id (or a label for uploaded data)
    architecture: str
    config: TrainConfig = field(default_factory=TrainConfig)
    options: dict = field(default_factory=dict)   # architecture/data options (widths, hidden, vocab, augment …)
    max_rows: int | None = None                   # stratified subsample for quick runs
    split_seed: int = 0

    def to_dict(self) -> dict:
        return dict(dataset=self.dataset, architecture=self.architecture, config=self.config.to_dict(),
                    options=self.options, max_rows=self.max_rows, split_seed=self.split_seed)

    @classmethod
    def from_dict(cls, d: dict) -> TrainSpec:
        return cls(d["dataset"], d["architecture"], TrainConfig(**d["config"]), d.get("options", {}),
                   d.get("max_rows"), d.get("split_seed", 0))


@dataclass
class TrainedModel:
    spec: TrainSpec
    model: torch.nn.Module
    task: str
    problem: str
    labels: list[str]
    arch_config: dict
    preprocessing: dict
    input_spec: list[dict]
    assets: dict[str, bytes]
    history: TrainHistory
    metrics: dict                                 # {"val": {...}, "test": {...}}
    baseline: dict | None
    example_feed: dict[str, np.ndarray]           # a real batch of test inputs, for parity
    test_true: np.ndarray | None = None
    test_scores: np.ndarray | None = None         # probabilities [N, K] or predictions [N]
    test_index: np.ndarray | None = None
    target_range: dict | None = None              # regression: the range every answer is kept in (see target_range)
    onnx: bytes | None = None                     # the ONNX file, when a worker exported it already (see portable)


# ============================================================================ task adapters

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
            self.ids[s], self.mask[s] = _encode(self.tokenizer, t)
        self.y = {s: torch.from_numpy(data.labels[data.split[s]].astype(np.int64)) for s in ("train", "val", "test")}
        self.class_weight = _class_weight(o.class_weight, self.y["train"], len(self.labels))
        self.label_smoothing = spec.config.label_smoothing
        self.choose_monitor(o.monitor, ["accuracy", "macro_f1", "roc_auc"])   # macro_f1: imbalanced classes
        self.preprocessing = dict(tokenizer="tokenizer.json", max_length=max_length, language=data.language)
        self.input_spec = [dict(name="input_ids", dtype="int64", shape=["batch", "sequence"]),
                           dict(name="attention_mask", dtype="int64", shape=["batch", "sequence"])]
        self.assets = {"tokenizer.json": self.tokenizer.to_str().encode("utf-8")}

    def inputs(self, split, idx):
        return _trimmed(self.ids[split][idx], self.mask[split][idx])

    def example_feed(self, n=16):
        ids, mask = self.inputs("test", torch.arange(min(n, len(self.y["test"]))))
        return {"input_ids": ids.numpy(), "attention_mask": mask.numpy()}


def _encode(tokenizer, texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
    """Texts → int64 input_ids and attention_mask [N, T], padded to the longest, truncated by the tokenizer."""
    enc = tokenizer.encode_batch(texts) if texts else []
    ids = torch.tensor([e.ids for e in enc], dtype=torch.int64).reshape(len(texts), -1)
    mask = torch.tensor([e.attention_mask for e in enc], dtype=torch.int64).reshape(len(texts), -1)
    return ids, mask


def _trimmed(ids: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
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
    name = type(data).__name__
    return {"ImageDataset": "image", "TextDataset": "text", "TabularDataset": "tabular"}[name]


# ============================================================================ workflow

def check_splits(data: Dataset) -> None:
    sizes = {s: len(data.split.get(s, [])) for s in ("train", "val", "test")}
    if min(sizes.values()) < 1 or sizes["train"] < 2:
        raise TrainingError(f"The dataset is too small to split (train/val/test = {sizes}).",
                            hint="use at least a few dozen rows")


def _pretrain(model, task, data, opts: Pretrain, spec: TrainSpec) -> None:
    """Masked-LM pre-training on the train + validation sentences (never test) and any extra corpora."""
    import sys

    from bigmodel_core.data.loaders import load_dataset
    from bigmodel_core.nn.pretrain import mlm_pretrain

    texts = [data.texts[i] for s in ("train", "val") for i in data.split[s]]
    for corpus in opts.corpora:
        texts += [t for t in load_dataset(corpus).texts if t]
    mlm_pretrain(model, task.tokenizer, texts, epochs=opts.epochs,
                 batch_size=opts.batch_size, lr=opts.lr, seed=spec.config.seed,
                 log=lambda line: print(f"[{spec.dataset}] {line}", file=sys.stderr, flush=True))


def _transfer(model, task, opts: Transfer, spec: TrainSpec, callbacks: dict | None) -> TrainHistory:
    """Supervised pre-training on other labelled corpora with the same classes (transfer learning).

    The model first learns the task on the corpora (e.g. 43k Chinese shop and hotel reviews
    before 8k delivery reviews), then `train` fine-tunes it on the dataset itself. The epoch
    kept is picked on this dataset's validation split; its test split is never seen.
    """
    from bigmodel_core.data.loaders import load_dataset

    texts, labels = [], []
    for corpus in opts.corpora:
        ds = load_dataset(corpus)
        if list(ds.class_names) != list(task.labels):
            raise TrainingError(f"Cannot transfer from '{corpus}': its classes {ds.class_names} differ from "
                                f"{task.labels}.", hint="use corpora labelled with the same classes")
        texts += list(ds.texts)
        labels += ds.labels.tolist()
    if not texts:
        raise TrainingError("Transfer learning needs at least one corpus.",
                            hint='options: {"transfer": {"corpora": [...]}}')
    ids, mask = _encode(task.tokenizer, texts)                                                # [N, T]
    y = torch.tensor(labels, dtype=torch.int64)
    cfg = TrainConfig(**dict(spec.config.to_dict(), epochs=opts.epochs,
                             lr=spec.config.lr if opts.lr is None else opts.lr, patience=None))

    def batches(epoch, gen):
        order = torch.randperm(len(y), generator=gen)
        for i in range(0, len(y), cfg.batch_size):
            idx = order[i:i + cfg.batch_size]
            yield _trimmed(ids[idx], mask[idx]), y[idx]

    trainer = Trainer(model, cfg, batches, (len(y) + cfg.batch_size - 1) // cfg.batch_size,
                      lambda out, target: F.cross_entropy(out, target),
                      lambda m, device: task.score(m, "val", device)[0], monitor=task.monitor())
    _subscribe(trainer, callbacks)
    return trainer.run()


def _subscribe(trainer: Trainer, callbacks: dict[str, list[Callable]] | None) -> None:
    """Hand the caller's event callbacks (a page's progress bar, the CLI's log) to one training stage."""
    for kind, fns in (callbacks or {}).items():
        for fn in fns:
            trainer.add_callback(kind, fn)


class _WideOnly(torch.nn.Module):
    """The n-gram bag of a wide-and-deep TinyBert on its own, for its first training stage."""

    def __init__(self, bag):
        super().__init__()
        self.bag = bag

    def forward(self, input_ids, attention_mask):             # [N, T], [N, T] → [N, classes]
        return self.bag(input_ids, attention_mask)


class _DeepOnly(torch.nn.Module):
    """The transformer of a late-fusion TinyBert on its own: trained apart from its n-gram bag."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask):             # [N, T], [N, T] → [N, classes]
        return self.model.transformer_logits(input_ids, attention_mask)


def _fit_wide(model, task, opts: WideFirst, cfg: TrainConfig, callbacks) -> TrainHistory:
    """Train the n-gram bag alone first, as a logistic regression is trained: to its best validation
    epoch, with an L2 penalty on its votes (`l2` per training example). `freeze` keeps it fixed
    afterwards, so the transformer learns only what the bag gets wrong; with ngram_fusion="late"
    it stays fixed too, and the transformer is then trained on its own (`_DeepOnly`)."""
    bag = getattr(model, "ngrams", None)
    if bag is None:
        raise TrainingError("wide_first needs a wide-and-deep model.", hint="set options.ngram_buckets too")
    n, l2 = len(task.y["train"]), opts.l2
    wide = _WideOnly(bag)
    wcfg = TrainConfig(**dict(cfg.to_dict(), epochs=opts.epochs, lr=opts.lr,
                              optimizer="adam", weight_decay=0.0, scheduler="none", label_smoothing=0.0,
                              patience=opts.patience))

    def loss(out, target):
        penalty = sum(((bag.gain * p) ** 2).sum() for p in bag.parameters())   # on the votes the bag casts
        return task.loss(out, target) + l2 * penalty / n

    trainer = Trainer(wide, wcfg, lambda epoch, gen: task.batches("train", wcfg.batch_size, True, gen),
                      (n + wcfg.batch_size - 1) // wcfg.batch_size, loss,
                      lambda m, device: task.score(m, "val", device)[0], monitor=task.monitor())
    _subscribe(trainer, callbacks)
    history = trainer.run()                                   # the bag now holds its best validation epoch
    if opts.freeze or getattr(model, "fusion", "sum") == "late":    # late fusion: trained apart
        for p in bag.parameters():
            p.requires_grad_(False)
    return history


def _fit_one(spec: TrainSpec, cfg: TrainConfig, task, data, callbacks, on_trainer):
    """Build one model and run its training stages. Returns (model, history, stop requested)."""
    from bigmodel_core.nn.augment import make_augment

    opts = parse_options(spec.architecture, spec.options)
    model = build_model(spec.architecture, task.arch_config)
    if getattr(opts, "pretrain", None):                       # tiny-bert only
        _pretrain(model, task, data, opts.pretrain, spec)
    transfer = None
    if getattr(opts, "transfer", None):                       # text only
        transfer = _transfer(model, task, opts.transfer, replace(spec, config=cfg), callbacks)
    wide = None
    if getattr(opts, "wide_first", None):                     # tiny-bert only
        wide = _fit_wide(model, task, opts.wide_first, cfg, callbacks)
    if getattr(opts, "channels_last", False):                 # image only
        model = model.to(memory_format=torch.channels_last)
    steps = (len(task.y["train"]) + cfg.batch_size - 1) // cfg.batch_size

    def evaluate(m, device):
        return task.score(m, "val", device)[0]

    late = getattr(model, "fusion", "sum") == "late"          # the task made sure a wide stage ran
    n_val, n_test = len(task.y["val"]), len(task.y["test"])
    trainer = Trainer(_DeepOnly(model) if late else model, cfg,
                      lambda epoch, gen: task.batches("train", cfg.batch_size, True, gen), steps,
                      task.loss, evaluate, monitor=task.monitor(),
                      augment=make_augment(getattr(opts, "augment", None)),
                      # after the last epoch `train` scores the validation and the test split once more
                      finish_evals=1.0 + n_test / max(1, n_val),
                      # a validation pass runs forward only (about a third of a training step's work per row)
                      eval_guess_steps=max(1.0, n_val / (3.0 * cfg.batch_size)))
    _subscribe(trainer, callbacks)
    if on_trainer:
        on_trainer(trainer)
    history = trainer.run()
    for stage in (transfer, wide):                            # the card's training time covers every stage
        if stage is not None:
            history.elapsed_s += stage.elapsed_s
    for p in model.parameters():
        p.requires_grad_(True)
    return model, history, trainer.stop_requested


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
        model, h, stopped = _fit_one(spec, replace(spec.config, seed=spec.config.seed + i), task, data,
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
    from bigmodel_core.explain.methods import load_torch_model
    from bigmodel_core.serve.evaluation import predict_split, score_split
    from bigmodel_core.serve.runtime import Predictor

    entry = registry.load(model_id, root)
    card = entry.card
    if card.get("problem") != "regression":
        raise ModelError(f"'{model_id}' is not a regression model: it has no target range to keep.")
    split = card.get("split") or {}
    if data is None:
        data = load_dataset(card["dataset"], seed=split.get("seed", 0), max_rows=split.get("max_rows"))
    rng = target_range(data)
    everything = replace(data, split=dict(data.split, all=np.arange(len(data))))

    def outside(pred: np.ndarray) -> int:             # float32 answers against the float32 bounds of the Clip
        return int(np.sum((pred < np.float32(rng["min"])) | (pred > np.float32(rng["max"]))))

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / model_id
        shutil.copytree(entry.folder, work)
        clip_onnx_file(entry.folder / "model.onnx", rng["min"], rng["max"], out=work / "model.onnx")
        before = Predictor(entry.folder, card, device="cpu")
        after = Predictor(work, dict(card, target_range=rng), device="cpu")
        metrics = dict(card.get("metrics") or {})
        changes = {}
        for name in ("val", "test"):
            if name in metrics and name in data.split:
                new = score_split(after, data, name)
                metrics[name] = {k: new[k] for k in metrics[name] if k in new}
                changes[name] = {k: round(metrics[name][k] - card["metrics"][name][k], 6) for k in metrics[name]}
        diff = card.get("parity_max_abs_diff")
        torch_model = load_torch_model(entry.folder, dict(card, target_range=rng))
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


# ============================================================================ runs on disk

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
