"""Step sizes and error bounds from the floating-point model, not from trial and error.

Model (Higham 2002, ch. 1-2): every evaluation of ``f`` carries a relative
rounding error of about ``u * F`` where ``u`` is the unit roundoff
(machine epsilon / 2, ``np.finfo(dtype).eps / 2``) and ``F`` a condition factor
(how much larger the values that cancel are than the result, 1 for a
well-conditioned ``f``). A difference quotient with step ``h`` then has

* central differences of order p (p = 2: ``[f(x+h) - f(x-h)] / 2h``;
  p = 4: the five-point stencil): truncation ``C_p * M * h**p`` plus round-off
  ``R_p * eps * F / h``;
* the complex step ``Im f(x + i h) / h``: truncation ``M * h**2 / 6`` and no
  subtraction at all, so round-off ``eps * F`` whatever ``h``.

``M`` is the size of the derivative that the truncation term involves,
relative to ``f'``, in the units in which ``h`` is measured. With ``F = M = 1``
the optimal float64 central step is ``(3 eps)**(1/3)``, about 8.7e-6, and the
best achievable error about ``(3 eps)**(2/3) / 2``, about 3.8e-11.

The other stated bounds of the book live here too: :data:`PARITY_TOLERANCES`
(the NumPy code against PyTorch) and :func:`agreement_tolerance` (one
computation summed in two orders, as synchronized BN against full-batch BN).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import DTypeLike

# Truncation constants of the central stencils: f'''/6 h^2 for order 2,
# f^(5)/30 h^4 for order 4 (Taylor expansion of the stencils).
_TRUNCATION = {2: 1.0 / 6.0, 4: 1.0 / 30.0}
# Round-off amplification: sum of |stencil weights| / 2 ... for order 2 the two
# rounding errors of size eps*F divided by 2h give eps*F/h; for the five-point
# stencil (1, -8, 8, -1)/12h they give (1+8+8+1)/12 = 1.5 times eps*F/h.
_ROUNDOFF = {2: 1.0, 4: 1.5}


def machine_epsilon(dtype: DTypeLike) -> float:
    """Spacing of floats at 1 for ``dtype`` (of the real part, for complex dtypes)."""
    return float(np.finfo(np.dtype(dtype)).eps)


def _check_order(order: int) -> None:
    if order not in _TRUNCATION:
        raise ValueError(f"central difference order must be 2 or 4, got {order}")


def central_difference_error_bound(dtype: DTypeLike, h: float, order: int = 2,
                                   condition: float = 1.0, derivative_scale: float = 1.0) -> float:
    """Modelled relative error of an order-``order`` central difference with step ``h``.

    ``C_p * derivative_scale * h**p + R_p * eps * condition / h``: truncation
    plus round-off (see the module docstring for the constants).
    """
    _check_order(order)
    eps = machine_epsilon(dtype)
    return (_TRUNCATION[order] * derivative_scale * h ** order
            + _ROUNDOFF[order] * eps * condition / h)


def optimal_central_step(dtype: DTypeLike, order: int = 2, condition: float = 1.0,
                         derivative_scale: float = 1.0) -> float:
    """The step minimizing :func:`central_difference_error_bound`.

    Setting the derivative in ``h`` to zero gives
    ``h* = (R_p * eps * condition / (p * C_p * derivative_scale)) ** (1 / (p + 1))``;
    for order 2 and unit factors that is ``(3 eps) ** (1/3)``.
    """
    _check_order(order)
    eps = machine_epsilon(dtype)
    ratio = _ROUNDOFF[order] * eps * condition / (order * _TRUNCATION[order] * derivative_scale)
    return float(ratio ** (1.0 / (order + 1)))


def central_difference_tolerance(dtype: DTypeLike, h: float, order: int = 2,
                                 condition: float = 1.0, derivative_scale: float = 1.0,
                                 safety: float = 10.0) -> float:
    """A pass/fail threshold: ``safety`` times the modelled error bound.

    The model drops constant factors of order 1 (how many roundings each
    evaluation makes, the exact size of the higher derivative), hence a
    safety factor of one order of magnitude rather than a tuned number.
    """
    return safety * central_difference_error_bound(dtype, h, order, condition, derivative_scale)


def complex_step_error_bound(dtype: DTypeLike, h: float, condition: float = 1.0,
                             derivative_scale: float = 1.0) -> float:
    """Modelled relative error of the complex step: ``derivative_scale * h**2 / 6 + eps * condition``."""
    return derivative_scale * h * h / 6.0 + machine_epsilon(dtype) * condition


def complex_step_tolerance(dtype: DTypeLike, h: float = 1e-20, condition: float = 1.0,
                           derivative_scale: float = 1.0, safety: float = 10.0) -> float:
    """Pass/fail threshold for a complex-step check: ``safety`` times its error bound."""
    return safety * complex_step_error_bound(dtype, h, condition, derivative_scale)


# NumPy against PyTorch (bn.torch_bn.parity), on the normwise relative error
# max|a - ref| / max|ref|, from unit roundoff u times the conditioning of the computation:
# * float64, u = 1.1e-16: sums of m <= a few thousand terms carry a worst-case
#   relative error ~ m*u ~ 1e-13 for the well-conditioned inputs used there
#   (|mean|/std <= 3); 1e-12 leaves a factor ~10 for the division by sigma and
#   the cancellation in dx, and is still 1000x below any real bug.
# * float32, u = 6.0e-8: the same reasoning gives ~ sqrt(m)*u ~ 1e-6 typical
#   (rounding errors of a sum add like a random walk) and ~1e-5 for the
#   recurrences over k running-stat steps; 1e-5 is the stated bound.
PARITY_TOLERANCES: dict[str, float] = {"float64": 1e-12, "float32": 1e-5}


def agreement_tolerance(n_values: int, dtype: DTypeLike = np.float64, factor: float = 16.0) -> float:
    """The bound on a normwise relative error between two summation orders: ``factor * eps * sqrt(n_values)``.

    Each quantity is a few sums over the ``n_values`` values of a channel and a
    few operations per value. Summing in a different order (in slices, then
    merged; or in one pass) changes a sum of n terms by a rounding error that
    grows like sqrt(n) * eps for errors of random sign (like n * eps at worst);
    ``factor`` absorbs the fixed number of operations around the sums.
    """
    return factor * machine_epsilon(dtype) * n_values ** 0.5
