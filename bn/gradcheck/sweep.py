"""The error of a difference quotient as a function of its step: the U-curve."""

from __future__ import annotations

from typing import Callable

import numpy as np

from bn.gradcheck.complex_step import complex_step_derivative
from bn.gradcheck.finite_differences import central_difference
from bn.gradcheck.metrics import relative_error


def step_size_sweep(f: Callable[[np.ndarray], np.ndarray], x: np.ndarray, direction: np.ndarray,
                    exact: np.ndarray, steps: np.ndarray, method: str = "central",
                    order: int = 2) -> np.ndarray:
    """Relative error of the numerical directional derivative of ``f`` for each step in ``steps``.

    ``exact`` is the reference ``f'(x) v``. With ``method="central"`` the
    errors trace truncation (falling as ``h**order``) then round-off (rising
    as ``eps / h``); with ``method="complex"`` they stay at machine precision
    once ``h`` is small.
    """
    errors = []
    for h in np.asarray(steps, dtype=float):
        if method == "central":
            approx = central_difference(f, x, direction, float(h), order)
        elif method == "complex":
            approx = complex_step_derivative(f, x, direction, float(h))
        else:
            raise ValueError(f"method must be 'central' or 'complex', got {method!r}")
        errors.append(relative_error(approx, exact))
    return np.array(errors)
