"""Normalize over a chosen set of axes: the operation BN, LN, IN and GN all share.

Forward only. BN's forward/backward pair with its cache is
:func:`bn.functional.batch_norm_forward`; here the point is the *choice of axes*,
so the function takes the axes as an argument and nothing else.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable

import numpy as np

from bn.functional.validation import as_inexact_array, check_eps, check_finite


def check_axes(axes: Iterable[int], ndim: int) -> tuple[int, ...]:
    """``axes`` as sorted non-negative ints; ValueError if empty, repeated or out of range.

    Negative axes count from the end, as in NumPy.
    """
    axes = tuple(axes)
    if not axes:
        raise ValueError("axes must name at least one axis to normalize over")
    normalized = []
    for axis in axes:
        if isinstance(axis, bool) or not isinstance(axis, numbers.Integral):
            raise TypeError(f"axes must be integers, got {axis!r}")
        if not -ndim <= axis < ndim:
            raise ValueError(f"axis {axis} is out of range for a {ndim}-D input")
        normalized.append(int(axis) % ndim)
    if len(set(normalized)) != len(normalized):
        raise ValueError(f"axes must not repeat an axis, got {axes}")
    return tuple(sorted(normalized))


def normalize_over_axes(x: np.ndarray, axes: Iterable[int],
                        eps: float = 1e-5) -> np.ndarray:
    """``(x - mean) / sqrt(var + eps)``, statistics taken over ``axes``.

    Every index of the *other* axes gets its own mean and variance: for an
    ``(N, C, H, W)`` input, ``axes=(0, 2, 3)`` is batch normalization (one
    set of statistics per channel), ``axes=(1, 2, 3)`` is layer normalization
    (one per example).

    Args:
        x: a floating array of any rank >= 1, all finite.
        axes: the axes to average over (negative values count from the end).
        eps: variance floor, > 0.

    Returns:
        ``x_hat``, the shape and dtype of ``x``: zero mean and (up to
        ``eps``) unit variance over ``axes``.

    Raises:
        TypeError: non-floating ``x``, non-integer axis or non-real ``eps``.
        ValueError: empty, repeated or out-of-range axes, NaN/inf in ``x``,
            ``eps <= 0``, or a normalization set with fewer than 2 values.
    """
    x = as_inexact_array(x, "x")
    if x.ndim == 0:
        raise ValueError("x must have at least one axis")
    check_finite(x, "x")
    axes = check_axes(axes, x.ndim)
    eps = check_eps(eps)
    set_size = int(np.prod([x.shape[a] for a in axes]))
    if set_size < 2:
        # One value has variance 0 and normalizes to 0 whatever it is:
        # almost always a wrong axis choice (e.g. instance norm of a 1x1
        # feature map).
        raise ValueError(
            f"each normalization set has {set_size} value(s) "
            f"(axes {axes} of shape {x.shape}); at least 2 are needed")
    mean = x.mean(axis=axes, keepdims=True)
    centered = x - mean
    var = (centered * centered).mean(axis=axes, keepdims=True)
    return centered / np.sqrt(var + x.dtype.type(eps))
