"""The maths behind the concepts page, each formula checked against PyTorch.

Activations and their derivatives against torch.autograd (and torch.nn.functional),
losses against torch.nn.functional (plus the worked example's exact numbers),
the 2-D optimiser paths against torch.optim, the hand-written backprop of the
3-4-2 network against autograd, the attention calculator against
scaled_dot_product_attention, and the tiny BERT's attention maps.
"""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from bigmodel_core.teach import activations as act
from bigmodel_core.teach import attention, backprop, losses, optim2d

XS = np.concatenate([np.linspace(-6, 6, 49), [-0.3, 0.0001, 0.7, 2.5]])


def autograd_value_and_slope(fn, xs):
    x = torch.tensor(xs, dtype=torch.float64, requires_grad=True)
    y = fn(x)
    (slope,) = torch.autograd.grad(y.sum(), x)
    return y.detach().numpy(), slope.numpy()


# ============================================================================ activations

@pytest.mark.parametrize("name, torch_fn", [
    ("sigmoid", torch.sigmoid),
    ("tanh", torch.tanh),
    ("relu", torch.relu),
    ("gelu", lambda x: F.gelu(x, approximate="none")),
])
def test_activation_values_and_derivatives_match_autograd(name, torch_fn):
    f, df = act.ACTIVATIONS[name]
    value, slope = autograd_value_and_slope(torch_fn, XS)
    np.testing.assert_allclose(f(XS), value, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(df(XS), slope, rtol=1e-9, atol=1e-12)


def test_sigmoid_does_not_overflow_and_tangent_touches_the_curve():
    assert act.sigmoid(-1000.0) == 0.0 and act.sigmoid(1000.0) == 1.0
    tan = act.tangent("sigmoid", 0.0, [-1.0, 0.0, 1.0])
    assert tan["y0"] == pytest.approx(0.5) and tan["slope"] == pytest.approx(0.25)
    np.testing.assert_allclose(tan["line"], [0.25, 0.5, 0.75])
    curve = act.curve("gelu", -3, 3, 7)
    np.testing.assert_allclose(curve["x"], [-3, -2, -1, 0, 1, 2, 3])


@pytest.mark.parametrize("temperature", [0.25, 1.0, 3.0])
def test_softmax_with_temperature_and_its_jacobian_match_torch(temperature):
    z = np.array([2.0, 1.0, 0.1, -1.5])
    p = act.softmax(z, temperature)
    torch_p = F.softmax(torch.tensor(z) / temperature, dim=-1).numpy()
    np.testing.assert_allclose(p, torch_p, rtol=1e-12)
    assert p.sum() == pytest.approx(1.0)
    jac = torch.autograd.functional.jacobian(lambda v: F.softmax(v / temperature, dim=-1), torch.tensor(z))
    np.testing.assert_allclose(act.softmax_jacobian(z, temperature), jac.numpy(), atol=1e-12)


def test_softmax_temperature_sharpens_and_flattens_and_survives_huge_logits():
    z = [3.0, 1.0, 0.0]
    assert act.softmax(z, 0.2).max() > act.softmax(z, 1.0).max() > act.softmax(z, 5.0).max()
    np.testing.assert_allclose(act.softmax([1000.0, 0.0]), [1.0, 0.0])
    with pytest.raises(ValueError):
        act.softmax(z, 0.0)


# ============================================================================ losses

def test_worked_example_numbers_are_right():
    ex = losses.example()
    assert ex["mse"] == pytest.approx(0.01, abs=1e-15)                 # mean of 0.1² and 0.1²
    assert ex["ce"] == pytest.approx(-math.log(0.9), abs=1e-15)        # 0.10536…
    assert round(ex["ce"], 3) == 0.105 and ex["ce"] > 0
    np.testing.assert_allclose(ex["squared"], [0.01, 0.01])


def test_mse_and_cross_entropy_match_torch():
    y, p = torch.tensor([1.0, 0.0], dtype=torch.float64), torch.tensor([0.9, 0.1], dtype=torch.float64)
    assert losses.mse(y.numpy(), p.numpy()) == pytest.approx(F.mse_loss(p, y).item(), abs=1e-15)
    assert losses.cross_entropy(y.numpy(), p.numpy()) == pytest.approx(
        F.nll_loss(torch.log(p)[None], torch.tensor([0])).item(), abs=1e-15)
    rng = np.random.default_rng(1)
    for _ in range(20):
        logits = rng.normal(0, 2, 5)
        target = rng.integers(5)
        probs = act.softmax(logits)
        onehot = np.eye(5)[target]
        expected = F.cross_entropy(torch.tensor(logits)[None], torch.tensor([target])).item()
        ce = losses.cross_entropy(onehot, probs)
        assert ce == pytest.approx(expected, rel=1e-10)
        assert ce >= 0                                                 # −ln p ≥ 0 because p ≤ 1
        soft = rng.dirichlet(np.ones(5))
        assert losses.cross_entropy(soft, probs) == pytest.approx(
            F.cross_entropy(torch.tensor(logits)[None], torch.tensor(soft)[None]).item(), rel=1e-10)
        a, b = rng.normal(size=5), rng.normal(size=5)
        assert losses.mse(a, b) == pytest.approx(F.mse_loss(torch.tensor(b), torch.tensor(a)).item(), rel=1e-12)


def test_binary_curves_are_the_losses_of_the_two_class_example():
    curves = losses.binary_curves(11)
    assert (curves["ce"] >= 0).all() and (np.diff(curves["ce"]) < 0).all()
    for q, m, c in zip(curves["q"], curves["mse"], curves["ce"], strict=False):
        assert losses.mse([1, 0], [q, 1 - q]) == pytest.approx(m)
        assert losses.cross_entropy([1, 0], [q, 1 - q]) == pytest.approx(c)
    assert losses.binary_losses(0.9) == pytest.approx({"mse": 0.01, "ce": -math.log(0.9)})
    with pytest.raises(ValueError):
        losses.cross_entropy([1, 0], [1.2, -0.2])


# ============================================================================ optimisers on 2-D surfaces

def torch_path(surface, start, make_optimizer, steps):
    theta = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    opt = make_optimizer([theta])
    points = [theta.detach().clone().numpy()]
    for _ in range(steps):
        opt.zero_grad()
        surface.f(theta[0], theta[1]).backward()
        opt.step()
        points.append(theta.detach().clone().numpy())
    return np.array(points)


@pytest.mark.parametrize("name", list(optim2d.SURFACES))
def test_surface_gradients_match_autograd(name):
    surface = optim2d.SURFACES[name]
    for x, y in [(0.3, -0.7), (-1.2, 1.0), (2.0, 0.5)]:
        theta = torch.tensor([x, y], dtype=torch.float64, requires_grad=True)
        surface.f(theta[0], theta[1]).backward()
        np.testing.assert_allclose(surface.grad(x, y), theta.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize("name", list(optim2d.SURFACES))
@pytest.mark.parametrize("optimiser, make", [
    ("sgd", lambda lr: (lambda p: torch.optim.SGD(p, lr=lr))),
    ("momentum", lambda lr: (lambda p: torch.optim.SGD(p, lr=lr, momentum=0.9))),
    ("adam", lambda lr: (lambda p: torch.optim.Adam(p, lr=lr))),
])
def test_paths_match_torch_optim(name, optimiser, make):
    surface = optim2d.SURFACES[name]
    lr = surface.lr if optimiser != "adam" else 0.05
    start, steps = surface.starts[0], 60
    ours = optim2d.run(optimiser, surface, start, lr, steps)
    assert not ours.diverged and ours.steps == steps
    np.testing.assert_allclose(ours.points, torch_path(surface, start, make(lr), steps), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ours.losses, [surface.f(*p) for p in ours.points])


def test_adam_uses_bias_correction_first_step_is_lr_sized():
    # with bias correction, Adam's first step moves every coordinate by ≈ lr whatever the gradient's size
    path = optim2d.run("adam", "valley", (-4.5, 2.0), 0.1, 1)
    np.testing.assert_allclose(np.abs(path.points[1] - path.points[0]), [0.1, 0.1], rtol=1e-6)


def test_a_too_large_learning_rate_diverges_and_stops():
    path = optim2d.run("sgd", "rosenbrock", (-1.2, 1.0), 0.5, 100)
    assert path.diverged and path.steps < 100 and np.isfinite(path.points).all()
    assert optim2d.grid(optim2d.SURFACES["bowl"], 5)["z"].shape == (5, 5)


# ============================================================================ backprop of the 3-4-2 network

def autograd_gradients(params, x, y):
    t = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in params.items()}
    xt, yt = torch.tensor(x, dtype=torch.float64), torch.tensor(y, dtype=torch.float64)
    z1 = t["W1"] @ xt + t["b1"]
    z1.retain_grad()
    a1 = torch.sigmoid(z1)
    a1.retain_grad()
    z2 = t["W2"] @ a1 + t["b2"]
    z2.retain_grad()
    loss = -(yt * F.log_softmax(z2, dim=-1)).sum()
    loss.backward()
    grads = {k: v.grad.numpy() for k, v in t.items()}
    grads.update(z1=z1.grad.numpy(), a1=a1.grad.numpy(), z2=z2.grad.numpy())
    return loss.item(), grads


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_backprop_gradients_match_autograd(seed):
    ex = backprop.default_example(seed)
    rng = np.random.default_rng(seed)
    params = {k: ex[k] + (rng.normal(0, 0.3, ex[k].shape) if k.startswith("b") else 0) for k in backprop.PARAMS}
    x = rng.normal(0, 1, 3) if seed else ex["x"]
    y = [np.array([1.0, 0.0]), np.array([0.0, 1.0]), np.array([0.3, 0.7])][seed]
    fwd = backprop.forward(params, x, y)
    loss, expected = autograd_gradients(params, x, y)
    assert fwd["loss"] == pytest.approx(loss, rel=1e-12) and fwd["loss"] > 0
    ours = backprop.backward(params, fwd)
    assert set(ours) == {"z2", "W2", "b2", "a1", "z1", "W1", "b1"}
    for name, grad in ours.items():
        np.testing.assert_allclose(grad, expected[name], rtol=1e-10, atol=1e-14, err_msg=name)
        assert grad.shape == np.shape(expected[name])
    assert backprop.gradient_check(params, x, y) < 1e-7


def test_one_gradient_step_lowers_the_loss():
    ex = backprop.default_example()
    params = {k: ex[k] for k in backprop.PARAMS}
    fwd = backprop.forward(params, ex["x"], ex["y"])
    stepped = backprop.sgd_update(params, backprop.backward(params, fwd), 0.5)
    assert backprop.forward(stepped, ex["x"], ex["y"])["loss"] < fwd["loss"]
    assert ex["W1"].shape == (4, 3) and ex["W2"].shape == (2, 4)


# ============================================================================ attention

@pytest.mark.parametrize("sentence, d", [(attention.EXAMPLE_SENTENCE, 4), ("the cat sat on the mat", 6), ("hi", 2)])
def test_attention_calculator_matches_sdpa(sentence, d):
    toks = attention.tokens(sentence)
    X = attention.embed(toks, d)
    W = attention.default_weights(d)
    res = attention.self_attention(X, W["Wq"], W["Wk"], W["Wv"])
    q, k, v = (torch.tensor(res[n])[None] for n in ("Q", "K", "V"))
    np.testing.assert_allclose(res["out"], F.scaled_dot_product_attention(q, k, v)[0].numpy(), atol=1e-12)
    np.testing.assert_allclose(res["Q"], X @ W["Wq"])
    np.testing.assert_allclose(res["scaled"], res["scores"] / math.sqrt(d))
    np.testing.assert_allclose(res["weights"].sum(axis=1), 1.0)
    assert res["weights"].shape == (len(toks), len(toks)) and res["out"].shape == (len(toks), d)


def test_calculator_embeddings_are_fixed_per_token():
    assert attention.tokens(" 我  喜欢 吃 苹果 ") == ["我", "喜欢", "吃", "苹果"]
    a, b = attention.embed(["我", "吃"], 4), attention.embed(["吃", "我"], 4)
    np.testing.assert_array_equal(a[::-1], b)
    np.testing.assert_array_equal(attention.default_weights(4)["Wq"], attention.default_weights(4)["Wq"])


@pytest.fixture(scope="module")
def tiny():
    folder = attention.tiny_model_folder()
    if not (folder / "weights.safetensors").exists():
        pytest.skip(f"{folder} is missing (build it with: python -m bigmodel_core build-defaults --only sst2-tiny)")
    return attention.load_text_model(folder)


def test_tiny_bert_attention_rows_sum_to_one(tiny):
    model, tokenizer, card = tiny
    res = attention.attention_maps(model, tokenizer, "a gripping, funny and touching film")
    layers, heads = card.arch_config["bert"]["num_hidden_layers"], card.arch_config["bert"]["num_attention_heads"]
    n = len(res["tokens"])
    assert res["tokens"][0] == "[CLS]" and res["tokens"][-1] == "[SEP]"
    assert res["maps"].shape == (layers, heads, n, n)
    np.testing.assert_allclose(res["maps"].sum(axis=-1), 1.0, atol=1e-5)
    assert (res["maps"] >= 0).all() and res["probs"].sum() == pytest.approx(1.0, abs=1e-5)


def test_tiny_bert_attention_view_predicts_what_the_predict_page_predicts(tiny):
    """The attention view's verdict comes from the whole model (n-gram bag included), so it
    matches what ONNX Runtime answers on the predict page for the same sentence."""
    from bigmodel_core.serve.runtime import Predictor

    _, tokenizer, card = tiny
    pred = Predictor(attention.tiny_model_folder(), card, device="cpu")
    for text in ("a gripping, funny and touching film", "a dull, lifeless and overlong mess"):
        res = attention.attention_maps(tiny[0], tokenizer, text)
        np.testing.assert_allclose(res["probs"], pred.raw([text])[0], atol=1e-4)


def test_missing_model_folder_is_a_clear_model_error(tmp_path):
    from bigmodel_core.errors import ModelError

    with pytest.raises(ModelError, match="weights.safetensors"):
        attention.load_text_model(tmp_path / "sst2-tiny")
