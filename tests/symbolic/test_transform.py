"""Chapter 1 proofs: each residual must reduce to exactly 0 (exact rational arithmetic, no tolerance)."""

import numpy as np
import pytest
import sympy as sp

from bn.symbolic import transform as T
from bn.normalization import whitening as W
from bn.symbolic.batch import batch_norm_expr, eliminate_sqrt, has_radical, make_batch, reduce_residual

MS = range(2, 9)


@pytest.mark.parametrize("m", MS)
def test_output_mean_is_beta(m):
    assert T.prove_output_mean(m) == 0


@pytest.mark.parametrize("m", MS)
def test_output_variance(m):
    assert T.prove_output_variance(m) == 0


@pytest.mark.parametrize("m", MS)
def test_identity_is_representable(m):
    assert T.prove_identity_representable(m) == [0] * m


@pytest.mark.parametrize("m", MS)
def test_shift_invariance(m):
    assert T.prove_shift_invariance(m) == [0] * m


@pytest.mark.parametrize("m", MS)
def test_scale_invariance_at_eps0(m):
    assert T.prove_scale_invariance_eps0(m) == [0] * m


@pytest.mark.parametrize("m", MS)
def test_scale_deviation_factor(m):
    assert T.prove_scale_deviation(m) == [0] * m


def test_scale_deviation_facts():
    a, V, eps = T.scale_deviation_symbols()
    facts = T.scale_deviation_facts()
    assert facts["rho_squared_residual"] == 0
    assert facts["limit_eps0"] == 1
    assert facts["rho_at_1"] == 1
    assert sp.simplify(facts["limit_a_inf"] - sp.sqrt(1 + eps / V)) == 0
    assert facts["drho2_da"].is_positive  # a, V, eps > 0: rho grows with a


# --- the checks can fail: wrong statements give nonzero residuals ---------------------------

def test_wrong_variance_is_detected():
    b = make_batch(3)
    assert reduce_residual(T.output_variance(b) - b.gamma ** 2, b) != 0


def test_identity_needs_eps_in_gamma():
    b = make_batch(3)
    wrong = b.y[0].xreplace({b.gamma: sp.sqrt(b.var), b.beta: b.mu}) - b.x[0]
    assert reduce_residual(wrong, b) != 0


def test_scale_invariance_fails_at_eps_positive():
    b = make_batch(3)
    a = sp.Symbol("a", positive=True)
    scaled = batch_norm_expr([a * xi for xi in b.x], b.gamma, b.beta, b.eps)
    point = {b.x[0]: 1, b.x[1]: 2, b.x[2]: 4, b.gamma: 1, b.beta: 0, b.eps: sp.Rational(1, 10), a: 3}
    assert abs(sp.N((scaled[0] - b.y[0]).xreplace(point), 30)) > 1e-6


def test_elimination_leaves_no_radical():
    b = make_batch(4)
    assert not has_radical(eliminate_sqrt(T.output_variance(b), b))


def test_scale_deviation_numeric():
    """The factor rho predicts the float64 deviation (tolerance: a few ulps of O(1) values)."""
    rng = np.random.default_rng(0)
    x, a, eps = rng.standard_normal(16), 7.0, 0.3

    def bn(v):
        return (v - v.mean()) / np.sqrt(v.var() + eps)

    rho = float(T.scale_deviation_factor(sp.Float(a), sp.Float(x.var()), sp.Float(eps)))
    np.testing.assert_allclose(bn(a * x), rho * bn(x), rtol=1e-13, atol=0)


# --- whitening counts -----------------------------------------------------------------------

def test_whitening_jacobian_is_d_times_larger():
    assert W.jacobian_entries_whitening(32, 100) == 100 * W.jacobian_entries_batchnorm(32, 100)
    assert W.covariance_parameters(3) == 6


@pytest.mark.parametrize("m, d, rank", [(32, 100, 31), (300, 100, 100), (5, 5, 4)])
def test_batch_covariance_rank(m, d, rank):
    x = np.random.default_rng(1).standard_normal((m, d))
    assert W.batch_covariance_rank(x) == rank
