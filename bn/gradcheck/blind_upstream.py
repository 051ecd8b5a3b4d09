"""Upstream gradients that make a BN gradient check blind, and a backward pass that such a check passes.

A gradient check of BN compares the backward pass with finite differences of the scalar
``sum(dy * BN(x))``. For ``dy`` a per-channel combination ``a + b * x_hat`` of the checked
batch's normalized input the true ``dx`` is zero in the ``a`` part for every ``eps`` and of
order ``eps`` in the ``b`` part,

    dx = gamma * b * eps * x_hat / (var + eps) ** 1.5,

so a backward pass that returns ``dx = 0`` passes such a check. :func:`zero_dx_backward` is that
wrong backward pass; :func:`blind_upstream_gradients` measures the three cases (shift, scale,
random upstream) through the book's reference backward pass.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from bn.functional import BatchNormCache, batch_norm_backward, batch_norm_forward

__all__ = ["BlindUpstream", "blind_upstream_gradients", "zero_dx_backward"]


def zero_dx_backward(dy: np.ndarray, cache: BatchNormCache) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A wrong backward pass: :func:`bn.functional.batch_norm_backward` with ``dx`` replaced by zeros.

    Its ``dgamma`` and ``dbeta`` are right; an all-ones upstream gradient cannot tell its ``dx``
    from the true one, which is zero for that upstream.
    """
    dx, dgamma, dbeta = batch_norm_backward(dy, cache)
    return np.zeros_like(dx), dgamma, dbeta


@dataclass(frozen=True)
class BlindUpstream:
    """The blind upstream gradients measured on one batch (formatted as the prose shows them).

    ``sd``: the spread of the batch (that of the gradient check's batch); ``eps``: BN's variance
    floor; ``shrink``: the largest factor ``eps / (var + eps)`` over channels by which the
    scale part of ``dx`` is smaller than an ordinary gradient; ``dx_scale``: the largest entry of
    ``dx`` for ``dy = b * x_hat``; ``dx_random``: that for a random ``dy``, for comparison.
    """

    sd: float
    eps: str
    shrink: str
    dx_scale: str
    dx_random: float = field(metadata={"digits": 2})


@dataclass(frozen=True)
class BlindUpstreamArrays:
    """The arrays behind :class:`BlindUpstream`, for checks: the three ``dx`` and the closed form."""

    cache: BatchNormCache
    shift: np.ndarray
    scale: np.ndarray
    random: np.ndarray
    closed_form: np.ndarray
    shrink: np.ndarray
    a: np.ndarray
    b: np.ndarray


def blind_upstream_arrays(seed: int = 1, sd: float = 2.0, shape: tuple[int, ...] = (4, 3, 2, 2)
                          ) -> BlindUpstreamArrays:
    """``dx`` of the book's backward pass for a shift ``dy = a``, a scale ``dy = b * x_hat`` and a
    random ``dy`` (``a``, ``b`` per channel, standard normal), on a float64 batch of mean 1 and
    spread ``sd`` with gamma ~ N(1, 0.5) and beta ~ N(0, 0.5), all drawn from ``seed``."""
    gen = np.random.default_rng(seed)
    x = gen.normal(1.0, sd, size=shape)
    channels = shape[1]
    gamma, beta = gen.normal(1.0, 0.5, channels), gen.normal(0.0, 0.5, channels)
    _, cache = batch_norm_forward(x, gamma, beta)
    column = (1, channels) + (1,) * (len(shape) - 2)
    a, b = gen.normal(size=column), gen.normal(size=column)
    shift = batch_norm_backward(np.broadcast_to(a, shape).copy(), cache)[0]
    scale = batch_norm_backward(b * cache.x_hat, cache)[0]
    random = batch_norm_backward(gen.normal(size=shape), cache)[0]
    closed = cache.gamma * b * cache.eps * cache.x_hat / (cache.var + cache.eps) ** 1.5
    return BlindUpstreamArrays(cache=cache, shift=shift, scale=scale, random=random, closed_form=closed,
                               shrink=cache.eps / (cache.var + cache.eps), a=a, b=b)


def blind_upstream_gradients(seed: int = 1, sd: float = 2.0) -> BlindUpstream:
    """The numbers of :func:`blind_upstream_arrays` as the prose states them."""
    arr = blind_upstream_arrays(seed, sd)
    return BlindUpstream(sd=float(sd), eps=f"{arr.cache.eps:.0e}", shrink=f"{arr.shrink.max():.0e}",
                         dx_scale=f"{np.abs(arr.scale).max():.0e}",
                         dx_random=float(np.abs(arr.random).max()))
