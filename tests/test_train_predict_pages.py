"""AppTest for the training studio and the predict page: both languages, uploads, a live training, predictions.

The pages run on their own (`AppTest.from_file("pages/…")`), against a private
copy of the model registry. Trainings are tiny (a bundled dataset, 1 epoch).
"""
import io
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bigmodel_core.app import jobs as J
from bigmodel_core.data.loaders import load_dataset
from bigmodel_core.serve import examples, registry
from bigmodel_core.train.pipeline import export, train
from bigmodel_core.train.spec import TrainSpec
from bigmodel_core.train.trainer import TrainConfig
from tests.helpers import run_page
from ui import predict_tools as P
from ui import studio as S

ROOT = Path(__file__).resolve().parent.parent
TRAIN = str(ROOT / "pages" / "train.py")
PREDICT = str(ROOT / "pages" / "predict.py")
OWNER = "test session id"            # AppTest's session id: the owner of the jobs these tests start


@pytest.fixture(autouse=True)
def no_leftover_jobs():
    J.manager().cleanup(OWNER)
    yield
    J.manager().cleanup(OWNER)


@pytest.fixture(scope="module")
def built_registry(tmp_path_factory):
    """The shipped models plus a tiny tabular model, in a temporary registry (built once per module)."""
    root = tmp_path_factory.mktemp("registry") / "models"
    shutil.copytree(ROOT / "models", root)
    trained = train(TrainSpec("diabetes", "mlp", TrainConfig(epochs=1, batch_size=32), {"hidden": [16]}))
    export(trained, "diabetes-tiny", root=root)
    return root


@pytest.fixture
def registry_copy(built_registry, monkeypatch):
    monkeypatch.setenv("BIGMODEL_MODELS_DIR", str(built_registry))
    return built_registry


def page(path, lang="en", **state):
    return run_page(path, lang, check=False, **state)


def texts(at, kind):
    return [e.value for e in getattr(at, kind)]


def run_until(at, predicate, timeout=120.0):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        at.run()
        assert not at.exception, at.exception[0].value
        if predicate(at):
            return at
        time.sleep(0.3)
    raise AssertionError("the page never reached the expected state")


def has_results(at):
    return any("🏁" in s for s in texts(at, "subheader"))


# ============================================================================ both pages, both languages

@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("path", [TRAIN, PREDICT])
def test_pages_run_without_exception(path, lang, registry_copy):
    at = page(path, lang)
    assert not at.exception
    title = at.title[0].value
    expected = {TRAIN: {"en": "Training studio", "zh": "训练工作室"}, PREDICT: {"en": "Predict", "zh": "预测"}}
    assert expected[path][lang] in title


# ============================================================================ training studio

def test_one_epoch_training_shows_metrics_charts_and_exports(registry_copy):
    at = page(TRAIN)
    assert at.segmented_control(key="train_task").value == "tabular"
    assert at.selectbox(key="train_dataset").value == "diabetes"
    at.radio(key="train_arch").set_value("mlp").run()
    at.slider(key="train_mlp_epochs").set_value(1).run()
    at.button(key="train_start").click().run()
    assert not at.exception
    run_until(at, has_results)
    assert any("1 epoch" in s for s in texts(at, "success"))
    names = [m.label for m in at.metric]
    assert names[:3] == ["R²", "RMSE", "MAE"]
    assert all(m.delta for m in at.metric[:3])                                # the baseline sits beside it
    assert any("baseline" in c for c in texts(at, "caption"))
    assert len(at.get("plotly_chart")) >= 2                       # predicted-vs-actual, residuals (+ curves)
    model_id = at.text_input(key=[w.key for w in at.text_input if w.key.startswith("train_model_id_")][0])
    assert model_id.value == "diabetes-mlp-2"                                # diabetes-mlp is a shipped model
    model_id.set_value("Not OK!").run()
    assert any("lower-case" in e for e in texts(at, "error"))
    model_id.set_value("mnist-mlp-seed").run()                                # shipped: protected
    assert any("shipped" in e for e in texts(at, "error"))
    model_id.set_value("my-diabetes").run()
    at.button(key=[b.key for b in at.button if (b.key or "").startswith("export_")][0]).click().run()
    assert not at.exception
    done = [s for s in texts(at, "success") if "Saved as" in s]
    assert done and "Parity" in done[0]
    entry = registry.load("my-diabetes", registry_copy)
    assert entry.card.parity_max_abs_diff <= 1e-4 and entry.card.task == "tabular"


def test_live_panel_stop_button_stops_and_results_follow(registry_copy):
    at = page(TRAIN)
    at.segmented_control(key="train_task").set_value("image").run()
    assert at.selectbox(key="train_dataset").value == "digits"
    at.radio(key="train_arch").set_value("mlp-seed").run()
    at.slider(key="train_mlp-seed_epochs").set_value(50).run()
    at.select_slider(key="train_mlp-seed_bs").set_value(8).run()
    at.button(key="train_start").click().run()
    run_until(at, lambda a: any((b.key or "").startswith("stop_") for b in a.button)
              and J.manager().jobs_for(OWNER)[-1].latest("batch_end") is not None, 60)
    assert "📈" in " ".join(texts(at, "subheader"))
    assert at.get("progress")                                                 # progress bar with time left
    [curves] = at.get("component_instance")                                   # live curves: one chart
    assert curves.proto.component_name.endswith("live_chart")
    assert at.button(key="train_start").disabled, "one training per session at a time"
    job = J.manager().jobs_for(OWNER)[-1]
    again = page(TRAIN)                                   # the page opened anew (page switch, rerun): same job
    assert any(b.key == f"stop_{job.id}" for b in again.button)
    assert [j.id for j in J.manager().jobs_for(OWNER)] == [job.id] and job.active
    t0 = time.monotonic()
    at.button(key=f"stop_{job.id}").click().run()
    assert J.manager().wait(job.id, 5).status == J.STOPPED
    assert time.monotonic() - t0 < 3.0
    run_until(at, has_results, 30)
    assert any("Stopped by you" in w for w in texts(at, "warning"))
    assert len(at.tabs) >= 3                                                  # confusion / per class / mistakes
    assert at.get("imgs") or at.get("image"), "the misclassified gallery shows pictures"
    # "New training" clears the panel; the settings stay
    at.button(key=f"clear_{job.id}").click().run()
    assert not J.manager().jobs_for(OWNER)
    assert at.segmented_control(key="train_task").value == "image"


def test_preset_from_a_domain_page_is_honoured():
    at = page(TRAIN, train_preset={"task": "text", "dataset": "waimai10k"})
    assert at.segmented_control(key="train_task").value == "text"
    assert at.selectbox(key="train_dataset").value == "waimai10k"
    assert at.radio(key="train_arch").value == "tiny-bert"
    assert "train_preset" not in at.session_state


def test_uploads_are_read_or_refused_with_a_message():
    at = page(TRAIN)
    at.selectbox(key="train_dataset").set_value("__upload__").run()
    up = at.get("file_uploader")[0]
    up.set_value(("bad.csv", b"\x00\x01\x02binary", "text/csv"))
    at.run()
    assert not at.exception and any("not a CSV" in e for e in texts(at, "error"))
    rows = "a,b,y\n" + "\n".join(f"{i},{i % 3},{i * 2.5}" for i in range(5))
    at.get("file_uploader")[0].set_value(("few.csv", rows.encode(), "text/csv"))
    at.run()
    assert any("only 5" in e for e in texts(at, "error"))
    assert at.button(key="train_start").disabled
    rows = "a,b,y\n" + "\n".join(f"{i},{i % 3},{i * 2.5 + (i % 4)}" for i in range(40))
    at.get("file_uploader")[0].set_value(("good.csv", rows.encode(), "text/csv"))
    at.run()
    assert at.selectbox(key="train_up_target").value == "y"
    assert any("40 rows ready" in s for s in texts(at, "success"))
    assert not at.button(key="train_start").disabled
    # texts
    at.segmented_control(key="train_task").set_value("text").run()
    at.selectbox(key="train_dataset").set_value("__upload__").run()
    csv = "review,sentiment\n" + "\n".join(f"{'good great' if i % 2 else 'bad awful'} {i},{'pos' if i % 2 else 'neg'}"
                                            for i in range(30))
    at.get("file_uploader")[0].set_value(("reviews.csv", csv.encode(), "text/csv"))
    at.run()
    assert at.selectbox(key="train_up_text_col").value == "review"
    assert at.selectbox(key="train_up_label_col").value == "sentiment"
    assert any("neg, pos" in s for s in texts(at, "success"))
    # images: a zip of class folders
    at.segmented_control(key="train_task").set_value("image").run()
    at.selectbox(key="train_dataset").set_value("__upload__").run()
    at.get("file_uploader")[0].set_value(("not-a.zip", b"PK? no", "application/zip"))
    at.run()
    assert any("not a zip" in e for e in texts(at, "error"))
    zipped = S.image_zip_bytes(load_dataset("digits"), per_class=4)
    at.get("file_uploader")[0].set_value(("digits.zip", zipped, "application/zip"))
    at.run()
    assert not at.exception and any("40 rows ready" in s for s in texts(at, "success"))


# ============================================================================ predict page

def digit_png(index=0):
    """A real MNIST test digit as PNG bytes, from the model's built-in examples (no dataset download)."""
    images, labels = examples.load("mnist-mlp-seed", ROOT / "models").subset("test")
    buf = io.BytesIO()
    Image.fromarray(images[index, 0]).save(buf, format="PNG")
    return buf.getvalue(), str(labels[index])


def test_predict_text_lines(registry_copy):
    at = page(PREDICT, predict_model="sst2-tiny")
    assert at.selectbox(key="predict_model").value == "sst2-tiny"
    at.text_area[0].input("A wonderful, moving and funny film.").run()
    assert [m.value for m in at.metric] == ["positive"]
    assert any("ONNX Runtime on CPU" in c for c in texts(at, "caption"))
    at.text_area[0].input("Dull, boring and far too long.\nA delight from start to finish.").run()
    table = at.dataframe[0].value
    assert list(table.iloc[:, 1]) == ["negative", "positive"]
    at.text_area[0].input("   \n  ").run()
    assert any("empty" in e for e in texts(at, "error")) and not at.exception


def test_predict_image_upload_and_bad_image(registry_copy):
    at = page(PREDICT, predict_model="mnist-mlp-seed")
    assert at.segmented_control(key="predict_src_mnist-mlp-seed").value == "draw"   # the canvas first
    at.segmented_control(key="predict_src_mnist-mlp-seed").set_value("upload").run()
    png, label = digit_png(0)
    at.get("file_uploader")[0].set_value(("digit.png", png, "image/png"))
    at.run()
    assert not at.exception
    assert at.metric[0].value == label
    assert at.get("imgs") or at.get("image")                                     # what the model sees
    at.get("file_uploader")[0].set_value(("broken.png", b"\x89PNG broken", "image/png"))
    at.run()
    assert any("not a readable image" in e for e in texts(at, "error")) and not at.exception


def test_predict_tabular_form(registry_copy):
    at = page(PREDICT, predict_model="diabetes-tiny")
    assert len(at.slider) == 9 and not at.exception
    sex = at.select_slider(key="predict_f_diabetes-tiny_sex")                   # a code book: words, not 1 / 2
    assert list(sex.options) == ["group 1", "group 2"]
    first = float(at.metric[0].value.replace(",", ""))
    bmi = at.slider(key="predict_f_diabetes-tiny_bmi")
    bmi.set_value(bmi.max)
    at.get("form_submit_button")[0].click()
    at.run()
    second = float(at.metric[0].value.replace(",", ""))
    assert second != first


# ============================================================================ helpers behind the pages

def test_prediction_helpers_for_each_task(registry_copy):
    def predictor(model_id):
        entry = registry.load(model_id, registry_copy)
        from bigmodel_core.serve.runtime import Predictor
        return Predictor(entry.folder, entry.card), entry.card

    pred, card = predictor("mnist-mlp-seed")
    png, label = digit_png(1)
    res, seen = P.predict_image(pred, card, png)
    assert res.label() == label and seen.shape == (1, 28, 28) and res.ort_ms > 0
    inverted = Image.fromarray(255 - np.asarray(Image.open(io.BytesIO(png))))   # dark ink on white paper
    res2, _ = P.predict_image(pred, card, inverted)
    assert res2.label() == label
    drawing = np.zeros((280, 280, 4), dtype=np.uint8)
    assert P.predict_drawing(pred, card, drawing) is None                         # empty canvas
    big = np.kron(np.asarray(Image.open(io.BytesIO(png))), np.ones((10, 10), dtype=np.uint8))
    drawing[..., :3], drawing[..., 3] = big[..., None], 255
    assert P.predict_drawing(pred, card, drawing)[0].label() == label
    text_pred, _ = predictor("sst2-tiny")
    lines, res = P.predict_texts(text_pred, "great fun\n\nawful mess")
    assert lines == ["great fun", "awful mess"] and res.probs.shape == (2, 2)
    with pytest.raises(Exception, match="empty"):
        P.predict_texts(text_pred, " \n ")
    tab, card = predictor("diabetes-tiny")
    values = {f["name"]: P.feature_widget_spec(f)["default"] for f in card.preprocessing["features"]}
    assert np.isfinite(P.predict_row(tab, values).values[0])


def test_widget_specs_and_digit_framing():
    spec = P.feature_widget_spec(dict(name="age", type="numeric", min=19, max=79, default=50, integer=True))
    assert spec == dict(kind="slider", min=19, max=79, default=50, step=1, integer=True, scale=1.0)
    spec = P.feature_widget_spec(dict(name="bmi", type="numeric", min=0.0123, max=0.97, default=0.4, integer=False))
    assert spec["min"] <= 0.0123 and spec["max"] >= 0.97 and spec["min"] <= spec["default"] <= spec["max"]
    assert P.feature_widget_spec(dict(name="c", type="categorical", categories=["a", "b"], default="b"))["index"] == 1
    gray = np.zeros((200, 100), dtype=np.uint8)
    gray[20:180, 40:60] = 255                                                     # a tall "1" off-centre
    digit = P.center_digit(gray)
    ys, xs = np.nonzero(digit > 40)
    assert digit.shape == (28, 28) and ys.max() - ys.min() + 1 <= 21 and abs(xs.mean() - 13.5) < 1.5


def test_studio_helpers():
    events = [dict(kind="batch_end", epoch=1, epochs=2, step=s, total_steps=20, loss=1.0 / s, val=None,
                   elapsed=s * 0.1, eta=(20 - s) * 0.1) for s in range(1, 11)]
    events.append(dict(kind="epoch_end", epoch=1, epochs=2, step=10, total_steps=20, loss=0.3,
                       val={"accuracy": 0.8, "macro_f1": 0.7}, elapsed=1.0, eta=1.0))
    fig = S.curves_figure(events, uirevision="job-1", tr=lambda k, **kw: k)
    assert fig.layout.uirevision == "job-1" and len(fig.data) == 4
    frac, last = S.progress_of(events)
    assert frac == 0.5 and last["kind"] == "epoch_end"
    assert S.suggested_id("upload:My Data.csv", "mlp") == "my-data-mlp"
    # what arch_options builds is checked by its effect: test_options.test_what_the_sliders_set_is_the_shape_…
    assert S.fmt_duration(75, tr=lambda k, **kw: f"{kw}") == "{'m': 1, 's': '15'}"


def test_a_failed_training_shows_its_message_not_a_traceback():
    job_id = J.manager().submit(OWNER, TrainSpec("diabetes", "mlp", TrainConfig(epochs=5, batch_size=8, lr=1e12)))
    assert J.manager().wait(job_id, 60).status == J.FAILED
    at = page(TRAIN, train_job=job_id)
    assert not at.exception
    errors = texts(at, "error")
    assert any("diverged" in e and "learning rate" in e for e in errors), errors
    assert not any("Traceback" in e for e in errors)
