"""The familiarity check ("this doesn't look like what I was trained on") of the image models.

Unit tests of the scores and the calibration on toy data; the shipped models' stored
calibrations on their built-in examples (always run: no dataset needed); and the AUROC
figures of the cards, measured again on the full test splits (skipped, with the fetch
command, where MNIST or CIFAR-10 is not on this machine).
"""
import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bigmodel_core.errors import ModelError
from bigmodel_core.serve import examples, ood, registry
from bigmodel_core.serve.card import ModelCard
from bigmodel_core.serve.runtime import Predictor
from tests.conftest import requires_dataset

MODELS = Path(__file__).resolve().parent.parent / "models"
IMAGE_MODELS = ["mnist-cnn", "mnist-mlp-seed", "cifar10-cnn", "cifar10-lenet-seed"]
DIGIT_MODELS = ["mnist-cnn", "mnist-mlp-seed"]
PHOTO_MODELS = ["cifar10-cnn", "cifar10-lenet-seed"]
TARGET = 0.95


def card(model_id: str) -> ModelCard:
    return ModelCard.read(MODELS / model_id / "card.json")


# ============================================================================ scores on toy data

def test_energy_and_max_softmax_score_a_flat_answer_higher_than_a_confident_one():
    confident = np.array([[12.0, 0.0, 0.0, 0.0]])
    flat = np.array([[0.1, 0.0, 0.1, 0.0]])
    assert ood.energy(flat)[0] > ood.energy(confident)[0]
    assert ood.max_softmax(flat)[0] > ood.max_softmax(confident)[0]
    logits = np.array([[1.0, 2.0, 3.0], [1000.0, 0.0, -1000.0]])      # stable for huge logits
    assert np.allclose(ood.energy(logits), [-np.log(np.exp(logits[0]).sum()), -1000.0])


def toy(rng, n, shift=0.0):
    """Two classes of 6-D points around ±2 on the first axis (plus `shift` on every axis)."""
    labels = rng.integers(0, 2, n)
    points = rng.normal(size=(n, 6)) + np.where(labels[:, None] == 1, 2.0, -2.0) * np.eye(6)[0] + shift
    return points, labels


def test_calibration_flags_about_five_percent_of_familiar_inputs_and_every_far_one():
    rng = np.random.default_rng(0)
    train, labels = toy(rng, 4000)
    val, _ = toy(rng, 2000)
    fresh, _ = toy(rng, 4000)
    far, _ = toy(rng, 200, shift=6.0)
    det, val_scores = ood.Detector.fit(["features"], [train], labels, [val])
    assert det.threshold == pytest.approx(np.quantile(val_scores, 0.95))
    assert np.mean(val_scores > det.threshold) == pytest.approx(0.05, abs=0.002)
    assert 0.03 < np.mean(det.score([fresh]) > det.threshold) < 0.07          # new familiar inputs: ~5 %
    assert np.all(det.score([far]) > det.threshold)                            # off-distribution: every one
    assert ood.auroc(det.score([fresh]), det.score([far])) > 0.999


def test_mahalanobis_distance_is_the_textbook_one_to_the_nearest_class_mean():
    rng = np.random.default_rng(1)
    x, y = toy(rng, 500)
    g = ood.Gaussian.fit(x, y, shrink=0.0)
    means = np.stack([x[y == c].mean(0) for c in (0, 1)])
    centred = x - means[y]
    precision = np.linalg.inv(centred.T @ centred / len(x))
    q = rng.normal(size=(5, 6)) * 3
    expected = np.min([np.einsum("nd,de,ne->n", q - m, precision, q - m) for m in means], axis=0)
    assert np.allclose(g.distance(q), expected)


def test_a_layer_that_says_far_is_enough_and_scores_survive_a_save():
    rng = np.random.default_rng(2)
    a, labels = toy(rng, 3000)
    b, _ = toy(rng, 3000)
    va, _ = toy(rng, 1000)
    vb, _ = toy(rng, 1000)
    det, _ = ood.Detector.fit(["a", "b"], [a, b], labels, [va, vb])
    odd_in_b = [toy(rng, 50)[0], toy(rng, 50, shift=8.0)[0]]                  # familiar in a, far in b
    assert np.all(det.score(odd_in_b) > det.threshold)
    back = ood.Detector.from_bytes(det.to_bytes(), det.layers, det.threshold)
    assert np.allclose(back.score(odd_in_b), det.score(odd_in_b), rtol=1e-4)


def test_threshold_refuses_empty_or_broken_scores():
    assert ood.threshold(np.arange(101.0)) == pytest.approx(95.0)
    for bad in (np.array([]), np.array([1.0, np.nan])):
        with pytest.raises(ValueError):
            ood.threshold(bad)


def test_input_summary_is_a_thumbnail_plus_the_shares_of_pixel_levels():
    x = np.zeros((2, 1, 28, 28), np.float32)
    x[1, 0, :14] = 1.0                                                         # top half white
    s = ood.input_summary(x)
    assert s.shape == (2, 7 * 7 + 4)
    assert np.allclose(s[:, -4:].sum(1), 1.0) and s[0, -4] == 1.0 and s[1, -1] == 0.5
    assert np.allclose(s[1, :49].reshape(7, 7)[:3], 1.0) and np.allclose(s[1, :49].reshape(7, 7)[4:], 0.0)
    assert ood.input_summary(np.zeros((1, 3, 32, 32))).shape == (1, 3 * 49 + 4)


# ============================================================================ the shipped calibrations

@pytest.mark.parametrize("model_id", IMAGE_MODELS)
def test_shipped_image_models_carry_a_calibration_for_their_own_file(model_id):
    c = card(model_id)
    info = c.ood
    assert ood.calibrated(c) and info["method"] == ood.METHOD and info["quantile"] == 0.95
    assert info["layers"][0] == ood.INPUT and len(info["layers"]) >= 3
    assert ood.PARAMS in c.assets and (MODELS / model_id / ood.PARAMS).is_file()
    assert info["auroc"]["auroc"] >= TARGET, f"{model_id}: AUROC {info['auroc']['auroc']} below {TARGET}"
    assert set(info["auroc"]["baselines"]) == {"energy", "max_softmax"}
    registry.load(model_id, MODELS)                      # the card's sha256 still matches model.onnx


def test_a_calibration_made_for_another_file_is_not_used():
    c = card("mnist-cnn")
    assert not ood.calibrated(c.model_copy(update={"sha256": "0" * 64}))
    assert not ood.calibrated(ModelCard.from_dict({k: v for k, v in c.to_dict().items() if k != "ood"}))
    with pytest.raises(ModelError):
        ood.Checker(MODELS / "mnist-cnn", c.model_copy(update={"sha256": "0" * 64}))


def test_the_tapped_session_answers_exactly_like_the_model():
    entry = registry.load("cifar10-cnn", MODELS)
    ds = examples.load("cifar10-cnn", MODELS)
    x = ood.model_inputs(ds.images, entry.card.preprocessing)
    checker = ood.Checker(entry.folder, entry.card, device="cpu")
    logits, layers = checker.tapped.run(x)
    plain = Predictor(entry.folder, entry.card, device="cpu").run({"pixels": x})
    assert np.allclose(logits, plain, atol=1e-5)
    assert [f.shape[0] for f in layers] == [len(x)] * len(entry.card.ood["layers"])


def test_the_check_at_prediction_time_needs_no_torch():
    """ONNX Runtime and numpy only (torch is asked about CUDA by the provider choice, which a CPU-only run skips)."""
    import os
    import subprocess
    import sys

    code = ("import sys; from bigmodel_core.serve import examples; from bigmodel_core.serve import ood, registry; "
            "e = registry.load('mnist-cnn'); "
            "c = ood.Checker(e.folder, e.card, device='cpu'); x = examples.load('mnist-cnn').images[:3]; "
            "v = c.check(ood.model_inputs(x, e.card.preprocessing)); "
            "print(len(v), 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         cwd=MODELS.parent, env=dict(os.environ, BIGMODEL_FORCE_CPU="1"))
    assert out.stdout.split() == ["3", "False"], out.stderr[-500:]


def scores(model_id: str, images: np.ndarray) -> np.ndarray:
    entry = registry.load(model_id, MODELS)
    checker = ood.Checker(entry.folder, entry.card, device="cpu")
    return checker.scores(ood.model_inputs(images, entry.card.preprocessing))[1], checker.detector.threshold


@pytest.mark.parametrize("model_id", IMAGE_MODELS)
def test_built_in_examples_look_familiar_to_their_model_and_the_other_kind_does_not(model_id):
    """Runs everywhere: the other dataset's 30 examples are all flagged; the model's own mostly are not.

    The threshold lets 5 % of ordinary images through by design (1.5 of 30 expected); today 2, 1, 3
    and 4 of the 30 own examples of mnist-cnn, mnist-mlp-seed, cifar10-cnn and cifar10-lenet-seed are
    flagged. At most 5 of 30 is the 99.7th percentile of that rate (binomial).
    """
    own = examples.load(model_id, MODELS).images
    other = examples.load("cifar10-cnn" if model_id in DIGIT_MODELS else "mnist-cnn", MODELS).images
    own_scores, threshold = scores(model_id, own)
    other_scores, _ = scores(model_id, other)
    assert np.sum(own_scores > threshold) <= 5, f"{model_id} flags its own test examples: {own_scores.round(1)}"
    assert np.median(own_scores) < threshold / 2
    assert np.all(other_scores > threshold), f"{model_id} misses: {other_scores.round(1)}"


def png(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, "PNG")
    return buf.getvalue()


@pytest.mark.parametrize("model_id", DIGIT_MODELS)
def test_photos_given_to_a_digit_model_on_the_predict_page_are_flagged(model_id):
    """The predict page frames a photo like a digit first (inverted, cropped, centred): still flagged."""
    from ui import predict_tools as P

    entry = registry.load(model_id, MODELS)
    predictor = Predictor(entry.folder, entry.card, device="cpu")
    checker = ood.Checker(entry.folder, entry.card, device="cpu")

    def check(x):
        return checker.check(x[None])[0]

    photos = examples.load("cifar10-cnn", MODELS).images
    flagged = [P.predict_image(predictor, entry.card, png(p.transpose(1, 2, 0)), check)[0].familiar.unfamiliar
               for p in photos]
    digits = examples.load(model_id, MODELS).images
    calm = [not P.predict_image(predictor, entry.card, png(d[0]), check)[0].familiar.unfamiliar for d in digits]
    assert np.mean(flagged) >= 0.9, f"{model_id}: {np.sum(flagged)} of {len(flagged)} photos flagged"
    assert np.mean(calm) >= 0.9, f"{model_id}: {len(calm) - np.sum(calm)} of {len(calm)} uploaded digits flagged"


# ============================================================================ the cards' AUROC, on the full data

@requires_dataset("mnist", "cifar10-images")
@pytest.mark.parametrize("model_id", IMAGE_MODELS)
def test_auroc_on_the_full_test_splits_is_what_the_card_says(model_id):
    """MNIST test vs CIFAR-10 test (grey 28×28) for digit models; CIFAR-10 test vs MNIST (3×32×32) for photo models."""
    promised = card(model_id).ood["auroc"]
    measured = ood.remeasure(model_id, MODELS)
    assert measured["auroc"] >= TARGET, f"{model_id}: AUROC {measured['auroc']}"
    assert measured["auroc"] == pytest.approx(promised["auroc"], abs=1e-4)
    assert measured["baselines"] == pytest.approx(promised["baselines"], abs=1e-4)
    assert measured["flagged_familiar"] == pytest.approx(promised["flagged_familiar"], abs=1e-4)
    assert measured["flagged_familiar"] < 0.08                         # ~5 % of ordinary test images, by design


@requires_dataset("mnist", "cifar10-images")
def test_calibrating_again_gives_the_same_card_and_keeps_the_model_file(tmp_registry):
    shutil.copytree(MODELS / "mnist-mlp-seed", tmp_registry / "mnist-mlp-seed")
    (tmp_registry / "mnist-mlp-seed" / ood.PARAMS).unlink()
    result = ood.calibrate("mnist-mlp-seed", log=lambda _: None)
    again = registry.load("mnist-mlp-seed").card                        # sha256 verified
    shipped = card("mnist-mlp-seed").ood
    assert again.ood["threshold"] == pytest.approx(shipped["threshold"], rel=1e-4)
    assert again.ood["auroc"]["auroc"] == pytest.approx(shipped["auroc"]["auroc"], abs=1e-4)
    assert result["layers"] == shipped["layers"] and ood.PARAMS in again.assets


def test_predict_on_the_command_line_says_when_a_picture_is_unfamiliar(capsys):
    from bigmodel_core.cli import main

    photo, digit = MODELS / "cifar10-cnn" / "examples" / "003.png", MODELS / "mnist-cnn" / "examples" / "000.png"
    assert main(["predict", "mnist-cnn", str(photo), str(digit), "--json", "--device", "cpu"]) == 0
    first, second = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert first["unfamiliar"] is True and first["ood_score"] > first["ood_threshold"]
    assert second["unfamiliar"] is False and second["label"] == "1"
    assert main(["predict", "mnist-cnn", str(photo), "--device", "cpu"]) == 0
    assert "does not look like the model's training images" in capsys.readouterr().err


@requires_dataset("mnist")
def test_an_int8_copy_does_not_inherit_the_calibration_of_its_parent(tmp_registry):
    from bigmodel_core.convert.quantize import quantize_model

    shutil.copytree(MODELS / "mnist-mlp-seed", tmp_registry / "mnist-mlp-seed")
    res = quantize_model("mnist-mlp-seed", shipped=False)
    q = registry.load(res["id"])
    assert q.card.ood is None and ood.PARAMS not in q.card.assets and not (q.folder / ood.PARAMS).exists()
    assert ood.calibrated(registry.load("mnist-mlp-seed").card)            # the parent keeps its own
