"""How far a computed array is from another: the book's error metrics, all here.

The relative error of ``a`` against ``b`` is the norm-wise

    rel(a, b) = ||a - b||_2 / max(||a||_2, ||b||_2)        (0 when both are 0)

It is symmetric, lies in [0, 2], is scale-free, and unlike an element-wise
ratio it is not blown up by components that happen to be near zero (BN's
``dx`` sums to zero per channel, so it always has small components). Values
near machine epsilon mean agreement to the last bits; 1 means no agreement.
The derivative checks use it.

Against a *reference* result (PyTorch's, or float64's) the parity and precision
chapters use the max-norm form, ``max|a - ref| / max|ref|``: it bounds the
worst entry on the scale of the output, which is what a forward rounding
analysis bounds (Higham 2002, ch. 3), and it is not symmetric, on purpose.
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


def max_relative_error(actual: ArrayLike, reference: ArrayLike) -> float:
    """Max-norm relative error ``max|a - ref| / max|ref|`` in float64 (absolute error when ref is all zero)."""
    a = np.asarray(actual, dtype=np.float64)
    ref = np.asarray(reference, dtype=np.float64)
    if a.shape != ref.shape:
        raise ValueError(f"shape mismatch {a.shape} vs {ref.shape}")
    scale = float(np.max(np.abs(ref))) if ref.size else 0.0
    diff = float(np.max(np.abs(a - ref))) if ref.size else 0.0
    return diff / scale if scale > 0 else diff
