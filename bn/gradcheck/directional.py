"""Random directional checks: verify a gradient of any size with a few function calls.

A full finite-difference gradient costs 2 evaluations per element. Instead,
pick k random directions ``v_j`` and compare the numerical directional
derivatives ``D_v f(x)`` with ``<grad, v_j>``. If the analytic gradient were
wrong in any direction with non-negligible weight, a random ``v`` would see
the difference with probability 1; k directions make a small vector whose
norm-wise relative error (:func:`bn.gradcheck.metrics.relative_error`) is
robust to one projection happening to be near zero.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from bn.gradcheck.complex_step import DEFAULT_COMPLEX_STEP, complex_step_derivative
from bn.gradcheck.finite_differences import central_difference
from bn.gradcheck.metrics import relative_error


@dataclass(frozen=True)
class DirectionalCheck:
    """Outcome of :func:`directional_check`.

    Attributes:
        numerical: the k numerical directional derivatives.
        analytic: the k projections ``<grad, v_j>``.
        relative_error: norm-wise relative error between the two vectors.
    """

    numerical: np.ndarray
    analytic: np.ndarray
    relative_error: float


def random_directions(shape: tuple[int, ...], count: int, rng: np.random.Generator,
                      scale: np.ndarray | float = 1.0) -> list[np.ndarray]:
    """``count`` Gaussian directions of ``shape``, multiplied by ``scale`` (broadcast).

    ``scale`` lets the direction follow the natural size of each coordinate
    (for BN: each channel's standard deviation), so one step ``h`` fits all.
    """
    return [rng.standard_normal(shape) * scale for _ in range(count)]


def directional_check(f: Callable[[np.ndarray], float], x: np.ndarray, grad: np.ndarray,
                      directions: list[np.ndarray], method: str = "central", h: float | None = None,
                      order: int = 2) -> DirectionalCheck:
    """Compare ``<grad, v>`` with the numerical derivative of scalar ``f`` along each ``v``.

    Args:
        f: scalar function of an array (complex-capable for ``method="complex"``).
        x: the point, real.
        grad: the analytic gradient of ``f`` at ``x`` (shape of ``x``).
        directions: the ``v_j`` (from :func:`random_directions`).
        method: ``"central"`` (finite differences of order ``order``) or ``"complex"``.
        h: the step; required for ``"central"``, defaults to 1e-20 for ``"complex"``.
    """
    x = np.asarray(x)
    grad = np.asarray(grad)
    if grad.shape != x.shape:
        raise ValueError(f"grad shape {grad.shape} differs from x shape {x.shape}")
    if method == "central":
        if h is None:
            raise ValueError("method='central' needs a step h (see bn.gradcheck.optimal_central_step)")
        numerical = [float(central_difference(f, x, v, h, order)) for v in directions]
    elif method == "complex":
        step = DEFAULT_COMPLEX_STEP if h is None else h
        numerical = [float(complex_step_derivative(f, x, v, step)) for v in directions]
    else:
        raise ValueError(f"method must be 'central' or 'complex', got {method!r}")
    analytic = np.array([float(np.vdot(grad.ravel(), v.ravel()).real) for v in directions])
    numerical_arr = np.array(numerical)
    return DirectionalCheck(numerical_arr, analytic, relative_error(numerical_arr, analytic))
