"""Chapter 3 proofs: the BN Jacobian, explicit m = 2..8 and symbolic m; residuals exactly 0."""

import numpy as np
import pytest
import sympy as sp

from bn.symbolic import backward_general as G
from bn.symbolic import jacobian as J
from bn.symbolic.batch import make_batch

MS = range(2, 9)


def sizes(slow_from: int) -> list:
    """MS, the sizes from ``slow_from`` on marked slow (SymPy's time grows fast with m)."""
    return [pytest.param(m, marks=pytest.mark.slow) if m >= slow_from else m for m in MS]


@pytest.mark.parametrize("m", sizes(8))
def test_jacobian_formula(m):
    assert J.prove_jacobian_formula(m) == [0] * m * m


@pytest.mark.parametrize("m", MS)
def test_jacobian_symmetric(m):
    assert J.prove_symmetric(m) == [0] * (m * (m - 1) // 2)


@pytest.mark.parametrize("m", MS)
def test_jacobian_kills_ones(m):
    assert J.prove_annihilates_ones(m) == [0] * m


@pytest.mark.parametrize("m", sizes(7))
def test_xhat_eigenvector(m):
    assert J.prove_xhat_eigenvector(m) == [0] * m


@pytest.mark.parametrize("m", MS)
@pytest.mark.parametrize("eps_zero", [False, True])
def test_xhat_moments(m, eps_zero):
    assert J.prove_xhat_moments(m, eps_zero) == {"sum": 0, "sum_sq": 0}


@pytest.mark.parametrize("m", MS)
@pytest.mark.parametrize("eps_zero", [False, True])
def test_trace(m, eps_zero):
    assert J.prove_trace(m, eps_zero) == 0


@pytest.mark.parametrize("m", sizes(6))
def test_projector_at_eps0(m):
    residuals = J.prove_projector_eps0(m)
    for key, values in residuals.items():
        assert values == [0] * len(values), key
    assert J.prove_idempotent_defect(m) == [0] * m * m


# The triple product of m x m polynomial matrices costs ~7 s at m = 8; m <= 6 here,
# and the symbolic-m proof below covers every m.
@pytest.mark.parametrize("m", range(2, 7))
def test_minimal_polynomial(m):
    assert J.prove_minimal_polynomial(m) == [0] * m * m


def test_not_a_projector_at_eps_positive():
    """At eps > 0, P^2 != P: the eigenvalue along xhat is lambda, not 0 (the check can fail)."""
    b = make_batch(3)
    P = J.projector_part(b)
    assert J.reduce_residual((P * P - P)[0, 0], b) != 0


# --- symbolic m -----------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["prove_jacobian_symmetric", "prove_jacobian_kills_ones",
                                  "prove_jacobian_xhat_eigen", "prove_minimal_polynomial_general"])
def test_general_m(name):
    assert getattr(G, name)() == 0


def test_general_gram_relations():
    assert G.prove_gram_relations() == {"a.a": 0, "a.b": 0, "b.b": 0}


def test_rank_two_reduction_can_fail():
    A, B = sp.symbols("A B", commutative=False)
    lam = sp.Symbol("lambda")
    P = 1 - A - B
    assert G.reduce_rank_two(P * (P - 1), A, B, lam) != 0  # P is not a projector when lambda != 0


# --- numeric twins ---------------------------------------------------------------------------

def test_numpy_jacobian_matches_backward_and_symbolic():
    """float64, O(1) entries: agreement to 1e-12 leaves room for ~100 ulps of rounding."""
    x = np.array([0.3, -1.2, 2.0, 0.7, -0.4])
    gamma, eps = 1.5, 0.01
    closed = J.jacobian_numpy(x, gamma, eps)
    np.testing.assert_allclose(J.jacobian_from_backward(x, gamma, eps), closed, rtol=0, atol=1e-12)
    b = make_batch(5)
    f = sp.lambdify([b.x, b.gamma, b.eps], J.jacobian_direct(b), "numpy")
    np.testing.assert_allclose(np.array(f(x, gamma, eps), dtype=float), closed, rtol=0, atol=1e-12)


def test_numpy_eigenvalues():
    """Spectrum of (sigma/gamma) J: {0, lambda, 1 (m-2 times)}; eigvalsh in float64 to 1e-12."""
    x = np.array([0.3, -1.2, 2.0, 0.7, -0.4, 1.1])
    eps = 0.5
    sigma = np.sqrt(x.var() + eps)
    ev = np.sort(np.linalg.eigvalsh(J.jacobian_numpy(x, 1.0, eps) * sigma))
    lam = eps / (x.var() + eps)
    np.testing.assert_allclose(ev, np.sort([0.0, lam] + [1.0] * 4), atol=1e-12)
