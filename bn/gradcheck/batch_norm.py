"""Gradient checks of :mod:`bn.functional` itself: BN's loss, its natural step, the checks.

To check a backward pass, contract the output with a fixed upstream gradient
``w``: ``L(x, gamma, beta) = sum(w * BN(x))`` is a scalar whose gradient is
exactly what the backward pass returns for ``dy = w``.

The tolerance of each check comes from the floating-point model of
:mod:`bn.gradcheck.tolerances` with a condition factor measured at the point::

    condition = kappa_x * (sum of |terms| the numerical derivative adds up)
                / ||exact||

``kappa_x = max|x| / min channel std`` is what ``x - mean`` loses in relative
accuracy; the ratio of summed magnitudes to the result is the standard
error bound of a floating-point sum (Higham 2002, section 4.2), here large
because ``sum(w * y)`` cancels: a random ``w`` makes it ~sqrt(n) times
smaller than the sum of its magnitudes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, NamedTuple

import numpy as np

from bn.functional import batch_norm_backward, batch_norm_forward
from bn.functional.layout import reduction_axes
from bn.gradcheck.complex_step import DEFAULT_COMPLEX_STEP, complex_step_derivative
from bn.gradcheck.directional import DirectionalCheck, directional_check, random_directions
from bn.gradcheck.tolerances import (central_difference_tolerance, complex_step_tolerance,
                                     optimal_central_step)

ARGUMENTS = ("x", "gamma", "beta")


@dataclass(frozen=True)
class BatchNormGradientCheck:
    """One argument's check: the directional comparison and the tolerance it must meet.

    Attributes:
        check: the :class:`~bn.gradcheck.directional.DirectionalCheck` (errors, values).
        condition: the measured condition factor (see the module docstring).
        step: the step used (``h*`` for central differences, 1e-20 for the complex step).
        tolerance: 10 x the modelled worst-case error bound for this method, step and condition.
    """

    check: DirectionalCheck
    condition: float
    step: float
    tolerance: float

    @property
    def relative_error(self) -> float:
        """Norm-wise relative error of the numerical against the analytic projections."""
        return self.check.relative_error

    @property
    def passed(self) -> bool:
        """Whether the error is within the modelled tolerance."""
        return self.check.relative_error <= self.tolerance


def batch_norm_loss(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, upstream: np.ndarray,
                    eps: float, wrt: str) -> Callable[[np.ndarray], np.ndarray]:
    """The scalar ``sum(upstream * BN(x, gamma, beta))`` as a function of the argument ``wrt``.

    The other two arguments are held fixed; complex arrays are accepted (for
    complex-step checks).
    """
    if wrt not in ARGUMENTS:
        raise ValueError(f"wrt must be 'x', 'gamma' or 'beta', got {wrt!r}")

    def loss(value: np.ndarray) -> np.ndarray:
        args = {"x": x, "gamma": gamma, "beta": beta, wrt: value}
        y, _ = batch_norm_forward(args["x"], args["gamma"], args["beta"], eps)
        return np.sum(upstream * y)
    return loss


def batch_norm_output(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float,
                      wrt: str) -> Callable[[np.ndarray], np.ndarray]:
    """``BN(x, gamma, beta)`` (the array) as a function of the argument ``wrt``."""
    if wrt not in ARGUMENTS:
        raise ValueError(f"wrt must be 'x', 'gamma' or 'beta', got {wrt!r}")

    def output(value: np.ndarray) -> np.ndarray:
        args = {"x": x, "gamma": gamma, "beta": beta, wrt: value}
        return batch_norm_forward(args["x"], args["gamma"], args["beta"], eps)[0]
    return output


def channel_std(x: np.ndarray) -> np.ndarray:
    """Per-channel standard deviation of ``x`` in broadcast shape (the natural step unit of BN)."""
    return x.std(axis=reduction_axes(x.ndim), keepdims=True)


def batch_norm_condition(x: np.ndarray) -> float:
    """``kappa_x``: largest ``|x|`` over the smallest channel std (at least 1).

    Computing ``x - mean`` in floating point commits errors of size
    ``eps * |x|``; BN measures them in units of the channel's std.
    """
    return float(max(1.0, np.max(np.abs(x)) / np.min(channel_std(x))))


def batch_norm_derivative_scale(order: int) -> float:
    """Size of BN's (order+1)-th over its first derivative along a std-scaled direction.

    Along such a direction the channel variance changes by O(t) relative, and
    BN responds like ``f(t) = (1 + t) ** -0.5``, whose derivatives at 0 are
    ``(2n - 1)!! / 2**n`` in size: the ratio is ``(2p + 1)!! / 2**p``, i.e.
    3.75 for order 2 and 59.1 for order 4. The truncation term of the step
    model uses it in place of 1.
    """
    double_factorial = float(np.prod(np.arange(2 * order + 1, 0, -2)))
    return double_factorial / 2.0 ** order


def _summation_condition(terms_per_direction: list[np.ndarray], exact: np.ndarray) -> float:
    """``sum_j sum_i |terms_ij| / ||exact||``: the error bound of the sums, relative to the result."""
    magnitude = sum(float(np.sum(np.abs(t))) for t in terms_per_direction)
    norm = float(np.linalg.norm(exact))
    return magnitude / norm if norm > 0 else np.inf


def _central_step(name: str, order: int, kappa: float) -> tuple[float, float]:
    """``(step, derivative_scale)`` of a central-difference check of argument ``name``.

    For ``x`` the step balances truncation against the *typical* round-off
    ``eps * kappa``: the rounding errors of ``L(x + hv)`` and ``L(x - hv)``
    share one summation order and largely cancel, so the worst-case
    condition (used for the tolerance) would make the step far too large.
    ``L`` is affine in ``gamma`` and in ``beta``: no truncation error at all,
    so the largest natural step, 1 (the scale of the parameters), minimizes
    the round-off.
    """
    if name == "x":
        scale = batch_norm_derivative_scale(order)
        return optimal_central_step(np.float64, order=order, condition=kappa, derivative_scale=scale), scale
    return 1.0, 0.0


def check_batch_norm_gradients(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float,
                               rng: np.random.Generator, num_directions: int = 3,
                               method: str = "central",
                               order: int = 2) -> dict[str, BatchNormGradientCheck]:
    """Directional checks of the compact backward pass for ``x``, ``gamma`` and ``beta``.

    Draws an upstream gradient ``w`` and ``num_directions`` random directions
    per argument (scaled by each channel's ``sqrt(var + eps)`` in ``x``, so one
    step fits every channel: BN is invariant to the scale of ``x``), measures
    the condition factor, takes the step that is optimal for the typical
    round-off ``eps * kappa_x``, and compares; the tolerance is 10 x the
    worst-case bound for that step and the full condition factor.

    Args:
        x, gamma, beta, eps: the point (float64 arrays) and BN's variance floor.
        rng: source of the upstream gradient and the directions.
        num_directions: directions per argument.
        method: ``"central"`` (order ``order``, 2 or 4) or ``"complex"``.

    Returns:
        ``{"x": ..., "gamma": ..., "beta": ...}`` of :class:`BatchNormGradientCheck`.
    """
    x = np.asarray(x, dtype=np.float64)
    gamma = np.asarray(gamma, dtype=np.float64)
    beta = np.asarray(beta, dtype=np.float64)
    y, cache = batch_norm_forward(x, gamma, beta, eps)
    upstream = rng.standard_normal(y.shape)
    grads = dict(zip(ARGUMENTS, batch_norm_backward(upstream, cache)))
    kappa = batch_norm_condition(x)
    units = {"x": np.sqrt(channel_std(x) ** 2 + eps), "gamma": 1.0, "beta": 1.0}
    points = {"x": x, "gamma": gamma, "beta": beta}

    results = {}
    for name in ARGUMENTS:
        point, grad = points[name], grads[name]
        directions = random_directions(point.shape, num_directions, rng, units[name])
        exact = np.array([float(np.vdot(grad.ravel(), v.ravel())) for v in directions])
        if method == "complex":
            # Rounding hits the terms w_i * (J v)_i of the derivative's sum
            # (computed here by an exact complex step of BN's output).
            output = batch_norm_output(x, gamma, beta, eps, name)
            terms = [upstream * complex_step_derivative(output, point, v) for v in directions]
            condition = kappa * _summation_condition(terms, exact)
            step = DEFAULT_COMPLEX_STEP
            tolerance = complex_step_tolerance(np.float64, step, condition=condition)
        elif method == "central":
            # Rounding hits every term w_i * y_i of L itself (worst case).
            condition = kappa * _summation_condition([upstream * y] * num_directions, exact)
            step, scale = _central_step(name, order, kappa)
            tolerance = central_difference_tolerance(np.float64, step, order, condition=condition,
                                                     derivative_scale=scale)
        else:
            raise ValueError(f"method must be 'central' or 'complex', got {method!r}")
        loss = batch_norm_loss(x, gamma, beta, upstream, eps, name)
        check = directional_check(loss, point, grad, directions, method, step, order)
        results[name] = BatchNormGradientCheck(check, condition, step, tolerance)
    return results


class DegenerateBatch(NamedTuple):
    """What a central-difference check sees on a tiny batch (:func:`degenerate_batch`).

    Attributes:
        ratio: ``|dx|`` over the size it would have without the cancellation,
            ``|gamma * w / sqrt(var + eps)|``; near 0 means the gradient cancels.
        zeros_pass: whether an all-zero ``dx`` would pass an absolute check at
            1e-3 of the gradient's normal entry size.
        central_error: the relative error of the central-difference check of ``dx``.
    """

    ratio: float
    zeros_pass: bool
    central_error: float


def degenerate_batch(m: int, eps: float = 1e-5, seed: int = 5) -> DegenerateBatch:
    """Check BN's ``dx`` on a batch of ``m`` rows of 4 features, where for ``m = 2`` it cancels to ~0."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0.0, 1.0, size=(m, 4))
    g, b = rng.normal(1.0, 0.3, 4), rng.normal(0.0, 0.3, 4)
    w = rng.standard_normal(x.shape)
    _, cache = batch_norm_forward(x, g, b, eps)
    dx = batch_norm_backward(w, cache)[0]
    normal_size = np.abs(cache.gamma * w * cache.inv_std)
    zeros_pass = bool(np.abs(dx).max() <= 1e-3 * normal_size.max())
    central = check_batch_norm_gradients(x, g, b, eps, rng, order=2)["x"].relative_error
    return DegenerateBatch(float(np.linalg.norm(dx) / np.linalg.norm(normal_size)), zeros_pass, float(central))
