"""A fewer-pass NumPy BN: the compact formulas with in-place updates.

The readable pair (:mod:`bn.functional.forward`, :mod:`bn.functional.backward`)
writes one NumPy expression per node of the derivation; every operator streams
whole arrays through memory and allocates a fresh temporary. BN is
memory-bound, so this module computes the same numbers with fewer full-size
passes and allocations:

- every elementwise step writes into an existing buffer (``out=``);
- the per-channel sums run over the contiguous spatial axis of an
  ``(N, C, L)`` view (``np.add.reduce`` and ``np.vecdot``, which multiplies and
  sums without writing the product);
- the cache keeps one full-size array, the centred input, and not ``x_hat``;
- the backward pass writes ``dx = a*dy + b*(x - mean) + c`` (per-channel
  ``a, b, c``) into one buffer, which may be the cache's own when the cache is
  not needed again (``out=cache.centered``).

Same checks on bad input as the readable pair; float32 in, float32 out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bn.functional.validation import as_inexact_array, check_finite, check_training_inputs

__all__ = ["FusedCache", "batch_norm_forward_fused", "batch_norm_backward_fused",
           "fused_forward_arithmetic", "fused_backward_arithmetic"]


@dataclass(frozen=True)
class FusedCache:
    """What :func:`batch_norm_forward_fused` keeps for the backward pass.

    Attributes:
        centered: ``x - mean``, shape ``(N, C, L)`` (L = product of the spatial sizes).
        inv_std: ``1 / sqrt(var + eps)`` per channel, shape ``(C, 1)``.
        gamma: the scale, shape ``(C, 1)``.
        shape: the shape of ``x``.
    """

    centered: np.ndarray
    inv_std: np.ndarray
    gamma: np.ndarray
    shape: tuple[int, ...]

    @property
    def m(self) -> int:
        """Values per channel."""
        n, _, length = self.centered.shape
        return n * length


def _as_ncl(a: np.ndarray) -> np.ndarray:
    # (N, C, *spatial) -> (N, C, L): a view for C-contiguous input, so that the
    # spatial axis is the contiguous one every reduction runs along.
    return a.reshape(a.shape[0], a.shape[1], -1)


def _channel_sum(a: np.ndarray) -> np.ndarray:
    """Per-channel sum of an (N, C, L) array as a (C, 1) column, one read of ``a``."""
    return np.add.reduce(a, axis=(0, 2)).reshape(-1, 1)


def _channel_dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-channel sum of ``a * b`` without writing the product (one read of each)."""
    return np.add.reduce(np.vecdot(a, b, axis=-1), axis=0).reshape(-1, 1)


def fused_forward_arithmetic(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray,
                             eps: float) -> tuple[np.ndarray, FusedCache]:
    """The arithmetic of :func:`batch_norm_forward_fused` without input checks.

    A second NumPy forward on purpose: fewer passes over memory than
    :func:`bn.functional.forward.forward_arithmetic`, which the speed chapter compares.

    ``x``, ``gamma`` and ``beta`` must share one inexact dtype; exposed so that
    the array-pass counter can trace it.
    """
    x3 = _as_ncl(x)
    dt = x.dtype.type
    m = x3.shape[0] * x3.shape[2]
    mean = _channel_sum(x3) / dt(m)
    centered = np.empty_like(x3)
    np.subtract(x3, mean, out=centered)
    var = _channel_dot(centered, centered) / dt(m)
    inv_std = 1 / np.sqrt(var + dt(eps))
    g = gamma.reshape(-1, 1)
    y = np.empty_like(x3)
    np.multiply(centered, g * inv_std, out=y)
    np.add(y, beta.reshape(-1, 1), out=y)
    return y.reshape(x.shape), FusedCache(centered, inv_std, g, x.shape)


def batch_norm_forward_fused(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray,
                             eps: float = 1e-5) -> tuple[np.ndarray, FusedCache]:
    """Training-mode BN with fewer array passes; returns ``(y, cache)``.

    Computes what :func:`bn.functional.batch_norm_forward` computes, to
    floating-point rounding (the sums are taken in another order).

    Args:
        x: input of shape ``(N, C)`` or ``(N, C, *spatial)``, floating point.
        gamma: scale, shape ``(C,)``.
        beta: shift, shape ``(C,)``.
        eps: variance floor, > 0.

    Raises:
        TypeError: as :func:`bn.functional.batch_norm_forward`.
        ValueError: as :func:`bn.functional.batch_norm_forward`.
    """
    x, gamma, beta, eps, dtype = check_training_inputs(x, gamma, beta, eps)
    if np.issubdtype(dtype, np.complexfloating):
        # vecdot conjugates its first argument: complex input would give |x|^2 sums.
        raise TypeError("the fused pair is real-only; use batch_norm_forward for complex input")
    return fused_forward_arithmetic(np.ascontiguousarray(x, dtype=dtype),
                                    gamma.astype(dtype, copy=False),
                                    beta.astype(dtype, copy=False), eps)


def fused_backward_arithmetic(dy: np.ndarray, cache: FusedCache,
                              out: np.ndarray | None = None
                              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The arithmetic of :func:`batch_norm_backward_fused`, unchecked."""
    dy3 = _as_ncl(dy)
    xc, inv_std, g = cache.centered, cache.inv_std, cache.gamma
    m = dy3.dtype.type(cache.m)
    dbeta = _channel_sum(dy3)
    dgamma = _channel_dot(dy3, xc) * inv_std
    # dx = a * (dy + (b/a) * xc + c/a), a = gamma/sigma,
    # b/a = -dgamma/(m sigma), c/a = -dbeta/m: the compact form
    # with x_hat = xc/sigma written out.
    a = g * inv_std
    dx = np.empty_like(xc) if out is None else _as_ncl(out)
    np.multiply(xc, -dgamma * inv_std / m, out=dx)
    np.add(dx, dy3, out=dx)
    np.add(dx, -dbeta / m, out=dx)
    np.multiply(dx, a, out=dx)
    return dx.reshape(cache.shape), dgamma.reshape(-1), dbeta.reshape(-1)


def batch_norm_backward_fused(dy: np.ndarray, cache: FusedCache,
                              out: np.ndarray | None = None
                              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients ``(dx, dgamma, dbeta)`` from a :class:`FusedCache`, with fewer passes.

    Args:
        dy: upstream gradient, the shape of the forward input.
        cache: from :func:`batch_norm_forward_fused`.
        out: optional buffer for ``dx`` (shape and dtype of the input).
            ``out=cache.centered`` saves an allocation but overwrites the cache,
            which then cannot be used again.

    Raises:
        TypeError: ``cache`` is not a :class:`FusedCache`.
        ValueError: ``dy`` or ``out`` has the wrong shape, or ``dy`` is not finite.
    """
    if not isinstance(cache, FusedCache):
        raise TypeError(f"cache must be the FusedCache of batch_norm_forward_fused, "
                        f"got {type(cache).__name__}")
    dy = as_inexact_array(dy, "dy")
    if dy.shape != cache.shape:
        raise ValueError(f"dy must have the shape of the forward input {cache.shape}, "
                         f"got {dy.shape}")
    check_finite(dy, "dy")
    if out is not None and (out.size != cache.centered.size or out.dtype != cache.centered.dtype
                            or not out.flags.c_contiguous):
        raise ValueError("out must be C-contiguous, with the size and dtype of the input")
    dy = np.ascontiguousarray(dy, dtype=cache.centered.dtype)
    return fused_backward_arithmetic(dy, cache, out)
