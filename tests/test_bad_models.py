"""The bad-input catalogue, second half: ONNX uploads, models on disk, trainings, size limits, the real process.

The same contract as tests/test_bad_inputs.py (images, texts, CSV files, image-folder zips):
the core raises the project's own error, the CLI exits non-zero with one line and no
traceback. Also here: the source scans that keep user input away from unsafe loaders and
raw HTML.
"""
import io
import json
import os
import shutil
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import numpy as np
import pytest

from bigmodel_core.data import limits
from bigmodel_core.data import uploads as D
from bigmodel_core.data.csvio import MAX_CSV_BYTES, read_csv_safely
from bigmodel_core.data.loaders import load_dataset
from bigmodel_core.errors import BigModelError, DataError, ModelError, TrainingError
from bigmodel_core.serve import onnx_inspect as oi
from bigmodel_core.serve import preprocess as pp
from bigmodel_core.serve import registry
from tests.test_bad_inputs import (  # the catalogue's shared helpers
    IMAGE_MODEL,
    ROOT,
    TABLE_MODEL,
    TEXT_MODEL,
    TWO_CLASSES,
    _digit,
    _table_rows,
    _zip,
    assert_one_line_error,
    need,
    run_cli,
)

# ============================================================================ ONNX uploads

def _onnx_model(input_type=None, shape=(1, 3), external_dir: Path | None = None) -> bytes:
    import onnx
    from onnx import TensorProto, helper

    input_type = TensorProto.FLOAT if input_type is None else input_type
    if input_type == TensorProto.STRING:
        node = helper.make_node("Identity", ["x"], ["y"])
        out_type, out_shape = TensorProto.STRING, list(shape)
        inits = []
    else:
        from onnx import numpy_helper

        weight = numpy_helper.from_array(np.arange(shape[-1] * 2, dtype=np.float32).reshape(shape[-1], 2), "w")
        node = helper.make_node("MatMul", ["x", "w"], ["y"])
        out_type, out_shape, inits = TensorProto.FLOAT, [shape[0], 2], [weight]
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", input_type, list(shape))],
                              [helper.make_tensor_value_info("y", out_type, out_shape)], initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    if external_dir is not None:
        path = external_dir / "model.onnx"
        onnx.save_model(model, str(path), save_as_external_data=True, all_tensors_to_one_file=True,
                        location="weights.bin", size_threshold=0)
        return path.read_bytes()
    return model.SerializeToString()


def test_onnx_malformed_bytes_are_refused():
    for data in (b"not an onnx model at all", os.urandom(2048), b"\x08\x07" + b"\xff" * 100):
        with pytest.raises(BigModelError):
            oi.inspect_onnx(data)
    with pytest.raises(DataError, match="empty"):
        oi.inspect_onnx(b"")


def test_onnx_external_data_reference_is_refused(tmp_path):
    data = _onnx_model(external_dir=tmp_path)
    assert (tmp_path / "weights.bin").exists()
    with pytest.raises(ModelError, match="external data"):
        oi.inspect_onnx(data)
    with pytest.raises(ModelError, match="external data"):        # even with the weights file beside it
        oi.inspect_onnx(tmp_path / "model.onnx")


@pytest.mark.parametrize("feed, message", [
    ({"x": np.zeros((1, 4), np.float32)}, "could not run"),          # wrong shape
    ({"x": np.zeros((1, 3), np.int64)}, "could not run"),            # wrong dtype
    ({"other": np.zeros((1, 3), np.float32)}, "could not run"),      # wrong name
    ({}, "could not run"),                                           # nothing
])
def test_onnx_input_that_does_not_fit_is_a_model_error(feed, message):
    data = _onnx_model()
    report = oi.inspect_onnx(data)
    assert oi.run_onnx(data, oi.feed_for(report))["outputs"]["y"].shape == (1, 2)
    with pytest.raises(ModelError, match=message):
        oi.run_onnx(data, feed)


def test_onnx_picture_for_a_model_without_an_image_input_is_refused():
    data = _onnx_model()
    with pytest.raises(DataError, match="no single image-shaped input"):
        oi.feed_for(oi.inspect_onnx(data), image=_digit("L"))


def test_onnx_with_a_string_input_cannot_get_random_values():
    from onnx import TensorProto

    data = _onnx_model(TensorProto.STRING)
    report = oi.inspect_onnx(data)
    with pytest.raises(DataError, match="Cannot make an input"):
        oi.feed_for(report)


def test_onnx_upload_over_the_limit_is_refused_before_parsing(tmp_path):
    path = tmp_path / "big.onnx"
    with open(path, "wb") as f:
        f.truncate(limits.MAX_UPLOAD_BYTES + 1)
    with pytest.raises(DataError, match="limit"):
        oi.inspect_onnx(path)
    with pytest.raises(DataError, match="limit"):
        oi.read_bytes(io.BytesIO(b"\0" * (limits.MAX_UPLOAD_BYTES + 1)))


# ============================================================================ models on disk

@pytest.fixture
def disk_registry(tmp_registry):
    need(TABLE_MODEL)
    for name in ("good", "broken"):
        shutil.copytree(TABLE_MODEL, tmp_registry / name)
        card = json.loads((tmp_registry / name / "card.json").read_text())
        card.update(id=name, shipped=False)
        (tmp_registry / name / "card.json").write_text(json.dumps(card))
    return tmp_registry


def _break(folder: Path, how: str) -> None:
    card_path = folder / "card.json"
    if how == "sha256-mismatch":
        with open(folder / "model.onnx", "ab") as f:
            f.write(b"\0")
    elif how == "missing-card":
        card_path.unlink()
    elif how == "unknown-card-field":
        card = json.loads(card_path.read_text())
        card["run_this"] = "import os"
        card_path.write_text(json.dumps(card))
    elif how == "card-not-json":
        card_path.write_text("{not json")
    elif how == "card-not-object":
        card_path.write_text("[1, 2]")
    elif how == "card-lacks-fields":
        card = json.loads(card_path.read_text())
        del card["input_spec"]
        card_path.write_text(json.dumps(card))
    elif how == "model-missing":
        (folder / "model.onnx").unlink()


BROKEN = {"sha256-mismatch": "sha256", "missing-card": "card.json is missing", "unknown-card-field": "unknown fields",
          "card-not-json": "not valid JSON", "card-not-object": "not a JSON object", "card-lacks-fields": "lacks",
          "model-missing": "model.onnx is missing"}


@pytest.mark.parametrize("how", list(BROKEN))
def test_broken_entry_is_refused_and_the_rest_still_usable(how, disk_registry, capsys):
    _break(disk_registry / "broken", how)
    good, bad = registry.list_models()
    assert [e.id for e in good] == ["good"]
    assert BROKEN[how] in bad["broken"]
    with pytest.raises(ModelError):
        registry.load("broken")
    registry.load("good")
    code, out, err = run_cli(capsys, "models", "--json")
    assert code == 0 and [m["id"] for m in json.loads(out)["models"]] == ["good"]
    code, _, err = run_cli(capsys, "predict", "broken", "--csv", "x.csv")
    assert_one_line_error(code, err)
    code, out, err = run_cli(capsys, "predict", "good", "--csv", _write(disk_registry.parent / "r.csv",
                                                                         _table_rows(2)), "--json")
    assert code == 0 and len(out.splitlines()) == 2, err


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_model_whose_onnx_does_not_fit_its_card_is_a_model_error(disk_registry, capsys):
    """A valid model.onnx (sha256 matching) whose input is not what the card's preprocessing makes."""
    folder = disk_registry / "broken"
    (folder / "model.onnx").write_bytes(_onnx_model(shape=(1, 3)))
    card = json.loads((folder / "card.json").read_text())
    card["sha256"] = registry.sha256_file(folder / "model.onnx")
    (folder / "card.json").write_text(json.dumps(card))
    from bigmodel_core.serve.runtime import Predictor

    entry = registry.load("broken")
    import pandas as pd

    frame = pd.read_csv(io.StringIO(_table_rows(2)))
    with pytest.raises(ModelError, match="could not run"):
        Predictor(entry.folder, entry.card, device="cpu").predict(frame)
    code, _, err = run_cli(capsys, "predict", "broken", "--csv", _write(disk_registry.parent / "r.csv",
                                                                          _table_rows(2)), "--device", "cpu")
    assert_one_line_error(code, err, "could not run")


@pytest.mark.parametrize("bad_id", ["../evil", "..", "a/../../b", "/etc/passwd", "x\x00y", "CON", "a" * 65,
                                    "café", "name with space", ".old-x-1", "-x"])
def test_model_ids_are_validated_against_path_traversal(bad_id, tmp_registry, tmp_path):
    onnx_file = tmp_path / "m.onnx"
    onnx_file.write_bytes(_onnx_model())
    with pytest.raises(ModelError, match="not a valid model id"):
        registry.validate_id(bad_id)
    with pytest.raises(ModelError):
        registry.save(bad_id, onnx_file, {"task": "tabular"})
    with pytest.raises(ModelError):
        registry.delete(bad_id)
    assert list(tmp_registry.iterdir()) == [] and not (tmp_path / "evil").exists()


# ============================================================================ training

def test_diverging_learning_rate_stops_with_a_clear_message_and_nothing_is_exported(tmp_registry, capsys):
    from bigmodel_core.train.pipeline import train
    from bigmodel_core.train.spec import TrainSpec
    from bigmodel_core.train.trainer import TrainConfig

    spec = TrainSpec("diabetes", "mlp", TrainConfig(epochs=3, lr=1e8, batch_size=32), {"hidden": [8]})
    with pytest.raises(TrainingError, match="diverged") as info:
        train(spec)
    assert "learning rate" in info.value.hint
    code, _, err = run_cli(capsys, "train", "--dataset", "diabetes", "--arch", "mlp", "--lr", "1e8", "--epochs", "3",
                           "--option", "hidden=[8]", "--out", tmp_registry.parent / "run", "--export", "diverged")
    assert_one_line_error(code, err, "diverged")
    assert registry.list_models() == ([], {}) and not (tmp_registry / "diverged").exists()
    assert not (tmp_registry.parent / "run").exists()                  # no run folder for a failed training


def test_diverging_job_fails_with_its_message_and_exports_nothing(tmp_registry):
    from bigmodel_core.app.jobs import FAILED, JobManager
    from bigmodel_core.train.spec import TrainSpec
    from bigmodel_core.train.trainer import TrainConfig

    jm = JobManager(max_running=1)
    job_id = jm.submit("me", TrainSpec("diabetes", "mlp", TrainConfig(epochs=3, lr=1e8, batch_size=32),
                                       {"hidden": [8]}))
    job = jm.wait(job_id, timeout=120)
    assert job.status == FAILED and "diverged" in job.error and job.result is None
    assert registry.list_models() == ([], {})


@pytest.mark.parametrize("case", ["upload-5-rows", "max-rows-3", "text-upload-4-rows", "zip-6-images"])
def test_dataset_too_small_for_the_split(case, capsys):
    if case == "upload-5-rows":
        with pytest.raises(DataError, match="at least 10"):
            D.load_csv_tabular(("a,y\n" + "".join(f"{i},{i % 2}\n" for i in range(5))).encode(), "y")
    elif case == "max-rows-3":
        with pytest.raises(DataError, match="too small"):
            load_dataset("diabetes", max_rows=3)
        code, _, err = run_cli(capsys, "train", "--dataset", "diabetes", "--arch", "mlp", "--max-rows", "3")
        assert_one_line_error(code, err, "too small")
    elif case == "text-upload-4-rows":
        with pytest.raises(DataError, match="at least 10"):
            D.load_csv_text(b"text,label\ngood,1\nbad,0\nfine,1\nawful,0\n")
    else:
        with pytest.raises(DataError, match="at least 10"):
            D.load_image_zip(_zip(TWO_CLASSES[:3] + TWO_CLASSES[10:13]))


def test_stop_pressed_during_the_first_batch_leaves_a_usable_model():
    import torch

    from bigmodel_core.train.trainer import TrainConfig, Trainer

    model = torch.nn.Linear(4, 2)
    x, y = torch.randn(64, 4), torch.randint(0, 2, (64,))
    batches = lambda epoch, gen: (((x[i:i + 8],), y[i:i + 8]) for i in range(0, 64, 8))   # noqa: E731
    holder = {}

    def loss_fn(out, target):
        holder["trainer"].request_stop()                 # pressed while the first batch is running
        return torch.nn.functional.cross_entropy(out, target)

    trainer = Trainer(model, TrainConfig(epochs=5, device="cpu"), batches, 8, loss_fn)
    holder["trainer"] = trainer
    history = trainer.run()
    assert history.stopped and history.epochs == [1] and len(history.train_loss) == 1
    assert all(torch.isfinite(p).all() for p in model.parameters())
    assert model(x).shape == (64, 2)


def test_stop_pressed_as_a_job_starts_ends_stopped_not_failed():
    from bigmodel_core.app.jobs import FAILED, STOPPED, JobManager
    from bigmodel_core.train.spec import TrainSpec
    from bigmodel_core.train.trainer import TrainConfig

    jm = JobManager(max_running=1)
    job_id = jm.submit("me", TrainSpec("diabetes", "mlp", TrainConfig(epochs=200, batch_size=8), {"hidden": [8]}))
    deadline = time.monotonic() + 60
    while jm.get(job_id)._trainer is None and jm.get(job_id).active and time.monotonic() < deadline:
        time.sleep(0.005)
    assert jm.stop(job_id)
    job = jm.wait(job_id, timeout=60)
    assert job.status == STOPPED and job.status != FAILED and job.error is None
    if job.result is not None:                            # stopped after its first batch: a usable model
        assert len(job.result.history.epochs) <= 2


# ============================================================================ size limits

def test_upload_limit_matches_streamlit_config_and_every_reader():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["maxUploadSize"] == limits.MAX_UPLOAD_MB == 50
    assert limits.MAX_UPLOAD_BYTES == 50 * 1024 * 1024
    assert MAX_CSV_BYTES == oi.MAX_ONNX_BYTES == limits.MAX_UPLOAD_BYTES


@pytest.mark.parametrize("reader", ["image", "zip", "csv", "onnx"])
def test_every_reader_refuses_more_than_the_limit(reader):
    big = b"\0" * (limits.MAX_UPLOAD_BYTES + 1)
    with pytest.raises(DataError, match="too large|limit"):
        {"image": lambda: pp.load_image(big, 1), "zip": lambda: D.load_image_zip(big),
         "csv": lambda: read_csv_safely(big), "onnx": lambda: oi.read_bytes(big)}[reader]()


# ============================================================================ the real process

@pytest.mark.parametrize("args", [
    ("predict", str(IMAGE_MODEL), "{bad}"),
    ("predict", str(TEXT_MODEL), "   "),
    ("predict", str(TABLE_MODEL), "--csv", "{huge}"),
    ("predict", "../../etc/passwd", "x"),
])
def test_cli_process_prints_one_line_and_no_traceback(args, tmp_path):
    need(IMAGE_MODEL)
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image")
    huge = tmp_path / "huge.csv"
    with open(huge, "wb") as f:
        f.truncate(200 * 1024 * 1024)
    argv = [a.format(bad=bad, huge=huge) for a in args]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    res = subprocess.run([sys.executable, "-m", "bigmodel_core", *argv, "--device", "cpu"], capture_output=True,
                         text=True, cwd=ROOT, env=env, timeout=120)
    assert_one_line_error(res.returncode, res.stderr)
    assert res.stdout == ""


# ============================================================================ only safe loaders, no HTML from users

import ast  # noqa: E402

SOURCE_DIRS = ("bigmodel_core", "ui", "pages", "scripts")


def _project_sources() -> list[Path]:
    files = [ROOT / "app.py"] + [p for d in SOURCE_DIRS for p in sorted((ROOT / d).rglob("*.py"))]
    return [p for p in files if p.exists()]


def _calls(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            yield node, ast.unparse(node.func)


def _kw(call: ast.Call, name: str):
    return next((k.value for k in call.keywords if k.arg == name), None)


def _unsafe_loads(tree: ast.AST, rel) -> list[str]:
    problems = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] + ([node.module] if isinstance(node, ast.ImportFrom) else [])
            for name in filter(None, names):
                if name.split(".")[0] in {"pickle", "cPickle", "_pickle", "dill", "cloudpickle", "joblib",
                                          "shelve", "marshal"}:
                    problems.append(f"{rel}:{node.lineno} imports {name}")
    for call, func in _calls(tree):
        where = f"{rel}:{call.lineno} {func}"
        if func.endswith("read_pickle") or func.endswith("load_pickle"):
            problems.append(where)
        if func == "torch.load":
            weights_only = _kw(call, "weights_only")
            if not (isinstance(weights_only, ast.Constant) and weights_only.value is True):
                problems.append(where + " without weights_only=True")
        if func.endswith("np.load") or func == "numpy.load":
            allow = _kw(call, "allow_pickle")
            if allow is not None and not (isinstance(allow, ast.Constant) and allow.value is False):
                problems.append(where + " with allow_pickle")
        if func.endswith("Model.from_pretrained") or func.endswith("ForSequenceClassification.from_pretrained"):
            safe = _kw(call, "use_safetensors")
            if not (isinstance(safe, ast.Constant) and safe.value is True):
                problems.append(where + " without use_safetensors=True")
    return problems


def test_source_scan_only_safe_loaders():
    """No pickle anywhere: no pickle/joblib/dill/shelve/marshal, torch.load only with weights_only=True,
    np.load never with allow_pickle=True, Hugging Face weights only from safetensors."""
    bad = ("import pickle\nfrom joblib import load\ntorch.load(f)\ntorch.load(f, weights_only=False)\n"
           "np.load(f, allow_pickle=True)\npd.read_pickle(f)\nAutoModel.from_pretrained(p)\n"
           "torch.load(f, weights_only=True)\nnp.load(f)\n")
    assert len(_unsafe_loads(ast.parse(bad), "x")) == 7          # the scan itself catches each pattern
    problems = [p for path in _project_sources()
                for p in _unsafe_loads(ast.parse(path.read_text(encoding="utf-8")), path.relative_to(ROOT))]
    assert problems == []


def test_source_scan_html_only_from_escaped_values():
    """`unsafe_allow_html` / `st.html` appear only in ui/layout.py, and every value put into that HTML is escaped.

    One more module builds HTML: ui/probability_bars.py, whose `st.html` takes only its own `markup(...)`;
    that every label and title in it is escaped is checked by running it (tests/test_probability_bars.py)."""
    problems = []
    for path in _project_sources():
        rel = path.relative_to(ROOT).as_posix()
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for call, func in _calls(tree):
            unsafe = _kw(call, "unsafe_allow_html")
            is_html = func in ("st.html", "components.html") or func.endswith("components.v1.html")
            if unsafe is None and not is_html:
                continue
            if isinstance(unsafe, ast.Constant) and unsafe.value is False:
                continue
            where = f"{rel}:{call.lineno}"
            if rel == "ui/probability_bars.py" and is_html and call.args and ast.unparse(call.args[0]).startswith(
                    "markup("):
                continue
            if rel != "ui/layout.py":
                problems.append(where + " renders HTML outside ui/layout.py")
                continue
            arg = call.args[0] if call.args else None
            if is_html:
                if not (isinstance(arg, ast.Name) and arg.id.isupper()):        # a module constant only (CSS)
                    problems.append(where + " st.html with a non-constant")
                continue
            if isinstance(arg, ast.JoinedStr):
                for value in arg.values:
                    if (isinstance(value, ast.FormattedValue)
                            and not ast.unparse(value.value).startswith("html.escape(")):
                        problems.append(where + f" puts {ast.unparse(value.value)} into HTML unescaped")
            elif not isinstance(arg, ast.Constant):
                problems.append(where + " builds HTML from a non-literal")
    assert problems == []


def test_html_helpers_escape_user_text():
    from streamlit.testing.v1 import AppTest

    def page():
        from ui.layout import fact_cards, page_header

        page_header("🧪", "Title", "<script>alert('s')</script>")
        fact_cards([("File", "<img src=x onerror=alert(1)>.onnx")])

    at = AppTest.from_function(page, default_timeout=60).run()
    assert not at.exception
    html_blocks = [m.value for m in at.markdown if "<" in m.value]
    assert html_blocks and not any("<script" in b or "<img" in b for b in html_blocks)
    assert any("&lt;img src=x onerror=alert(1)&gt;.onnx" in b for b in html_blocks)


def test_source_scan_pages_never_write_files():
    """Uploads are handled in memory: no page or UI helper writes a file (so none lands outside a temp folder),
    and the core readers of uploads (CSV, images, ONNX) write nothing either."""
    writers = ("write_bytes", "write_text", "NamedTemporaryFile", "mkstemp", "mkdtemp", "TemporaryDirectory",
               "copyfile", "copyfileobj", "to_csv", "savez", "np.save", "extractall", "extract")
    problems = []
    readers = [ROOT / "bigmodel_core" / f for f in ("data/csvio.py", "serve/preprocess.py", "serve/onnx_inspect.py")]
    for path in [p for p in _project_sources() if p.relative_to(ROOT).parts[0] in ("ui", "pages")
                 or p.name == "app.py"] + readers:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for call, func in _calls(tree):
            name = func.rsplit(".", 1)[-1]
            mode = call.args[1] if func == "open" and len(call.args) > 1 else _kw(call, "mode")
            if name in writers or func in writers or (
                    func == "open" and isinstance(mode, ast.Constant) and any(c in str(mode.value) for c in "wax+")):
                problems.append(f"{path.relative_to(ROOT)}:{call.lineno} {func}")
    assert problems == []
