"""fp16 copies of registry models, registered as `<id>-fp16` and checked against their fp32 model.

The conversion is onnxconverter-common's `convert_float_to_float16(keep_io_types=True)`:
inputs and outputs stay fp32 (the app and the benchmark feed them unchanged), weights and
activations inside become fp16. `Cast` is kept in fp32 beside the converter's default
block list: the dynamo exporter's casts (`_to_copy`) otherwise get an fp16 output where the
graph declares fp32, which ONNX Runtime refuses. (Blocking more op types, e.g.
LayerNormalization or Gelu, made the converter's cast insertion run for minutes on sst2-tiny.)
A dynamically quantised model (the shipped `sst2-minilm`) is first turned back into fp32
(dequantize.py).

`check` scores both models on the card's test split (the full split when the dataset is
on this machine, the built-in examples otherwise): argmax agreement and accuracy. The
issue's bar: agreement ≥ 99.9 %, accuracy within 0.5 points. fp16 models run on the CPU
too (ONNX Runtime inserts casts where the CPU has no fp16 kernel), slowly.
"""
from __future__ import annotations

import tempfile
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from bigmodel_core.errors import ModelError

if TYPE_CHECKING:
    from bigmodel_core.data.types import Dataset
    from bigmodel_core.serve import registry

EXTRA_BLOCKED_OPS = ["Cast"]
MIN_AGREEMENT = 0.999
MAX_ACCURACY_DROP = 0.005
QUANTISED_OPS = {"MatMulInteger", "DynamicQuantizeLinear", "DequantizeLinear", "ConvInteger", "QLinearMatMul"}


def convert(src: Path | str, dst: Path | str) -> Path:
    """Write an fp16 copy of the ONNX model `src` (fp32 or dynamically quantised) to `dst`."""
    import onnx
    from onnxconverter_common import float16

    try:
        model = onnx.load(str(src))
    except Exception as exc:  # noqa: BLE001 - missing file or not a protobuf
        raise ModelError(f"Cannot read the ONNX model to convert: {str(exc).splitlines()[0][:200]}") from exc
    if any(n.op_type in QUANTISED_OPS for n in model.graph.node):
        from bigmodel_core.convert.dequantize import dequantize_model

        model = dequantize_model(model)
    del model.graph.value_info[:]                # stale fp32 shape annotations: the converter re-infers them
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")          # one warning per weight clipped to fp16's range
        try:
            half = float16.convert_float_to_float16(model, keep_io_types=True,
                                                    op_block_list=list(float16.DEFAULT_OP_BLOCK_LIST)
                                                    + EXTRA_BLOCKED_OPS)
        except Exception as exc:  # noqa: BLE001
            raise ModelError(f"fp16 conversion failed: {str(exc).splitlines()[0][:200]}") from exc
    onnx.save(half, str(dst))
    return Path(dst)


def _test_data(entry):
    """(data, "full test split" | "built-in examples") for the card's dataset, never downloading."""
    from bigmodel_core.data import catalog
    from bigmodel_core.data.loaders import load_dataset
    from bigmodel_core.errors import BigModelError
    from bigmodel_core.serve import examples

    try:
        if catalog.availability(catalog.get(entry.card.dataset)) != "needs download":
            return load_dataset(entry.card.dataset, **entry.card.split_args()), "full test split"
    except BigModelError as exc:            # an unknown or damaged dataset: fall back to the examples, say why
        return examples.load(entry.folder), f"built-in examples ({exc})"
    return examples.load(entry.folder), "built-in examples"


def check(fp32_folder: Path, fp16_folder: Path, data: Dataset | None = None, source: str = "",
          device: str = "cpu") -> dict:
    """Argmax agreement and accuracy of an fp16 model against its fp32 model on the test split.

    Returns {"n", "source", "agreement", "fp32_accuracy", "fp16_accuracy", "accuracy_drop",
    "max_abs_diff", "passed"}; for regression models agreement/accuracy are None and
    `max_rel_diff` (of the predictions, relative to their spread) is given instead.
    """
    from bigmodel_core.serve import registry
    from bigmodel_core.serve.evaluation import predict_split
    from bigmodel_core.serve.runtime import Predictor

    src, half = registry.load(fp32_folder), registry.load(fp16_folder)
    if data is None:
        data, source = _test_data(src)
    p32 = Predictor(src.folder, src.card, device=device)
    p16 = Predictor(half.folder, half.card, device=device)
    a, y = predict_split(p32, data, "test")
    b, _ = predict_split(p16, data, "test")
    result = dict(n=len(y), source=source, provider=p16.provider,
                  max_abs_diff=float(np.max(np.abs(a - b))) if len(y) else 0.0)
    if src.card.problem == "regression":
        spread = float(np.std(a)) or 1.0
        rel = result["max_abs_diff"] / spread
        result.update(agreement=None, fp32_accuracy=None, fp16_accuracy=None, accuracy_drop=None,
                      max_rel_diff=rel, passed=bool(rel < 0.01))
        return result
    agree = float(np.mean(a.argmax(1) == b.argmax(1)))
    acc32, acc16 = float(np.mean(a.argmax(1) == y)), float(np.mean(b.argmax(1) == y))
    result.update(agreement=agree, fp32_accuracy=acc32, fp16_accuracy=acc16, accuracy_drop=acc32 - acc16,
                  passed=bool(agree >= MIN_AGREEMENT and acc32 - acc16 <= MAX_ACCURACY_DROP))
    return result


def fp16_model(model: str, new_id: str | None = None, root: Path | None = None, run_check: bool = True) -> dict:
    """Convert a registry model to fp16, register it as `<id>-fp16` (never shipped) and check it.

    Returns {"id", "folder", "size_ratio", "check": check(...) or None}.
    """
    from bigmodel_core.serve import registry

    src = registry.load(model, root)
    if (src.card.quantized_from or {}).get("format") == "fp16":
        raise ModelError(f"'{src.id}' is an fp16 model already.", hint="convert its fp32 model instead")
    new_id = registry.validate_id(new_id or f"{src.id}-fp16"[:64])
    with tempfile.TemporaryDirectory() as tmp:
        half = convert(src.folder / "model.onnx", Path(tmp) / "model.onnx")
        assets = {name: src.folder / name for name in src.card.assets if (src.folder / name).is_file()}
        assets.pop("weights.safetensors", None)
        assets.pop("ood.npz", None)              # a familiarity calibration fits one model file only
        examples_dir = src.folder / registry.EXAMPLES_DIR
        if src.card.examples and examples_dir.is_dir():
            assets.update({f"{registry.EXAMPLES_DIR}/{f.name}": f for f in examples_dir.iterdir() if f.is_file()})
        src_bytes = src.card.onnx_bytes or (src.folder / "model.onnx").stat().st_size
        card = {k: v for k, v in src.card.to_dict().items()     # the new card's fields: save adds id, sha256…
                if k not in ("id", "sha256", "onnx_bytes", "assets", "created", "ood", "metrics", "quantized_from")}
        card.update(title=f"{(src.card.title or src.id)} — fp16", weights=None, shipped=False,
                    quantized_from=dict(model=src.id, format="fp16", converter="onnxconverter-common float16, "
                                        "keep_io_types", source_bytes=src_bytes,
                                        fp16_bytes=half.stat().st_size,
                                        size_ratio=round(half.stat().st_size / src_bytes, 4)))
        folder = registry.save(new_id, half, card, assets, root=root)
    result = check(src.folder, folder) if run_check else None
    if result is not None and quantised(src.folder / "model.onnx"):
        result["vs_dequantized_fp32"] = check_vs_dequantized(src, folder)
    if result is not None:
        registry.update(new_id, {"quantized_from": dict(card["quantized_from"], check=result)}, root=root)
    return dict(id=new_id, folder=str(folder), size_ratio=card["quantized_from"]["size_ratio"], check=result)


def quantised(path: Path) -> bool:
    import onnx

    return any(n.op_type in QUANTISED_OPS for n in onnx.load(str(path)).graph.node)


def check_vs_dequantized(src: registry.Entry, fp16_folder: Path, device: str = "cpu") -> dict:
    """The check against the source's weights dequantised to fp32 (the fp32 model the fp16 one was made from),
    for a source shipped quantised only: a scratch registry entry, removed afterwards."""
    import onnx

    from bigmodel_core.convert.dequantize import dequantize_model
    from bigmodel_core.serve import registry

    with tempfile.TemporaryDirectory() as tmp:
        fp32 = Path(tmp) / "fp32.onnx"
        onnx.save(dequantize_model(onnx.load(str(src.folder / "model.onnx"))), str(fp32))
        assets = {name: src.folder / name for name in src.card.assets if (src.folder / name).is_file()}
        examples_dir = src.folder / registry.EXAMPLES_DIR
        if examples_dir.is_dir():
            assets.update({f"{registry.EXAMPLES_DIR}/{f.name}": f for f in examples_dir.iterdir() if f.is_file()})
        card = {k: v for k, v in src.card.to_dict().items()
                if k not in ("id", "sha256", "onnx_bytes", "assets", "created")}
        folder = registry.save(f"{src.id}-fp32"[:64], fp32, dict(card, shipped=False), assets, root=Path(tmp) / "r")
        return check(folder, fp16_folder, device=device)
