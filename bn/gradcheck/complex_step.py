"""The complex-step derivative (Squire & Trapp 1998; Martins, Sturdza & Alonso 2003).

For ``f`` real on the reals and analytic near ``x``, Taylor expansion gives
``f(x + i h v) = f(x) + i h f'(x) v - h**2/2 f''(x)[v, v] + O(h**3)``, so

    Im f(x + i h v) / h = f'(x) v + O(h**2)

with no subtraction: the step can be 1e-20 and the result is exact to
machine precision. ``f`` must be written so that it stays analytic in complex
arithmetic (``x * x``, not ``abs(x) ** 2``; no ``np.real``, comparisons or
``np.abs`` on the path) — as every function of :mod:`bn.functional` is.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

#: Default step: small enough that the O(h**2) truncation (1e-40) vanishes
#: below float64 resolution, large enough that ``h * |v|`` stays a normal number.
DEFAULT_COMPLEX_STEP = 1e-20


def complex_step_derivative(f: Callable[[np.ndarray], np.ndarray], x: np.ndarray,
                            direction: np.ndarray, h: float = DEFAULT_COMPLEX_STEP) -> np.ndarray:
    """Directional derivative ``f'(x) v`` as ``Im f(x + i h v) / h``.

    ``x`` and ``direction`` must be real; ``f`` receives a complex array.
    """
    x = np.asarray(x)
    v = np.asarray(direction)
    if np.iscomplexobj(x) or np.iscomplexobj(v):
        raise TypeError("x and direction must be real: the complex step adds the imaginary part")
    if v.shape != x.shape:
        raise ValueError(f"direction shape {v.shape} differs from x shape {x.shape}")
    if h <= 0:
        raise ValueError(f"step h must be > 0, got {h}")
    z = x.astype(np.result_type(x, np.complex64)) + 1j * h * v
    return np.imag(f(z)) / h


def complex_step_gradient(f: Callable[[np.ndarray], complex], x: np.ndarray,
                          h: float = DEFAULT_COMPLEX_STEP) -> np.ndarray:
    """Gradient of a real scalar function by one complex step per element."""
    x = np.asarray(x, dtype=np.result_type(x, float))
    grad = np.empty_like(x)
    e = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        e[idx] = 1.0
        grad[idx] = complex_step_derivative(f, x, e, h)
        e[idx] = 0.0
    return grad
