"""The staged BN backward pass: the computational graph walked node by node.

The forward pass (:func:`bn.functional.forward.batch_norm_forward`) is the graph

    mean     = sum(x) / m
    centered = x - mean
    var      = sum(centered * centered) / m
    std      = sqrt(var + eps)
    inv_std  = 1 / std
    x_hat    = centered * inv_std
    y        = gamma * x_hat + beta

and each line below is the chain rule for one node, in reverse order. It is
slower than the compact form (more passes over memory) but every step can be
checked on its own; the book proves the two agree.
"""

from __future__ import annotations

import numpy as np

from bn.functional.backward import check_upstream_gradient
from bn.functional.forward import BatchNormCache


def batch_norm_backward_staged(dy: np.ndarray,
                               cache: BatchNormCache) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients ``(dx, dgamma, dbeta)`` of training-mode BN, one graph node at a time.

    Same contract as :func:`bn.functional.backward.batch_norm_backward`.
    """
    return staged_gradients(check_upstream_gradient(dy, cache), cache)


def staged_gradients(
    dy: np.ndarray, cache: BatchNormCache
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`batch_norm_backward_staged` without its input checks."""
    axes, m = cache.axes, cache.m

    # y = gamma * x_hat + beta
    dbeta = dy.sum(axis=axes, keepdims=True)
    dgamma = (dy * cache.x_hat).sum(axis=axes, keepdims=True)
    d_x_hat = dy * cache.gamma
    # x_hat = centered * inv_std: two inputs, two gradients
    d_inv_std = (d_x_hat * cache.centered).sum(axis=axes, keepdims=True)
    d_centered = d_x_hat * cache.inv_std
    # inv_std = 1 / std
    d_std = -d_inv_std / (cache.std * cache.std)
    # std = sqrt(var + eps)
    d_var = d_std / (2 * cache.std)
    # var = sum(centered * centered) / m: a second path into centered
    d_centered = d_centered + (2 / m) * cache.centered * d_var
    # centered = x - mean: a direct path and one through the mean
    d_mean = -d_centered.sum(axis=axes, keepdims=True)
    # mean = sum(x) / m
    dx = d_centered + d_mean / m
    return dx, dgamma.reshape(-1), dbeta.reshape(-1)
