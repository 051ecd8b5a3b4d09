"""Group normalization: statistics per example and per group of channels (Wu & He, 2018).

The channels are split into ``G`` contiguous groups; each (example, group)
pair gets its own mean and variance over the group's channels and every
spatial position. ``G = 1`` is layer normalization over ``(C, *spatial)``;
``G = C`` is instance normalization.
"""

from __future__ import annotations

import numbers

import numpy as np

from bn.normalization.axes import normalize_over_axes
from bn.functional.validation import check_batch_input


def check_num_groups(num_groups: int, channels: int) -> int:
    """``num_groups`` as an int; TypeError if not an integer, ValueError unless it divides ``channels``."""
    if isinstance(num_groups, bool) or not isinstance(num_groups, numbers.Integral):
        raise TypeError(f"num_groups must be an integer, got {type(num_groups).__name__}")
    if num_groups < 1 or channels % num_groups:
        raise ValueError(f"num_groups must be a positive divisor of the {channels} channels, "
                         f"got {num_groups}")
    return int(num_groups)


def group_normalize(x: np.ndarray, num_groups: int, eps: float = 1e-5) -> np.ndarray:
    """Group-normalized ``x`` without the affine map; shape and dtype of ``x``.

    Reshapes ``(N, C, *spatial)`` to ``(N, G, C // G, *spatial)`` so that a
    group is a block of axes, normalizes over every axis after the group axis,
    and reshapes back. That the reshape groups *contiguous* channels matches
    PyTorch's ``group_norm``.

    Raises:
        TypeError / ValueError: as :func:`normalize_over_axes`, and if
        ``num_groups`` does not divide the number of channels.
    """
    x = check_batch_input(x)
    groups = check_num_groups(num_groups, x.shape[1])
    grouped = x.reshape(x.shape[0], groups, x.shape[1] // groups, *x.shape[2:])
    x_hat = normalize_over_axes(grouped, axes=range(2, grouped.ndim), eps=eps)
    return x_hat.reshape(x.shape)
