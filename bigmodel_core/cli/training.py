"""The training commands: `train` (in a worker process or on Ray, the run kept on disk) and `export` of a
kept run to the registry.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from bigmodel_core.cli.common import device_option, json_option, print_json
from bigmodel_core.errors import BigModelError


def _parse_options(pairs: list[str]) -> dict:
    opts = {}
    for pair in pairs or []:
        if "=" not in pair:
            raise BigModelError(f"Option '{pair}' is not KEY=VALUE.", hint="e.g. --option widths=[32,64]")
        key, value = pair.split("=", 1)
        try:
            opts[key] = json.loads(value)
        except ValueError:
            opts[key] = value
    return opts


def cmd_train(args: argparse.Namespace) -> int:
    from bigmodel_core.paths import cache_dir
    from bigmodel_core.train import options, pipeline, runs
    from bigmodel_core.train.spec import TrainSpec
    from bigmodel_core.train.trainer import TrainConfig

    opts = _parse_options(args.option)
    options.parse(args.arch, opts)                # a misspelt or unknown option: one line, before any work

    config = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, optimizer=args.optimizer,
                         weight_decay=args.weight_decay, scheduler=args.scheduler, seed=args.seed,
                         patience=args.patience, device=args.device, threads=args.threads)
    spec = TrainSpec(args.dataset, args.arch, config, opts, args.max_rows)

    def report(ev):
        val = " ".join(f"{k}={v:.4f}" for k, v in (ev.val or {}).items() if isinstance(v, float))
        loss = ev.loss if ev.loss is not None else float("nan")
        print(f"epoch {ev.epoch}/{ev.epochs}  loss={loss:.4f}  {val}  {ev.elapsed_s:.1f}s", file=sys.stderr)

    trained = _train_in_worker(spec, report, args.ray, args.threads)
    out = Path(args.out) if args.out else cache_dir() / "runs" / time.strftime("%Y%m%d-%H%M%S")
    runs.save_run(trained, out)
    summary = dict(run=str(out), metrics=trained.metrics, baseline=trained.baseline,
                   epochs=len(trained.history.epochs), seconds=round(trained.history.elapsed_s, 2))
    if args.export:
        entry = pipeline.export(trained, args.export)
        summary.update(model=entry.id, folder=str(entry.folder), parity=entry.card.parity_max_abs_diff)
    if args.json:
        print_json(summary)
    else:
        print(json.dumps(summary, indent=2, ensure_ascii=False))
    return 0


def _train_in_worker(spec, report, address: str | None, threads: int | None):
    """Train `spec` in a worker — a local process using every core, or a Ray actor when `address` (or the
    `ray_address` setting) is given — printing each epoch; a failure is one line: 'training failed: …'."""
    from bigmodel_core.errors import TrainingError
    from bigmodel_core.workers.backends import runner
    from bigmodel_core.workers.worker import Cancelled, cores

    run = runner(address=address, threads=threads or cores())

    def where(place):
        if place.get("backend") == "ray":
            print(f"training on Ray node {place['node'][:8]} ({'GPU' if place.get('gpu') else 'CPU'})", file=sys.stderr)

    try:
        return run(spec, None, {"epoch_end": [report], "placed": [where]}, None)
    except Cancelled:
        raise TrainingError("training failed: the worker was stopped before it began.") from None
    except BigModelError as exc:
        raise TrainingError(f"training failed: {exc}") from None


def cmd_export(args: argparse.Namespace) -> int:
    from bigmodel_core.train import pipeline, runs

    trained = runs.load_run(Path(args.run))
    entry = pipeline.export(trained, args.id, title=args.title)
    result = dict(model=entry.id, folder=str(entry.folder), parity=entry.card.parity_max_abs_diff,
                  sha256=entry.card.sha256, onnx_bytes=entry.card.onnx_bytes)
    print_json(result) if args.json else print(json.dumps(result, indent=2))
    return 0


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """The `train` and `export` commands."""
    common = json_option()

    s = sub.add_parser("train", help="train a model on a catalog dataset",
                       parents=[common, device_option("auto")])
    s.add_argument("--dataset", required=True, help="catalog id (see `datasets`)")
    s.add_argument("--arch", required=True, help="lenet, mlp-seed, small-cnn, tiny-bert, minilm, linear, mlp")
    s.add_argument("--epochs", type=int, default=5)
    s.add_argument("--batch-size", type=int, default=64)
    s.add_argument("--lr", type=float, default=1e-3)
    s.add_argument("--optimizer", default="adam", choices=["adam", "adamw", "sgd"])
    s.add_argument("--weight-decay", type=float, default=0.0)
    s.add_argument("--scheduler", default="none", choices=["none", "onecycle", "cosine", "warmup-linear"])
    s.add_argument("--patience", type=int, default=None, help="early stopping patience (epochs)")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--max-rows", type=int, default=None, help="stratified subsample for a quick run")
    s.add_argument("--threads", type=int, default=None)
    s.add_argument("--option", action="append", metavar="KEY=VALUE",
                   help="architecture/data option, JSON value (e.g. hidden=[64,32], augment=affine)")
    s.add_argument("--out", help="run folder (default: a new folder in the cache)")
    s.add_argument("--export", metavar="ID", help="also export to the registry under this id")
    s.add_argument("--ray", metavar="ADDRESS",
                   help="train on this Ray cluster (auto, HOST:PORT or ray://HOST:PORT; default: the ray_address "
                        "setting, else a local worker process)")
    s.set_defaults(fn=cmd_train)

    s = sub.add_parser("export", help="export a training run to ONNX and add it to the registry",
                       parents=[common])
    s.add_argument("run", help="run folder printed by `train`")
    s.add_argument("--id", required=True, help="registry id (lower-case letters, digits, - and _)")
    s.add_argument("--title")
    s.set_defaults(fn=cmd_export)
