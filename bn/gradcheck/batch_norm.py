"""Gradient checks of :mod:`bn.functional` itself: BN's loss, its natural step, the checks.

To check a backward pass, contract the output with a fixed upstream gradient
``w``: ``L(x, gamma, beta) = sum(w * BN(x))`` is a scalar whose gradient is
exactly what the backward pass returns for ``dy = w``.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from bn.functional import batch_norm_backward, batch_norm_forward
from bn.functional.layout import as_channel_column, reduction_axes
from bn.gradcheck.directional import DirectionalCheck, directional_check, random_directions
from bn.gradcheck.tolerances import optimal_central_step


def batch_norm_loss(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, upstream: np.ndarray,
                    eps: float) -> Callable[[str], Callable[[np.ndarray], float]]:
    """Return ``loss(wrt)``: the scalar ``sum(upstream * BN(...))`` as a function of one argument.

    ``wrt`` is ``"x"``, ``"gamma"`` or ``"beta"``; the other two are held fixed.
    The returned functions accept complex arrays (for complex-step checks).
    """
    def make(wrt: str) -> Callable[[np.ndarray], float]:
        def loss(value: np.ndarray) -> float:
            args = {"x": x, "gamma": gamma, "beta": beta, wrt: value}
            y, _ = batch_norm_forward(args["x"], args["gamma"], args["beta"], eps)
            return np.sum(upstream * y)
        if wrt not in ("x", "gamma", "beta"):
            raise ValueError(f"wrt must be 'x', 'gamma' or 'beta', got {wrt!r}")
        return loss
    return make


def channel_std(x: np.ndarray) -> np.ndarray:
    """Per-channel standard deviation of ``x`` in broadcast shape (the natural step unit of BN)."""
    return x.std(axis=reduction_axes(x.ndim), keepdims=True)


def batch_norm_condition(x: np.ndarray) -> float:
    """Round-off condition factor of BN at ``x``: largest ``|x|`` over the smallest channel std.

    Perturbing ``x`` by ``h`` in a float64 computation commits rounding errors
    of size ``eps * |x|``; BN responds to them in units of the channel's std.
    """
    std = channel_std(x)
    return float(max(1.0, np.max(np.abs(x)) / np.min(std)))


def check_batch_norm_gradients(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float,
                               rng: np.random.Generator, num_directions: int = 3,
                               method: str = "central", order: int = 2) -> dict[str, DirectionalCheck]:
    """Directional checks of the compact backward for ``x``, ``gamma`` and ``beta``.

    Directions in ``x`` are scaled by each channel's std and the step is
    :func:`~bn.gradcheck.tolerances.optimal_central_step` for the condition
    factor :func:`batch_norm_condition`, so one call works from std 1e-3 to
    mean 1e3. Returns one :class:`DirectionalCheck` per argument.
    """
    y, cache = batch_norm_forward(x, gamma, beta, eps)
    upstream = rng.standard_normal(y.shape)
    dx, dgamma, dbeta = batch_norm_backward(upstream, cache)
    make = batch_norm_loss(x, gamma, beta, upstream, eps)
    # BN is invariant to the scale of x, so std-scaled directions make every
    # channel's truncation error the same; sqrt(var + eps) keeps the unit
    # positive when a channel is nearly constant.
    unit = np.sqrt(channel_std(x) ** 2 + eps)
    cases = {
        "x": (x, dx, unit, batch_norm_condition(x)),
        "gamma": (np.asarray(gamma, dtype=float), dgamma, 1.0, 1.0 + float(np.max(np.abs(gamma)))),
        "beta": (np.asarray(beta, dtype=float), dbeta, 1.0, 1.0 + float(np.max(np.abs(beta)))),
    }
    results = {}
    for name, (point, grad, scale, condition) in cases.items():
        directions = random_directions(point.shape, num_directions, rng, scale)
        h = None
        if method == "central":
            h = optimal_central_step(np.float64, order=order, condition=condition)
        results[name] = directional_check(make(name), point, grad, directions, method, h, order)
    return results
