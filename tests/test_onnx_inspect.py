"""Bring your own ONNX model: the Model Zoo's mnist-8 is described, runs on real digits and is timed;
broken or unsupported files give one clear message."""
import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from bigmodel_core.errors import DataError, ModelError
from bigmodel_core.serve import onnx_inspect as oi
from bigmodel_core.serve.bench import MAX_BURST
from tests.conftest import requires_dataset

needs_sample = requires_dataset(oi.SAMPLE_ID)


@pytest.fixture(scope="module")
def mnist8():
    path = oi.sample_model()
    return path, oi.inspect_onnx(path)


@needs_sample
def test_mnist8_spec_is_read_from_the_file(mnist8):
    path, r = mnist8
    assert r.file_bytes == path.stat().st_size == 26454
    assert [(t.name, t.dtype, t.shape) for t in r.inputs] == [("Input3", "float32", [1, 1, 28, 28])]
    assert [(t.name, t.dtype, t.shape) for t in r.outputs] == [("Plus214_Output_0", "float32", [1, 10])]
    assert r.opsets == {"ai.onnx": 8} and r.producer == "CNTK" and r.ir_version == 3
    # the initializers that this old IR also lists as graph inputs are weights, not inputs
    assert r.operators["Conv"] == 2 and r.operators["MaxPool"] == 2 and sum(r.operators.values()) == r.nodes == 12
    expected = sum(int(np.prod(t.dims)) for t in onnx.load(str(path)).graph.initializer)
    assert r.parameters == expected == 5998
    assert r.inputs[0].describe() == "Input3: float32[1, 1, 28, 28]"
    assert oi.image_input(r).name == "Input3"


@requires_dataset(oi.SAMPLE_ID, "mnist")
def test_mnist8_reads_real_digits(mnist8):
    from bigmodel_core.data.loaders import load_dataset

    path, r = mnist8
    data = load_dataset("mnist")
    idx = data.split["test"][:40]
    right = 0
    for i in idx:
        feed = oi.feed_for(r, image=data.images[i][0])                       # uint8 [28, 28], light on dark
        assert feed["Input3"].shape == (1, 1, 28, 28) and 0 <= feed["Input3"].min() <= feed["Input3"].max() <= 1
        out = oi.run_onnx(path, feed)
        assert out["provider"] == "CPUExecutionProvider" and out["latency_ms"] > 0
        right += oi.top_classes(out["outputs"]["Plus214_Output_0"])[0][0] == int(data.labels[i])
    assert right >= 36, f"mnist-8 read only {right}/40 test digits"
    # a dark digit on light paper is inverted automatically, so it reads the same
    i = idx[0]
    paper = 255 - data.images[i][0]
    top = oi.top_classes(oi.run_onnx(path, oi.feed_for(r, image=paper))["outputs"]["Plus214_Output_0"])
    assert top[0][0] == int(data.labels[i])


@needs_sample
def test_mnist8_benchmark_times_batch_one_only(mnist8):
    path, r = mnist8
    res = oi.bench_onnx(path, r, batches=(1, 8), rounds=5, warmup=1)
    assert res["batch_sweep"] is False                                       # its batch dim is fixed at 1
    assert [(x["engine"], x["batch"]) for x in res["results"]] == [("ort-cpu", 1)]
    assert 5 <= res["results"][0]["n"] <= 5 * MAX_BURST                      # 5 rounds of short bursts
    row = res["results"][0]
    assert 0 < row["p50_ms"] <= row["p90_ms"] <= row["p99_ms"] and row["provider"] == "CPUExecutionProvider"
    assert {"cpu", "cores", "onnxruntime"} <= set(res["machine"])


def _dynamic_model(tmp_path):
    """y = x @ W with a free batch dim and an int64 side input, built with onnx.helper."""
    w = helper.make_tensor("W", TensorProto.FLOAT, [4, 3], np.arange(12, dtype=np.float32).tolist())
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "W"], ["y"]), helper.make_node("Identity", ["ids"], ["ids_out"])], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 4]),
         helper.make_tensor_value_info("ids", TensorProto.INT64, ["batch", "seq"])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 3]),
         helper.make_tensor_value_info("ids_out", TensorProto.INT64, ["batch", "seq"])], [w])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="test")
    model.ir_version = 8
    path = tmp_path / "dyn.onnx"
    onnx.save(model, str(path))
    return path


def test_named_dims_take_the_batch_and_random_inputs_match_their_types(tmp_path):
    path = _dynamic_model(tmp_path)
    r = oi.inspect_onnx(path)
    assert [(t.name, t.dtype, t.shape) for t in r.inputs] == [("x", "float32", ["batch", 4]),
                                                             ("ids", "int64", ["batch", "seq"])]
    assert r.parameters == 12 and r.operators == {"MatMul": 1, "Identity": 1} and oi.image_input(r) is None
    feed = oi.feed_for(r, batch=5)
    assert feed["x"].shape == (5, 4) and feed["x"].dtype == np.float32
    assert feed["ids"].shape == (5, 1) and feed["ids"].dtype == np.int64 and set(np.unique(feed["ids"])) <= {0, 1}
    out = oi.run_onnx(path, feed)["outputs"]
    np.testing.assert_allclose(out["y"], feed["x"] @ np.arange(12, dtype=np.float32).reshape(4, 3), rtol=1e-6)
    with pytest.raises(DataError, match="image-shaped"):
        oi.feed_for(r, image=np.zeros((28, 28), dtype=np.uint8))
    res = oi.bench_onnx(path, r, batches=(1, 8), rounds=3, warmup=1)
    assert res["batch_sweep"] is True and [x["batch"] for x in res["results"]] == [1, 8]


@pytest.mark.parametrize("content, message", [
    (b"", "empty"),
    (b"this is a text file, not a model", "not an ONNX model"),
    (b"\x08\x07\x12\x04" + b"\xff" * 64, "not an ONNX model"),
])
def test_garbage_is_refused_with_one_clear_message(content, message, tmp_path):
    with pytest.raises((DataError, ModelError), match=message) as err:
        oi.inspect_onnx(content)
    assert "\n" not in str(err.value)


@needs_sample
def test_a_truncated_model_is_refused(mnist8):
    path, _ = mnist8
    with pytest.raises(ModelError, match="ONNX"):
        oi.inspect_onnx(path.read_bytes()[:20000])


def test_an_invalid_graph_and_an_unknown_operator_are_refused(tmp_path):
    bad = helper.make_graph([helper.make_node("Relu", ["missing"], ["y"])], "g", [],
                            [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])])
    model = helper.make_model(bad, opset_imports=[helper.make_opsetid("", 17)])
    with pytest.raises(ModelError, match="invalid"):
        oi.inspect_onnx(model.SerializeToString())
    custom = helper.make_graph([helper.make_node("FancyOp", ["x"], ["y"], domain="com.example")], "g",
                               [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
                               [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])])
    model = helper.make_model(custom,
                              opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.example", 1)])
    with pytest.raises(ModelError, match="ONNX Runtime could not load"):
        oi.inspect_onnx(model.SerializeToString())


def test_an_oversized_file_is_refused_before_parsing(tmp_path, monkeypatch):
    monkeypatch.setattr(oi, "MAX_ONNX_BYTES", 1000)
    big = tmp_path / "big.onnx"
    big.write_bytes(b"\0" * 2000)
    for source in (big, big.read_bytes()):
        with pytest.raises(DataError, match="limit is"):
            oi.inspect_onnx(source)
