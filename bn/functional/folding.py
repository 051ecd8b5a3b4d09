"""Folding an eval-mode BN into the linear or convolution layer before it.

In eval mode BN is the affine map ``y = s * z + (beta - s * running_mean)``
with ``s = gamma / sqrt(running_var + eps)`` per output channel of the layer
``z = W x + b``. Composing the two gives one layer with ``W' = s * W`` (each
output row/filter scaled) and ``b' = s * (b - running_mean) + beta``.
"""

from __future__ import annotations

import numpy as np

from bn.functional.validation import (as_inexact_array, check_channel_vector, check_eps,
                                      check_finite, check_running_var)


def fold_batch_norm(weight: np.ndarray, bias: np.ndarray | None, gamma: np.ndarray,
                    beta: np.ndarray, running_mean: np.ndarray, running_var: np.ndarray,
                    eps: float = 1e-5) -> tuple[np.ndarray, np.ndarray]:
    """Weight and bias of one layer equal to (layer followed by eval-mode BN).

    Args:
        weight: ``(out, in)`` for a linear layer or ``(out, in, kh, kw)`` (any
            rank >= 2 with output channels first) for a convolution.
        bias: the layer's bias ``(out,)``, or None for a layer without one.
        gamma, beta, running_mean, running_var: the BN's parameters and
            statistics, shape ``(out,)``.
        eps: the BN's variance floor, > 0.

    Returns:
        ``(weight, bias)``: the folded weight with the shape of ``weight`` and a
        bias of shape ``(out,)`` (always present: BN adds a shift), in the
        result dtype of the inputs.
    """
    weight = as_inexact_array(weight, "weight")
    if weight.ndim < 2:
        raise ValueError(f"weight must have shape (out, in) or (out, in, *kernel), got {weight.shape}")
    check_finite(weight, "weight")
    out = weight.shape[0]
    gamma = check_channel_vector(gamma, "gamma", out)
    beta = check_channel_vector(beta, "beta", out)
    running_mean = check_channel_vector(running_mean, "running_mean", out)
    running_var = check_channel_vector(running_var, "running_var", out)
    arrays = [weight, gamma, beta, running_mean, running_var]
    if bias is not None:
        bias = check_channel_vector(bias, "bias", out)
        arrays.append(bias)
    eps = check_eps(eps)
    check_running_var(running_var, eps)

    dtype = np.result_type(*arrays)
    scale = gamma.astype(dtype) / np.sqrt(running_var.astype(dtype) + dtype.type(eps))
    folded_weight = weight.astype(dtype) * scale.reshape((out,) + (1,) * (weight.ndim - 1))
    old_bias = bias.astype(dtype) if bias is not None else np.zeros(out, dtype=dtype)
    folded_bias = scale * (old_bias - running_mean.astype(dtype)) + beta.astype(dtype)
    return folded_weight, folded_bias.astype(dtype, copy=False)
