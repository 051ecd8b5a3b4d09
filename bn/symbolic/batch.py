"""Symbols for one feature over a mini-batch of explicit size ``m``.

The book's notation (Ioffe & Szegedy 2015, Algorithm 1): inputs ``x_1..x_m``,
batch mean ``mu_B``, the *biased* batch variance ``sigma2_B`` (divide by m, as
the paper does in training), normalized values ``xhat_i`` and outputs
``y_i = gamma*xhat_i + beta``; upstream gradients ``g_i = dl/dy_i``.

Every chapter builds on :func:`make_batch`; the fields are plain SymPy
expressions so callers can differentiate, substitute or simplify them.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp


@dataclass(frozen=True)
class SymbolicBatch:
    """A mini-batch of one feature with fully symbolic entries.

    Attributes:
        m: batch size (a Python int >= 1).
        x: the inputs ``x_1..x_m`` (real symbols).
        gamma: the scale (real; its sign is not assumed).
        beta: the shift (real).
        eps: the variance floor epsilon (positive).
        g: upstream gradients ``g_i = dl/dy_i`` (real symbols).
        mu: the batch mean, an expression in ``x``.
        var: the biased batch variance (1/m) * sum (x_i - mu)^2.
        sigma: sqrt(var + eps).
        xhat: the normalized values (x_i - mu) / sigma.
        y: the outputs gamma * xhat_i + beta.
    """

    m: int
    x: tuple[sp.Symbol, ...]
    gamma: sp.Symbol
    beta: sp.Symbol
    eps: sp.Symbol
    g: tuple[sp.Symbol, ...]
    mu: sp.Expr
    var: sp.Expr
    sigma: sp.Expr
    xhat: tuple[sp.Expr, ...]
    y: tuple[sp.Expr, ...]

    @property
    def xs(self) -> sp.Matrix:
        """The inputs as an m x 1 column matrix."""
        return sp.Matrix(self.x)

    @property
    def ys(self) -> sp.Matrix:
        """The outputs as an m x 1 column matrix."""
        return sp.Matrix(self.y)


def batch_mean(x: tuple[sp.Expr, ...] | list[sp.Expr]) -> sp.Expr:
    """mu_B = (1/m) sum_i x_i."""
    return sp.Add(*x) / len(x)


def biased_batch_variance(x: tuple[sp.Expr, ...] | list[sp.Expr]) -> sp.Expr:
    """sigma^2_B = (1/m) sum_i (x_i - mu_B)^2, the paper's training-time variance."""
    mu = batch_mean(x)
    return sp.Add(*[(xi - mu) ** 2 for xi in x]) / len(x)


def make_batch(m: int, eps_zero: bool = False) -> SymbolicBatch:
    """Symbols and the forward expressions of BN for a batch of ``m`` values.

    Args:
        m: the batch size (>= 1; most identities need m >= 2).
        eps_zero: if True, epsilon is replaced by 0 in ``sigma``/``xhat``/``y``
            (the idealised transform; then ``var`` must be nonzero).

    Returns:
        A :class:`SymbolicBatch`; symbol names are ``x_1..x_m``, ``g_1..g_m``,
        ``gamma``, ``beta``, ``epsilon``, so two calls with the same ``m``
        produce equal (interchangeable) symbols.
    """
    if m < 1:
        raise ValueError(f"batch size must be >= 1, got {m}")
    x = sp.symbols(f"x_1:{m + 1}", real=True)
    g = sp.symbols(f"g_1:{m + 1}", real=True)
    gamma, beta = sp.symbols("gamma beta", real=True)
    eps = sp.Symbol("epsilon", positive=True)
    mu = batch_mean(x)
    var = biased_batch_variance(x)
    sigma = sp.sqrt(var + (0 if eps_zero else eps))
    xhat = tuple((xi - mu) / sigma for xi in x)
    y = tuple(gamma * xh + beta for xh in xhat)
    return SymbolicBatch(m=m, x=tuple(x), gamma=gamma, beta=beta, eps=eps, g=tuple(g),
                         mu=mu, var=var, sigma=sigma, xhat=xhat, y=y)


def batch_norm_expr(x: tuple[sp.Expr, ...] | list[sp.Expr], gamma: sp.Expr, beta: sp.Expr,
                    eps: sp.Expr) -> tuple[sp.Expr, ...]:
    """BN_{gamma,beta}(x) for arbitrary expressions ``x`` (e.g. ``a*x_i + c``)."""
    mu = batch_mean(x)
    sigma = sp.sqrt(biased_batch_variance(x) + eps)
    return tuple(gamma * (xi - mu) / sigma + beta for xi in x)
