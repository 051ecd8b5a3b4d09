"""Exact sampling moments of mu_B and var_B: SymPy for small m, simulation for any m."""

import math

import numpy as np
import pytest
import sympy as sp

from bn.normalization.batch_statistics import (gaussian_batch_mean_moments, gaussian_batch_var_density,
                                              gaussian_batch_var_moments, sample_batch_statistics)


def gaussian_expectation(expr, zs):
    """E[expr] for independent standard normal ``zs``: E[z^k] = (k-1)!! for even k, 0 for odd."""
    poly = sp.Poly(sp.expand(expr), *zs)
    total = sp.Integer(0)
    for powers, coeff in poly.terms():
        moment = sp.Integer(1)
        for k in powers:
            moment *= 0 if k % 2 else sp.factorial2(k - 1)
        total += coeff * moment
    return sp.simplify(total)


@pytest.mark.parametrize("m", [2, 3, 4, 5])
def test_formulas_match_an_exact_symbolic_expectation(m):
    mu, sigma = sp.symbols("mu sigma", positive=True)
    zs = sp.symbols(f"z0:{m}")
    xs = [mu + sigma * z for z in zs]
    mean_b = sum(xs) / m
    var_b = sum((x - mean_b) ** 2 for x in xs) / m
    e_mean = gaussian_expectation(mean_b, zs)
    v_mean = gaussian_expectation((mean_b - e_mean) ** 2, zs)
    e_var = gaussian_expectation(var_b, zs)
    v_var = gaussian_expectation((var_b - e_var) ** 2, zs)
    assert sp.simplify(e_mean - mu) == 0
    assert sp.simplify(v_mean - sigma**2 / m) == 0
    assert sp.simplify(e_var - sp.Rational(m - 1, m) * sigma**2) == 0
    assert sp.simplify(v_var - sp.Rational(2 * (m - 1), m**2) * sigma**4) == 0
    # The module's float formulas at a sample point.
    assert gaussian_batch_mean_moments(m, 1.5, 2.0) == pytest.approx((1.5, 4.0 / m), rel=1e-15)
    assert gaussian_batch_var_moments(m, 2.0) == pytest.approx(
        (float(e_var.subs(sigma, 2)), float(v_var.subs(sigma, 2))), rel=1e-15)


@pytest.mark.parametrize("m", [2, 8, 64])
def test_simulation_agrees_within_five_standard_errors(m):
    trials = 20_000
    means, variances = sample_batch_statistics(np.random.default_rng(m), m, trials, mu=1.0, sigma=2.0)
    e_mean, v_mean = gaussian_batch_mean_moments(m, 1.0, 2.0)
    e_var, v_var = gaussian_batch_var_moments(m, 2.0)
    # Standard error of a mean of `trials` draws is sqrt(Var / trials); 5 of them
    # is a two-sided false-alarm rate of 6e-7 (and the seed is fixed).
    assert abs(means.mean() - e_mean) < 5 * math.sqrt(v_mean / trials)
    assert abs(variances.mean() - e_var) < 5 * math.sqrt(v_var / trials)
    # The sample variance of the draws has relative standard error ~ sqrt(2 / trials)
    # for a Gaussian mu_B and ~ sqrt((2 + kurtosis excess) / trials) for var_B (excess 12/(m-1)).
    assert means.var() == pytest.approx(v_mean, rel=5 * math.sqrt(2 / trials))
    assert variances.var() == pytest.approx(v_var, rel=5 * math.sqrt((2 + 12 / (m - 1)) / trials))


@pytest.mark.parametrize("m", [2, 3, 10, 200])
def test_density_is_the_scaled_chi_square_of_sympy_stats(m):
    from sympy.stats import ChiSquared, density

    sigma = 1.5
    u = sp.Symbol("u", positive=True)
    chi2_pdf = density(ChiSquared("U", m - 1))(u)
    e_var, _ = gaussian_batch_var_moments(m, sigma)
    v = np.linspace(0.05, 3.0, 13) * e_var
    # var_B = sigma^2 U / m, so p(v) = (m / sigma^2) * chi2_pdf(m v / sigma^2).
    expected = [float((m / sigma**2) * chi2_pdf.subs(u, m * vi / sigma**2)) for vi in v]
    # The module evaluates the density in logs (lgamma, log, exp): relative
    # error a few hundred eps at most for these arguments.
    np.testing.assert_allclose(gaussian_batch_var_density(v, m, sigma), expected, rtol=1e-12)
    assert gaussian_batch_var_density(np.array([-1.0, 0.0]), m, sigma).tolist() == [0.0, 0.0]


def test_argument_checks():
    with pytest.raises(ValueError, match=">= 2"):
        gaussian_batch_var_moments(1)
    with pytest.raises(TypeError, match="integer"):
        gaussian_batch_mean_moments(2.5)
    with pytest.raises(ValueError, match="sigma"):
        gaussian_batch_var_moments(4, sigma=0.0)
    with pytest.raises(ValueError, match="trials"):
        sample_batch_statistics(np.random.default_rng(0), 4, 0)
