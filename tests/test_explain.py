"""Explanations (`bigmodel_core.explain`) on toy models whose right answer is known, and on the shipped models.

- images: a hand-built model that looks at one square only — the occlusion map has the
  picture's shape, is highest inside that square and zero far from it;
- texts: a tiny BERT trained on the spot — integrated gradients add up to
  f(text) − f(baseline) (completeness, checked against ONNX Runtime too), sub-word pieces
  merge into the typed words, and word ablation equals a removal done by hand;
- tables: an MLP trained on the spot on y = 3·signal + noise — permutation importance ranks
  `signal` above the pure-noise column; Shapley contributions add up to
  prediction − baseline prediction, and for a linear model equal each column's own effect;
- the ONNX Runtime forward that captum calls agrees with the PyTorch model.
"""
import io

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn as nn

from bigmodel_core import explain as E
from bigmodel_core.convert.export import export_onnx
from bigmodel_core.data.uploads import load_csv_tabular, load_csv_text
from bigmodel_core.paths import models_dir
from bigmodel_core.serve import registry
from bigmodel_core.serve.card import ModelCard
from bigmodel_core.serve.outputs import scores
from bigmodel_core.serve.runtime import Predictor
from bigmodel_core.train import pipeline
from bigmodel_core.train.spec import TrainSpec
from bigmodel_core.train.trainer import TrainConfig

ROOT_MODELS = models_dir()


def shipped(model_id: str):
    """(entry, predictor) of a shipped model, or skip with the build command."""
    if not (ROOT_MODELS / model_id / "model.onnx").exists():
        pytest.skip(f"model not built: python -m bigmodel_core build-defaults --only {model_id}")
    entry = registry.load(model_id)
    return entry, Predictor(entry.folder, entry.card, device="cpu")


# ============================================================================ images

SPOT = (slice(4, 10), slice(18, 24))          # rows 4-9, columns 18-23 of a 28×28 picture


class LooksAtOneSquare(nn.Module):
    """Two classes; the 'spot' logit is the brightness of one 6×6 square, nothing else matters."""

    def forward(self, x):                                         # [N, 1, 28, 28]
        spot = x[:, 0, 4:10, 18:24].mean(dim=(1, 2))              # [N]
        return torch.stack([torch.zeros_like(spot), 12.0 * (spot - 0.5)], dim=1)


@pytest.fixture(scope="module")
def square_model(tmp_path_factory):
    folder = tmp_path_factory.mktemp("square")
    model = LooksAtOneSquare().eval()
    export_onnx(model, {"pixels": torch.rand(2, 1, 28, 28)}, folder / "model.onnx")
    card = ModelCard(id="square", task="image", problem="classification", labels=["other", "spot"],
                     input_spec=[{"name": "pixels", "shape": [-1, 1, 28, 28], "dtype": "float32"}],
                     preprocessing={"channels": 1, "height": 28, "width": 28, "invert": False},
                     sha256=registry.sha256_file(folder / "model.onnx"))
    return model, Predictor(folder, card, device="cpu")


def test_occlusion_map_has_the_picture_shape_and_peaks_where_the_model_looks(square_model):
    _, pred = square_model
    x = np.full((1, 28, 28), 0.9, dtype=np.float32)
    res = E.image_occlusion(pred, x)
    assert res.method == E.OCCLUSION and res.target == 1
    assert res.heatmap.shape == (28, 28) and np.isfinite(res.heatmap).all()
    r, c = np.unravel_index(np.argmax(res.heatmap), res.heatmap.shape)
    assert SPOT[0].start <= r < SPOT[0].stop and SPOT[1].start <= c < SPOT[1].stop, (r, c)
    inside = res.heatmap[SPOT].mean()
    assert inside > 0.02                                           # hiding the square lowers P(spot)
    assert np.abs(res.heatmap[16:, :10]).max() < 1e-6              # far away: no effect at all
    assert np.abs(res.heatmap[:, :12]).max() < 1e-6


def test_occlusion_explains_the_other_class_with_the_opposite_sign(square_model):
    _, pred = square_model
    x = np.full((1, 28, 28), 0.9, dtype=np.float32)
    spot = E.image_occlusion(pred, x, target=1).heatmap
    other = E.image_occlusion(pred, x, target=0).heatmap
    np.testing.assert_allclose(other, -spot, atol=1e-6)          # two classes: P(other) = 1 − P(spot)


def test_ort_forward_agrees_with_the_torch_model(square_model):
    model, pred = square_model
    x = torch.rand(5, 1, 28, 28)
    ort = E.OrtForward(pred)(x).numpy()
    with torch.no_grad():
        ref = torch.softmax(model(x), dim=1).double().numpy()
    np.testing.assert_allclose(ort, ref, atol=1e-5)


@pytest.mark.parametrize("model_id", ["mnist-cnn", "cifar10-lenet-seed"])
def test_shipped_image_models_ort_forward_matches_torch_and_occlusion_runs(model_id):
    entry, pred = shipped(model_id)
    torch_model = E.load_torch_model(entry.folder, entry.card)
    assert torch_model is not None, "these models keep weights.safetensors"
    c, h, w = entry.card.input_spec[0]["shape"][1:]
    x = np.random.default_rng(0).random((3, c, h, w), dtype=np.float32)
    with torch.no_grad():
        ref = torch.softmax(torch_model(torch.from_numpy(x)), dim=1).double().numpy()
    np.testing.assert_allclose(E.OrtForward(pred)(torch.from_numpy(x)).numpy(), ref, atol=1e-4)
    res = E.image_occlusion(pred, x[0])
    assert res.heatmap.shape == (h, w) and np.isfinite(res.heatmap).all() and np.abs(res.heatmap).max() > 0
    assert res.target == int(ref[0].argmax()) and res.score == pytest.approx(ref[0].max(), abs=1e-4)


def test_models_without_weights_have_no_torch_model():
    entry, _ = shipped("cifar10-cnn")
    assert E.load_torch_model(entry.folder, entry.card) is None


# ============================================================================ texts

POSITIVE, NEGATIVE = ["great", "wonderful", "lovely", "superb"], ["awful", "boring", "dreadful", "poor"]
FILLER = ["the", "film", "was", "a", "story", "and", "plot", "it"]


@pytest.fixture(scope="module")
def toy_text(tmp_path_factory):
    """A tiny BERT trained on the spot on sentences whose one sentiment word decides the label."""
    rng = np.random.default_rng(0)
    rows = ["text,label"]
    for i in range(240):
        lab = i % 2
        words = list(rng.choice(FILLER, 5)) + [str(rng.choice(POSITIVE if lab else NEGATIVE))]
        rng.shuffle(words)
        rows.append(" ".join(words) + "," + ("positive" if lab else "negative"))
    data = load_csv_text(io.StringIO("\n".join(rows)))
    spec = TrainSpec("toy-text", "tiny-bert", TrainConfig(epochs=10, batch_size=16, lr=2e-3, device="cpu"),
                     options=dict(vocab_size=200, hidden=32, layers=1, heads=2, intermediate=64, max_length=16,
                                  dropout=0.0, pooling="mean"))
    entry = pipeline.export(pipeline.train(spec, data=data), "toy-text", root=tmp_path_factory.mktemp("text"))
    pred = Predictor(entry.folder, entry.card, device="cpu")
    model = E.load_torch_model(entry.folder, entry.card)
    assert model is not None
    return pred, model


def _ort_prob(pred, ids, mask, target):
    out = pred.session.run([pred.output_name], {"input_ids": np.asarray(ids, dtype=np.int64)[None],
                                                "attention_mask": np.asarray(mask, dtype=np.int64)[None]})[0]
    return float(scores(out, "classification")[0, target])


def test_integrated_gradients_are_complete_and_match_onnx_runtime(toy_text):
    pred, model = toy_text
    text = "The film was wonderful and the story lovely"
    res = E.explain_text(pred, text, model)
    assert res.method == E.INTEGRATED_GRADIENTS
    assert res.words == text.split()                               # words as typed, original case
    assert res.scores.shape == (len(res.words),) and np.isfinite(res.scores).all()
    # completeness: Σ attributions = f(x) − f(baseline), up to captum's small convergence delta
    assert res.delta < 0.01
    assert res.total == pytest.approx(res.score - res.baseline_score, abs=0.01)
    # the same two numbers from ONNX Runtime (the file that serves predictions)
    enc = pred.tokenizer.encode(text)
    pad = pred.tokenizer.token_to_id("[PAD]")
    ref = [i if s else pad for i, s in zip(enc.ids, enc.special_tokens_mask, strict=False)]
    f_x = _ort_prob(pred, enc.ids, enc.attention_mask, res.target)
    f_b = _ort_prob(pred, ref, enc.attention_mask, res.target)
    assert res.score == pytest.approx(f_x, abs=1e-4) and res.baseline_score == pytest.approx(f_b, abs=1e-4)
    assert res.total == pytest.approx(f_x - f_b, abs=0.01)


def test_integrated_gradients_credit_the_sentiment_word(toy_text):
    pred, model = toy_text
    for text, word in (("the plot was superb and it was a story", "superb"),
                       ("a dreadful film and the plot", "dreadful")):
        res = E.explain_text(pred, text, model)
        assert res.words[int(np.argmax(res.scores))] == word, list(zip(res.words, res.scores, strict=False))


def test_word_ablation_through_ort_equals_removing_the_word_by_hand(toy_text):
    pred, _ = toy_text
    text = "The film was awful, and the plot poor"
    res = E.explain_text(pred, text)                              # no torch model: ablation through ORT
    assert res.method == E.WORD_ABLATION and res.delta is None
    assert res.words == ["The", "film", "was", "awful", ",", "and", "the", "plot", "poor"]
    enc = pred.tokenizer.encode(text)
    f_x = _ort_prob(pred, enc.ids, enc.attention_mask, res.target)
    assert res.score == pytest.approx(f_x, abs=1e-6)
    k = res.words.index("awful")
    mask = [0 if w == k else m for w, m in zip([w if w is not None else -1 for w in enc.word_ids],
                                                enc.attention_mask, strict=False)]
    assert res.scores[k] == pytest.approx(f_x - _ort_prob(pred, enc.ids, mask, res.target), abs=1e-6)


def test_ort_text_forward_agrees_with_the_torch_model(toy_text):
    pred, model = toy_text
    feed = pred.prepare(["a lovely story", "the plot was boring and poor"])
    with torch.no_grad():
        ref = torch.softmax(model(torch.from_numpy(feed["input_ids"]), torch.from_numpy(feed["attention_mask"])),
                            dim=1).double().numpy()
    fwd = E.OrtForward(pred, lambda ids, mask: {"input_ids": ids.numpy(), "attention_mask": mask.numpy()})
    out = fwd(torch.from_numpy(feed["input_ids"]), torch.from_numpy(feed["attention_mask"])).numpy()
    np.testing.assert_allclose(out, ref, atol=1e-5)


def test_shipped_text_models_sub_words_merge_and_the_right_method_runs():
    entry, pred = shipped("sst2-tiny")
    model = E.load_torch_model(entry.folder, entry.card)
    text = "An unwatchable, self-indulgent mess of a zorbulent film."             # a made-up word: one piece a letter
    enc = pred.tokenizer.encode(text)
    res = E.explain_text(pred, text, model)
    assert res.words == ["An", "unwatchable", ",", "self", "-", "indulgent", "mess", "of", "a", "zorbulent", "film",
                         "."]
    assert len(enc.ids) - 2 > len(res.words)                       # some words are several pieces
    assert res.method == E.INTEGRATED_GRADIENTS and res.delta < 0.01      # over both halves if it has an n-gram bag
    assert abs(res.total - (res.score - res.baseline_score)) <= res.delta + 1e-5   # nothing lost at [CLS] / [SEP]
    assert res.score == pytest.approx(pred.raw([text])[0].max(), abs=1e-5)   # what the predict page shows
    for model_id in ("sst2-tiny-int8", "sst2-minilm"):
        if not (ROOT_MODELS / model_id / "model.onnx").exists():
            continue
        e2, p2 = shipped(model_id)
        assert E.load_torch_model(e2.folder, e2.card) is None
        res2 = E.explain_text(p2, text)
        assert res2.method == E.WORD_ABLATION and res2.words == res.words
        assert res2.score == pytest.approx(p2.raw([text])[0].max(), abs=1e-5)


def test_wide_and_deep_word_scores_add_up_even_when_the_bigrams_at_the_edges_are_strong(toy_text):
    """The first and last bigrams pair a word with [CLS] / [SEP]; the word must receive all of
    their share (the special tokens are no words), or the scores stop adding up."""
    import torch

    from bigmodel_core.nn.text_nets import NgramBag

    pred, model = toy_text
    cfg = model.bert.config
    bag = NgramBag(cfg.vocab_size, cfg.num_labels, 101)
    text = "boring story"
    enc = pred.tokenizer.encode(text)
    ids = enc.ids
    with torch.no_grad():
        for pair in ((ids[0], ids[1]), (ids[-2], ids[-1])):                       # ([CLS], boring), (story, [SEP])
            bag.bigram.weight[(pair[0] * cfg.vocab_size + pair[1]) % 101] = torch.tensor([-0.4, 0.4])
    model.ngrams = bag
    try:
        res = E.explain_text(pred, text, model=model, target=1)
    finally:
        model.ngrams = None
    assert res.words == ["boring", "story"]
    assert abs(res.total - (res.score - res.baseline_score)) <= res.delta + 1e-6


def test_an_ensemble_of_text_models_is_explained_by_word_ablation(toy_text):
    from bigmodel_core.nn.nets import Ensemble

    pred, model = toy_text
    res = E.explain_text(pred, "the film was great", Ensemble([model, model]))
    assert res.method == E.WORD_ABLATION and res.words == ["the", "film", "was", "great"]


def test_long_texts_are_flagged_as_truncated(toy_text):
    pred, model = toy_text
    res = E.explain_text(pred, " ".join(["the film was great"] * 10), model)
    assert res.truncated and len(res.words) == 14                  # 16 tokens minus [CLS] and [SEP]


# ============================================================================ tables

def _table(n=500, seed=0):
    rng = np.random.default_rng(seed)
    signal, noise = rng.uniform(-2, 2, n), rng.uniform(-2, 2, n)
    colour = rng.choice(["red", "green", "blue"], n)
    y = 3.0 * signal + 1.0 * (colour == "red") + rng.normal(0, 0.05, n)
    rows = ["signal,noise,colour,y"] + [f"{a:.4f},{b:.4f},{c},{v:.4f}"
                                        for a, b, c, v in zip(signal, noise, colour, y, strict=False)]
    return load_csv_tabular(io.StringIO("\n".join(rows)), target="y", problem="regression")


@pytest.fixture(scope="module")
def toy_tables(tmp_path_factory):
    data = _table()
    root = tmp_path_factory.mktemp("tables")
    out = {}
    for arch, opts, epochs in (("mlp", {"hidden": [32]}, 50), ("linear", {}, 30)):
        spec = TrainSpec("toy-table", arch, TrainConfig(epochs=epochs, batch_size=32, lr=1e-2, device="cpu"),
                         options=opts)
        entry = pipeline.export(pipeline.train(spec, data=data), f"toy-{arch}", root=root)
        out[arch] = Predictor(entry.folder, entry.card, device="cpu")
    return data, out


def test_permutation_importance_ranks_the_real_feature_above_noise(toy_tables):
    data, preds = toy_tables
    frame, y = data.subset("test")
    imp = E.permutation_importances(preds["mlp"], frame, y, n_repeats=3)
    assert imp.method == E.PERMUTATION and imp.metric == "r2" and imp.score > 0.9
    assert imp.features == ["signal", "noise", "colour"]
    by = dict(zip(imp.features, imp.mean, strict=False))
    assert imp.ranking()[0] == "signal"
    assert by["signal"] > 1.0 and by["signal"] > 10 * abs(by["noise"])
    assert by["colour"] > abs(by["noise"])
    assert abs(by["noise"]) < 0.05


def test_permutation_importance_caps_the_rows(toy_tables):
    data, preds = toy_tables
    frame, y = data.subset("train")
    imp = E.permutation_importances(preds["mlp"], frame, y, max_rows=50, n_repeats=2)
    assert imp.rows == 50 and imp.repeats == 2 and imp.notes


def test_shapley_contributions_add_up_to_prediction_minus_baseline(toy_tables):
    _, preds = toy_tables
    pred = preds["mlp"]
    row = {"signal": 1.5, "noise": -1.0, "colour": "red"}
    res = E.tabular_contributions(pred, row)
    assert res.method == E.SHAPLEY and res.target is None and res.features == ["signal", "noise", "colour"]
    assert res.prediction == pytest.approx(float(pred.raw(pd.DataFrame([row]))[0]), abs=1e-4)
    assert res.contributions.sum() == pytest.approx(res.prediction - res.baseline_prediction, abs=1e-3)
    by = dict(zip(res.features, res.contributions, strict=False))
    assert by["signal"] > 3.0 and abs(by["noise"]) < 0.3 * abs(by["signal"])
    # the baseline is the training means (numbers) and the most common category
    enc = pred.encoder
    assert res.baseline_values[:2] == [enc.numeric["signal"]["mean"], enc.numeric["noise"]["mean"]]


def test_shapley_contributions_of_a_linear_model_are_each_columns_own_effect(toy_tables):
    _, preds = toy_tables
    pred = preds["linear"]
    row = {"signal": -1.2, "noise": 0.7, "colour": "blue"}
    res = E.tabular_contributions(pred, row)
    base = dict(zip(res.features, res.baseline_values, strict=False))
    f_base = float(pred.raw(pd.DataFrame([base]))[0])
    for j, col in enumerate(res.features):
        one = dict(base, **{col: row[col]})
        assert res.contributions[j] == pytest.approx(float(pred.raw(pd.DataFrame([one]))[0]) - f_base, abs=1e-3)


def test_shipped_classifier_contributions_explain_the_predicted_probability():
    entry, pred = shipped("credit-default-mlp")
    row = {f["name"]: f["default"] for f in entry.card.preprocessing["features"]}
    row["PAY_0"] = 2
    res = E.tabular_contributions(pred, row)
    probs = pred.raw(pd.DataFrame([row]))[0]
    assert res.target == int(probs.argmax()) and res.prediction == pytest.approx(probs.max(), abs=1e-5)
    assert res.contributions.sum() == pytest.approx(res.prediction - res.baseline_prediction, abs=1e-4)
    assert len(res.contributions) == len(entry.card.preprocessing["features"])


def test_shipped_model_importance_on_its_evaluation_split():
    entry, pred = shipped("diabetes-mlp")
    imp = E.model_importances(pred)
    assert imp.split == entry.card.split["evaluated_on"] and imp.metric == "r2"
    assert imp.score == pytest.approx(entry.card.metrics["test"]["r2"], abs=1e-3)   # the card's own number
    assert set(imp.features) == {f["name"] for f in entry.card.preprocessing["features"]}
    assert imp.ranking()[0] in ("bmi", "s5")                      # the two strongest signals of this data


def test_a_wide_and_deep_text_model_gets_complete_integrated_gradients_over_both_halves(toy_text):
    """The n-gram bag reads token ids, not embeddings: its vote tables are integrated too, so the
    word scores still add up to f(text) - f(all [PAD]) and a word the bag votes for gets the credit."""
    import torch

    from bigmodel_core.nn.text_nets import NgramBag

    pred, model = toy_text
    cfg = model.bert.config
    bag = NgramBag(cfg.vocab_size, cfg.num_labels, 101)
    text = "the film was a story and it was boring"                 # the transformer alone says "negative"
    enc = pred.tokenizer.encode(text)
    with torch.no_grad():
        torch.manual_seed(0)
        bag.bigram.weight.normal_(0, 0.05)                           # some pair votes, so bigrams carry attributions
        bag.unigram.weight[pred.tokenizer.token_to_id("story"), 1] = 3.0   # the bag loves "story"
    model.ngrams = bag
    try:
        res = E.explain_text(pred, text, model=model, target=1)
        ids = torch.tensor([enc.ids])
        with torch.no_grad():
            p_bag = float(torch.softmax(model(ids, torch.tensor([enc.attention_mask])), -1)[0, 1])
    finally:
        model.ngrams = None
    assert res.method == E.INTEGRATED_GRADIENTS and res.delta < 0.01
    assert res.score == pytest.approx(p_bag, abs=1e-6)               # the whole model's answer, bag included
    assert res.total == pytest.approx(res.score - res.baseline_score, abs=0.01)
    assert res.words[int(np.argmax(res.scores))] == "story"

