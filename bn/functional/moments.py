"""What the forward pass does to a batch's moments: mean zero, variance just below one.

With ``gamma = 1`` and ``beta = 0`` the output of each channel has mean 0 up to rounding and
variance exactly ``var / (var + eps)`` in exact arithmetic (``var`` the biased batch
variance), a shortfall from 1 of ``eps / (var + eps)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from bn.paper import PaperHeadlines, headlines


@dataclass(frozen=True)
class NormalizedBatchSummary:
    """A first look at the transform, next to what the paper claims for it.

    The moments of one normalized ``(N, C)`` batch (``gamma = 1``, ``beta = 0``), glued under a
    prefix: ``max_abs_mean`` the largest ``|mean|`` of an output channel (rounding level);
    ``var_shortfall`` the largest ``1 - var/(var + eps)`` over the channels, how far below one the
    exact output variance lies; ``var_gap`` the largest distance between the computed output
    variance and that exact value. ``paper``: the paper's headline numbers, glued under their
    own names (``paper_`` + field).
    """

    max_abs_mean: float
    var_gap: float
    var_shortfall: float
    paper: PaperHeadlines = field(metadata={"glue": "paper_"})


def summarize_normalized_batch(x: np.ndarray, y: np.ndarray, eps: float) -> NormalizedBatchSummary:
    """The moments of ``y``, the BN output of the ``(N, C)`` batch ``x`` with ``gamma = 1``,
    ``beta = 0`` and variance floor ``eps``, against their exact values."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.ndim != 2 or x.shape != y.shape:
        raise ValueError(f"expected x and y of one (N, C) shape, got {x.shape} and {y.shape}")
    expected_var = x.var(axis=0) / (x.var(axis=0) + eps)
    return NormalizedBatchSummary(
        max_abs_mean=float(np.abs(y.mean(axis=0)).max()),
        var_gap=float(np.abs(y.var(axis=0) - expected_var).max()),
        var_shortfall=float((1 - expected_var).max()),
        paper=headlines())
