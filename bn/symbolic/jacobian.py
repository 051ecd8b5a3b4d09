"""Chapter 3: the Jacobian J = dy/dx of BN for one feature over a batch of m.

J = (gamma/sigma) (I - 1 1^T/m - xhat xhat^T/m), sigma = sqrt(sigma^2_B + eps).
The ``prove_*`` functions return exactly reduced residuals (0 when the
identity holds); the NumPy helpers are the numeric twins used for figures.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import sympy as sp

from bn.symbolic.batch import (SymbolicBatch, eliminate_sqrt, make_batch, reduce_rational,
                               reduce_residual)


def jacobian_direct(batch: SymbolicBatch) -> sp.Matrix:
    """J_ij = dy_i/dx_j by differentiating the forward expressions."""
    return sp.Matrix(batch.m, batch.m, lambda i, j: sp.diff(batch.y[i], batch.x[j]))


def projector_part(batch: SymbolicBatch) -> sp.Matrix:
    """P = I - 1 1^T/m - xhat xhat^T/m, so that J = (gamma/sigma) P."""
    m, xh = batch.m, sp.Matrix(batch.xhat)
    ones = sp.ones(m, 1)
    return sp.eye(m) - ones * ones.T / m - xh * xh.T / m


def jacobian_formula(batch: SymbolicBatch) -> sp.Matrix:
    """(gamma/sigma) (I - 1 1^T/m - xhat xhat^T/m)."""
    return batch.gamma / batch.sigma * projector_part(batch)


@lru_cache(maxsize=None)
def rational_jacobian(m: int) -> sp.Matrix:
    """dy_i/dx_j by direct differentiation, with sqrt(sigma^2_B + eps) replaced by the symbol sigma.

    Cached: the three proofs below share it. The entries are rational in
    (x, sigma, gamma), so identities among them are decided by expanding numerators.
    """
    b = make_batch(m)
    return jacobian_direct(b).applyfunc(lambda e: eliminate_sqrt(e, b))


def prove_jacobian_formula(m: int) -> list[sp.Expr]:
    """Residuals J_direct - (gamma/sigma)(I - 1 1^T/m - xhat xhat^T/m), entry by entry (all 0)."""
    b = make_batch(m)
    formula = jacobian_formula(b).applyfunc(lambda e: eliminate_sqrt(e, b))
    return [reduce_rational(e) for e in rational_jacobian(m) - formula]


def prove_symmetric(m: int) -> list[sp.Expr]:
    """Residuals J_ij - J_ji of the directly differentiated J, for i < j (all 0)."""
    J = rational_jacobian(m)
    return [reduce_rational(J[i, j] - J[j, i]) for i in range(m) for j in range(i + 1, m)]


def prove_annihilates_ones(m: int) -> list[sp.Expr]:
    """Residuals of J 1 = 0 (directly differentiated J): gradients sum to zero over the batch."""
    return [reduce_rational(e) for e in rational_jacobian(m) * sp.ones(m, 1)]


def xhat_eigenvalue(batch: SymbolicBatch) -> sp.Expr:
    """eps / (sigma^2_B + eps): the eigenvalue of (sigma/gamma) J along xhat."""
    return batch.eps / (batch.var + batch.eps)


def prove_xhat_eigenvector(m: int) -> list[sp.Expr]:
    """Residuals of (sigma/gamma) J xhat = eps/(sigma^2_B + eps) xhat at eps > 0."""
    b = make_batch(m)
    xh = sp.Matrix(b.xhat)
    lhs = projector_part(b) * xh
    return [reduce_residual(e, b) for e in lhs - xhat_eigenvalue(b) * xh]


def prove_xhat_moments(m: int, eps_zero: bool = False) -> dict[str, sp.Expr]:
    """Residuals of the two facts about xhat the spectral proofs use (both 0).

    ``sum``: sum_i xhat_i = 0; ``sum_sq``: sum_i xhat_i^2 = m (1 - lambda), where
    lambda = eps/(sigma^2_B + eps) (lambda = 0 at eps = 0).
    """
    b = make_batch(m, eps_zero=eps_zero)
    total, total_sq = sp.Add(*b.xhat), sp.Add(*[xh ** 2 for xh in b.xhat])
    if eps_zero:
        return {"sum": reduce_rational(total), "sum_sq": reduce_rational(total_sq - m)}
    return {"sum": reduce_residual(total, b),
            "sum_sq": reduce_residual(total_sq - m * (1 - xhat_eigenvalue(b)), b)}


def free_centred_vector(m: int) -> sp.Matrix:
    """A vector u with sum(u) = 0 in free symbols: u_m = -(u_1 + ... + u_{m-1}).

    Any xhat of BN has this form (its entries sum to 0); stating the spectral
    identities for all such u and then using the facts of :func:`prove_xhat_moments`
    keeps the polynomials small (the cheapest exact route for m up to 8).
    """
    u = list(sp.symbols(f"u_1:{m}", real=True))
    return sp.Matrix(u + [-sp.Add(*u)])


def _projector_of(u: sp.Matrix) -> sp.Matrix:
    m = u.shape[0]
    ones = sp.ones(m, 1)
    return sp.eye(m) - ones * ones.T / m - u * u.T / m


def prove_minimal_polynomial(m: int) -> list[sp.Expr]:
    """Residuals of P (P - lambda I)(P - I) = 0 for P = I - 1 1^T/m - u u^T/m,
    sum(u) = 0 and lambda = 1 - u^T u / m (all 0).

    With u = xhat this lambda is eps/(sigma^2_B + eps) (:func:`prove_xhat_moments`),
    and P = (sigma/gamma) J (:func:`prove_jacobian_formula`). So every eigenvalue of
    (sigma/gamma) J lies in {0, lambda, 1}; with trace m - 2 + lambda (:func:`prove_trace`)
    and lambda varying with the data, their multiplicities are 1, 1 and m - 2.
    """
    u = free_centred_vector(m)
    P = _projector_of(u)
    lam = 1 - (u.T * u)[0, 0] / m
    product = (P * (P - lam * sp.eye(m))).applyfunc(sp.expand) * (P - sp.eye(m))
    return [sp.expand(e) for e in product]


def prove_idempotent_defect(m: int) -> list[sp.Expr]:
    """Residuals of P^2 - P = u u^T (u^T u - m)/m^2 for sum(u) = 0 (all 0).

    At eps = 0, xhat^T xhat = m (:func:`prove_xhat_moments`), so P^2 = P with u = xhat.
    """
    u = free_centred_vector(m)
    P = _projector_of(u)
    defect = u * u.T * ((u.T * u)[0, 0] - m) / m ** 2
    return [sp.expand(e) for e in P * P - P - defect]


def prove_trace(m: int, eps_zero: bool = False) -> sp.Expr:
    """Residual of trace P = m - 2 + lambda for BN's P (lambda = 0 at eps = 0)."""
    b = make_batch(m, eps_zero=eps_zero)
    P = projector_part(b)
    if eps_zero:
        return reduce_rational(P.trace() - (m - 2))
    return reduce_residual(P.trace() - (m - 2 + xhat_eigenvalue(b)), b)


def prove_projector_eps0(m: int) -> dict[str, list[sp.Expr]]:
    """At eps = 0, P = (sigma/gamma) J annihilates 1 and xhat and is symmetric.

    Residuals (all 0): ``symmetric`` P - P^T, ``kills_ones`` P 1, ``kills_xhat`` P xhat,
    computed on BN's own xhat at eps = 0. Idempotence is :func:`prove_idempotent_defect`
    plus xhat^T xhat = m; rank = trace = m - 2 is :func:`prove_trace` (eps_zero=True).
    """
    b = make_batch(m, eps_zero=True)
    P = projector_part(b)
    xh = sp.Matrix(b.xhat)

    def reduced(mat: sp.Matrix) -> list[sp.Expr]:
        return [reduce_rational(e) for e in mat]

    return {"symmetric": reduced(P - P.T), "kills_ones": reduced(P * sp.ones(m, 1)),
            "kills_xhat": reduced(P * xh)}


# --- numeric twins (NumPy) for figures ---------------------------------------------------

def jacobian_numpy(x: np.ndarray, gamma: float, eps: float) -> np.ndarray:
    """The closed form (gamma/sigma)(I - 1 1^T/m - xhat xhat^T/m) for a 1-D batch ``x``.

    Computes ``xhat`` itself, on purpose: it is the closed form that
    :func:`jacobian_from_backward` (the book's NumPy backward) is compared with.
    """
    m = x.shape[0]
    sigma = np.sqrt(x.var() + eps)  # np.var divides by m: the biased variance, as in training
    xhat = (x - x.mean()) / sigma
    return gamma / sigma * (np.eye(m) - np.ones((m, m)) / m - np.outer(xhat, xhat) / m)


def jacobian_from_backward(x: np.ndarray, gamma: float, eps: float) -> np.ndarray:
    """J assembled from the book's NumPy backward pass: row k is dx for dy = e_k.

    Uses :func:`bn.functional.batch_norm_backward`, an independent implementation.
    """
    from bn.functional import batch_norm_backward, batch_norm_forward

    m = x.shape[0]
    col = x.reshape(m, 1).astype(np.float64)
    _, cache = batch_norm_forward(col, np.array([gamma]), np.array([0.0]), eps)
    rows = [batch_norm_backward(np.eye(m)[k].reshape(m, 1), cache)[0][:, 0] for k in range(m)]
    return np.stack(rows)


# --- the numbers the chapter states ------------------------------------------------------------

@dataclass(frozen=True)
class JacobianSummary:
    """Every number the Jacobian chapter glues (``jac-`` + field, hyphens for underscores), for its
    batch of 8 values of standard deviation 0.05 (seed 3) and ``eps``.

    ``batch_var``, ``min_entry``, ``max_entry``: the batch's variance and the smallest and largest
    ``|J_ij|`` (gamma = 1, from :func:`jacobian_from_backward`). ``lam_small``, ``lam_large``: the
    predicted eigenvalue ``lambda = eps / (sigma^2_B + eps)`` of ``(sigma/gamma) J`` at
    ``eps = 1e-4`` and ``1e-2``; ``spectrum_ok``: ``"True"`` when the eigenvalues computed at
    ``eps`` = 0, 1e-4 and 1e-2 lie within 1e-12 of ``{0, lambda, 1, ..., 1}``. ``coupling_range``:
    the largest change of another example's output while example 7 sweeps the batch's range
    (plus 0.15 on each side, 121 points).
    """

    batch_var: float
    min_entry: float
    max_entry: float
    eps: float
    lam_small: float
    lam_large: float
    spectrum_ok: str
    coupling_range: float


def chapter_batch(seed: int = 3, m: int = 8, scale: float = 0.05) -> np.ndarray:
    """The chapter's batch: ``m`` draws of ``scale`` times a standard normal (NumPy generator ``seed``)."""
    return scale * np.random.default_rng(seed).standard_normal(m)


def spectrum_deviation(x: np.ndarray, eps_values: tuple[float, ...] = (0.0, 1e-4, 1e-2)) -> float:
    """Largest gap between the eigenvalues of ``(sigma/gamma) J`` (:func:`jacobian_numpy`, gamma = 1)
    and the predicted set ``{0, lambda, 1, ..., 1}``, over ``eps_values``."""
    worst = 0.0
    for e in eps_values:
        ev = np.linalg.eigvalsh(jacobian_numpy(x, 1.0, e) * np.sqrt(x.var() + e))
        lam = e / (x.var() + e)
        predicted = np.sort([0.0, lam] + [1.0] * (len(x) - 2))
        worst = max(worst, float(np.max(np.abs(np.sort(ev) - predicted))))
    return worst


def coupling_range(x: np.ndarray, eps: float, moved: int = 7, margin: float = 0.15,
                   points: int = 121) -> float:
    """Largest change of the BN output (gamma = 1, beta = 0) of any example but ``moved`` while
    ``x[moved]`` sweeps ``[min x - margin, max x + margin]``."""
    from bn.functional import batch_norm_forward

    outputs = []
    for value in np.linspace(x.min() - margin, x.max() + margin, points):
        batch = x.copy()
        batch[moved] = value
        y, _ = batch_norm_forward(batch.reshape(-1, 1), np.array([1.0]), np.array([0.0]), eps)
        outputs.append(y[:, 0])
    others = np.delete(np.array(outputs), moved, axis=1)
    return float(np.max(others.max(axis=0) - others.min(axis=0)))


def summarize_jacobian(eps: float = 1e-3) -> JacobianSummary:
    """The :class:`JacobianSummary` of :func:`chapter_batch` at ``eps``."""
    x = chapter_batch()
    J = jacobian_from_backward(x, 1.0, eps)
    var = float(x.var())
    # float64 symmetric eigensolver on O(1) eigenvalues: errors are a few ulps times m
    return JacobianSummary(
        batch_var=var, min_entry=float(np.min(np.abs(J))), max_entry=float(np.max(np.abs(J))),
        eps=eps, lam_small=1e-4 / (var + 1e-4), lam_large=1e-2 / (var + 1e-2),
        spectrum_ok=str(spectrum_deviation(x) < 1e-12), coupling_range=coupling_range(x, eps))
