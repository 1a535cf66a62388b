"""Faster copies of a model and how fast it runs: `bench` (PyTorch vs ONNX Runtime), `quantize` (int8),
`fp16`, and `gpu-bench` (a fair GPU comparison).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from bigmodel_core.cli.common import json_option, model_argument, print_json, table


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
        print(table([{k: (f"{v:.4f}" if isinstance(v, float) else v) for k, v in r.items()} for r in rows],
                     ["engine", "batch", "p50_ms", "p90_ms", "p99_ms", "throughput"]))
        for engine, by_batch in speedups(result["results"]).items():
            print(f"{engine} vs torch: " + ", ".join(f"batch {b}: {s:.1f}×" for b, s in by_batch.items()))
        print(f"machine: {json.dumps(result['machine'])}")
    return 0


def cmd_quantize(args: argparse.Namespace) -> int:
    from bigmodel_core.convert.quantize import quantize_model

    result = quantize_model(args.model, new_id=args.id, per_channel=args.per_channel)
    if args.json:
        print_json(result)
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
        print_json(result)
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
        print_json(result)
        return 0
    for skip in result["skipped"]:
        print(f"skipped {skip['engine']}: {skip['reason']}")
    print(table([{k: (f"{v:.4f}" if isinstance(v, float) else v) for k, v in r.items() if k != "provider"}
                  for r in result["results"]], ["engine", "batch", "p50_ms", "p90_ms", "p99_ms", "throughput", "n"]))
    for engine, t in result["first_request"].items():
        print(f"first request after load, {engine}: {t['total_ms']:.1f} ms (load {t['load_ms']:.1f} ms)")
    for note in result["notes"]:
        print(f"note: {note}")
    return 0


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """The `bench`, `quantize`, `fp16` and `gpu-bench` commands."""
    common, model = json_option(), model_argument()

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
