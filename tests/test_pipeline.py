"""The one-call workflow: train → export → predict, runs kept on disk, and its errors."""
import io

import numpy as np
import pytest
import torch
from PIL import Image

from bigmodel_core.data.loaders import load_dataset
from bigmodel_core.errors import TrainingError
from bigmodel_core.serve import registry
from bigmodel_core.serve.preprocess import prepare_images
from bigmodel_core.serve.runtime import Predictor
from bigmodel_core.train import pipeline, runs
from bigmodel_core.train.spec import TrainSpec
from bigmodel_core.train.trainer import TrainConfig

CARD_KEYS = {"id", "title", "task", "problem", "dataset", "split", "architecture", "arch_config", "parameters",
             "metrics", "labels", "input_spec", "output", "preprocessing", "parity_max_abs_diff", "created",
             "sha256", "onnx_bytes", "seed", "training_time_s", "train_config", "history", "weights", "assets"}


def quick(epochs=1, **kw):
    return TrainConfig(epochs=epochs, batch_size=32, lr=3e-3, device="cpu", **kw)


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


@pytest.fixture(scope="module")
def lenet_run():
    return pipeline.train(TrainSpec("digits", "lenet", quick()))


def _png(img_u8_chw: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(img_u8_chw[0]).save(buf, "PNG")
    return buf.getvalue()


# ----------------------------------------------------------------------------- images

def test_lenet_on_digits_is_upsized_trained_and_exported(lenet_run, digits, tmp_registry):
    trained = lenet_run
    assert trained.task == "image" and trained.problem == "classification"
    assert trained.labels == [str(i) for i in range(10)]
    assert trained.preprocessing["height"] == trained.preprocessing["width"] == 32      # 8×8 digits → 32×32
    assert trained.arch_config["size"] == 32 and trained.input_spec[0]["shape"] == ["batch", 1, 32, 32]
    assert trained.history.epochs == [1] and trained.metrics["test"]["accuracy"] > 0.5

    entry = pipeline.export(trained, "digits-lenet", root=tmp_registry)
    card = entry.card
    assert set(card.to_dict()) >= CARD_KEYS, CARD_KEYS - set(card.to_dict())
    assert card.parity_max_abs_diff <= 1e-4
    assert card.dataset == "digits" and card.architecture == "lenet" and card.parameters > 0
    assert card.metrics["test"]["accuracy"] == trained.metrics["test"]["accuracy"]
    assert card.output["name"] == "logits" and card.weights == "weights.safetensors"
    assert (entry.folder / "weights.safetensors").exists()
    assert [e.id for e in registry.list_models(tmp_registry)[0]] == ["digits-lenet"]

    # a user uploads a few raw 8×8 digits as PNG files: the registry model labels them
    test_rows = digits.split["test"]
    raw = digits.images[test_rows]                                          # uint8 [N, 1, 8, 8]
    predictor = Predictor(entry.folder, card, device="cpu")
    few = predictor.predict([_png(img) for img in raw[:8]])
    assert all(p.label in card.labels for p in few)
    assert all(sum(p.scores.values()) == pytest.approx(1.0, abs=1e-5) for p in few)
    x = prepare_images([_png(img) for img in raw[:8]], card.preprocessing)
    assert x.shape == (8, 1, 32, 32)
    with torch.inference_mode():
        torch_labels = trained.model.eval()(torch.from_numpy(x)).argmax(1).tolist()
    assert [card.labels.index(p.label) for p in few] == torch_labels

    # … and over the whole test split it scores what its card says
    labels = np.array([card.labels.index(p.label) for p in predictor.predict(list(raw))])
    accuracy = float(np.mean(labels == digits.labels[test_rows]))
    assert accuracy == pytest.approx(card.metrics["test"]["accuracy"], abs=0.02)


def test_small_cnn_on_digits_exports_with_parity(tmp_registry, digits):
    trained = pipeline.train(TrainSpec("digits", "small-cnn", quick(), options=dict(widths=[8, 16]), max_rows=500))
    assert trained.arch_config["widths"] == [8, 16]
    assert trained.preprocessing["height"] == 8                             # only LeNet needs upsizing
    entry = pipeline.export(trained, "digits-cnn", root=tmp_registry)
    assert entry.card.parity_max_abs_diff <= 1e-4
    assert set(entry.card.to_dict()) >= CARD_KEYS
    preds = Predictor(entry.folder, entry.card, device="cpu").predict(list(digits.images[digits.split["test"][:5]]))
    assert len(preds) == 5 and all(p.label in entry.card.labels for p in preds)


def test_save_run_and_load_run_round_trip(lenet_run, tmp_path, tmp_registry):
    folder = runs.save_run(lenet_run, tmp_path / "run")
    assert (folder / "run.json").exists() and (folder / "weights.safetensors").exists()
    assert not list(folder.glob("*.pt")) and not list(folder.glob("*.pkl"))          # never pickle
    again = runs.load_run(folder)
    assert again.spec == lenet_run.spec and again.labels == lenet_run.labels
    assert again.metrics == lenet_run.metrics and again.preprocessing == lenet_run.preprocessing
    assert again.history.train_loss == lenet_run.history.train_loss
    feed = lenet_run.example_feed["pixels"]
    assert np.array_equal(again.example_feed["pixels"], feed)
    with torch.inference_mode():
        a = lenet_run.model.eval()(torch.from_numpy(feed))
        b = again.model(torch.from_numpy(feed))
    assert torch.equal(a, b)
    entry = pipeline.export(again, "digits-from-run", root=tmp_registry)          # the CLI's train → export path
    assert entry.card.parity_max_abs_diff <= 1e-4
    assert entry.card.metrics == lenet_run.metrics


def test_load_run_of_a_folder_that_is_not_a_run(tmp_path):
    from bigmodel_core.errors import ModelError

    with pytest.raises(ModelError, match="not a training run folder"):
        runs.load_run(tmp_path)


# ----------------------------------------------------------------------------- tables

def test_tabular_classification_records_a_baseline(tmp_registry):
    trained = pipeline.train(TrainSpec("breast-cancer", "mlp", quick(epochs=3), options=dict(hidden=[16])))
    assert trained.task == "tabular" and trained.labels and len(trained.labels) == 2
    base = trained.baseline
    assert base["model"].startswith("logistic regression")
    assert set(base["metrics"]) == {"accuracy", "macro_f1", "roc_auc"}
    assert 0.8 < base["metrics"]["accuracy"] <= 1.0 and 0.8 < base["metrics"]["roc_auc"] <= 1.0
    assert set(trained.metrics["test"]) == {"accuracy", "macro_f1", "roc_auc"}
    entry = pipeline.export(trained, "bc-mlp", root=tmp_registry)
    assert entry.card.baseline == base and entry.card.parity_max_abs_diff <= 1e-4
    assert (entry.folder / "encoder.json").exists()
    features = entry.card.preprocessing["features"]
    assert features and all({"name", "type", "default"} <= set(f) for f in features)


# ----------------------------------------------------------------------------- errors and stopping

@pytest.mark.parametrize("dataset, arch, choices", [
    ("diabetes", "lenet", "linear, mlp"),
    ("digits", "mlp", "lenet, mlp-seed, small-cnn"),
    ("breast-cancer", "tiny-bert", "linear, mlp"),
])
def test_architecture_that_does_not_fit_the_data_is_a_training_error_with_a_hint(dataset, arch, choices):
    with pytest.raises(TrainingError, match=f"'{arch}' does not fit") as info:
        pipeline.train(TrainSpec(dataset, arch, quick()))
    assert choices in info.value.hint


def test_unknown_architecture_is_a_training_error():
    with pytest.raises(TrainingError, match="Unknown architecture 'resnet-9000'") as info:
        pipeline.train(TrainSpec("digits", "resnet-9000", quick()))
    assert "lenet" in info.value.hint


def test_stop_requested_in_the_first_batch_still_exports(tmp_registry):
    trainers, batches = [], []

    def stop_now(event):
        batches.append(event.step)
        trainers[0].request_stop()

    trained = pipeline.train(TrainSpec("breast-cancer", "mlp", quick(epochs=20), options=dict(hidden=[8])),
                             callbacks={"batch_end": [stop_now]}, on_trainer=trainers.append)
    assert batches == [1]                                  # no second batch after the stop
    assert trained.history.stopped and trained.history.epochs == [1]
    assert np.isfinite(trained.test_scores).all()
    entry = pipeline.export(trained, "stopped-early", root=tmp_registry)
    assert entry.card.parity_max_abs_diff <= 1e-4
    assert entry.card.history["stopped"] is True and entry.card.history["epochs"] == [1]
    rows, _ = load_dataset("breast-cancer").subset("test")
    preds = Predictor(entry.folder, entry.card, device="cpu").predict(rows.head(3))
    assert len(preds) == 3 and all(p.label in ("malignant", "benign") for p in preds)


def _toy_reviews(n=120, positive_every=3, classes=("negative", "positive"), seed=0):
    """Short reviews whose one word decides the label; one in `positive_every` is positive
    (the default, 2 negatives for each positive, is imbalanced)."""
    rng = np.random.default_rng(seed)
    rows = ["text,label"]
    for i in range(n):
        pos = i % positive_every == 0
        words = list(rng.choice(["the", "food", "came", "late", "today", "order"], 4)) + [
            str(rng.choice(["great", "tasty"] if pos else ["cold", "awful"]))]
        rng.shuffle(words)
        rows.append(" ".join(words) + "," + (classes[1] if pos else classes[0]))
    from bigmodel_core.data.uploads import load_csv_text

    return load_csv_text(io.StringIO("\n".join(rows)))


def test_text_training_picks_its_best_epoch_by_the_chosen_metric(tmp_registry):
    spec = TrainSpec("toy-reviews", "tiny-bert", TrainConfig(epochs=4, batch_size=16, lr=2e-3, device="cpu"),
                     options=dict(vocab_size=60, hidden=16, layers=1, heads=2, intermediate=32, max_length=12,
                                  monitor="macro_f1"))
    trained = pipeline.train(spec, data=_toy_reviews())
    assert trained.preprocessing["language"] == "en"                 # the predict page reads it
    h = trained.history
    scores = [v["macro_f1"] for v in h.val]
    assert h.best_epoch == h.epochs[int(np.argmax(scores))]         # the first epoch with the best macro-F1
    with pytest.raises(TrainingError, match="Cannot pick the best epoch by 'r2'") as info:
        pipeline.train(TrainSpec("toy-reviews", "tiny-bert", quick(), options=dict(monitor="r2")), data=_toy_reviews())
    assert "macro_f1" in info.value.hint


def test_tabular_training_refuses_a_metric_that_does_not_fit_the_problem(tmp_registry):
    with pytest.raises(TrainingError, match="Cannot pick the best epoch by 'r2'") as info:
        pipeline.train(TrainSpec("breast-cancer", "mlp", quick(), options=dict(monitor="r2")))
    assert "neg_log_loss" in info.value.hint and "roc_auc" in info.value.hint


def test_balanced_class_weights_are_inverse_to_the_training_counts(tmp_registry):
    spec = TrainSpec("breast-cancer", "mlp", quick(), options=dict(hidden=[8], class_weight="balanced"))
    seen = {}
    original = pipeline.make_task

    def spy(data, s):
        seen["task"] = original(data, s)
        return seen["task"]

    pipeline.make_task, saved = spy, pipeline.make_task
    try:
        pipeline.train(spec)
    finally:
        pipeline.make_task = saved
    task = seen["task"]
    counts = torch.bincount(task.y["train"]).float()
    assert torch.allclose(task.class_weight * counts, torch.full_like(counts, len(task.y["train"]) / 2))
    with pytest.raises(TrainingError, match="Cannot weight classes by 'balanced'"):
        pipeline.train(TrainSpec("diabetes", "mlp", quick(), options=dict(class_weight="balanced")))


def _toy_corpus(n=600, classes=("negative", "positive")):
    """Many balanced reviews with the same deciding words as `_toy_reviews`."""
    return _toy_reviews(n, positive_every=2, classes=classes, seed=1)


def test_transfer_from_a_labelled_corpus_teaches_what_a_tiny_train_split_cannot(tmp_registry, monkeypatch):
    """A few dozen reviews and one short epoch learn nothing; first training on a 600-review
    corpus of the same classes makes the same run rank the validation reviews right."""
    import bigmodel_core.data.loaders as loaders

    monkeypatch.setattr(loaders, "load_dataset", lambda name, **kw: _toy_corpus())
    opts = dict(vocab_size=200, hidden=16, layers=1, heads=2, intermediate=32, max_length=12)
    cfg = lambda: TrainConfig(epochs=1, batch_size=16, lr=1e-4, device="cpu", seed=0)   # noqa: E731
    alone = pipeline.train(TrainSpec("toy", "tiny-bert", cfg(), options=opts), data=_toy_reviews(60))
    helped = pipeline.train(TrainSpec("toy", "tiny-bert", cfg(), options=dict(
        opts, transfer=dict(corpora=["toy-corpus"], epochs=3, lr=3e-3))), data=_toy_reviews(60))
    assert helped.metrics["val"]["roc_auc"] >= 0.95 > 0.75 >= alone.metrics["val"]["roc_auc"]   # it ranks them right
    assert helped.history.elapsed_s > alone.history.elapsed_s                 # the card counts both stages

    monkeypatch.setattr(loaders, "load_dataset", lambda name, **kw: _toy_corpus(classes=("bad", "good")))
    with pytest.raises(TrainingError, match="its classes .* differ"):
        pipeline.train(TrainSpec("toy", "tiny-bert", cfg(), options=dict(opts, transfer=dict(corpora=["other"]))),
                       data=_toy_reviews(60))


@pytest.mark.parametrize("dataset", ["breast-cancer", "diabetes"])
def test_an_ensemble_averages_its_members_and_exports_as_one_graph(tmp_registry, tmp_path, dataset):
    from bigmodel_core.nn.nets import Ensemble

    spec = TrainSpec(dataset, "mlp", quick(epochs=2), options=dict(hidden=[8], ensemble=3))
    trained = pipeline.train(spec)
    model = trained.model
    assert isinstance(model, Ensemble) and len(model.members) == 3 and trained.arch_config["members"] == 3
    assert len(trained.metrics["val_members"]) == 3
    x = torch.from_numpy(trained.example_feed["features"])
    with torch.no_grad():
        outs = [m(x) for m in model.members]
        expected = (torch.stack(outs).mean(0) if trained.problem == "regression"
                    else torch.stack([torch.log_softmax(o, -1) for o in outs]).mean(0))
        assert torch.allclose(model(x), expected, atol=1e-6)
        assert not torch.allclose(outs[0], outs[1])                          # different seeds, different members
    entry = pipeline.export(trained, f"ens-{dataset}")
    assert entry.card.arch_config["members"] == 3 and entry.card.parity_max_abs_diff <= 1e-4
    assert entry.card.history["part"] == "first-member"
    again = runs.load_run(runs.save_run(trained, tmp_path / "run"))
    with torch.no_grad():
        assert torch.allclose(again.model(x), model(x), atol=1e-6)


def test_an_ensemble_needs_a_small_whole_number_of_members(tmp_registry):
    for bad in (0, 17, 2.5, "3"):
        with pytest.raises(TrainingError, match="An ensemble has 1 to 16 members"):
            pipeline.train(TrainSpec("breast-cancer", "mlp", quick(), options=dict(ensemble=bad)))


@pytest.mark.parametrize("freeze", [True, False])
def test_wide_first_trains_the_ngram_bag_alone_then_keeps_or_tunes_it(tmp_registry, freeze):
    opts = dict(vocab_size=200, hidden=16, layers=1, heads=2, intermediate=32, max_length=12, ngram_buckets=101,
                ngram_order=3, wide_first=dict(epochs=30, lr=3e-2, l2=0.01, freeze=freeze))
    snapshot = {}

    def before_main_stage(trainer):                  # called after the wide stage, before the joint one
        snapshot.update({k: v.clone() for k, v in trainer.model.ngrams.state_dict().items()})

    trained = pipeline.train(TrainSpec("toy", "tiny-bert", quick(epochs=2), options=opts), data=_toy_reviews(),
                             on_trainer=before_main_stage)
    bag = trained.model.ngrams
    assert snapshot["unigram.weight"].abs().sum() > 0                        # the wide stage trained (init is 0)
    same = all(torch.equal(v, bag.state_dict()[k]) for k, v in snapshot.items())
    assert same == freeze                                                     # frozen: the joint stage left it alone
    assert all(p.requires_grad for p in trained.model.parameters())          # nothing stays frozen after training
    assert trained.metrics["val"]["accuracy"] >= 0.8                       # the majority class alone is 0.67
    with pytest.raises(TrainingError, match="wide_first needs a wide-and-deep model"):
        pipeline.train(TrainSpec("toy", "tiny-bert", quick(), options=dict(opts, ngram_buckets=0)),
                       data=_toy_reviews())


def test_late_fusion_trains_the_two_halves_apart_and_averages_their_log_probabilities(tmp_registry):
    """ngram_fusion='late': the bag is trained alone and kept; the transformer is then trained
    exactly as if there were no bag (same weights as a plain run with the same seed); the model
    answers the mean of the two halves' log-probabilities, and exports with parity."""
    opts = dict(vocab_size=200, hidden=16, layers=1, heads=2, intermediate=32, max_length=12, ngram_buckets=101,
                wide_first=dict(epochs=30, lr=3e-2, l2=0.01), ngram_fusion="late")
    snapshot = {}

    def before_main_stage(trainer):                  # called after the wide stage, before the transformer's
        snapshot.update({k: v.clone() for k, v in trainer.model.model.ngrams.state_dict().items()})

    trained = pipeline.train(TrainSpec("toy", "tiny-bert", quick(epochs=2), options=opts), data=_toy_reviews(),
                             on_trainer=before_main_stage)
    plain = pipeline.train(TrainSpec("toy", "tiny-bert", quick(epochs=2),
                                     options={k: v for k, v in opts.items()
                                              if k not in ("ngram_buckets", "wide_first", "ngram_fusion")}),
                           data=_toy_reviews())
    model = trained.model.eval()
    assert trained.arch_config["ngram_fusion"] == "late"
    assert snapshot["unigram.weight"].abs().sum() > 0                        # the wide stage trained (init is 0)
    assert all(torch.equal(v, model.ngrams.state_dict()[k]) for k, v in snapshot.items())   # and then kept
    for name, p in plain.model.bert.state_dict().items():                    # the transformer never saw the bag
        assert torch.allclose(p, model.bert.state_dict()[name], atol=1e-6), name
    ids = torch.randint(0, model.bert.config.vocab_size, (5, 12), generator=torch.Generator().manual_seed(0))
    mask = torch.ones_like(ids)
    with torch.no_grad():
        expected = 0.5 * (torch.log_softmax(model.transformer_logits(ids, mask), -1)
                          + torch.log_softmax(model.ngrams(ids, mask), -1))
        assert torch.allclose(model(ids, mask), expected, atol=1e-6)
    entry = pipeline.export(trained, "late-toy")
    assert entry.card.parity_max_abs_diff <= 1e-4
    assert entry.card.history["part"] == "transformer"                   # its epochs are the transformer's own
    rebuilt = runs.load_run(runs.save_run(trained, tmp_registry / "run")).model.eval()
    with torch.no_grad():
        assert torch.allclose(rebuilt(ids, mask), model(ids, mask), atol=1e-6)


@pytest.mark.parametrize("bad", [dict(ngram_fusion="late"), dict(ngram_fusion="product", wide_first=dict(epochs=1)),
                                 dict(ngram_fusion="late", wide_first=dict(epochs=1), ngram_buckets=0),
                                 dict(ngram_fusion="late", wide_first=dict(epochs=1), transfer=dict(epochs=1))])
def test_late_fusion_needs_a_bag_a_wide_stage_no_transfer_and_a_known_name(tmp_registry, bad):
    opts = dict(dict(vocab_size=200, hidden=16, layers=1, heads=2, intermediate=32, max_length=12, ngram_buckets=101),
                **bad)
    with pytest.raises(TrainingError, match="ngram_fusion"):
        pipeline.train(TrainSpec("toy", "tiny-bert", quick(), options=opts), data=_toy_reviews())
