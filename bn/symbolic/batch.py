"""Symbols for one feature over a mini-batch of explicit size ``m``.

The book's notation (Ioffe & Szegedy 2015, Algorithm 1): inputs ``x_1..x_m``,
batch mean ``mu_B``, the *biased* batch variance ``sigma2_B`` (divide by m, as
the paper does in training), normalized values ``xhat_i`` and outputs
``y_i = gamma*xhat_i + beta``; upstream gradients ``g_i = dl/dy_i``.

Every chapter builds on :func:`make_batch`; the fields are plain SymPy
expressions so callers can differentiate, substitute or simplify them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import sympy as sp

# The batch size where a statement holds for every m, not one chosen m: a positive integer
# symbol. SymPy symbols with the same name and assumptions are the same symbol, so every
# proof that uses this one speaks of the same m.
BATCH_SIZE = sp.Symbol("m", integer=True, positive=True)


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
    return batch_of(x, g, gamma, beta, eps, floor=0 if eps_zero else eps)


def batch_of(x: tuple[sp.Expr, ...], g: tuple[sp.Expr, ...], gamma: sp.Expr, beta: sp.Expr, eps: sp.Expr,
             floor: sp.Expr | None = None) -> SymbolicBatch:
    """BN's training forward on the values ``x`` (upstream gradients ``g``), as a :class:`SymbolicBatch`.

    The one symbolic forward: ``mu``, the biased ``var``, ``sigma = sqrt(var + floor)``
    (``floor`` defaults to ``eps``; 0 is the idealised transform), ``xhat`` and ``y``.
    """
    x, g = tuple(x), tuple(g)
    mu = batch_mean(x)
    var = biased_batch_variance(x)
    sigma = sp.sqrt(var + (eps if floor is None else floor))
    xhat = tuple((xi - mu) / sigma for xi in x)
    y = tuple(gamma * xh + beta for xh in xhat)
    return SymbolicBatch(m=len(x), x=x, gamma=gamma, beta=beta, eps=eps, g=g,
                         mu=mu, var=var, sigma=sigma, xhat=xhat, y=y)


def batch_norm_expr(x: tuple[sp.Expr, ...] | list[sp.Expr], gamma: sp.Expr, beta: sp.Expr,
                    eps: sp.Expr) -> tuple[sp.Expr, ...]:
    """BN_{gamma,beta}(x) for arbitrary expressions ``x`` (e.g. ``a*x_i + c``).

    The outputs only, as one expression each (``gamma * (x_i - mu) / sigma + beta``), for
    the invariance proofs that compare BN of a transformed batch with BN of the batch;
    :func:`batch_of` is the forward with its intermediate values.
    """
    mu = batch_mean(x)
    sigma = sp.sqrt(biased_batch_variance(x) + eps)
    return tuple(gamma * (xi - mu) / sigma + beta for xi in x)


def sigma_symbol() -> sp.Symbol:
    """The positive symbol ``sigma`` standing for sqrt(sigma^2_B + epsilon)."""
    return sp.Symbol("sigma", positive=True)


def normalize_radicands(expr: sp.Expr) -> sp.Expr:
    """Put every radicand (base of a non-integer power) in one canonical form.

    Two radicands that are equal polynomials then become the same SymPy object,
    so their radicals cancel; ``factor_terms`` also pulls out a common factor such
    as a**2 so that sqrt(a**2 * P) splits into a*sqrt(P) when a is positive.
    """
    return expr.replace(
        lambda e: isinstance(e, sp.Pow) and e.exp.is_Rational and not e.exp.is_integer,
        lambda e: sp.Pow(sp.factor_terms(sp.expand(e.base)), e.exp))


def eliminate_sqrt(expr: sp.Expr, batch: SymbolicBatch) -> sp.Expr:
    """Rewrite ``expr`` so that sqrt(var + eps) becomes the positive symbol ``sigma``.

    Why this is exact and cheap: replacing eps by sigma**2 - var maps every
    power of (var + eps) to the same power of sigma**2, so radicals vanish and
    an identity that holds for all x and all eps > 0 becomes a rational identity
    in (x, sigma, ...) that holds for all sigma > 0 (each eps > 0 corresponds to
    sigma = sqrt(var + eps) and conversely). Rational identities are decided by
    expanding one numerator, which is far cheaper than ``simplify``.
    """
    return normalize_radicands(expr.xreplace({batch.eps: sigma_symbol() ** 2 - batch.var}))


def reduce_rational(expr: sp.Expr) -> sp.Expr:
    """0 if ``expr`` is identically zero, else its expanded numerator over a common denominator.

    Fast path: when every denominator is a monomial (powers of sigma, as after
    :func:`eliminate_sqrt`), ``expand`` alone gives a canonical Laurent polynomial,
    which is 0 exactly when the expression is; otherwise fall back to ``together``.
    """
    if _only_monomial_denominators(expr) and sp.expand(expr) == 0:
        return sp.Integer(0)
    numer, _ = sp.together(expr).as_numer_denom()
    return sp.expand(numer)


def _only_monomial_denominators(expr: sp.Expr) -> bool:
    return all(e.base.is_Symbol or e.base.is_Number
               for e in sp.preorder_traversal(expr)
               if isinstance(e, sp.Pow) and e.exp.is_negative)


def reduce_residual(expr: sp.Expr, batch: SymbolicBatch) -> sp.Expr:
    """Reduce a residual built from ``batch`` (eps > 0) to an expanded numerator.

    A result of exactly 0 proves the identity (the numerator vanishes as a
    polynomial). If radicals other than sqrt(var + eps) remain (see
    :func:`has_radical`), a nonzero result is inconclusive rather than a disproof.
    """
    return reduce_rational(eliminate_sqrt(expr, batch))


def has_radical(expr: sp.Expr) -> bool:
    """True if ``expr`` still contains a non-integer power."""
    return any(isinstance(e, sp.Pow) and e.exp.is_Rational and not e.exp.is_integer
               for e in sp.preorder_traversal(expr))


def all_zero(residuals: Iterable[sp.Expr | int]) -> bool:
    """True if every residual is exactly 0: an identity proven entry by entry (an empty list is
    vacuously true, so a caller that needs entries checks their number too)."""
    return all(r == 0 for r in residuals)
