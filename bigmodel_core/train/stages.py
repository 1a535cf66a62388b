"""The stages of one model's training, in the order `fit_one` runs them: masked-LM pre-training,
supervised transfer from other corpora, the n-gram bag alone (wide first), then the main `Trainer` run.
Each stage hands the caller's event callbacks to its own `Trainer`.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import torch
import torch.nn.functional as F

from bigmodel_core.errors import TrainingError
from bigmodel_core.nn.zoo import build_model
from bigmodel_core.train.options import parse as parse_options
from bigmodel_core.train.options.text import Pretrain, Transfer, WideFirst
from bigmodel_core.train.spec import TrainSpec
from bigmodel_core.train.tasks import encode_texts, trimmed
from bigmodel_core.train.trainer import TrainConfig, Trainer, TrainHistory


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
    ids, mask = encode_texts(task.tokenizer, texts)                                           # [N, T]
    y = torch.tensor(labels, dtype=torch.int64)
    cfg = TrainConfig(**dict(spec.config.to_dict(), epochs=opts.epochs,
                             lr=spec.config.lr if opts.lr is None else opts.lr, patience=None))

    def batches(epoch, gen):
        order = torch.randperm(len(y), generator=gen)
        for i in range(0, len(y), cfg.batch_size):
            idx = order[i:i + cfg.batch_size]
            yield trimmed(ids[idx], mask[idx]), y[idx]

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


def fit_one(spec: TrainSpec, cfg: TrainConfig, task, data, callbacks, on_trainer):
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

