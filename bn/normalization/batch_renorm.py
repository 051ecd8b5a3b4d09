"""Batch Renormalization's forward pass (Ioffe, 2017, Algorithm 1), in NumPy.

Per channel, with batch statistics ``mu_B``, ``sigma_B = sqrt(var_B + eps)`` and
running statistics ``mu``, ``sigma = sqrt(running_var + eps)``:

    r = clip(sigma_B / sigma, 1 / r_max, r_max)
    d = clip((mu_B - mu) / sigma, -d_max, d_max)
    x_hat = (x - mu_B) / sigma_B * r + d
    y = gamma * x_hat + beta

In training ``r`` and ``d`` are constants for the gradient (``stop_gradient``
in the paper): the gradient flows through ``mu_B`` and ``sigma_B`` as in BN.
Without clipping, ``x_hat = (x - mu) / sigma`` exactly, the inference-mode
output; with ``r_max = 1, d_max = 0`` it is plain BN. The running statistics
are taken as ``running_var`` (not the paper's running ``sigma``) so that the
output can be compared with :func:`bn.functional.batch_norm_inference`
directly: both use ``sqrt(running_var + eps)``.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np

from bn.functional.forward import forward_arithmetic
from bn.functional.layout import as_channel_column
from bn.functional.validation import check_inference_inputs, check_training_batch


@dataclass(frozen=True)
class BatchRenormOutput:
    """What :func:`batch_renorm_forward` returns.

    Attributes:
        y: the output, the shape of ``x``.
        r: the clipped scale correction per channel, shape ``(C,)``.
        d: the clipped shift correction per channel, shape ``(C,)``.
        r_clipped: per channel, whether ``r`` hit a clipping bound.
        d_clipped: per channel, whether ``d`` hit a clipping bound.
    """

    y: np.ndarray
    r: np.ndarray
    d: np.ndarray
    r_clipped: np.ndarray
    d_clipped: np.ndarray


def _check_limit(value: float, name: str, lower: float) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    value = float(value)
    if not lower <= value or np.isnan(value):
        raise ValueError(f"{name} must be >= {lower}, got {value!r}")
    return value


def batch_renorm_forward(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray,
                         running_mean: np.ndarray, running_var: np.ndarray, r_max: float = 3.0,
                         d_max: float = 5.0, eps: float = 1e-5) -> BatchRenormOutput:
    """Training-mode Batch Renormalization forward pass; see the module docstring.

    Args:
        x: training batch ``(N, C)`` or ``(N, C, *spatial)``, at least 2 values per channel.
        gamma, beta: scale and shift, shape ``(C,)``.
        running_mean, running_var: the running statistics, shape ``(C,)``;
            ``sigma = sqrt(running_var + eps)``.
        r_max: clipping bound of ``r`` to ``[1/r_max, r_max]``, >= 1 (1: no scale correction).
        d_max: clipping bound of ``d`` to ``[-d_max, d_max]``, >= 0 (0: no shift
            correction). ``inf`` for either means no clipping.
        eps: variance floor, > 0.

    Returns:
        :class:`BatchRenormOutput` with ``y``, ``r``, ``d`` and which channels were clipped.

    Raises:
        TypeError / ValueError: as :func:`bn.functional.batch_norm_inference`,
        plus ``r_max < 1``, ``d_max < 0`` or fewer than 2 values per channel.
    """
    x, gamma, beta, running_mean, running_var, eps, dtype = check_inference_inputs(
        x, gamma, beta, running_mean, running_var, eps)
    check_training_batch(x)
    r_max = _check_limit(r_max, "r_max", 1.0)
    d_max = _check_limit(d_max, "d_max", 0.0)

    x = x.astype(dtype, copy=False)
    # BN's training forward (bn.functional) gives the batch statistics; only r and d are Batch Renorm's own.
    ones = np.ones(x.shape[1], dtype)
    _, cache = forward_arithmetic(x, ones, 0 * ones, eps)
    mean_b, std_b, centered = cache.mean.reshape(-1), cache.std.reshape(-1), cache.centered
    std_run = np.sqrt(running_var.astype(dtype) + dtype.type(eps))

    r_raw = std_b / std_run
    d_raw = (mean_b - running_mean.astype(dtype)) / std_run
    r = np.clip(r_raw, 1.0 / r_max, r_max).astype(dtype)
    d = np.clip(d_raw, -d_max, d_max).astype(dtype)

    x_hat = (centered / as_channel_column(std_b, x.ndim)
             * as_channel_column(r, x.ndim) + as_channel_column(d, x.ndim))
    y = as_channel_column(gamma.astype(dtype), x.ndim) * x_hat + as_channel_column(beta.astype(dtype), x.ndim)
    return BatchRenormOutput(y=y, r=r, d=d, r_clipped=r != r_raw, d_clipped=d != d_raw)
