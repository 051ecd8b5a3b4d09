"""Four ways to compute a per-channel variance, each carried out in a chosen dtype.

BN needs the batch variance of every channel. Mathematically the algorithms
below agree; in floating point they do not:

* ``one_pass_variance``: E[x^2] - E[x]^2. One sweep over the data, but the
  subtraction cancels catastrophically when ``|mean| >> std``: the relative error
  grows like eps * (mean/std)^2 (Higham 2002, sec. 1.9).
* ``two_pass_variance``: first the mean, then the mean of (x - mean)^2. The
  error is about eps, independent of the mean, at the price of a second sweep.
* ``welford_variance``: one sweep with a running mean and running sum of
  squared deviations (Welford 1962); as stable as two-pass.
* ``chan_variance``: (count, mean, M2) triples of blocks merged pairwise
  (Chan, Golub & LeVeque 1983); this is how parallel hardware (and PyTorch's
  kernels) combine partial results, and the pairwise tree keeps rounding
  error growing like log m rather than m.

Every function takes ``x`` of shape ``(N, C, *spatial)``, reduces over every axis
but 1, and performs all arithmetic in ``dtype`` (a NumPy floating dtype:
float16, float32 or float64); the result is the biased variance in ``dtype``.
Sums over axis 0 of the C-contiguous (m, C) layout used here are accumulated
row by row by NumPy, i.e. with one running accumulator per channel, which is
what a naive kernel does.
NumPy rounds each float16 operation to float16, so float16 results are those
of a float16 machine with a float16 accumulator.
"""

from __future__ import annotations

import numpy as np

__all__ = ["channels_last_2d", "one_pass_variance", "two_pass_variance", "welford_variance",
           "chan_combine", "chan_variance", "VARIANCE_ALGORITHMS"]


def channels_last_2d(x: np.ndarray, dtype: np.dtype | type = np.float32) -> np.ndarray:
    """``x`` ``(N, C, *spatial)`` as an (m, C) array in ``dtype``, m = N * prod(spatial)."""
    x = np.asarray(x)
    if x.ndim < 2:
        raise ValueError(f"expected (N, C, *spatial), got shape {x.shape}")
    moved = np.moveaxis(x, 1, -1)
    return np.ascontiguousarray(moved.reshape(-1, x.shape[1]), dtype=dtype)


def one_pass_variance(x: np.ndarray, dtype: np.dtype | type = np.float32) -> np.ndarray:
    """Biased variance per channel as E[x^2] - E[x]^2, all in ``dtype``."""
    a = channels_last_2d(x, dtype)
    m = a.dtype.type(a.shape[0])
    mean = a.sum(axis=0, dtype=a.dtype) / m
    mean_sq = (a * a).sum(axis=0, dtype=a.dtype) / m
    return (mean_sq - mean * mean).astype(dtype)


def two_pass_variance(x: np.ndarray, dtype: np.dtype | type = np.float32) -> np.ndarray:
    """Biased variance per channel as mean((x - mean)^2), all in ``dtype``."""
    a = channels_last_2d(x, dtype)
    m = a.dtype.type(a.shape[0])
    mean = a.sum(axis=0, dtype=a.dtype) / m
    d = a - mean
    return ((d * d).sum(axis=0, dtype=a.dtype) / m).astype(dtype)


def welford_variance(x: np.ndarray, dtype: np.dtype | type = np.float32) -> np.ndarray:
    """Biased variance per channel by Welford's one-sweep update, all in ``dtype``.

    For k = 1..m: delta = x_k - mean; mean += delta / k; M2 += delta * (x_k - mean).
    The loop runs over the m samples, vectorised over channels.
    """
    a = channels_last_2d(x, dtype)
    t = a.dtype.type
    mean = np.zeros(a.shape[1], dtype=a.dtype)
    m2 = np.zeros(a.shape[1], dtype=a.dtype)
    for k in range(a.shape[0]):
        delta = a[k] - mean
        mean = mean + delta / t(k + 1)
        m2 = m2 + delta * (a[k] - mean)
    return (m2 / t(a.shape[0])).astype(dtype)


def chan_combine(n_a: np.ndarray, mean_a: np.ndarray, m2_a: np.ndarray,
                 n_b: np.ndarray, mean_b: np.ndarray, m2_b: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Merge two partial results (count, mean, M2) into one (Chan, Golub & LeVeque 1983).

    n = n_a + n_b; delta = mean_b - mean_a; mean = mean_a + delta * n_b / n;
    M2 = M2_a + M2_b + delta^2 * n_a * n_b / n. Arithmetic happens in the
    dtype of the means; counts stay exact integers until they are scaled.
    """
    t = mean_a.dtype.type
    n = n_a + n_b
    delta = mean_b - mean_a
    frac_b = (n_b / n).astype(mean_a.dtype)
    mean = mean_a + delta * frac_b
    m2 = m2_a + m2_b + delta * delta * (n_a * frac_b).astype(mean_a.dtype)
    return n, mean, m2.astype(t)


def chan_variance(x: np.ndarray, dtype: np.dtype | type = np.float32) -> np.ndarray:
    """Biased variance per channel by merging single samples pairwise with ``chan_combine``.

    Level 0 holds one (1, x_k, 0) triple per sample; each level merges
    neighbours, so after ceil(log2 m) levels one triple remains. An odd
    trailing triple is carried up unchanged.
    """
    a = channels_last_2d(x, dtype)
    n = np.ones((a.shape[0], 1), dtype=np.int64)
    mean = a
    m2 = np.zeros_like(a)
    while mean.shape[0] > 1:
        even = mean.shape[0] // 2 * 2
        merged = chan_combine(n[0:even:2], mean[0:even:2], m2[0:even:2],
                              n[1:even:2], mean[1:even:2], m2[1:even:2])
        if even < mean.shape[0]:
            merged = tuple(np.concatenate([part, rest[even:]]) for part, rest in zip(merged, (n, mean, m2)))
        n, mean, m2 = merged
    return (m2[0] / a.dtype.type(n[0, 0])).astype(dtype)


VARIANCE_ALGORITHMS = {
    "one-pass": one_pass_variance,
    "two-pass": two_pass_variance,
    "welford": welford_variance,
    "chan": chan_variance,
}
