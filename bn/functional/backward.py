"""The compact closed-form BN backward pass.

With m values per channel, ``g = dL/dy`` and ``x_hat`` the normalized input,

    dbeta  = sum g
    dgamma = sum g * x_hat
    dx     = gamma / (m * sqrt(var + eps)) * (m * g - dbeta - x_hat * dgamma)

(sums per channel over the batch and spatial axes), the formula derived in the
derivation part of the book.
"""

from __future__ import annotations

import numpy as np

from bn.functional.forward import BatchNormCache
from bn.functional.validation import as_inexact_array, check_finite


def check_upstream_gradient(dy: np.ndarray, cache: BatchNormCache) -> np.ndarray:
    """``dy`` as an array of the forward output's shape, inexact dtype and finite values.

    Also a TypeError if ``cache`` is not the :class:`BatchNormCache` of a forward pass.
    """
    if not isinstance(cache, BatchNormCache):
        raise TypeError(f"cache must be the BatchNormCache returned by batch_norm_forward, "
                        f"got {type(cache).__name__}")
    dy = as_inexact_array(dy, "dy")
    if dy.shape != cache.x.shape:
        raise ValueError(f"dy must have the shape of the forward input {cache.x.shape}, got {dy.shape}")
    check_finite(dy, "dy")
    return dy


def _channel_sum(a: np.ndarray, cache: BatchNormCache) -> np.ndarray:
    return a.sum(axis=cache.axes, keepdims=True)


def batch_norm_backward(dy: np.ndarray,
                        cache: BatchNormCache) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients ``(dx, dgamma, dbeta)`` of training-mode BN by the compact closed form.

    Args:
        dy: upstream gradient ``dL/dy``, the shape of the forward input.
        cache: the cache returned by :func:`batch_norm_forward`.

    Returns:
        ``dx`` with the shape of ``x``; ``dgamma`` and ``dbeta`` of shape ``(C,)``;
        all in the result dtype of ``dy`` and the forward computation.
    """
    return compact_gradients(check_upstream_gradient(dy, cache), cache)


def compact_gradients(
    dy: np.ndarray, cache: BatchNormCache
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The arithmetic of :func:`batch_norm_backward` without input checks.

    Exposed so that tools can run the bare formula (counting its array
    passes, for instance); callers must pass a ``dy`` of the input's shape.
    """
    dbeta = _channel_sum(dy, cache)
    dgamma = _channel_sum(dy * cache.x_hat, cache)
    m = cache.m
    # Same formula as the docstring's, with 1/m taken inside: forming m * dy
    # first overflows float16 for large m (m * |dy| > 65504).
    dx = (cache.gamma * cache.inv_std) * (
        dy - dbeta / m - cache.x_hat * (dgamma / m))
    return dx, dgamma.reshape(-1), dbeta.reshape(-1)
