"""Training-mode BN forward pass, with the cache its backward passes need.

The forward pass is written as the computational graph of the derivation
chapter, one named node per line, so that the staged backward
(:mod:`bn.functional.backward_staged`) can walk the same nodes in reverse.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bn.functional.layout import as_channel_column, reduction_axes
from bn.functional.validation import check_training_inputs


@dataclass(frozen=True)
class BatchNormCache:
    """What the forward pass keeps for the backward pass (CS231n style, but named).

    Per-channel arrays have the broadcast shape ``(1, C, 1, ..., 1)``.

    Attributes:
        x: the input, shape ``(N, C, *spatial)``.
        gamma: the scale, broadcast shape.
        eps: the variance floor.
        mean: batch mean per channel.
        centered: ``x - mean``.
        var: biased batch variance per channel (divides by m = N * spatial size).
        std: ``sqrt(var + eps)``.
        inv_std: ``1 / std``.
        x_hat: the normalized input ``centered * inv_std``.
    """

    x: np.ndarray
    gamma: np.ndarray
    eps: float
    mean: np.ndarray
    centered: np.ndarray
    var: np.ndarray
    std: np.ndarray
    inv_std: np.ndarray
    x_hat: np.ndarray

    @property
    def axes(self) -> tuple[int, ...]:
        """The reduction axes (all but the channel axis)."""
        return reduction_axes(self.x.ndim)

    @property
    def m(self) -> int:
        """Values per channel: the ``m`` of the paper's formulas."""
        return self.x.size // self.x.shape[1]


def batch_norm_forward(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray,
                       eps: float = 1e-5) -> tuple[np.ndarray, BatchNormCache]:
    """Training-mode batch normalization; returns ``(y, cache)``.

    ``y = gamma * (x - mean) / sqrt(var + eps) + beta`` with the mean and the
    *biased* variance (divide by m, as PyTorch does in training) taken per
    channel (axis 1) over every other axis.

    Args:
        x: input of shape ``(N, C)`` or ``(N, C, *spatial)``; float16/32/64,
            or complex for complex-step differentiation.
        gamma: scale, shape ``(C,)``.
        beta: shift, shape ``(C,)``.
        eps: variance floor, > 0.

    Returns:
        ``y`` with the shape of ``x`` and the NumPy result dtype of
        ``x, gamma, beta`` (float32 inputs give float32), and the
        :class:`BatchNormCache` for :func:`batch_norm_backward`.

    Raises:
        TypeError: non-floating dtype, or ``eps`` not a real number.
        ValueError: rank < 2, ``gamma``/``beta`` not ``(C,)``, NaN/inf in an
            input, ``eps <= 0``, or fewer than 2 values per channel.
    """
    x, gamma, beta, eps, dtype = check_training_inputs(x, gamma, beta, eps)
    return forward_arithmetic(x.astype(dtype, copy=False), gamma.astype(dtype, copy=False),
                              beta.astype(dtype, copy=False), eps)


def forward_arithmetic(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray,
                       eps: float) -> tuple[np.ndarray, BatchNormCache]:
    """The arithmetic of :func:`batch_norm_forward` without input checks.

    ``x``, ``gamma`` (C,) and ``beta`` (C,) must already share one inexact
    dtype. Exposed so that tools can run the bare formula (counting its array
    passes, for instance).
    """
    axes = reduction_axes(x.ndim)
    gamma_b = as_channel_column(gamma, x.ndim)
    beta_b = as_channel_column(beta, x.ndim)

    mean = x.mean(axis=axes, keepdims=True)
    centered = x - mean
    # Two-pass variance of the centred values: x * x (not abs(x)**2) keeps it
    # analytic for complex-step checks.
    var = (centered * centered).mean(axis=axes, keepdims=True)
    std = np.sqrt(var + x.dtype.type(eps))
    inv_std = 1 / std
    x_hat = centered * inv_std
    y = gamma_b * x_hat + beta_b
    cache = BatchNormCache(x=x, gamma=gamma_b, eps=eps, mean=mean, centered=centered, var=var,
                           std=std, inv_std=inv_std, x_hat=x_hat)
    return y, cache
