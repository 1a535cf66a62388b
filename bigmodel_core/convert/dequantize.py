"""Turn a dynamically quantised ONNX model (onnxruntime.quantization output) back into an fp32 graph.

The shipped `sst2-minilm` is int8 only (its fp32 file is over the size limit), and int8
`MatMulInteger`/`DynamicQuantizeLinear` are CPU kernels: on a GPU they would run on the
CPU, and an fp16 copy cannot be made from them. This rewrite restores plain fp32:

- `DynamicQuantizeLinear(x) → MatMulInteger(x_q, W_q, x_zp, W_zp) → Cast → Mul(·, x_scale·W_scale)`
  becomes `MatMul(x, (W_q − W_zp)·W_scale)`;
- `Gather(T_q, ids) → DequantizeLinear(·, scale, zp)` becomes `Gather((T_q − zp)·scale, ids)`.

The weights are the int8 ones dequantised (not the original fp32 ones), so the rewritten
model follows the int8 model's weights without its activation rounding.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from bigmodel_core.errors import ModelError

if TYPE_CHECKING:
    import onnx


def _per_column(values: np.ndarray, columns: int) -> np.ndarray:
    """A scale or zero point that is one number or one per output column, broadcastable over [K, N]."""
    values = values.astype(np.float32).reshape(-1)
    return values.reshape(1, columns) if values.size == columns else values.reshape(())


def dequantize_model(model: onnx.ModelProto) -> onnx.ModelProto:
    """An fp32 copy of a dynamically quantised `onnx.ModelProto` (unchanged if nothing is quantised)."""
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.ModelProto.FromString(model.SerializeToString())
    graph = model.graph
    inits = {i.name: i for i in graph.initializer}
    producer = {o: n for n in graph.node for o in n.output}
    consumers: dict[str, list] = {}
    for n in graph.node:
        for i in n.input:
            consumers.setdefault(i, []).append(n)

    def const(name):
        if name not in inits:
            raise ModelError(f"Cannot dequantise: '{name}' is not a constant.")
        return numpy_helper.to_array(inits[name])

    new_inits, replace = [], {}                      # replace: id(old node) -> new node (or None to drop)
    for node in graph.node:
        if node.op_type == "MatMulInteger":
            x_q, w_q, _, w_zp = (list(node.input) + [""] * 4)[:4]
            dql = producer.get(x_q)
            cast = (consumers.get(node.output[0]) or [None])[0]
            mul = (consumers.get(cast.output[0]) or [None])[0] if cast is not None else None
            scales = producer.get(mul.input[1] if mul is not None and mul.input[0] == cast.output[0] else "")
            if dql is None or dql.op_type != "DynamicQuantizeLinear" or cast is None or cast.op_type != "Cast" \
                    or mul is None or mul.op_type != "Mul" or scales is None or scales.op_type != "Mul":
                raise ModelError(f"Cannot dequantise node '{node.name}': not the pattern quantize_dynamic writes.")
            w_scale_name = next(i for i in scales.input if i in inits)
            weight = const(w_q).astype(np.float32)
            cols = weight.shape[-1]
            zp = _per_column(const(w_zp), cols) if w_zp else np.float32(0)
            weight = (weight - zp) * _per_column(const(w_scale_name), cols)
            name = f"{w_q}_dequantized"
            new_inits.append(numpy_helper.from_array(weight.astype(np.float32), name))
            replace[id(mul)] = helper.make_node("MatMul", [dql.input[0], name], [mul.output[0]],
                                                name=f"{node.name}_fp32")
            for old in (node, cast):
                replace[id(old)] = None
        elif node.op_type == "DequantizeLinear" and producer.get(node.input[0]) is not None \
                and producer[node.input[0]].op_type == "Gather" and producer[node.input[0]].input[0] in inits:
            gather = producer[node.input[0]]
            table = const(gather.input[0]).astype(np.float32)
            zp = const(node.input[2]).astype(np.float32) if len(node.input) > 2 and node.input[2] else np.float32(0)
            table = (table - zp) * const(node.input[1]).astype(np.float32)
            name = f"{gather.input[0]}_dequantized"
            new_inits.append(numpy_helper.from_array(table.astype(np.float32), name))
            replace[id(gather)] = None
            replace[id(node)] = helper.make_node("Gather", [name, gather.input[1]], [node.output[0]],
                                                 name=f"{gather.name}_fp32", **{a.name: helper.get_attribute_value(a)
                                                                                for a in gather.attribute})
    if not replace:
        return model
    nodes = [replace.get(id(n), n) for n in graph.node]
    nodes = [n for n in nodes if n is not None]
    # keep only what the outputs need (the DynamicQuantizeLinear and scale Muls fall away)
    producer = {o: n for n in nodes for o in n.output}
    needed, stack, keep = set(), [o.name for o in graph.output], set()
    while stack:
        name = stack.pop()
        if name in needed:
            continue
        needed.add(name)
        n = producer.get(name)
        if n is not None and id(n) not in keep:
            keep.add(id(n))
            stack.extend(i for i in n.input if i)
    del graph.node[:]
    graph.node.extend(n for n in nodes if id(n) in keep)
    all_inits = list(graph.initializer) + new_inits
    del graph.initializer[:]
    graph.initializer.extend(i for i in all_inits if i.name in needed)
    del graph.value_info[:]
    return model
