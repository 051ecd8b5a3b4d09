"""Does one example's output depend on the other examples of the batch?

For BN it does (the statistics are shared across the batch); for LN, IN and
GN it does not (each example has its own statistics). The test is direct:
change example ``j`` and measure how far every output moves.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def cross_example_change(normalize: Callable[[np.ndarray], np.ndarray], x: np.ndarray, j: int,
                         delta: np.ndarray) -> np.ndarray:
    """``max |normalize(x')[i] - normalize(x)[i]|`` for each example ``i``, where ``x' = x`` with ``x[j] += delta``.

    Args:
        normalize: a map from a batch ``(N, ...)`` to an output of the same shape.
        x: the batch.
        j: the example to change.
        delta: the change, shape ``x.shape[1:]``.

    Returns:
        shape ``(N,)``; entry ``j`` is the change of the changed example itself,
        every other entry says how much example ``j`` leaks into example ``i``.
    """
    x = np.asarray(x)
    delta = np.asarray(delta)
    if delta.shape != x.shape[1:]:
        raise ValueError(f"delta must have shape {x.shape[1:]}, got {delta.shape}")
    if not -x.shape[0] <= j < x.shape[0]:
        raise ValueError(f"example index {j} is out of range for a batch of {x.shape[0]}")
    changed = x.copy()
    changed[j] = changed[j] + delta
    diff = np.abs(normalize(changed) - normalize(x))
    return diff.reshape(x.shape[0], -1).max(axis=1)
