"""The training studio as people see it: a live chart that stays put, an honest time left, a free model id,
a "How it works" that reads as text (issue 14).

AppTests run pages/train.py on its own. The live-panel tests feed the page a job whose events a
test releases one batch at a time (a fake runner), so nothing depends on how fast this machine is.
"""
import json
import threading
from pathlib import Path

import pytest
import streamlit as st
from markdown_it import MarkdownIt
from streamlit.testing.v1 import AppTest

from bigmodel_core.app import jobs as J
from bigmodel_core.train.spec import TrainSpec
from bigmodel_core.train.trainer import TrainConfig, TrainEvent
from tests.helpers import run_page
from ui import live_chart
from ui import studio as S

ROOT = Path(__file__).resolve().parent.parent
TRAIN = str(ROOT / "pages" / "train.py")
LOCALES = {lang: json.loads((ROOT / "ui" / "locales" / f"{lang}.json").read_text(encoding="utf-8"))
           for lang in ("en", "zh")}
OWNER = "studio-tester"


def page(lang="en", **state):
    return run_page(TRAIN, lang, test_owner=OWNER, **state)


class Scripted:
    """A job runner that emits the events a test hands it, then returns when told to finish."""

    def __init__(self):
        self.todo, self.emitted, self.finish = [], threading.Event(), threading.Event()
        self.lock = threading.Condition()

    def emit(self, *events):
        with self.lock:
            self.todo.extend(events)
            self.emitted.clear()
            self.lock.notify_all()
        assert self.emitted.wait(10), "the runner did not take the events"

    def __call__(self, spec, data, callbacks, on_trainer):
        while not self.finish.is_set():
            with self.lock:
                self.lock.wait_for(lambda: self.todo or self.finish.is_set(), timeout=0.05)
                batch, self.todo = self.todo, []
            for ev in batch:
                for fn in callbacks.get(ev.kind, []):
                    fn(ev)
            if batch:
                self.emitted.set()
        raise J._Cancelled()                      # ends as "stopped": nothing to score


@pytest.fixture
def scripted(monkeypatch):
    runner = Scripted()
    mgr = J.JobManager(max_running=1, runner=runner)
    monkeypatch.setattr(J, "_MANAGER", mgr)
    monkeypatch.setattr(S, "session_owner", lambda: st.session_state.get("test_owner", "local"))
    job_id = mgr.submit(OWNER, TrainSpec("breast-cancer", "mlp", TrainConfig(epochs=3, batch_size=16)),
                        label="breast-cancer · mlp")
    yield runner, mgr, job_id
    runner.finish.set()
    mgr.cleanup(OWNER)


def batches(first, last, epoch=1, eta=None):
    return [TrainEvent("batch_end", epoch, 3, s, 30, loss=1.0 / s, elapsed_s=0.1 * s,
                       eta_s=eta if eta is not None else 0.1 * (30 - s)) for s in range(first, last + 1)]


def live_curves(at):
    """(element id, figure) of the live chart; fails when there is not exactly one."""
    [curves] = at.get("component_instance")
    return curves.proto.id, json.loads(json.loads(curves.proto.json_args)["figure"])


def progress_text(at):
    [bar] = at.get("progress")
    return bar.proto.text


# ============================================================================ the live chart

def test_the_live_chart_is_one_element_that_keeps_its_identity_and_grows(scripted):
    runner, mgr, job_id = scripted
    runner.emit(*batches(1, 8))
    at = page()
    chart_id, fig = live_curves(at)
    assert len(fig["data"][0]["x"]) == 8
    assert not at.get("plotly_chart"), "the live panel must not use st.plotly_chart (re-created: blank)"
    runner.emit(*batches(9, 10), TrainEvent("epoch_end", 1, 3, 10, 30, loss=0.3, val={"accuracy": 0.9},
                                            elapsed_s=1.0, eta_s=2.0))
    runner.emit(*batches(11, 14, epoch=2))
    at.run()
    same_id, fig = live_curves(at)
    # Streamlit keys a plotly chart by a hash of its whole figure, so the browser re-created it each
    # second; the live chart keeps one identity and only its figure changes
    assert same_id == chart_id
    assert len(fig["data"][0]["x"]) == 14
    val = [tr for tr in fig["data"] if tr.get("xaxis") == "x2"]
    assert val and val[0]["y"] == [0.9]                                     # the validation curve after epoch 1
    assert fig["layout"]["uirevision"] == job_id                            # a zoom survives the redraws


def test_the_live_chart_page_and_plotly_js_are_served_from_one_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("BIGMODEL_CACHE_DIR", str(tmp_path))
    folder = live_chart.component_folder()
    assert folder.is_relative_to(tmp_path)
    assert (folder / "index.html").read_bytes() == live_chart.PAGE.read_bytes()
    assert (folder / "plotly.min.js").stat().st_size == live_chart.PLOTLY_JS.stat().st_size
    assert live_chart.component_folder() == folder and len(list(folder.parent.iterdir())) == 1   # made once
    spec = json.loads(live_chart.figure_json(S.curves_figure([], tr=lambda k, **kw: k)))
    assert spec["config"]["displaylogo"] is False                            # the app's chart config
    assert spec["layout"]["template"] == {"layout": live_chart.LOOK}         # Streamlit's look, not plotly's


def test_without_its_folder_the_live_chart_is_a_plain_plotly_chart(monkeypatch):
    monkeypatch.setattr(live_chart, "_component", None)
    monkeypatch.setattr(live_chart, "_unavailable", True)

    def script():
        from ui import live_chart, studio

        live_chart.show(studio.curves_figure([]), key="curves_x")

    at = AppTest.from_function(script, default_timeout=60).run()
    assert not at.exception and len(at.get("plotly_chart")) == 1 and not at.get("component_instance")


def test_the_validation_axis_ends_just_above_a_perfect_score():
    """Scores of 1.0 on every epoch once drew an axis from 0 to 2; accuracy and ROC AUC never pass 1."""
    events = batches(1, 20) + [TrainEvent("epoch_end", e, 3, 10 * e, 30, loss=0.1,
                                          val={"accuracy": 1.0, "roc_auc": 1.0}, elapsed_s=e, eta_s=1.0)
                               for e in (1, 2)]
    events = [J.event_to_dict(ev) for ev in events]
    low, high = S.curves_figure(events, tr=lambda k, **kw: k).layout.yaxis2.range
    assert 0.9 <= low < 1.0 < high <= 1.01
    events[-1]["val"] = {"accuracy": 0.62, "roc_auc": 0.7}
    low, high = S.curves_figure(events, tr=lambda k, **kw: k).layout.yaxis2.range
    assert low == 0.6 and 1.0 < high <= 1.03


def test_the_progress_shows_the_estimate_and_the_final_scoring(scripted):
    runner, mgr, job_id = scripted
    runner.emit(*batches(1, 5, eta=95.0))
    at = page()
    text = progress_text(at)
    assert "Epoch 1/3" in text and "step 5/30" in text and "1 min" in text and "left" in text, text
    runner.emit(TrainEvent("train_end", 3, 3, 30, 30, elapsed_s=3.0, eta_s=40.0))
    at.run()
    assert "scoring the model on the test split" in progress_text(at)
    zh = page("zh")
    assert "测试集" in progress_text(zh) and "约剩" in progress_text(zh)


# ============================================================================ the suggested model id

def finished_job(dataset="breast-cancer"):
    mgr = J.manager()
    job_id = mgr.submit(OWNER, TrainSpec(dataset, "mlp", TrainConfig(epochs=1, batch_size=64), {"hidden": [8]}),
                        label=f"{dataset} · mlp")
    job = mgr.wait(job_id, 120)
    assert job.status == J.DONE, job.error
    return job_id


@pytest.fixture
def own_jobs(monkeypatch):
    monkeypatch.setattr(S, "session_owner", lambda: st.session_state.get("test_owner", "local"))
    yield
    J.manager().cleanup(OWNER)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_suggested_id_is_free_in_the_shipped_registry_and_save_is_enabled(own_jobs, monkeypatch, lang):
    monkeypatch.delenv("BIGMODEL_MODELS_DIR", raising=False)          # the models that ship with the app
    assert (ROOT / "models" / "breast-cancer-mlp" / "card.json").is_file()
    at = page(lang, train_job=finished_job())
    [box] = [w for w in at.text_input if w.key.startswith("train_model_id_")]
    assert box.value == "breast-cancer-mlp-2"
    assert not (ROOT / "models" / box.value).exists()
    assert not at.error, [e.value for e in at.error]                    # no red "shipped model" box
    [save] = [b for b in at.button if (b.key or "").startswith("export_")]
    assert not save.disabled


def test_the_suggested_id_skips_every_taken_one():
    taken = {"breast-cancer-mlp", "breast-cancer-mlp-2", "breast-cancer-mlp-3"}
    assert S.suggested_id("breast-cancer", "mlp", taken=taken.__contains__) == "breast-cancer-mlp-4"
    assert S.suggested_id("upload:My Data.csv", "mlp") == "my-data-mlp"
    long = S.suggested_id("x" * 80, "mlp", taken=lambda i: len(i) > 20 and not i.endswith("-2"))
    assert long.endswith("-2") and len(long) <= 64


def test_id_taken_sees_shipped_and_trained_models(tmp_path):
    (tmp_path / "mine").mkdir()
    assert S.id_taken("mine", tmp_path) and not S.id_taken("yours", tmp_path)
    assert S.id_taken("breast-cancer-mlp", ROOT / "models")


# ============================================================================ "How it works"

def strong_share(markdown: str) -> tuple[float, str]:
    """(share of the visible text that renders bold, the visible text) under CommonMark, as Streamlit renders."""
    tokens = MarkdownIt("commonmark").parseInline(markdown)[0].children
    depth, bold, text = 0, 0, ""
    for tok in tokens:
        if tok.type == "strong_open":
            depth += 1
        elif tok.type == "strong_close":
            depth -= 1
        elif tok.type == "text":
            text += tok.content
            bold += len(tok.content) if depth else 0
    return bold / max(1, len(text)), text


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_how_it_works_reads_as_text_with_one_bold_word(lang):
    share, text = strong_share(LOCALES[lang]["train.how"])
    assert "*" not in text, "unmatched emphasis marks show as stars"
    assert 0 < share < 0.2, f"{share:.0%} of the paragraph renders bold"
    at = page(lang)
    shown = [m.value for m in at.markdown]
    assert f"##### {LOCALES[lang]['train.how.title']}" in shown and LOCALES[lang]["train.how"] in shown


def test_the_old_chinese_text_was_all_bold():
    """Why the check above exists: in '**工作方式：**训练…' the '**' after the full-width colon cannot close,
    so the bold ran on through '停止' (three quarters of the paragraph)."""
    share, _ = strong_share("**工作方式：**训练在服务器后台运行，你可以切换页面再回来。"
                            "随时可以点击**停止**：会保留目前最好的模型。")
    assert share > 0.7


def test_a_long_run_is_drawn_with_few_points_and_the_same_shape():
    """Thousands of batches: at most MAX_CURVE_POINTS per curve, the first and last step kept, the
    smoothed line still the smoothing of every batch (compared with pandas on the whole series)."""
    import pandas as pd

    losses = [2.0 / (1 + i / 50) + 0.1 * ((i * 7919) % 13) / 13 for i in range(5000)]
    events = [dict(kind="batch_end", epoch=1 + i // 1000, epochs=5, step=i + 1, total_steps=5000, loss=x)
              for i, x in enumerate(losses)]
    fig = S.curves_figure(events, tr=lambda k, **kw: k)
    raw, smooth = fig.data[0], fig.data[1]
    assert len(raw.x) <= S.MAX_CURVE_POINTS and len(smooth.x) == len(raw.x)
    assert raw.x[0] == 1 and raw.x[-1] == 5000 and list(raw.x) == sorted(raw.x)
    full = pd.Series(losses).ewm(alpha=0.1).mean()
    for step, y in zip(smooth.x, smooth.y, strict=True):
        assert abs(y - full[step - 1]) < 1e-12
    short = S.curves_figure(events[:100], tr=lambda k, **kw: k)
    assert len(short.data[0].x) == 100                        # a short run keeps every batch
