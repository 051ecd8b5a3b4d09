"""A toy model in which BN's scale invariance makes ||W|| grow under plain SGD.

Model: a linear layer without bias, x = u W^T (W is k x d), followed by BN with
gamma = 1, beta = 0; loss = (1/2m) sum_i ||BN(x)_i - z_i||^2 against the
normalized features z of a fixed teacher W* plus Gaussian noise (so that the
gradient never vanishes and the norm keeps moving). The loss depends on W only
through the direction of each row, so its gradient is orthogonal to each row
(proven in :mod:`bn.symbolic.scale_invariance`) and every SGD step adds
eta^2 ||grad||^2 to ||W||^2. With weight decay the norm instead settles where
the decay balances that growth.

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


@dataclass
class ScaleHistory:
    """Per-step records; entry t describes the weights *before* step t (t = 0..steps)."""

    weight_norm: list[float] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    grad_norm: list[float] = field(default_factory=list)
    cosine: list[float] = field(default_factory=list)
    norm_increment_residual: list[float] = field(default_factory=list)

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


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    """<a, b> / (||a|| ||b||), the Frobenius cosine (0 when either is 0)."""
    denom = np.linalg.norm(a) * np.linalg.norm(b)
    return float(np.sum(a * b) / denom) if denom > 0 else 0.0


def run_toy(cfg: ToyConfig = ToyConfig()) -> ScaleHistory:
    """Train the toy model for ``cfg.steps`` SGD steps on seeded mini-batches; record the norms."""
    u, teacher, w = make_problem(cfg)
    rng = np.random.default_rng(cfg.seed + 1)
    hist = ScaleHistory()
    for _ in range(cfg.steps):
        idx = rng.choice(cfg.n_examples, size=cfg.batch_size, replace=False)
        target, _ = normalized_features(u[idx], teacher, cfg.eps)
        target = target + cfg.target_noise * rng.standard_normal(target.shape)
        loss, grad = loss_and_gradient(u[idx], w, target, cfg.eps)
        w_next = sgd_step(w, grad, cfg.lr, cfg.weight_decay)
        # Without weight decay, orthogonality makes this exactly 0 at eps = 0.
        increment = np.sum(w_next**2) - np.sum(w**2) - cfg.lr**2 * np.sum(grad**2)
        hist.weight_norm.append(float(np.linalg.norm(w)))
        hist.loss.append(loss)
        hist.grad_norm.append(float(np.linalg.norm(grad)))
        hist.cosine.append(cosine(w, grad))
        hist.norm_increment_residual.append(float(increment))
        w = w_next
    hist.weight_norm.append(float(np.linalg.norm(w)))
    return hist


def effective_learning_rate(lr: float, weight_norm: np.ndarray) -> np.ndarray:
    """eta / ||W||^2, the step size felt by the direction W/||W||."""
    return lr / np.asarray(weight_norm) ** 2
