"""Chapter 1, Sec. 2 of the paper: why full whitening was rejected, in numbers.

Whitening a layer of d features over a batch of m examples needs the d x d
covariance, its inverse square root, and gradients through both; per-feature
BN needs d means and d variances. The functions below count what each couples
and show that the batch covariance is singular whenever m <= d.
:func:`summarize_transform` gathers the numbers the transform's chapter states.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def jacobian_entries_batchnorm(m: int, d: int) -> int:
    """Nonzero entries of d(outputs)/d(inputs) for per-feature BN: d blocks of m x m."""
    return d * m * m


def jacobian_entries_whitening(m: int, d: int) -> int:
    """Entries of d(outputs)/d(inputs) for full whitening: dense (m d) x (m d)."""
    return (m * d) ** 2


def covariance_parameters(d: int) -> int:
    """Distinct entries of a d x d covariance matrix, d (d + 1) / 2, all estimated per batch."""
    return d * (d + 1) // 2


def batch_covariance_rank(x: np.ndarray) -> int:
    """Numerical rank of the biased batch covariance of ``x`` (shape m x d).

    Centering removes one direction, so the rank is at most min(m - 1, d): with
    m <= d the covariance cannot be inverted, and Cov^{-1/2} needs an eps-ridge.
    """
    centered = x - x.mean(axis=0, keepdims=True)
    cov = centered.T @ centered / x.shape[0]
    return int(np.linalg.matrix_rank(cov))


# --- the numbers the transform's chapter states ------------------------------------------------

@dataclass(frozen=True)
class TransformSummary:
    """Every number the chapter on BN's transform glues (``tr-`` + field, hyphens for underscores).

    ``shrink``: ``sigma^2_B / (sigma^2_B + eps)``, the factor by which eps shrinks the output
    variance, for the chapter's batch of 16 values of standard deviation 0.05 and ``eps = 1e-3``.
    ``ex3_var``: the batch variance at which ``eps = 1e-5`` moves ``rho`` by 0.1 %
    (``rho^2 = 1.001^2``); ``bound_unit`` and ``bound_small``: the bound ``sqrt(1 + eps /
    sigma^2) - 1`` on ``rho - 1`` at ``sigma^2 = 1`` and ``1e-4``. ``wh_rank``: the rank of the
    batch covariance of ``m = 32`` Gaussian examples of ``d = 512`` features; ``wh_ratio``: how
    many times more Jacobian entries whitening couples than BN at that size.
    """

    shrink: float
    ex3_var: float
    bound_unit: float
    bound_small: float
    wh_rank: int
    wh_ratio: int


def summarize_transform(eps_torch: float = 1e-5, m: int = 32, d: int = 512) -> TransformSummary:
    """The :class:`TransformSummary`: the shrink factor of the chapter's batch (seed 0), the bounds for
    PyTorch's ``eps_torch``, and whitening's cost for ``m`` examples of ``d`` features (seed 1)."""
    x = 0.05 * np.random.default_rng(0).standard_normal((16, 1))
    eps = 1e-3
    var = float(x.var())
    rank = batch_covariance_rank(np.random.default_rng(1).standard_normal((m, d)))
    return TransformSummary(
        shrink=var / (var + eps),
        ex3_var=eps_torch / (1.001 ** 2 - 1),
        bound_unit=float(np.sqrt(1 + eps_torch / 1.0) - 1),
        bound_small=float(np.sqrt(1 + eps_torch / 1e-4) - 1),
        wh_rank=rank,
        wh_ratio=jacobian_entries_whitening(m, d) // jacobian_entries_batchnorm(m, d))
