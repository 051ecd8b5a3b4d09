"""How far a computed derivative is from a reference: the book's one error metric.

The relative error of ``a`` against ``b`` is the norm-wise

    rel(a, b) = ||a - b||_2 / max(||a||_2, ||b||_2)        (0 when both are 0)

It is symmetric, lies in [0, 2], is scale-free, and unlike an element-wise
ratio it is not blown up by components that happen to be near zero (BN's
``dx`` sums to zero per channel, so it always has small components). Values
near machine epsilon mean agreement to the last bits; 1 means no agreement.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike


def relative_error(actual: ArrayLike, expected: ArrayLike) -> float:
    """Norm-wise relative error ``||a - b|| / max(||a||, ||b||)``, 0.0 when both are zero."""
    a = np.asarray(actual)
    b = np.asarray(expected)
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {a.shape} vs {b.shape}")
    # Promote to at least float64 so the metric itself adds no float32 error.
    dtype = np.result_type(a, b, np.float64)
    a = a.astype(dtype).ravel()
    b = b.astype(dtype).ravel()
    scale = max(np.linalg.norm(a), np.linalg.norm(b))
    if scale == 0.0:
        return 0.0
    return float(np.linalg.norm(a - b) / scale)


def max_abs_error(actual: ArrayLike, expected: ArrayLike) -> float:
    """Largest element-wise ``|a - b|`` (for reporting next to the relative error)."""
    a = np.asarray(actual)
    b = np.asarray(expected)
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {a.shape} vs {b.shape}")
    return float(np.max(np.abs(a.astype(np.result_type(a, b, np.float64))
                                - b.astype(np.result_type(a, b, np.float64))), initial=0.0))
