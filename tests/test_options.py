"""Typed training options: a misspelt or unknown option is a clear error everywhere, never silently ignored.

The CLI answers one line and a non-zero exit, the library (`pipeline.train`) raises a
`TrainingError` before any data is loaded, and the training page refuses to start. The
page's shape sliders take their ranges from the options, and what they set is the shape
the trained model really has.
"""
import subprocess
import sys

import pytest
import torch
from pydantic import ValidationError

from bigmodel_core.errors import TrainingError
from bigmodel_core.nn.zoo import ARCHITECTURES
from bigmodel_core.train import options as O
from bigmodel_core.train import pipeline
from bigmodel_core.train.spec import TrainSpec
from bigmodel_core.train.trainer import TrainConfig
from tests.helpers import ROOT, run_page
from ui import studio as S

TRAIN = str(ROOT / "pages" / "train.py")


def quick(**kw) -> TrainConfig:
    return TrainConfig(**dict(dict(epochs=1, batch_size=64, lr=3e-3, seed=0, device="cpu", threads=1), **kw))


def test_every_architecture_has_typed_options():
    assert set(O.FAMILIES) == set(ARCHITECTURES)
    for arch in ARCHITECTURES:
        opts = O.parse(arch, {})
        with pytest.raises(ValidationError, match="frozen"):     # a recipe cannot be changed by accident
            opts.ensemble = 3


@pytest.mark.parametrize("arch, raw, words", [
    ("mlp", {"hiddden": [3]}, ["Unknown option 'hiddden' for mlp", "did you mean 'hidden'"]),
    ("small-cnn", {"width": [8]}, ["Unknown option 'width'", "did you mean 'widths'"]),
    ("tiny-bert", {"wide_first": {"epochz": 3}}, ["Unknown option 'wide_first.epochz'", "'wide_first.epochs'"]),
    ("minilm", {"pretrain": {"epochs": 1}}, ["Unknown option 'pretrain' for minilm"]),   # tiny-bert only
    ("linear", {"hidden": [8]}, ["Unknown option 'hidden' for linear"]),                 # a linear model has none
    ("mlp", {"hidden": "wide"}, ["Option 'hidden' = 'wide' is not valid for mlp"]),
    ("lenet", {"augment": "flip"}, ["Option 'augment'", "'affine'", "'crop-flip'"]),
])
def test_a_misspelt_unknown_or_badly_typed_option_is_one_clear_error(arch, raw, words):
    with pytest.raises(TrainingError) as info:
        O.parse(arch, raw)
    text = str(info.value)
    assert "\n" not in text and all(w in text for w in words), text


def test_defaults_are_filled_in_from_the_family_file():
    assert O.parse("mlp", {}).hidden == [128, 64] and O.parse("mlp", {"hidden": [8]}).hidden == [8]
    assert O.parse("small-cnn", {}).widths == [32, 64, 128] and O.parse("small-cnn", {}).dropout == 0.2
    tiny = O.parse("tiny-bert", {"wide_first": {"l2": 0.05}})
    assert (tiny.vocab_size, tiny.wide_first.epochs, tiny.wide_first.l2, tiny.pretrain) == (8000, 20, 0.05, None)
    assert O.parse("tiny-bert", {"wide_first": {}}).wide_first is None          # an empty stage: no stage


def test_the_library_refuses_a_misspelt_option_before_loading_any_data(tmp_registry):
    with pytest.raises(TrainingError, match="did you mean 'hidden'"):
        pipeline.train(TrainSpec("no-such-dataset", "mlp", quick(), options={"hiddden": [3]}))


def test_the_cli_refuses_a_misspelt_option_in_one_line():
    res = subprocess.run([sys.executable, "-m", "bigmodel_core", "train", "--dataset", "diabetes", "--arch", "mlp",
                          "--option", "hiddden=[3]"], capture_output=True, text=True, cwd=ROOT, timeout=120)
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert res.returncode != 0 and len(lines) == 1, res.stderr
    assert lines[0].startswith("error: Unknown option 'hiddden' for mlp") and "did you mean 'hidden'" in lines[0]
    assert not res.stdout


def test_the_training_page_refuses_to_start_with_an_unknown_option():
    with pytest.raises(TrainingError, match="Unknown option 'hiddden'"):
        S.make_spec("diabetes", "mlp", epochs=1, batch_size=32, lr=1e-3, optimizer="adam", seed=0,
                    options={"hiddden": [3]}, max_rows=None)


@pytest.mark.parametrize("arch", sorted(ARCHITECTURES))
def test_every_slider_setting_gives_options_the_library_accepts(arch):
    knobs = O.sliders(arch)
    for name, knob in knobs.items():
        assert knob.lo <= knob.default <= knob.hi, (arch, name)
        steps = (knob.default - knob.lo) / knob.step
        assert abs(steps - round(steps)) < 1e-9, (arch, name)                    # the first value is on the grid
    corners = [{n: getattr(k, end) for n, k in knobs.items()} for end in ("lo", "hi", "default")]
    for values in corners:
        raw = S.arch_options(arch, values.get("width", 64), values.get("depth", 2), values.get("dropout", 0.0),
                             "affine")
        O.parse(arch, raw)                                                      # no TrainingError


@pytest.mark.parametrize("arch, task", [("mlp", "tabular"), ("small-cnn", "image"), ("tiny-bert", "text")])
def test_the_training_page_sliders_use_the_ranges_of_the_options(arch, task):
    at = run_page(TRAIN, train_task=task, test_owner="options-tester")
    at.radio(key="train_arch").set_value(arch).run()
    for name, knob in O.sliders(arch).items():
        slider = at.slider(key=f"train_{arch}_{name}")
        assert (slider.min, slider.max, slider.value) == (knob.lo, knob.hi, knob.default), name


def test_what_the_sliders_set_is_the_shape_the_model_gets(tmp_registry):
    """Width 16, depth 3 → a CNN with 16, 32 and 64 channels; width 32, depth 2 → an MLP with two 32-wide layers."""
    cnn = pipeline.train(TrainSpec("digits", "small-cnn", quick(), S.arch_options("small-cnn", 16, 3, 0.2, "affine"),
                                   max_rows=300))
    convs = [m.out_channels for m in cnn.model.modules() if isinstance(m, torch.nn.Conv2d)]
    assert list(dict.fromkeys(convs)) == [16, 32, 64]                           # block by block (two convs each)
    mlp = pipeline.train(TrainSpec("breast-cancer", "mlp", quick(), S.arch_options("mlp", 32, 2, 0.1, "none")))
    linears = [m for m in mlp.model.modules() if isinstance(m, torch.nn.Linear)]
    assert [lin.out_features for lin in linears] == [32, 32, 2]
    dropouts = [m.p for m in mlp.model.modules() if isinstance(m, torch.nn.Dropout)]
    assert dropouts and all(p == 0.1 for p in dropouts)
