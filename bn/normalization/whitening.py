"""Chapter 1, Sec. 2 of the paper: why full whitening was rejected, in numbers.

Whitening a layer of d features over a batch of m examples needs the d x d
covariance, its inverse square root, and gradients through both; per-feature
BN needs d means and d variances. The functions below count what each couples
and show that the batch covariance is singular whenever m <= d.
"""

from __future__ import annotations

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
