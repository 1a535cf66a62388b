"""Dynamic int8 quantisation of an exported model with onnxruntime.quantization.

Weights of MatMul/Gemm and embedding tables (Gather) become int8; activations are quantised on the fly. The
dynamo exporter's `value_info` entries confuse the quantiser's shape inference,
so they are cleared first (the graph is unchanged otherwise). `per_channel`
keeps embedding-heavy encoders close to fp32.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

from .errors import ModelError


def quantize_dynamic_int8(src: Path, dst: Path, per_channel: bool = True) -> Path:
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    try:
        model = onnx.load(str(src))
    except Exception as exc:  # noqa: BLE001 - missing file or not a protobuf
        raise ModelError(f"Cannot read the ONNX model to quantise: {str(exc).splitlines()[0][:200]}",
                         hint="export the fp32 model first") from exc
    del model.graph.value_info[:]
    with tempfile.TemporaryDirectory() as tmp:
        cleared = Path(tmp) / "cleared.onnx"
        onnx.save(model, str(cleared))
        try:
            quantize_dynamic(str(cleared), str(dst), weight_type=QuantType.QInt8, per_channel=per_channel,
                             op_types_to_quantize=["MatMul", "Gemm", "Gather"])
        except Exception as exc:  # noqa: BLE001
            raise ModelError(f"int8 quantisation failed: {str(exc).splitlines()[0][:200]}") from exc
    return Path(dst)
