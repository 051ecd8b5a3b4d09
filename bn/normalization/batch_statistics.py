"""The sampling distribution of a mini-batch's mean and biased variance.

For ``m`` independent draws from ``N(mu, sigma^2)`` (Cochran's theorem):

- ``mu_B ~ N(mu, sigma^2 / m)``,
- ``m * var_B / sigma^2 ~ chi^2_{m-1}``, so ``E[var_B] = (m - 1) / m * sigma^2`` and
  ``Var[var_B] = 2 (m - 1) / m^2 * sigma^4``,
- and ``mu_B``, ``var_B`` are independent.

``var_B`` is the *biased* variance (divide by m) that BN normalizes with.
The functions here give these exact values and draw the statistics by
simulation, so that the book can compare the two.
"""

from __future__ import annotations

import math
import numbers

import numpy as np


def _check_batch_size(m: int) -> int:
    if isinstance(m, bool) or not isinstance(m, numbers.Integral):
        raise TypeError(f"batch size m must be an integer, got {type(m).__name__}")
    if m < 2:
        raise ValueError(f"batch size m must be >= 2 (one value has no variance), got {m}")
    return int(m)


def _check_sigma(sigma: float) -> float:
    sigma = float(sigma)
    if not np.isfinite(sigma) or sigma <= 0:
        raise ValueError(f"sigma must be a finite number > 0, got {sigma!r}")
    return sigma


def gaussian_batch_mean_moments(m: int, mu: float = 0.0, sigma: float = 1.0) -> tuple[float, float]:
    """``(E[mu_B], Var[mu_B]) = (mu, sigma^2 / m)`` for ``m`` i.i.d. ``N(mu, sigma^2)`` values."""
    m = _check_batch_size(m)
    sigma = _check_sigma(sigma)
    return float(mu), sigma**2 / m


def gaussian_batch_var_moments(m: int, sigma: float = 1.0) -> tuple[float, float]:
    """``(E[var_B], Var[var_B])`` of the biased batch variance of ``m`` i.i.d. ``N(mu, sigma^2)`` values.

    ``((m - 1) / m * sigma^2, 2 (m - 1) / m^2 * sigma^4)``, from
    ``m var_B / sigma^2 ~ chi^2_{m-1}`` (mean ``m - 1``, variance ``2 (m - 1)``).
    """
    m = _check_batch_size(m)
    sigma = _check_sigma(sigma)
    return (m - 1) / m * sigma**2, 2 * (m - 1) / m**2 * sigma**4


def gaussian_batch_var_density(v: np.ndarray, m: int, sigma: float = 1.0) -> np.ndarray:
    """Probability density of ``var_B`` at ``v`` (0 for ``v <= 0``): a scaled chi-square with ``m - 1`` dof.

    With ``k = m - 1`` and ``u = m v / sigma^2``:
    ``p(v) = (m / sigma^2) * u^(k/2 - 1) e^(-u/2) / (2^(k/2) Gamma(k/2))``.
    """
    m = _check_batch_size(m)
    sigma = _check_sigma(sigma)
    v = np.asarray(v, dtype=np.float64)
    k = m - 1
    scale = m / sigma**2
    u = np.where(v > 0, scale * v, 1.0)
    # In logs: Gamma(k/2) and u^(k/2) overflow for the batch sizes of a real network.
    log_pdf = ((k / 2 - 1) * np.log(u) - u / 2 - (k / 2) * math.log(2.0) - math.lgamma(k / 2)
               + math.log(scale))
    return np.where(v > 0, np.exp(log_pdf), 0.0)


def sample_batch_statistics(rng: np.random.Generator, m: int, trials: int, mu: float = 0.0,
                            sigma: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``trials`` batches of ``m`` values from ``N(mu, sigma^2)``; return their ``(mu_B, var_B)``.

    Both arrays have shape ``(trials,)``; ``var_B`` is biased (divides by m), as BN's.
    """
    m = _check_batch_size(m)
    sigma = _check_sigma(sigma)
    if isinstance(trials, bool) or not isinstance(trials, numbers.Integral) or trials < 1:
        raise ValueError(f"trials must be a positive integer, got {trials!r}")
    batches = rng.normal(mu, sigma, size=(int(trials), m))
    return batches.mean(axis=1), batches.var(axis=1)
