"""Eval-mode BN: normalize with the running statistics, a fixed affine map per channel."""

from __future__ import annotations

import numpy as np

from bn.functional.layout import as_channel_column
from bn.functional.validation import check_inference_inputs


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
        TypeError: as :func:`bn.functional.batch_norm_forward`.
        ValueError: as :func:`bn.functional.batch_norm_forward`, and if
            ``running_var + eps <= 0``.
    """
    x, gamma, beta, running_mean, running_var, eps, dtype = check_inference_inputs(
        x, gamma, beta, running_mean, running_var, eps)
    # Fold to one scale and one shift per channel: two passes over x, not four.
    scale = gamma.astype(dtype) / np.sqrt(running_var.astype(dtype) + dtype.type(eps))
    shift = beta.astype(dtype) - running_mean.astype(dtype) * scale
    y = x.astype(dtype, copy=False) * as_channel_column(scale, x.ndim) + as_channel_column(shift, x.ndim)
    return y.astype(dtype, copy=False)
