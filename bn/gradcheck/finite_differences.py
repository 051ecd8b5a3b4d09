"""Central finite differences of any NumPy function, directional or element by element."""

from __future__ import annotations

from typing import Callable

import numpy as np

ArrayFunction = Callable[[np.ndarray], np.ndarray]

# Stencils: offsets (multiples of h) and weights; derivative = sum(w f(x + o h v)) / h.
_STENCILS = {
    2: ((-1.0, 1.0), (-0.5, 0.5)),
    4: ((-2.0, -1.0, 1.0, 2.0), (1.0 / 12.0, -8.0 / 12.0, 8.0 / 12.0, -1.0 / 12.0)),
}


def central_difference(f: ArrayFunction, x: np.ndarray, direction: np.ndarray, h: float,
                       order: int = 2) -> np.ndarray:
    """Directional derivative ``d/dt f(x + t v)`` at ``t = 0`` by a central stencil.

    Order 2 is ``[f(x + h v) - f(x - h v)] / (2 h)`` (error ``O(h**2)``);
    order 4 the five-point stencil (error ``O(h**4)``). ``f`` may return an
    array of any shape; the result has that shape.
    """
    if order not in _STENCILS:
        raise ValueError(f"order must be 2 or 4, got {order}")
    if h <= 0:
        raise ValueError(f"step h must be > 0, got {h}")
    x = np.asarray(x)
    v = np.asarray(direction)
    if v.shape != x.shape:
        raise ValueError(f"direction shape {v.shape} differs from x shape {x.shape}")
    offsets, weights = _STENCILS[order]
    total = None
    for o, w in zip(offsets, weights):
        term = w * np.asarray(f(x + (o * h) * v))
        total = term if total is None else total + term
    return total / h


def numerical_gradient(f: Callable[[np.ndarray], float], x: np.ndarray, h: float,
                       order: int = 2) -> np.ndarray:
    """Gradient of a scalar function, one coordinate at a time (2 or 4 calls per element).

    Costs ``order * x.size`` evaluations of ``f``; for big tensors use
    :func:`bn.gradcheck.directional.directional_check` instead.
    To check a vector-valued ``g`` with upstream gradient ``dy``, pass
    ``lambda x: np.sum(dy * g(x))``.
    """
    x = np.asarray(x, dtype=np.result_type(x, float))
    grad = np.empty_like(x)
    e = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        e[idx] = 1.0
        grad[idx] = central_difference(f, x, e, h, order)
        e[idx] = 0.0
    return grad
