"""The bad-input catalogue through the app (AppTest): every page that takes an input shows a clear
message (st.error / st.warning) for what it cannot use, converts what it can, and keeps working.

The installed Streamlit's AppTest supports `file_uploader.set_value((name, bytes, mime))`, so uploads
go through the real widgets. One app session is shared per page (module-scoped) to keep the run short;
every case sets its own input, reruns, and checks there is no exception.
"""
import json
import shutil

import pytest
from test_bad_inputs import BAD_IMAGES, MODELS, TABLE_MODEL, TRAIN_CSV, ZIPS, _digit, _zip
from test_bad_models import _break, _onnx_model

from bigmodel_core.app import jobs as J
from bigmodel_core.data import limits
from bigmodel_core.train.spec import TrainSpec
from bigmodel_core.train.trainer import TrainConfig
from tests.helpers import no_exception, open_page

OWNER = "test session id"


def texts(at, kind) -> list[str]:
    return [e.value for e in getattr(at, kind)]


def messages(at) -> list[str]:
    return texts(at, "error") + texts(at, "warning")


def need(*model_ids):
    missing = [m for m in model_ids if not (MODELS / m / "model.onnx").exists()]
    if missing:
        pytest.skip(f"shipped model not built: {missing}")


# ============================================================================ predict page: images

@pytest.fixture(scope="module")
def image_app():
    need("mnist-mlp-seed")
    at = open_page("pages/predict.py", predict_model="mnist-mlp-seed")
    at.segmented_control(key="predict_src_mnist-mlp-seed").set_value("upload").run()
    no_exception(at)
    return at


def _upload(at, name, data, mime="image/png"):
    at.get("file_uploader")[0].set_value((name, data, mime))
    at.run()
    no_exception(at)
    return at


@pytest.mark.parametrize("kind", list(BAD_IMAGES))
def test_predict_page_bad_image_shows_a_message(kind, image_app):
    factory, name, message = BAD_IMAGES[kind]
    at = _upload(image_app, name, factory())
    assert any(message in m for m in messages(at)), messages(at)
    assert not at.metric                                          # no stale prediction beside the error


@pytest.mark.parametrize("mode", ["I;16", "P", "RGBA", "LA", "L", "CMYK"])
def test_predict_page_converts_every_image_mode(mode, image_app):
    name = "digit.jpg" if mode == "CMYK" else "digit.png"
    at = _upload(image_app, name, _digit(mode), "image/jpeg" if mode == "CMYK" else "image/png")
    assert not messages(at), messages(at)
    assert at.metric and at.metric[0].value in [str(i) for i in range(10)]


# ============================================================================ predict page: texts

@pytest.fixture(scope="module")
def text_app():
    need("sst2-tiny")
    return open_page("pages/predict.py", predict_model="sst2-tiny")


TEXT_CASES = {"empty": ("", "empty"), "whitespace": ("   \n\t  \n", "empty"),
              "100k-characters": ("A wonderful film. " * 5600, None),
              "emoji-and-scripts": ("Great movie 😀🎬 — 非常好看 — очень хорошо — رائع", None)}


@pytest.mark.parametrize("kind", list(TEXT_CASES))
def test_predict_page_texts(kind, text_app):
    text, message = TEXT_CASES[kind]
    text_app.text_area[0].input(text).run()
    no_exception(text_app)
    if message:
        assert any(message in m for m in texts(text_app, "error")), messages(text_app)
        return
    assert not messages(text_app)
    assert [m.value for m in text_app.metric][:1] in (["positive"], ["negative"])
    if len(text) > 20_000:
        assert any("was cut to 20,000" in c for c in texts(text_app, "caption"))


# ============================================================================ training studio: CSV and zip uploads

@pytest.fixture(scope="module")
def train_app():
    J.manager().cleanup(OWNER)
    at = open_page("pages/train.py")
    yield at
    J.manager().cleanup(OWNER)


def _train_upload(at, task, name, data, mime):
    at.segmented_control(key="train_task").set_value(task).run()
    at.selectbox(key="train_dataset").set_value("__upload__").run()
    at.get("file_uploader")[0].set_value((name, data, mime))
    at.run()
    no_exception(at)
    return at


UI_CSV = {k: v for k, v in TRAIN_CSV.items() if k != "missing-target"}   # the page offers only existing columns
UI_CSV["only-target"] = UI_CSV["only-target"][:2] + ("only one column", None)   # the page says it first


@pytest.mark.parametrize("kind", list(UI_CSV))
def test_train_page_csv_uploads(kind, train_app):
    raw, target, message, note = UI_CSV[kind]
    at = _train_upload(train_app, "tabular", f"{kind}.csv", raw, "text/csv")
    if message:
        assert any(message.split(":")[0].lower() in m.lower() for m in messages(at)), messages(at)
        assert at.button(key="train_start").disabled
        return
    if at.selectbox(key="train_up_target").value != target:
        at.selectbox(key="train_up_target").set_value(target).run()
        no_exception(at)
    assert any("rows ready" in s for s in texts(at, "success")), messages(at)
    assert any(note in c for c in texts(at, "caption")), texts(at, "caption")


def test_train_page_refuses_an_upload_over_the_core_limit(train_app):
    """Streamlit's own maxUploadSize is enforced by the browser; the core checks again (AppTest bypasses the first)."""
    big = b"a,b,y\n" + b"1,2,3\n" * (limits.MAX_UPLOAD_BYTES // 6 + 1)
    at = _train_upload(train_app, "tabular", "big.csv", big, "text/csv")
    assert any("too large" in m for m in messages(at)), messages(at)


def test_train_page_text_csv_with_invalid_utf8(train_app):
    raw = b"text,label\n" + b"".join(b"caf\xe9 good %d,pos\nawful \xff %d,neg\n" % (i, i) for i in range(10))
    at = _train_upload(train_app, "text", "reviews.csv", raw, "text/csv")
    assert any("rows ready" in s for s in texts(at, "success")) or messages(at)
    assert any("not UTF-8" in c for c in texts(at, "caption")) or messages(at)


UI_ZIPS = ["zip-slip-parent", "zip-slip-absolute", "nested-archive-only", "nested-archive-beside", "one-class",
           "class-without-images", "no-images", "not-a-zip"]


@pytest.mark.parametrize("kind", UI_ZIPS)
def test_train_page_zip_uploads(kind, train_app):
    entries, message, note = ZIPS[kind]
    data = b"PK? no" if entries is None else _zip(entries)
    at = _train_upload(train_app, "image", f"{kind}.zip", data, "application/zip")
    if message:
        assert any(message in m for m in messages(at)), messages(at)
    else:
        assert any("20 rows ready" in s for s in texts(at, "success")), messages(at)
        assert any(note in c for c in texts(at, "caption")), texts(at, "caption")


def test_train_page_shows_a_diverged_training_as_a_message():
    J.manager().cleanup(OWNER)
    job_id = J.manager().submit(OWNER, TrainSpec("diabetes", "mlp", TrainConfig(epochs=3, batch_size=32, lr=1e8),
                                                 {"hidden": [8]}))
    assert J.manager().wait(job_id, 60).status == J.FAILED
    at = open_page("pages/train.py", train_job=job_id)
    assert any("diverged" in e for e in texts(at, "error")), messages(at)
    J.manager().cleanup(OWNER)


# ============================================================================ ONNX inspector

@pytest.fixture(scope="module")
def onnx_app():
    return open_page("pages/onnx_inspector.py")


def test_onnx_page_malformed_upload(onnx_app):
    at = _upload(onnx_app, "model.onnx", b"this is not a protobuf", "application/octet-stream")
    assert any("not an ONNX model" in m or "invalid" in m for m in messages(at)), messages(at)


def test_onnx_page_external_data_upload(onnx_app, tmp_path):
    at = _upload(onnx_app, "model.onnx", _onnx_model(external_dir=tmp_path), "application/octet-stream")
    assert any("external data" in m for m in messages(at)), messages(at)


def test_onnx_page_input_it_cannot_feed(onnx_app):
    from onnx import TensorProto

    at = _upload(onnx_app, "strings.onnx", _onnx_model(TensorProto.STRING), "application/octet-stream")
    assert not messages(at)
    at.button(key="onnx_run").click().run()
    no_exception(at)
    assert any("Cannot make an input" in m for m in messages(at)), messages(at)


def test_onnx_page_escapes_the_file_name(onnx_app):
    name = "<img src=x onerror=alert(1)>.onnx"
    at = _upload(onnx_app, name, _onnx_model(), "application/octet-stream")
    blocks = [m.value for m in at.markdown]
    assert not any("<img" in b for b in blocks) and any("&lt;img" in b for b in blocks)
    at.button(key="onnx_run").click().run()
    no_exception(at)
    assert not messages(at)


# ============================================================================ models on disk

@pytest.fixture
def broken_registry(tmp_path, monkeypatch):
    need("diabetes-mlp", "sst2-tiny")
    root = tmp_path / "models"
    root.mkdir()
    shutil.copytree(MODELS / "sst2-tiny", root / "sst2-tiny")
    shutil.copytree(TABLE_MODEL, root / "broken")
    card = json.loads((root / "broken" / "card.json").read_text())
    (root / "broken" / "card.json").write_text(json.dumps(dict(card, id="broken", shipped=False)))
    monkeypatch.setenv("BIGMODEL_MODELS_DIR", str(root))
    return root


@pytest.mark.parametrize("how", ["sha256-mismatch", "missing-card", "unknown-card-field", "card-not-json",
                                 "model-missing"])
@pytest.mark.parametrize("page", ["pages/predict.py", "pages/models.py"])
def test_broken_model_on_disk_is_listed_and_the_rest_works(how, page, broken_registry):
    _break(broken_registry / "broken", how)
    at = open_page(page)
    shown = " ".join(texts(at, "warning") + texts(at, "caption") + [e.label for e in at.expander])
    assert "broken" in shown, shown
    if page == "pages/predict.py":
        at.text_area[0].input("A wonderful film.").run()
        no_exception(at)
        assert at.metric and at.metric[0].value in ("positive", "negative")
