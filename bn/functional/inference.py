"""Eval-mode BN: normalize with the running statistics, a fixed affine map per channel."""

from __future__ import annotations

import numpy as np

from bn.functional.layout import as_channel_column
from bn.functional.validation import (check_batch_input, check_channel_vector, check_eps,
                                      check_running_var)


def batch_norm_inference(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray,
                         running_mean: np.ndarray, running_var: np.ndarray,
                         eps: float = 1e-5) -> np.ndarray:
    """Eval-mode BN: ``gamma * (x - running_mean) / sqrt(running_var + eps) + beta``.

    No batch statistics are used, so a batch of one is fine.

    Args:
        x: input ``(N, C)`` or ``(N, C, *spatial)``.
        gamma, beta: scale and shift, shape ``(C,)``.
        running_mean, running_var: the population estimates, shape ``(C,)``.
        eps: variance floor, > 0.

    Returns:
        ``y`` with the shape of ``x``, in the result dtype of all array inputs.

    Raises:
        TypeError / ValueError: as :func:`bn.functional.batch_norm_forward`, and
        ValueError if ``running_var + eps <= 0``.
    """
    x = check_batch_input(x)
    channels = x.shape[1]
    gamma = check_channel_vector(gamma, "gamma", channels)
    beta = check_channel_vector(beta, "beta", channels)
    running_mean = check_channel_vector(running_mean, "running_mean", channels)
    running_var = check_channel_vector(running_var, "running_var", channels)
    eps = check_eps(eps)
    check_running_var(running_var, eps)

    dtype = np.result_type(x, gamma, beta, running_mean, running_var)
    # Fold to one scale and one shift per channel: two passes over x, not four.
    scale = gamma.astype(dtype) / np.sqrt(running_var.astype(dtype) + dtype.type(eps))
    shift = beta.astype(dtype) - running_mean.astype(dtype) * scale
    y = x.astype(dtype, copy=False) * as_channel_column(scale, x.ndim) + as_channel_column(shift, x.ndim)
    return y.astype(dtype, copy=False)
