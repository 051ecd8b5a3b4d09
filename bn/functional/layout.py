"""Where the channel axis is: reduction axes and broadcast shapes for ``(N, C, *spatial)``."""

from __future__ import annotations

import numpy as np


def reduction_axes(ndim: int) -> tuple[int, ...]:
    """Axes BN averages over: every axis but the channel axis 1 (batch and spatial)."""
    return (0, *range(2, ndim))


def channel_shape(ndim: int, channels: int) -> tuple[int, ...]:
    """Shape ``(1, C, 1, ..., 1)`` that broadcasts a per-channel vector against an ``ndim`` input."""
    return (1, channels) + (1,) * (ndim - 2)


def as_channel_column(vector: np.ndarray, ndim: int) -> np.ndarray:
    """View a ``(C,)`` vector as ``(1, C, 1, ..., 1)`` for broadcasting against an ``ndim`` input."""
    return vector.reshape(channel_shape(ndim, vector.shape[0]))
