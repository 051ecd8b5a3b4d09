"""Proofs of chapter 5 (scale invariance, paper Section 3.3)."""

import pytest
import sympy as sp

from bn.symbolic import scale_invariance as si
from bn.symbolic.transform import scale_deviation_factor, scale_deviation_symbols


@pytest.fixture(scope="module")
def two_features():
    """m = 3 examples, k = 2 features, d = 2 inputs: W has two rows, each normalized on its own."""
    return si.make_setting(m=3, k=2, d=2)


@pytest.fixture(scope="module")
def one_feature():
    """m = 3, k = 1, d = 2: the smallest setting that is not degenerate (the Jacobian check is costly)."""
    return si.make_setting(m=3, k=1, d=2)


def test_output_is_invariant_to_scaling_w(two_features):
    assert all(r == 0 for r in si.prove_output_invariance(two_features))


def test_output_is_not_invariant_at_positive_epsilon(one_feature):
    s = one_feature
    diff = si.bn_of_linear(s, s.a * s.W, s.eps)[0] - si.bn_of_linear(s, s.W, s.eps)[0]
    point = {sym: v for sym, v in zip(list(s.W) + list(s.U), [1, 2, 1, 0, 0, 1, 2, 3])}
    point.update({s.a: 2, s.eps: sp.Rational(1, 10), s.gamma[0]: 1, s.beta[0]: 0})
    assert sp.nsimplify(diff.subs(point)) != 0


@pytest.mark.slow
def test_input_jacobian_is_invariant(one_feature):
    residuals = si.prove_input_jacobian_invariance(one_feature)
    assert len(residuals) == 3 * 3 * 2 and all(r == 0 for r in residuals)


@pytest.mark.slow
def test_weight_gradient_scales_as_one_over_a(two_features):
    assert all(r == 0 for r in si.prove_weight_gradient_scaling(two_features))


def test_weight_gradient_is_orthogonal_to_each_row(two_features):
    assert si.prove_gradient_orthogonal_to_weights(two_features) == [0, 0]


@pytest.mark.slow
def test_sgd_step_grows_the_norm(two_features):
    assert si.prove_sgd_norm_growth(two_features) == {"algebra": 0, "bn_gradient": 0}


def test_effective_learning_rate(two_features):
    assert all(r == 0 for r in si.prove_effective_learning_rate(two_features))


def test_epsilon_deviation_limits():
    assert si.prove_epsilon_ratio_limits() == {"a_to_infinity": 0, "a_to_zero": 0, "first_order": 0}


def test_ratio_is_one_only_without_rescaling():
    a, nu = si.relative_floor_symbols()
    rho = scale_deviation_factor(a, 1, nu)
    assert rho.subs(a, 1) == 1
    assert rho.subs({a: 2, nu: sp.Rational(1, 100)}) != 1


def test_deviation_depends_on_the_floor_only_relative_to_the_variance():
    # The chapter writes rho(a) with the variance as unit, nu = eps/V; that is rho itself only
    # because rho is homogeneous of degree 0 in (V, eps).
    a, V, eps = scale_deviation_symbols()
    assert sp.simplify(scale_deviation_factor(a, V, eps) - scale_deviation_factor(a, 1, eps / V)) == 0
    assert sp.simplify(scale_deviation_factor(a, V, eps) - scale_deviation_factor(a, 1, eps)) != 0


def test_output_invariance_for_symbolic_batch_size():
    assert si.prove_output_invariance_general_m() == 0


def test_epsilon_ratio_for_symbolic_batch_size():
    assert si.prove_epsilon_ratio_general_m() == 0


def test_general_m_machinery_detects_a_negative_scale():
    # Negative control: with a < 0 the normalized values flip sign, so the residual is not 0.
    m, i, x = si.general_feature()
    a = sp.Symbol("a", negative=True)
    k = sp.Symbol("k", integer=True)
    flipped = si.general_xhat(sp.Lambda(k, a * x[k]), m, i, 0)
    plain = si.general_xhat(sp.Lambda(k, x[k]), m, i, 0)
    assert sp.simplify(flipped - plain) != 0
    assert sp.simplify(flipped + plain) == 0


def test_weight_gradient_orthogonality_for_symbolic_batch_size():
    assert si.prove_input_gradient_orthogonality_general_m() == {"sum_x_dx": 0, "sum_dx": 0}


def test_orthogonality_fails_at_positive_epsilon_for_symbolic_batch_size():
    res = si.prove_input_gradient_orthogonality_general_m(sp.Symbol("epsilon", positive=True))
    assert res["sum_x_dx"] != 0  # the floor breaks the invariance, hence the orthogonality
    assert res["sum_dx"] == 0    # shift invariance does not depend on epsilon


def test_general_gradient_is_the_backpropagation_chapters_formula():
    # The power-sum form, evaluated on an explicit batch, is bn.symbolic.backward.compact_dx.
    from bn.symbolic.backward import compact_dx
    from bn.symbolic.batch import make_batch

    batch = make_batch(3)
    grad = si.general_input_gradient(batch.eps)
    power_sums = {sp.Symbol(f"S_{{x^{p} g^{q}}}", real=True):
                  sum(xi**p * gi**q for xi, gi in zip(batch.x, batch.g)) for p in range(3) for q in range(2)}
    for i in range(3):
        here = grad["dx"].subs(power_sums).subs({grad["x"]: batch.x[i], grad["g"]: batch.g[i], grad["m"]: 3,
                                                 grad["gamma"]: batch.gamma})
        assert sp.simplify(here - compact_dx(batch)[i]) == 0
