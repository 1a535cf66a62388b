"""The neural-network playground: toy data, training, L2, URL sharing (core), and the page under AppTest."""
import copy

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from bigmodel_core.teach import playground as P
from tests import helpers
from tests.helpers import EN, ZH
from tests.helpers import metric_value as shown

PAGE = "pages/playground.py"


# ----------------------------------------------------------------------------- data

@pytest.mark.parametrize("name", P.CLASSIFICATION)
def test_classification_sets_have_two_dims_balanced_01_labels_and_repeat_per_seed(name):
    x, y = P.make_dataset(name, n=120, noise=0.2, seed=3)
    assert x.shape == (120, 2) and y.shape == (120,)
    assert x.dtype == np.float32 and y.dtype == np.float32
    assert set(np.unique(y)) == {0.0, 1.0} and y.sum() == 60
    assert np.abs(x).max() < 3
    again = P.make_dataset(name, n=120, noise=0.2, seed=3)
    assert np.array_equal(x, again[0]) and np.array_equal(y, again[1])
    other_seed = P.make_dataset(name, n=120, noise=0.2, seed=4)[0]
    noisier = P.make_dataset(name, n=120, noise=0.6, seed=3)[0]
    assert not np.allclose(x, noisier)
    if name != "spirals":                          # a clean spiral is the same curve for any seed
        assert not np.allclose(x, other_seed)


def test_the_labels_follow_each_datasets_rule_without_noise():
    x, y = P.make_dataset("circles", n=200, noise=0.0)
    radius = np.linalg.norm(x, axis=1)
    assert np.all(radius[y == 1] <= 0.5 + 1e-6) and np.all(radius[y == 0] >= 0.7 - 1e-6)
    x, y = P.make_dataset("xor", n=200, noise=0.0)
    assert np.array_equal(y, (x[:, 0] * x[:, 1] > 0).astype(np.float32))
    x, y = P.make_dataset("gaussian", n=200, noise=0.0)
    assert x[y == 1].mean(axis=0) == pytest.approx([0.5, 0.5], abs=0.05)
    assert x[y == 0].mean(axis=0) == pytest.approx([-0.5, -0.5], abs=0.05)
    x, y = P.make_dataset("spirals", n=200, noise=0.0)
    assert np.allclose(x[y == 1], -x[y == 0], atol=1e-6)        # the second spiral is the first turned by 180°


def test_regression_is_the_seed_example_y_2x_plus_noise():
    x, y = P.make_dataset("regression", noise=1.0, seed=1)
    assert x.shape == (100, 1) and y.shape == (100,)            # np.random.rand(100), as in the seed article
    assert x.min() >= 0 and x.max() < 1
    residual = y - 2 * x[:, 0]
    assert residual.min() >= 0 and residual.max() < 1.0         # + np.random.rand(100)
    clean_x, clean_y = P.make_dataset("regression", noise=0.0, seed=1)
    assert np.allclose(clean_y, 2 * clean_x[:, 0])
    assert not np.allclose(y, P.make_dataset("regression", noise=0.5, seed=1)[1])


def test_unknown_names_are_refused():
    with pytest.raises(ValueError, match="moons"):
        P.make_dataset("moons")
    with pytest.raises(ValueError, match="gelu"):
        P.build_mlp(2, 1, 4, "gelu")


@pytest.mark.parametrize("pct", [10, 30, 50, 80, 90])
def test_split_sizes_follow_the_slider_and_keep_every_point_once(pct):
    x, y = P.make_dataset("circles", n=200, seed=0)
    x_tr, y_tr, x_te, y_te = P.split(x, y, pct, seed=0)
    assert len(x_tr) == len(y_tr) == 2 * pct and len(x_te) == len(y_te) == 200 - 2 * pct
    together = np.concatenate([x_tr, x_te])
    assert sorted(map(tuple, together.tolist())) == sorted(map(tuple, x.tolist()))
    assert np.array_equal(P.split(x, y, pct, seed=0)[0], x_tr)
    pg = P.Playground(P.Config(train_pct=pct))
    assert len(pg.x_train) == 2 * pct and len(pg.x_test) == 200 - 2 * pct


# ----------------------------------------------------------------------------- model and training

def test_mlp_shape_follows_layers_width_and_activation():
    model = P.build_mlp(2, 3, 5, "relu")
    linears = [m for m in model if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(2, 5), (5, 5), (5, 5), (5, 1)]
    assert sum(isinstance(m, torch.nn.ReLU) for m in model) == 3
    assert P.count_parameters(model) == (2 * 5 + 5) + 2 * (5 * 5 + 5) + (5 + 1)
    linear = P.build_mlp(1, 0, 8)
    assert len(linear) == 1 and linear[0].in_features == 1
    assert model(torch.zeros(7, 2)).shape == (7, 1)


def test_the_same_seed_starts_from_the_same_weights_and_leaves_the_global_rng_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    a = P.Playground(P.Config(seed=5))
    assert torch.equal(torch.rand(3), expected)
    b = P.Playground(P.Config(seed=5))
    c = P.Playground(P.Config(seed=6))
    assert all(torch.equal(p, q) for p, q in zip(a.model.parameters(), b.model.parameters(), strict=False))
    assert not torch.equal(a.model[0].weight, c.model[0].weight)


def test_xor_with_tanh_2x8_learns_to_over_90_percent_in_a_few_hundred_epochs():
    pg = P.Playground(P.Config(dataset="xor", layers=2, width=8, activation="tanh", lr=0.03, noise=0.2))
    start = pg.latest
    assert start["epoch"] == 0 and 0.3 < start["train_acc"] < 0.7           # a coin toss before training
    for _ in range(20):
        row = pg.step(10)
    assert row["epoch"] == pg.epoch == 200 and len(pg.history) == 21
    assert row["train_loss"] < 0.2 * start["train_loss"]
    assert row["train_acc"] > 0.95 and row["test_acc"] > 0.9


def test_circles_loss_falls_and_the_boundary_separates_the_classes():
    pg = P.Playground(P.Config(dataset="circles", layers=1, width=6, activation="relu", lr=0.03))
    losses = [pg.step(25)["train_loss"] for _ in range(8)]
    assert losses[-1] < losses[0] < pg.history[0]["train_loss"]
    assert pg.latest["test_acc"] > 0.9
    xs, ys, probs = P.grid_predictions(pg.model, resolution=41)
    assert probs.shape == (41, 41) and len(xs) == len(ys) == 41
    assert probs.min() >= 0 and probs.max() <= 1
    assert probs[20, 20] > 0.9                      # the centre is the inner disc (class 1) …
    assert probs[0, 0] < 0.1 and probs[-1, -1] < 0.1   # … the corners are outside the ring


def test_xor_is_out_of_reach_for_a_linear_model():
    pg = P.Playground(P.Config(dataset="xor", layers=0, lr=0.03))
    for _ in range(20):
        pg.step(10)
    assert pg.latest["train_acc"] < 0.75


def test_regression_with_a_linear_model_learns_slope_2():
    pg = P.Playground(P.Config(dataset="regression", layers=0, lr=0.1, noise=0.2, train_pct=80))
    for _ in range(40):
        pg.step(10)
    slope, intercept = pg.line()
    assert slope == pytest.approx(2.0, abs=0.1)
    assert intercept == pytest.approx(0.1, abs=0.05)          # the mean of 0.2 · rand(): the noise is not centred
    # … and it is the least-squares line of the training points, found by gradient descent
    ls_slope, ls_intercept = np.polyfit(pg.x_train[:, 0].numpy(), pg.y_train.numpy(), 1)
    assert (slope, intercept) == pytest.approx((ls_slope, ls_intercept), abs=1e-3)
    assert "train_acc" not in pg.latest and pg.latest["train_loss"] < 0.2 ** 2 / 12 * 1.3     # ≈ var(0.2 · rand())
    xs, pred = P.grid_predictions(pg.model, regression=True, resolution=11)
    assert np.allclose(pred, slope * xs + intercept, atol=1e-5)
    assert P.Playground(P.Config(dataset="regression", layers=2)).line() is None


# ----------------------------------------------------------------------------- L2

def test_l2_penalty_is_half_reg_times_the_squared_weights_computed_by_hand():
    model = P.build_mlp(2, 2, 3)
    reg = 0.3
    by_hand = 0.0
    for module in model:
        if isinstance(module, torch.nn.Linear):
            w = module.weight.detach().numpy().astype(np.float64)
            by_hand += (w ** 2).sum()                  # biases are not penalised
    assert P.l2_penalty(model, reg).item() == pytest.approx(reg / 2 * by_hand, rel=1e-6)
    P.l2_penalty(model, reg).backward()
    for module in model:
        if isinstance(module, torch.nn.Linear):
            assert torch.allclose(module.weight.grad, reg * module.weight)
            assert module.bias.grad is None


def test_weight_decay_in_the_optimizer_is_the_gradient_of_the_l2_penalty():
    """One Adam step with weight_decay=reg equals one plain Adam step on data loss + l2_penalty."""
    torch.manual_seed(0)
    x, y = torch.randn(32, 2), (torch.rand(32) > 0.5).float()
    loss_fn = torch.nn.BCEWithLogitsLoss()
    reg, lr = 0.5, 0.01
    decayed = P.build_mlp(2, 1, 4)
    by_penalty = copy.deepcopy(decayed)
    untouched = copy.deepcopy(decayed)

    opt = P.make_optimizer(decayed, lr, reg)
    for _ in range(3):
        opt.zero_grad()
        loss_fn(decayed(x).squeeze(1), y).backward()
        opt.step()

    plain = torch.optim.Adam(by_penalty.parameters(), lr=lr)
    for _ in range(3):
        plain.zero_grad()
        (loss_fn(by_penalty(x).squeeze(1), y) + P.l2_penalty(by_penalty, reg)).backward()
        plain.step()

    for a, b, c in zip(decayed.parameters(), by_penalty.parameters(), untouched.parameters(), strict=False):
        assert torch.allclose(a, b, atol=1e-6)
        assert not torch.equal(a, c)
    # with reg = 0 the decayed run would be different: the term really acts
    no_reg = copy.deepcopy(untouched)
    opt = P.make_optimizer(no_reg, lr, 0.0)
    for _ in range(3):
        opt.zero_grad()
        loss_fn(no_reg(x).squeeze(1), y).backward()
        opt.step()
    assert not torch.allclose(no_reg[0].weight, decayed[0].weight, atol=1e-6)


def test_strong_l2_keeps_weights_small_and_is_reported():
    free = P.Playground(P.Config(dataset="xor", layers=1, width=8, reg=0.0))
    tied = P.Playground(P.Config(dataset="xor", layers=1, width=8, reg=0.3))
    for _ in range(20):
        free.step(10), tied.step(10)
    norm = lambda pg: sum(float((w.detach() ** 2).sum()) for w in P.weights(pg.model))  # noqa: E731
    assert norm(tied) < 0.5 * norm(free)
    assert tied.latest["l2"] == pytest.approx(0.3 / 2 * norm(tied), rel=1e-5)
    assert free.latest["l2"] == 0


# ----------------------------------------------------------------------------- sharing

def test_query_params_round_trip():
    config = P.Config(dataset="spirals", noise=0.35, train_pct=70, layers=4, width=7, activation="relu",
                      lr=0.003, reg=0.01, seed=42)
    params = P.to_query_params(config)
    assert params == {"dataset": "spirals", "noise": "0.35", "split": "70", "layers": "4", "width": "7",
                      "activation": "relu", "lr": "0.003", "reg": "0.01", "seed": "42"}
    assert P.from_query_params(params) == config
    assert P.from_query_params({}) == P.Config()
    assert P.from_query_params(P.to_query_params(P.Config())) == P.Config()


def test_bad_query_params_fall_back_or_are_clamped():
    config = P.from_query_params({"dataset": "moons", "noise": "7", "split": "abc", "layers": "99", "width": "0",
                                  "activation": "swish", "lr": "0.02", "reg": "nan", "seed": ["1", "2"],
                                  "lang": "zh"})
    assert config == P.Config(dataset="circles", noise=1.0, train_pct=50, layers=P.MAX_LAYERS, width=1,
                              activation="tanh", lr=0.03, reg=0.0, seed=2)


# ----------------------------------------------------------------------------- the page (AppTest)

def open_page(lang: str = "en", params: dict | None = None) -> AppTest:
    return helpers.open_page(PAGE, lang, params=params)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_page_runs_and_stepping_makes_the_shown_loss_fall(lang):
    tab = EN if lang == "en" else ZH
    at = open_page(lang)
    assert tab["nav.playground"] in at.title[0].value
    assert at.selectbox(key="pg_dataset").value == "circles"
    assert len(at.get("plotly_chart")) == 2                                 # boundary and loss curves
    assert shown(at, tab["playground.epoch"]) == "0"
    losses = [float(shown(at, tab["playground.train_loss"]))]
    for _ in range(4):
        at.button(key="pg_step").click().run()
        assert not at.exception, [e.value for e in at.exception]
        losses.append(float(shown(at, tab["playground.train_loss"])))
    assert shown(at, tab["playground.epoch"]) == "40"
    assert losses == sorted(losses, reverse=True) and losses[-1] < losses[0] - 0.05, losses
    # reset starts again from the same weights
    at.button(key="pg_reset").click().run()
    assert shown(at, tab["playground.epoch"]) == "0" and float(shown(at, tab["playground.train_loss"])) == losses[0]


def test_play_trains_on_every_run_and_pause_stops():
    at = open_page()
    assert at.button(key="pg_play").label == EN["playground.play"]
    at.button(key="pg_play").click().run()
    assert at.button(key="pg_play").label == EN["playground.pause"]
    first = int(shown(at, EN["playground.epoch"]))
    at.run()                                                      # what a fragment tick does
    assert int(shown(at, EN["playground.epoch"])) > first
    at.button(key="pg_play").click().run()
    assert at.button(key="pg_play").label == EN["playground.play"]
    paused = shown(at, EN["playground.epoch"])
    at.run()
    assert shown(at, EN["playground.epoch"]) == paused
    # one ▶ Play runs a few thousand epochs at most, then pauses by itself and says so
    at.button(key="pg_play").click().run()
    at.session_state["pg_play_from"] = -5000
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.button(key="pg_play").label == EN["playground.play"]
    assert any(EN["playground.flash.max_epochs"].split("{")[0] in w.value for w in at.warning)


def test_query_params_set_the_widgets_and_widgets_update_them():
    params = {"dataset": "xor", "noise": "0.1", "split": "70", "layers": "3", "width": "6", "activation": "relu",
              "lr": "0.01", "reg": "0.001", "seed": "7"}
    at = open_page("zh", params)
    values = {key: at.session_state[key] for key in ("pg_dataset", "pg_noise", "pg_split", "pg_layers", "pg_width",
                                                     "pg_activation", "pg_lr", "pg_reg", "pg_seed")}
    assert values == {"pg_dataset": "xor", "pg_noise": 0.1, "pg_split": 70, "pg_layers": 3, "pg_width": 6,
                      "pg_activation": "relu", "pg_lr": 0.01, "pg_reg": 0.001, "pg_seed": 7}
    assert at.selectbox(key="pg_dataset").value == "xor"
    assert at.number_input(key="pg_layers").value == 3
    assert at.slider(key="pg_split").value == 70
    assert at.session_state["pg_state"].config == P.from_query_params(params)
    assert len(at.session_state["pg_state"].x_train) == 140
    # changing a widget rewrites the URL and starts a new network
    at.selectbox(key="pg_dataset").set_value("regression").run()
    at.number_input(key="pg_layers").set_value(0).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.query_params["dataset"] == "regression" and at.query_params["layers"] == "0"
    assert at.query_params["seed"] == "7" and at.query_params["split"] == "70"
    assert any(m.label == ZH["playground.fitted_line"] for m in at.metric)
    # a new link opened in the same session wins over the widgets' current values
    at.query_params.update({"dataset": "spirals", "width": "5"})
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.selectbox(key="pg_dataset").value == "spirals" and at.number_input(key="pg_width").value == 5
    assert at.number_input(key="pg_layers").value == 0 and at.session_state["pg_state"].config.dataset == "spirals"
