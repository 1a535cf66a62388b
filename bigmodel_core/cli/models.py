"""The registry as a whole: `models` lists it, `build-defaults` rebuilds the shipped models (or only
their examples or familiarity check), `clip-range` keeps regression models' answers in range.
"""
from __future__ import annotations

import argparse
import json
import sys

from bigmodel_core.cli.common import device_option, json_option, print_json, table


def cmd_models(args: argparse.Namespace) -> int:
    from bigmodel_core.serve import registry

    good, bad = registry.list_models()
    rows = []
    for e in good:
        test = (e.card.metrics or {}).get("test", {})
        main = {k: round(v, 4) for k, v in test.items() if k in ("accuracy", "roc_auc", "r2", "macro_f1")}
        rows.append(dict(id=e.id, task=e.card.task, dataset=e.card.dataset,
                         architecture=e.card.architecture, metrics=main, shipped=e.card.shipped))
    if args.json:
        print_json(dict(models=rows, refused=bad))
    else:
        print(table([dict(r, metrics=json.dumps(r["metrics"])) for r in rows],
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
    print_json(results) if args.json else print(json.dumps(results, indent=2, ensure_ascii=False))
    return 0


def cmd_clip_range(args: argparse.Namespace) -> int:
    from bigmodel_core.serve import registry
    from bigmodel_core.train.pipeline import clip_registered

    ids = args.ids or [e.id for e in registry.list_models()[0] if e.card.problem == "regression"]
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
        print_json(results)
    return 0


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """The `models`, `build-defaults` and `clip-range` commands."""
    common = json_option()

    s = sub.add_parser("models", help="list the model registry",
                       parents=[common])
    s.set_defaults(fn=cmd_models)

    s = sub.add_parser("build-defaults", help="retrain every shipped model from scratch into models/",
                       parents=[common, device_option("auto")])
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
