"""Gradient-descent optimisers on 2-D loss surfaces, so their paths can be drawn over a contour plot.

Surfaces (θ = (x, y)):

    bowl        f = x² + y²                          round, one minimum at (0, 0)
    valley      f = 0.1·x² + 2·y²                    elongated: steep across, shallow along
    rosenbrock  f = (1 − x)² + 100·(y − x²)²         curved narrow valley, minimum at (1, 1)

Update rules, with g_t = ∇f(θ_{t−1}) and learning rate η:

    SGD        θ_t = θ_{t−1} − η · g_t
    momentum   v_t = μ · v_{t−1} + g_t ;  θ_t = θ_{t−1} − η · v_t          (PyTorch's form, v_0 = 0)
    Adam       m_t = β1 · m_{t−1} + (1 − β1) · g_t
               v_t = β2 · v_{t−1} + (1 − β2) · g_t²
               m̂_t = m_t / (1 − β1^t) ;  v̂_t = v_t / (1 − β2^t)           (bias correction)
               θ_t = θ_{t−1} − η · m̂_t / (√v̂_t + ε)

All are the same as torch.optim.SGD / SGD(momentum=μ) / Adam with default settings.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike

DIVERGED_AT = 1e6           # |θ| beyond this counts as diverged; the path stops there


# ----------------------------------------------------------------------------- surfaces

def bowl(x: ArrayLike, y: ArrayLike) -> np.ndarray:
    return x ** 2 + y ** 2


def bowl_grad(x: float, y: float) -> np.ndarray:
    return np.array([2 * x, 2 * y])


def valley(x: ArrayLike, y: ArrayLike) -> np.ndarray:
    return 0.1 * x ** 2 + 2 * y ** 2


def valley_grad(x: float, y: float) -> np.ndarray:
    return np.array([0.2 * x, 4 * y])


def rosenbrock(x: ArrayLike, y: ArrayLike) -> np.ndarray:
    return (1 - x) ** 2 + 100 * (y - x ** 2) ** 2


def rosenbrock_grad(x: float, y: float) -> np.ndarray:
    return np.array([-2 * (1 - x) - 400 * x * (y - x ** 2), 200 * (y - x ** 2)])


@dataclass(frozen=True)
class Surface:
    name: str
    f: callable                        # f(x, y) → loss; works on floats, numpy arrays and torch tensors
    grad: callable                     # grad(x, y) → np.array([∂f/∂x, ∂f/∂y])
    x_range: tuple
    y_range: tuple
    minimum: tuple
    starts: tuple                      # suggested start points
    lr: float                          # a learning rate that works for SGD here
    log_contours: bool = False         # Rosenbrock spans many orders of magnitude


SURFACES = {
    "bowl": Surface("bowl", bowl, bowl_grad, (-3, 3), (-3, 3), (0.0, 0.0),
                    ((2.5, 2.0), (-2.5, 1.0), (0.5, -2.8)), 0.1),
    "valley": Surface("valley", valley, valley_grad, (-5, 5), (-2.5, 2.5), (0.0, 0.0),
                      ((-4.5, 2.0), (4.0, -1.0), (-1.0, 2.2)), 0.1),
    "rosenbrock": Surface("rosenbrock", rosenbrock, rosenbrock_grad, (-2, 2), (-1, 3), (1.0, 1.0),
                          ((-1.2, 1.0), (-1.5, 2.5), (0.0, 0.0)), 0.001, log_contours=True),
}


def grid(surface: Surface, points: int = 120) -> dict:
    """x [P], y [P] and the loss z [P, P] (rows follow y) for a contour plot."""
    xs = np.linspace(*surface.x_range, points)
    ys = np.linspace(*surface.y_range, points)
    X, Y = np.meshgrid(xs, ys)                           # [P, P] each
    return {"x": xs, "y": ys, "z": surface.f(X, Y)}


# ----------------------------------------------------------------------------- optimisers (one step each)

def sgd_step(theta: np.ndarray, g: np.ndarray, state: dict, lr: float) -> np.ndarray:
    return theta - lr * g


def momentum_step(theta: np.ndarray, g: np.ndarray, state: dict, lr: float, mu: float = 0.9) -> np.ndarray:
    state["v"] = mu * state.get("v", 0.0) + g            # running sum of past gradients, decayed by μ
    return theta - lr * state["v"]


def adam_step(theta: np.ndarray, g: np.ndarray, state: dict, lr: float, beta1: float = 0.9, beta2: float = 0.999,
              eps: float = 1e-8) -> np.ndarray:
    t = state["t"] = state.get("t", 0) + 1
    state["m"] = beta1 * state.get("m", 0.0) + (1 - beta1) * g          # 1st moment: mean of g
    state["v"] = beta2 * state.get("v", 0.0) + (1 - beta2) * g ** 2     # 2nd moment: mean of g²
    m_hat = state["m"] / (1 - beta1 ** t)                                # bias correction: m, v start at 0
    v_hat = state["v"] / (1 - beta2 ** t)
    return theta - lr * m_hat / (np.sqrt(v_hat) + eps)


OPTIMISERS = {"sgd": sgd_step, "momentum": momentum_step, "adam": adam_step}


@dataclass
class Path:
    optimiser: str
    points: np.ndarray                 # [steps + 1, 2], the start first
    losses: np.ndarray                 # [steps + 1]
    diverged: bool = False
    settings: dict = field(default_factory=dict)

    @property
    def steps(self) -> int:
        return len(self.points) - 1


def run(optimiser: str, surface: Surface | str, start: tuple[float, float], lr: float, steps: int,
        **settings: float) -> Path:
    """Take `steps` steps of `optimiser` from `start`; stop early if the point runs off to infinity."""
    surface = SURFACES[surface] if isinstance(surface, str) else surface
    step = OPTIMISERS[optimiser]
    theta = np.asarray(start, dtype=float)               # [2]
    state: dict = {}
    points, diverged = [theta], False
    for _ in range(steps):
        g = surface.grad(*theta)                         # [2]
        theta = step(theta, g, state, lr, **settings)
        if not np.all(np.isfinite(theta)) or np.abs(theta).max() > DIVERGED_AT:
            diverged = True
            break
        points.append(theta)
    points = np.array(points)                            # [k + 1, 2]
    return Path(optimiser, points, surface.f(points[:, 0], points[:, 1]), diverged, dict(settings, lr=lr))


def run_all(surface: Surface | str, start: tuple[float, float], lr: float, steps: int) -> dict[str, Path]:
    return {name: run(name, surface, start, lr, steps) for name in OPTIMISERS}
