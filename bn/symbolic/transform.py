"""Chapter 1: the BN transform (Ioffe & Szegedy 2015, Algorithm 1) and its invariances.

Every ``prove_*`` function returns residuals reduced by exact rational
arithmetic (see :func:`bn.symbolic.batch.reduce_residual`); each is 0 exactly
when the identity holds for all inputs, all gamma, beta and all eps > 0
(or eps = 0 where the name says so).
"""

from __future__ import annotations

import sympy as sp

from bn.symbolic.batch import (SymbolicBatch, batch_mean, batch_norm_expr, biased_batch_variance,
                               make_batch, normalize_radicands, reduce_rational, reduce_residual)


def output_mean(batch: SymbolicBatch) -> sp.Expr:
    """The mean of the outputs y_1..y_m over the batch."""
    return batch_mean(batch.y)


def output_variance(batch: SymbolicBatch) -> sp.Expr:
    """The biased variance of the outputs y_1..y_m over the batch."""
    return biased_batch_variance(batch.y)


def predicted_output_variance(batch: SymbolicBatch) -> sp.Expr:
    """gamma^2 sigma^2_B / (sigma^2_B + eps): the variance the theorem predicts."""
    return batch.gamma ** 2 * batch.var / (batch.var + batch.eps)


def prove_output_mean(m: int) -> sp.Expr:
    """Residual of mean(y) = beta."""
    b = make_batch(m)
    return reduce_residual(output_mean(b) - b.beta, b)


def prove_output_variance(m: int) -> sp.Expr:
    """Residual of var(y) = gamma^2 sigma^2_B / (sigma^2_B + eps)."""
    b = make_batch(m)
    return reduce_residual(output_variance(b) - predicted_output_variance(b), b)


def identity_parameters(batch: SymbolicBatch) -> dict[sp.Symbol, sp.Expr]:
    """The paper's choice gamma = sqrt(sigma^2_B + eps), beta = mu_B (Sec. 3)."""
    return {batch.gamma: batch.sigma, batch.beta: batch.mu}


def prove_identity_representable(m: int) -> list[sp.Expr]:
    """Residuals of y_i = x_i under :func:`identity_parameters`, one per i."""
    b = make_batch(m)
    params = identity_parameters(b)
    return [reduce_residual(yi.xreplace(params) - xi, b) for yi, xi in zip(b.y, b.x)]


def prove_shift_invariance(m: int) -> list[sp.Expr]:
    """Residuals of BN(x + c) = BN(x) for a symbolic constant c, one per i.

    With x_i = (W u)_i this is BN(W u + b) = BN(W u): a bias before BN is redundant.
    """
    b = make_batch(m)
    c = sp.Symbol("c", real=True)
    shifted = batch_norm_expr([xi + c for xi in b.x], b.gamma, b.beta, b.eps)
    return [reduce_residual(ys - yi, b) for ys, yi in zip(shifted, b.y)]


def prove_scale_invariance_eps0(m: int) -> list[sp.Expr]:
    """Residuals of BN(a x) = BN(x) at eps = 0 for a symbolic a > 0, one per i."""
    b = make_batch(m, eps_zero=True)
    a = sp.Symbol("a", positive=True)
    scaled = batch_norm_expr([a * xi for xi in b.x], b.gamma, b.beta, 0)
    return [reduce_rational(normalize_radicands(ys - yi)) for ys, yi in zip(scaled, b.y)]


def scale_deviation_factor(a: sp.Expr, var: sp.Expr, eps: sp.Expr) -> sp.Expr:
    """rho(a) = a sqrt(var + eps) / sqrt(a^2 var + eps), the factor BN(a x) - beta = rho (BN(x) - beta)."""
    return a * sp.sqrt(var + eps) / sp.sqrt(a ** 2 * var + eps)


def prove_scale_deviation(m: int) -> list[sp.Expr]:
    """Residuals of BN(a x)_i - beta = rho(a) (BN(x)_i - beta) at eps > 0, one per i."""
    b = make_batch(m)
    a = sp.Symbol("a", positive=True)
    scaled = batch_norm_expr([a * xi for xi in b.x], b.gamma, b.beta, b.eps)
    rho = scale_deviation_factor(a, b.var, b.eps)
    return [reduce_rational(normalize_radicands((ys - b.beta) - rho * (yi - b.beta)))
            for ys, yi in zip(scaled, b.y)]


def scale_deviation_symbols() -> tuple[sp.Symbol, sp.Symbol, sp.Symbol]:
    """Positive scalars (a, V, eps) for statements about rho alone."""
    return sp.symbols("a V epsilon", positive=True)


def scale_deviation_facts() -> dict[str, sp.Expr]:
    """Exact facts about rho(a) = a sqrt(V + eps)/sqrt(a^2 V + eps), for a, V, eps > 0.

    Keys: ``rho_squared_residual`` (rho^2 = (V + eps)/(V + eps/a^2), reduced; 0),
    ``limit_eps0`` (lim_{eps->0} rho; 1), ``limit_a_inf`` (lim_{a->oo} rho),
    ``drho2_da`` (d rho^2/da, positive: rho grows with a), ``rho_at_1`` (1).
    """
    a, V, eps = scale_deviation_symbols()
    rho = scale_deviation_factor(a, V, eps)
    return {
        "rho_squared_residual": reduce_rational(rho ** 2 - (V + eps) / (V + eps / a ** 2)),
        "limit_eps0": sp.limit(rho, eps, 0, "+"),
        "limit_a_inf": sp.limit(rho, a, sp.oo),
        "drho2_da": sp.factor(sp.diff(rho ** 2, a)),
        "rho_at_1": sp.simplify(rho.subs(a, 1)),
    }
