"""The inference commands, through ONNX Runtime and never torch: `eval` scores a registry model on a
dataset split, `predict` answers for images, texts or table rows.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from bigmodel_core.cli.common import device_option, json_option, model_argument, print_json
from bigmodel_core.errors import DataError


def cmd_eval(args: argparse.Namespace) -> int:
    from bigmodel_core.serve.evaluation import evaluate

    result = evaluate(args.model, args.dataset, args.split, device=args.device)
    print_json(result) if args.json else print(json.dumps(result, indent=2, ensure_ascii=False))
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
    task = entry.card.task
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
            print_json(obj)
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


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """The `eval` and `predict` commands."""
    common, model = json_option(), model_argument()

    s = sub.add_parser("eval", help="score a registry model through ONNX Runtime on a dataset split",
                       parents=[common, model, device_option("cpu")])
    s.add_argument("--dataset", help="catalog id (default: the model's own)")
    s.add_argument("--split", default="test", choices=["train", "val", "test"])
    s.set_defaults(fn=cmd_eval)

    s = sub.add_parser("predict", help="predict with ONNX Runtime",
                       parents=[common, model, device_option("auto")])
    s.add_argument("inputs", nargs="*", help="image paths (image models) or texts (text models)")
    s.add_argument("--text-file", help="one text per line, UTF-8")
    s.add_argument("--csv", help="rows with the model's feature columns (tabular models)")
    s.set_defaults(fn=cmd_predict)
