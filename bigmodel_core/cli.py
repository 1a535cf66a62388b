"""Command line: every core operation, headless. `python -m bigmodel_core --help`.

Contracts used by outside checks: `predict … --json` prints one JSON object per
input line; `eval … --json` one object of metrics; `bench … --json` a list of
timings; `fetch … --json` one object per dataset. Any error exits non-zero with
one line on stderr, never a traceback.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from bigmodel_core.errors import BigModelError, DataError


def _print_json(obj) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def _table(rows: list[dict], columns: list[str]) -> str:
    widths = {c: max(len(c), *(len(str(r.get(c, ""))) for r in rows)) if rows else len(c) for c in columns}
    line = "  ".join(c.ljust(widths[c]) for c in columns)
    out = [line, "  ".join("-" * widths[c] for c in columns)]
    out += ["  ".join(str(r.get(c, "")).ljust(widths[c]) for c in columns) for r in rows]
    return "\n".join(out)


# ----------------------------------------------------------------------------- commands

def _megabytes(n_bytes: int) -> str:
    return f"{n_bytes / 1e6:.1f} MB"


def cmd_datasets(args: argparse.Namespace) -> int:
    from bigmodel_core.data.catalog import availability, list_datasets

    rows = [dict(id=d.id, title=d.title, domain=d.domain, task=d.task, rows=d.rows, licence=d.licence,
                 citation=d.citation, available=availability(d), download_bytes=d.download_bytes)
            for d in list_datasets()]
    if args.json:
        _print_json(rows)
    else:
        shown = [dict(r, download=_megabytes(r["download_bytes"]) if r["download_bytes"] else "") for r in rows]
        print(_table(shown, ["id", "title", "domain", "task", "rows", "licence", "available", "download"]))
    return 0


class TextProgress:
    """A download's progress on stderr: bytes done / total, MB/s, time left.

    On a terminal one line is redrawn in place (\r, at most 10 times a second);
    otherwise (a log, a pipe) a new line is written every ~10 % (every 10 MB when
    the total is unknown). Call it as a `download.fetch` progress callback, then `close()`.
    """

    def __init__(self, label: str, stream: TextIO | None = None, clock: Callable[[], float] = time.monotonic):
        self.label, self.stream, self.clock = label, stream or sys.stderr, clock
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.started = clock()
        self.last_drawn = None       # clock time of the last redraw (terminal)
        self.next_mark = 0.1         # next fraction (or byte count when the total is unknown) to log
        self.width = 0

    def __call__(self, done: int, total: int | None) -> None:
        now = self.clock()
        finished = total is not None and done >= total
        if self.tty:
            if self.last_drawn is not None and now - self.last_drawn < 0.1 and not finished:
                return
            self.last_drawn = now
            line = self.line(done, total, now - self.started)
            self.stream.write("\r" + line.ljust(self.width))
            self.width = max(self.width, len(line))
        else:
            reached = done / total if total else done
            if reached < self.next_mark and not finished:
                return
            step = 0.1 if total else 10e6
            self.next_mark = (reached // step + 1) * step
            self.stream.write(self.line(done, total, now - self.started) + "\n")
        self.stream.flush()

    def line(self, done: int, total: int | None, elapsed: float) -> str:
        rate = done / elapsed if elapsed > 0 else 0.0
        amount = f"{done / 1e6:.1f} / {_megabytes(total)} ({100 * done / total:.0f} %)" if total else _megabytes(done)
        parts = [self.label, amount, f"{rate / 1e6:.1f} MB/s"]
        if total and rate > 0:
            left = max(0, round((total - done) / rate))
            parts.append(f"{left // 60}:{left % 60:02d} left")
        return "  ".join(parts)

    def close(self) -> None:
        if self.tty and self.last_drawn is not None:
            self.stream.write("\n")
            self.stream.flush()


def cmd_fetch(args: argparse.Namespace) -> int:
    from bigmodel_core.data import catalog
    from bigmodel_core.data.download import fetch

    if args.all == bool(args.ids):
        raise BigModelError("Name the datasets to fetch, or --all (not both).",
                            hint="e.g. python -m bigmodel_core fetch mnist sst2; see the ids with `datasets`")
    infos = catalog.list_datasets() if args.all else [catalog.get(i) for i in args.ids]
    summary = []
    for info in infos:
        summary.append(_fetch_one(info, fetch))
        if not args.json:
            row = summary[-1]
            detail = {"bundled": "ships with a Python package", "cached": str(catalog.local_path(info)),
                      "downloaded": f"{_megabytes(row['bytes'])} in {row['seconds']:.1f} s → "
                                    f"{catalog.local_path(info)}"}
            print(f"{info.id}: {row['status']} ({detail[row['status']]})")
    if args.json:
        _print_json(summary)
    return 0


def _fetch_one(info, fetch) -> dict:
    """Fetch one dataset, with a progress bar when it downloads; its line of the summary."""
    from bigmodel_core.data.catalog import availability

    status = availability(info)
    started = time.monotonic()
    received = [0]
    if status == "needs download":
        bar = TextProgress(info.id)

        def progress(done, total):
            received[0] = done
            bar(done, total)

        try:
            paths = fetch(info, progress=progress)
        finally:
            bar.close()
        status = "downloaded"
    else:
        paths = fetch(info, allow_download=False)   # checks what is cached; never the network
    return dict(id=info.id, status=status, bytes=received[0], seconds=round(time.monotonic() - started, 2),
                paths=[str(p) for p in paths])


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
    from bigmodel_core.train import options, pipeline
    from bigmodel_core.train.trainer import TrainConfig

    opts = _parse_options(args.option)
    options.parse(args.arch, opts)                # a misspelt or unknown option: one line, before any work

    config = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, optimizer=args.optimizer,
                         weight_decay=args.weight_decay, scheduler=args.scheduler, seed=args.seed,
                         patience=args.patience, device=args.device, threads=args.threads)
    spec = pipeline.TrainSpec(args.dataset, args.arch, config, opts, args.max_rows)

    def report(ev):
        val = " ".join(f"{k}={v:.4f}" for k, v in (ev.val or {}).items() if isinstance(v, float))
        loss = ev.loss if ev.loss is not None else float("nan")
        print(f"epoch {ev.epoch}/{ev.epochs}  loss={loss:.4f}  {val}  {ev.elapsed_s:.1f}s", file=sys.stderr)

    trained = _train_in_worker(spec, report, args.ray, args.threads)
    out = Path(args.out) if args.out else cache_dir() / "runs" / time.strftime("%Y%m%d-%H%M%S")
    pipeline.save_run(trained, out)
    summary = dict(run=str(out), metrics=trained.metrics, baseline=trained.baseline,
                   epochs=len(trained.history.epochs), seconds=round(trained.history.elapsed_s, 2))
    if args.export:
        entry = pipeline.export(trained, args.export)
        summary.update(model=entry.id, folder=str(entry.folder), parity=entry.card["parity_max_abs_diff"])
    if args.json:
        _print_json(summary)
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
    from bigmodel_core.train import pipeline

    trained = pipeline.load_run(Path(args.run))
    entry = pipeline.export(trained, args.id, title=args.title)
    result = dict(model=entry.id, folder=str(entry.folder), parity=entry.card["parity_max_abs_diff"],
                  sha256=entry.card["sha256"], onnx_bytes=entry.card["onnx_bytes"])
    _print_json(result) if args.json else print(json.dumps(result, indent=2))
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from bigmodel_core.serve.evaluation import evaluate

    result = evaluate(args.model, args.dataset, args.split, device=args.device)
    _print_json(result) if args.json else print(json.dumps(result, indent=2, ensure_ascii=False))
    return 0


def _read_text_file(path: str) -> list[str]:
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise DataError(f"Cannot read {path}: {exc.strerror}.", hint="check the path") from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(f"{path} is not UTF-8 text (bad byte at position {exc.start}).",
                        hint="save the file as UTF-8") from exc
    return [line for line in text.splitlines() if line.strip()]


def cmd_predict(args: argparse.Namespace) -> int:
    from bigmodel_core.serve import registry
    from bigmodel_core.serve.runtime import Predictor

    entry = registry.load(args.model)
    predictor = Predictor(entry.folder, entry.card, device=args.device)
    task = entry.card["task"]
    if task == "tabular":
        if not args.csv:
            raise DataError("A tabular model needs its input rows as a CSV file.",
                            hint=f"pass --csv FILE with columns: {', '.join(predictor.encoder.columns)}")
        from bigmodel_core.data.csvio import read_csv_safely

        inputs = read_csv_safely(args.csv)
    else:
        inputs = list(args.inputs)
        if args.text_file:
            inputs += _read_text_file(args.text_file)
        if not inputs:
            what = "image paths" if task == "image" else "texts (or --text-file)"
            raise DataError("Nothing to predict.", hint=f"give {what}")
    preds = predictor.predict(inputs)
    verdicts = [None] * len(preds)
    if task == "image":
        from bigmodel_core.serve import ood

        if ood.calibrated(entry.card):          # "doesn't look like what I was trained on"
            checker = ood.Checker(entry.folder, entry.card, device=args.device)
            verdicts = checker.check(predictor.prepare(inputs)[predictor.input_names[0]])
    for i, (p, verdict) in enumerate(zip(preds, verdicts, strict=False)):
        obj = p.to_json()
        if verdict is not None:
            obj.update(verdict.to_json())
        if args.json:
            _print_json(obj)
        else:
            print(obj.get("label", obj.get("prediction")), json.dumps(obj.get("scores", {}), ensure_ascii=False))
            if verdict is not None and verdict.unfamiliar:
                print(f"note: input {i + 1} does not look like the model's training images "
                      f"(familiarity score {verdict.score:.1f} > {verdict.threshold:.1f}); its label is a guess",
                      file=sys.stderr)
    for notice in predictor.notices:
        print(f"note: {notice}", file=sys.stderr)
    print(f"provider: {predictor.provider}", file=sys.stderr) if not args.json else None
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from bigmodel_core.serve.bench import benchmark, contract_json, contract_rows, speedups

    batches = [int(b) for b in args.batches.split(",")] if args.batches else None
    engines = args.engines.split(",") if args.engines else None
    kwargs = dict(engines=engines, rounds=args.rounds, threads=args.threads)
    if batches:
        kwargs["batches"] = batches
    result = benchmark(args.model, **kwargs)
    if args.report:
        Path(args.report).write_text(json.dumps(result, indent=1, default=str), encoding="utf-8")
    rows = contract_rows(result)
    if args.json:
        sys.stdout.write(contract_json(result))
    else:
        print(_table([{k: (f"{v:.4f}" if isinstance(v, float) else v) for k, v in r.items()} for r in rows],
                     ["engine", "batch", "p50_ms", "p90_ms", "p99_ms", "throughput"]))
        for engine, by_batch in speedups(result["results"]).items():
            print(f"{engine} vs torch: " + ", ".join(f"batch {b}: {s:.1f}×" for b, s in by_batch.items()))
        print(f"machine: {json.dumps(result['machine'])}")
    return 0


def cmd_quantize(args: argparse.Namespace) -> int:
    from bigmodel_core.convert.quantize import quantize_model

    result = quantize_model(args.model, new_id=args.id, per_channel=args.per_channel)
    if args.json:
        _print_json(result)
    else:
        print(f"saved {result['id']} ({result['size_ratio']:.0%} of the fp32 size)")
        if result["delta"]:
            print("test-split change vs fp32: " + ", ".join(f"{k} {v:+.4f}" for k, v in result["delta"].items()))
    return 0


def cmd_fp16(args: argparse.Namespace) -> int:
    from bigmodel_core.convert.fp16 import fp16_model

    result = fp16_model(args.model, new_id=args.id, run_check=not args.no_check)
    if args.device != "cpu" and result["check"] is not None:
        from bigmodel_core.convert.fp16 import check, check_vs_dequantized, quantised
        from bigmodel_core.serve import registry

        src = registry.load(args.model)
        on_device = check(src.folder, Path(result["folder"]), device=args.device)
        if quantised(src.folder / "model.onnx"):
            on_device["vs_dequantized_fp32"] = check_vs_dequantized(src, Path(result["folder"]), args.device)
        result["check_" + args.device] = on_device
    if args.json:
        _print_json(result)
    else:
        print(f"saved {result['id']} ({result['size_ratio']:.0%} of the source size)")
        c = result["check"]
        if c and c.get("agreement") is not None:
            print(f"{c['source']} ({c['n']} rows): argmax agreement {c['agreement']:.2%}, accuracy "
                  f"{c['fp32_accuracy']:.2%} → {c['fp16_accuracy']:.2%}: {'passed' if c['passed'] else 'FAILED'}")
    return 0


def cmd_gpu_bench(args: argparse.Namespace) -> int:
    from bigmodel_core.serve.gpu_bench import gpu_benchmark

    batches = [int(b) for b in args.batches.split(",")] if args.batches else (1, 8, 64, 256)
    result = gpu_benchmark(args.model, batches=batches, calls_b1=args.calls, warmup=args.warmup, tf32=args.tf32,
                           threads=args.threads)
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=1, default=str), encoding="utf-8")
    if args.json:
        _print_json(result)
        return 0
    for skip in result["skipped"]:
        print(f"skipped {skip['engine']}: {skip['reason']}")
    print(_table([{k: (f"{v:.4f}" if isinstance(v, float) else v) for k, v in r.items() if k != "provider"}
                  for r in result["results"]], ["engine", "batch", "p50_ms", "p90_ms", "p99_ms", "throughput", "n"]))
    for engine, t in result["first_request"].items():
        print(f"first request after load, {engine}: {t['total_ms']:.1f} ms (load {t['load_ms']:.1f} ms)")
    for note in result["notes"]:
        print(f"note: {note}")
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    from bigmodel_core.serve import registry

    good, bad = registry.list_models()
    rows = []
    for e in good:
        test = (e.card.get("metrics") or {}).get("test", {})
        main = {k: round(v, 4) for k, v in test.items() if k in ("accuracy", "roc_auc", "r2", "macro_f1")}
        rows.append(dict(id=e.id, task=e.card["task"], dataset=e.card.get("dataset"),
                         architecture=e.card.get("architecture"), metrics=main, shipped=e.card.get("shipped", False)))
    if args.json:
        _print_json(dict(models=rows, refused=bad))
    else:
        print(_table([dict(r, metrics=json.dumps(r["metrics"])) for r in rows],
                     ["id", "task", "dataset", "architecture", "metrics", "shipped"]))
        for name, why in bad.items():
            print(f"refused {name}: {why}", file=sys.stderr)
    return 0


def cmd_build_defaults(args: argparse.Namespace) -> int:
    if args.examples_only:
        from bigmodel_core.serve.examples import write_all

        results = write_all(args.only, log=lambda msg: print(msg, file=sys.stderr, flush=True))
    elif args.ood_only:
        from bigmodel_core.serve.ood import calibrate_all

        results = calibrate_all(args.only, log=lambda msg: print(msg, file=sys.stderr, flush=True))
    else:
        from bigmodel_core.train.recipes import build_defaults

        results = build_defaults(args.only, device=args.device)
    _print_json(results) if args.json else print(json.dumps(results, indent=2, ensure_ascii=False))
    return 0


def cmd_clip_range(args: argparse.Namespace) -> int:
    from bigmodel_core.serve import registry
    from bigmodel_core.train.pipeline import clip_registered

    ids = args.ids or [e.id for e in registry.list_models()[0] if e.card.get("problem") == "regression"]
    results = []
    for model_id in ids:
        result = clip_registered(model_id)
        results.append(result)
        if not args.json:
            rng = result["target_range"]
            print(f"{model_id}: answers kept in [{rng['min']:g}, {rng['max']:g}] "
                  f"(min: {rng['source']['min']}, max: {rng['source']['max']}); outside over "
                  f"{result['rows']:,} rows: {result['outside_before']} before, {result['outside_after']} after; "
                  f"test change {result['metric_change'].get('test', {})}")
    if args.json:
        _print_json(results)
    return 0


# ----------------------------------------------------------------------------- parser

def _common(json_help: str = "print JSON instead of a table or text") -> argparse.ArgumentParser:
    """Options several commands share (given to each through argparse `parents=`)."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help=json_help)
    return common


def _device(default: str) -> argparse.ArgumentParser:
    """The --device option, with the command's own default."""
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument("--device", default=default, choices=["auto", "cpu", "cuda"])
    return parent


def _model_arg() -> argparse.ArgumentParser:
    """The MODEL argument of the commands that work on one registry model."""
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument("model", help="registry id or model folder")
    return parent


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bigmodel_core",
                                description="BigModel Studio: datasets, training, ONNX export and inference.")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    common, model = _common(), _model_arg()

    s = sub.add_parser("datasets", help="list the dataset catalog and what is available offline",
                       parents=[common])
    s.set_defaults(fn=cmd_datasets)

    s = sub.add_parser("fetch", help="download datasets into the data cache (sha256-checked)",
                       parents=[_common("print a summary: one object per dataset")])
    s.add_argument("ids", nargs="*", metavar="ID", help="catalog ids (see `datasets`)")
    s.add_argument("--all", action="store_true", help="every dataset of the catalog")
    s.set_defaults(fn=cmd_fetch)

    s = sub.add_parser("train", help="train a model on a catalog dataset",
                       parents=[common, _device("auto")])
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

    s = sub.add_parser("eval", help="score a registry model through ONNX Runtime on a dataset split",
                       parents=[common, model, _device("cpu")])
    s.add_argument("--dataset", help="catalog id (default: the model's own)")
    s.add_argument("--split", default="test", choices=["train", "val", "test"])
    s.set_defaults(fn=cmd_eval)

    s = sub.add_parser("predict", help="predict with ONNX Runtime",
                       parents=[common, model, _device("auto")])
    s.add_argument("inputs", nargs="*", help="image paths (image models) or texts (text models)")
    s.add_argument("--text-file", help="one text per line, UTF-8")
    s.add_argument("--csv", help="rows with the model's feature columns (tabular models)")
    s.set_defaults(fn=cmd_predict)

    s = sub.add_parser("bench", help="time PyTorch eager vs ONNX Runtime (CPU, CUDA, int8)",
                       parents=[common, model])
    s.add_argument("--batches", help="comma-separated batch sizes (default 1,8,64,256)")
    s.add_argument("--engines", help="comma-separated: torch,ort-cpu,ort-cuda,ort-int8")
    s.add_argument("--rounds", type=int, default=30)
    s.add_argument("--threads", type=int, default=None)
    s.add_argument("--report", metavar="FILE",
                   help="also write the full result (machine, agreement, transfers) as JSON")
    s.set_defaults(fn=cmd_bench)

    s = sub.add_parser("quantize", help="dynamic int8 copy of a registry model, scored beside its fp32 original",
                       parents=[common, model])
    s.add_argument("--id", help="id of the int8 model (default MODEL-int8)")
    s.add_argument("--per-channel", action="store_true",
                   help="one scale per output channel (closer to fp32, slower at batch 1; default: per tensor)")
    s.set_defaults(fn=cmd_quantize)

    s = sub.add_parser("fp16", parents=[common, model],
                       help="fp16 copy of a registry model (MODEL-fp16), checked against fp32 on the test split")
    s.add_argument("--id", help="id of the fp16 model (default MODEL-fp16)")
    s.add_argument("--no-check", action="store_true", help="skip the agreement/accuracy check")
    s.add_argument("--device", default="cpu", choices=["cpu", "cuda"], help="also check on this device")
    s.set_defaults(fn=cmd_fp16)

    s = sub.add_parser("gpu-bench", help="fair GPU benchmark: torch eager CUDA vs ORT CUDA (numpy, IO binding, "
                                         "CUDA graph, fp16); CPU engines where no GPU is usable",
                       parents=[common, model])
    s.add_argument("--batches", help="comma-separated batch sizes (default 1,8,64,256)")
    s.add_argument("--calls", type=int, default=1000, help="timed calls per engine at batch 1 (default 1000)")
    s.add_argument("--warmup", type=int, default=10)
    s.add_argument("--tf32", action="store_true", help="allow TF32 on both sides (default: off on both)")
    s.add_argument("--threads", type=int, default=None)
    s.add_argument("--out", metavar="FILE", help="write the full report as JSON")
    s.set_defaults(fn=cmd_gpu_bench)

    s = sub.add_parser("models", help="list the model registry",
                       parents=[common])
    s.set_defaults(fn=cmd_models)

    s = sub.add_parser("build-defaults", help="retrain every shipped model from scratch into models/",
                       parents=[common, _device("auto")])
    s.add_argument("--only", nargs="*", metavar="ID")
    s.add_argument("--examples-only", action="store_true",
                   help="only re-sample each shipped model's built-in examples from its test split (no training)")
    s.add_argument("--ood-only", action="store_true",
                   help="only calibrate the shipped image models' familiarity check and measure its AUROC "
                        "(no training)")
    s.set_defaults(fn=cmd_build_defaults)

    s = sub.add_parser("clip-range", help="keep a regression model's answers inside its target's range "
                                          "(a Clip in its ONNX graph; card re-scored), without retraining",
                       parents=[common])
    s.add_argument("ids", nargs="*", metavar="ID", help="registry ids (default: every regression model)")
    s.set_defaults(fn=cmd_clip_range)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.fn(args)
    except BigModelError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - the CLI promises one line, never a traceback
        from bigmodel_core.config import DEBUG
        if DEBUG.get():
            raise
        msg = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
        print(f"error: unexpected {type(exc).__name__}: {msg} (set BIGMODEL_DEBUG=1 for details)", file=sys.stderr)
        return 1
