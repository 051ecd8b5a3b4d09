"""A toy model in which BN's scale invariance makes ||W|| grow under plain SGD.

Model: a linear layer without bias, x = u W^T (W is k x d), followed by BN with
gamma = 1, beta = 0; loss = (1/2m) sum_i ||BN(x)_i - z_i||^2 against the
normalized features z of a fixed teacher W* plus Gaussian noise (so that the
gradient never vanishes and the norm keeps moving). The loss depends on W only
through the direction of each row, so its gradient is orthogonal to each row
(proven in :mod:`bn.symbolic.scale_invariance`) and every SGD step adds
eta^2 ||grad||^2 to ||W||^2. With weight decay the norm instead settles where
the decay balances that growth.

At that equilibrium the relative update per step is fixed by the optimizer
alone: for SGD with heavy-ball momentum mu and coupled weight decay lambda
(``torch.optim.SGD(momentum=mu, weight_decay=lambda)``, ``nesterov=False``),
``E||W_{t+1} - W_t||^2 = 2 eta lambda / (1 + mu) E||W_t||^2``
(:func:`equilibrium_angular_update`; :func:`window_update_identity` gives the
exact finite-window form that the toy, run with ``momentum``, obeys).

Pure NumPy on top of :mod:`bn.functional`; everything is seeded.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from bn.functional import BatchNormCache, batch_norm_backward, batch_norm_forward


@dataclass(frozen=True)
class ToyConfig:
    """Sizes and optimizer settings of the toy run."""

    n_examples: int = 512
    in_features: int = 10
    out_features: int = 4
    batch_size: int = 32
    steps: int = 300
    lr: float = 0.5
    weight_decay: float = 0.0
    init_norm: float = 1.0
    target_noise: float = 0.5
    eps: float = 1e-5
    seed: int = 0
    momentum: float = 0.0


@dataclass
class ScaleHistory:
    """Per-step records; entry t describes the weights *before* step t (t = 0..steps)."""

    weight_norm: list[float] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    grad_norm: list[float] = field(default_factory=list)
    cosine: list[float] = field(default_factory=list)
    norm_increment_residual: list[float] = field(default_factory=list)
    update_sq: list[float] = field(default_factory=list)
    angle: list[float] = field(default_factory=list)

    def as_arrays(self) -> dict[str, np.ndarray]:
        """Every record as a float64 array."""
        return {k: np.asarray(v, dtype=np.float64) for k, v in self.__dict__.items()}


def make_problem(cfg: ToyConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Seeded inputs u (n x d), teacher W* (k x d) and the student's initial W with ||W||_F = init_norm."""
    rng = np.random.default_rng(cfg.seed)
    u = rng.standard_normal((cfg.n_examples, cfg.in_features))
    teacher = rng.standard_normal((cfg.out_features, cfg.in_features))
    w0 = rng.standard_normal((cfg.out_features, cfg.in_features))
    return u, teacher, w0 * (cfg.init_norm / np.linalg.norm(w0))


def normalized_features(u: np.ndarray, w: np.ndarray, eps: float) -> tuple[np.ndarray, BatchNormCache]:
    """BN(u W^T) with gamma = 1, beta = 0, and the cache for the backward pass."""
    k = w.shape[0]
    return batch_norm_forward(u @ w.T, np.ones(k), np.zeros(k), eps)


def loss_and_gradient(u: np.ndarray, w: np.ndarray, target: np.ndarray, eps: float) -> tuple[float, np.ndarray]:
    """The toy loss on one batch and its gradient with respect to W (chain rule through BN)."""
    y, cache = normalized_features(u, w, eps)
    m = u.shape[0]
    residual = y - target
    loss = 0.5 * float(np.sum(residual**2)) / m
    dx, _, _ = batch_norm_backward(residual / m, cache)
    return loss, dx.T @ u


def sgd_step(w: np.ndarray, grad: np.ndarray, lr: float, weight_decay: float) -> np.ndarray:
    """Plain SGD with optional L2 weight decay: W - lr (grad + wd W)."""
    return w - lr * (grad + weight_decay * w)


def momentum_step(w: np.ndarray, velocity: np.ndarray, grad: np.ndarray, lr: float, weight_decay: float,
                  momentum: float) -> tuple[np.ndarray, np.ndarray]:
    """One step of ``torch.optim.SGD`` (heavy ball, no dampening, coupled decay): ``(W', v')``.

    ``v' = momentum v + grad + wd W`` and ``W' = W - lr v'``; with ``momentum = 0``
    and ``v = 0`` this is :func:`sgd_step`.
    """
    velocity = momentum * velocity + grad + weight_decay * w
    return w - lr * velocity, velocity


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    """<a, b> / (||a|| ||b||), the Frobenius cosine (0 when either is 0)."""
    denom = np.linalg.norm(a) * np.linalg.norm(b)
    return float(np.sum(a * b) / denom) if denom > 0 else 0.0


def run_toy(cfg: ToyConfig = ToyConfig()) -> ScaleHistory:
    """Train the toy model for ``cfg.steps`` SGD steps on seeded mini-batches; record the norms."""
    u, teacher, w = make_problem(cfg)
    rng = np.random.default_rng(cfg.seed + 1)
    hist = ScaleHistory()
    velocity = np.zeros_like(w)
    for _ in range(cfg.steps):
        idx = rng.choice(cfg.n_examples, size=cfg.batch_size, replace=False)
        target, _ = normalized_features(u[idx], teacher, cfg.eps)
        target = target + cfg.target_noise * rng.standard_normal(target.shape)
        loss, grad = loss_and_gradient(u[idx], w, target, cfg.eps)
        w_next, velocity = momentum_step(w, velocity, grad, cfg.lr, cfg.weight_decay, cfg.momentum)
        # Without weight decay or momentum, orthogonality makes this exactly 0 at eps = 0.
        increment = np.sum(w_next**2) - np.sum(w**2) - cfg.lr**2 * np.sum(grad**2)
        hist.weight_norm.append(float(np.linalg.norm(w)))
        hist.loss.append(loss)
        hist.grad_norm.append(float(np.linalg.norm(grad)))
        hist.cosine.append(cosine(w, grad))
        hist.norm_increment_residual.append(float(increment))
        hist.update_sq.append(float(np.sum((w_next - w) ** 2)))
        hist.angle.append(angle_between(w, w_next))
        w = w_next
    hist.weight_norm.append(float(np.linalg.norm(w)))
    return hist


def effective_learning_rate(lr: float, weight_norm: np.ndarray) -> np.ndarray:
    """eta / ||W||^2, the step size felt by the direction W/||W||."""
    return lr / np.asarray(weight_norm) ** 2


def angle_between(a: np.ndarray, b: np.ndarray) -> float:
    """The angle (radians) between ``a`` and ``b`` as flat vectors.

    Computed as ``2 atan2(||a^ - b^||, ||a^ + b^||)`` on the unit vectors, which
    stays accurate for the tiny angles of one SGD step, where ``arccos`` of a
    cosine near 1 loses half the digits.
    """
    a, b = np.ravel(a).astype(np.float64), np.ravel(b).astype(np.float64)
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if na == 0 or nb == 0:
        raise ValueError("the angle to a zero vector is undefined")
    ua, ub = a / na, b / nb
    return float(2.0 * np.arctan2(np.linalg.norm(ua - ub), np.linalg.norm(ua + ub)))


def equilibrium_angular_update(lr: float, weight_decay: float, momentum: float = 0.0) -> float:
    """sqrt(2 eta lambda / (1 + mu)): the root-mean-square relative update at equilibrium.

    For a scale-invariant weight (gradient orthogonal to W) trained by
    ``torch.optim.SGD`` with heavy-ball momentum ``mu`` and coupled weight decay
    ``lambda``, a stationary ``||W||`` forces ``E||dW||^2 = 2 eta lambda / (1 + mu) E||W||^2``
    (see :func:`window_update_identity`); for steps this small the angle per step
    equals ``||dW|| / ||W||`` up to a relative ``O(angle^2)``. It does not hold for
    Nesterov momentum, whose update also carries the previous step's gradient.
    """
    if lr < 0 or weight_decay < 0 or not 0 <= momentum < 1:
        raise ValueError("need lr >= 0, weight_decay >= 0 and 0 <= momentum < 1")
    return float(np.sqrt(2.0 * lr * weight_decay / (1.0 + momentum)))


def window_update_identity(norm_sq: np.ndarray, update_sq: np.ndarray, lr: float, weight_decay: float,
                           momentum: float) -> tuple[float, float]:
    """Both sides of the exact balance of ``||W||^2`` over a run of heavy-ball steps: ``(lhs, rhs)``.

    ``norm_sq[t] = ||W_t||^2`` for t = 0..T and ``update_sq[t] = ||W_{t+1} - W_t||^2``
    for t = 0..T-1, from a run that starts with zero velocity. With ``c_t = <W_t, dW_t>``,
    orthogonality of the gradient gives ``c_t = mu (c_{t-1} + D_{t-1}) - eta lambda A_t``
    and the norm obeys ``A_{t+1} - A_t = 2 c_t + D_t``. Summed over the run,

        lhs = (1 + mu) sum_t D_t
        rhs = 2 eta lambda sum_t A_t + (1 - mu) (A_T - A_0) + 2 mu c_{T-1} + 2 mu D_{T-1}

    holds exactly, whatever the gradients are; when ``||W||`` is stationary the
    boundary terms are ``O(A)`` against sums ``O(T A)``, which is
    :func:`equilibrium_angular_update`. Here ``c_{T-1} = (A_T - A_{T-1} - D_{T-1}) / 2``.
    """
    a = np.asarray(norm_sq, dtype=np.float64)
    d = np.asarray(update_sq, dtype=np.float64)
    if a.shape != (len(d) + 1,) or len(d) == 0:
        raise ValueError("need norm_sq of length T + 1 and update_sq of length T >= 1")
    c_last = (a[-1] - a[-2] - d[-1]) / 2
    lhs = (1 + momentum) * float(d.sum())
    rhs = (2 * lr * weight_decay * float(a[:-1].sum()) + (1 - momentum) * (a[-1] - a[0])
           + 2 * momentum * (c_last + d[-1]))
    return lhs, float(rhs)


@dataclass(frozen=True)
class ToyBalance:
    """The toy run's check of the norm balance and of its equilibrium (:func:`toy_balance`).

    The run's settings: ``steps``, ``lr``, ``wd`` (weight decay) and ``mu`` (heavy-ball
    momentum). ``gap``: the relative gap between the two sides of
    :func:`window_update_identity` over the whole run, rounded to two significant digits (it is
    rounding error, whose further digits depend on the machine). Over the second half of the
    run: ``ratio``, the root-mean-square relative update over :func:`equilibrium_angular_update`,
    ``angle`` the mean angle per step over it, ``plain`` the same update over the plain-SGD
    formula ``sqrt(2 eta lambda)``. ``tau``: the relaxation time ``(1 - mu) / (4 eta lambda)``
    in steps.
    """

    steps: int
    lr: float
    wd: float
    mu: float
    gap: float
    ratio: float
    angle: float
    plain: float
    tau: float


def toy_balance(cfg: ToyConfig) -> ToyBalance:
    """Run the toy with ``cfg`` (weight decay and momentum > 0) and compare it with the balance."""
    if cfg.weight_decay <= 0:
        raise ValueError("the balance has an equilibrium only with weight decay > 0")
    h = run_toy(cfg).as_arrays()
    a, d = h["weight_norm"] ** 2, h["update_sq"]
    lhs, rhs = window_update_identity(a, d, cfg.lr, cfg.weight_decay, cfg.momentum)
    predicted = equilibrium_angular_update(cfg.lr, cfg.weight_decay, cfg.momentum)
    half = cfg.steps // 2
    rms = float(np.sqrt(d[half:].mean() / a[half:-1].mean()))
    angle = float(h["angle"][half:].mean())
    return ToyBalance(steps=cfg.steps, lr=cfg.lr, wd=cfg.weight_decay, mu=cfg.momentum,
                      gap=float(f"{abs(lhs - rhs) / lhs:.2g}"), ratio=rms / predicted,
                      angle=angle / predicted,
                      plain=rms / equilibrium_angular_update(cfg.lr, cfg.weight_decay),
                      tau=(1 - cfg.momentum) / (4 * cfg.lr * cfg.weight_decay))
