"""Proofs of chapter 6 (inference, Algorithm 2): every residual must be exactly zero."""

import pytest
import sympy as sp

from bn.symbolic import inference as inf


@pytest.mark.parametrize("m", range(2, 9))
def test_expected_batch_variance_explicit_m(m):
    assert inf.prove_expected_batch_variance(m) == 0


@pytest.mark.parametrize("m", [2, 5, 8])
def test_bessel_correction_is_unbiased(m):
    assert inf.prove_bessel_correction(m) == 0


def test_expected_batch_variance_general_m():
    expectation, m = inf.expected_batch_variance_general()
    assert expectation.free_symbols == {m, inf.SIGMA2}, "mu must drop out: the variance ignores location"
    assert inf.prove_expected_batch_variance_general() == 0


def test_general_m_agrees_with_explicit_m():
    expectation, m = inf.expected_batch_variance_general()
    for k in range(2, 7):
        assert sp.simplify(expectation.subs(m, k) - inf.expected_batch_variance(k)) == 0


def test_biased_variance_is_biased():
    # Guard against a vacuous proof: the biased estimate is *not* sigma^2.
    assert sp.simplify(inf.expected_batch_variance(4) - inf.SIGMA2) != 0


def test_iid_expectation_of_a_product_uses_independence():
    x1, x2 = sp.symbols("x_1 x_2", real=True)
    assert sp.expand(inf.iid_expectation(x1 * x2, [x1, x2]) - inf.MU**2) == 0
    assert sp.expand(inf.iid_expectation(x1**2, [x1, x2]) - inf.MU**2 - inf.SIGMA2) == 0


@pytest.mark.parametrize("m", [2, 4])
def test_expected_batch_mean(m):
    assert inf.prove_expected_batch_mean(m) == 0


@pytest.mark.parametrize("T", [1, 2, 5, 8])
def test_ema_recursion_unrolls(T):
    assert inf.prove_ema_unrolled(T) == 0


def test_ema_weights_sum_to_one_for_symbolic_T():
    assert inf.prove_ema_weights_sum_to_one() == 0


def test_expected_ema_forgets_the_initial_value_geometrically():
    assert inf.prove_expected_ema() == 0


def test_inference_transform_is_one_affine_map():
    res = inf.prove_inference_is_affine()
    assert res == {"affine": 0, "scale": 0, "shift": 0, "second_derivative": 0}


@pytest.mark.parametrize("k,d", [(1, 1), (2, 3)])
def test_fold_into_linear_layer(k, d):
    res = inf.prove_fold_linear(k, d)
    for name, mat in res.items():
        assert mat.is_zero_matrix, name


def test_fold_into_convolution():
    res = inf.prove_fold_conv(c_in=2, c_out=2, kernel=2, size=3)
    assert len(res["W"]) == 16 and len(res["output"]) == 2 * 2 * 2
    for name, residuals in res.items():
        assert all(r == 0 for r in residuals), name


def test_fold_closed_form_is_not_the_unscaled_weight():
    # The closed form must actually change W (a test that would pass for W' = W is no test).
    s = inf.fold_symbols(1, 2)
    w_closed, _ = inf.folded_linear_closed_form(s)
    assert not (w_closed - s["W"]).applyfunc(sp.simplify).is_zero_matrix
