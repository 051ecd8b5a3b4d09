"""summarize_transform: the transform chapter's numbers, against a recomputation by other code."""

import dataclasses

import numpy as np
import pytest
import sympy as sp

from bn.functional import batch_norm_forward
from bn.normalization.whitening import TransformSummary, summarize_transform
from bn.symbolic import transform as tr


def check(s: TransformSummary) -> None:
    """Every field against an independent path; raises AssertionError on the first that disagrees."""
    # shrink: the output variance of bn.functional's forward pass (gamma = 1) on the chapter's batch,
    # not the formula. float64, 16 values of order 1: the two agree to a few ulps; 1e-12 is ample.
    x = 0.05 * np.random.default_rng(0).standard_normal((16, 1))
    y, _ = batch_norm_forward(x, np.array([1.0]), np.array([0.0]), 1e-3)
    assert s.shrink == pytest.approx(float(y.var()), abs=1e-12)
    # The eps bounds from SymPy's limit of rho for a -> infinity (the chapter's derivation), evaluated
    # exactly and then rounded once: rel 1e-12 against float64 arithmetic of a few operations.
    a, V, e = tr.scale_deviation_symbols()
    rho_inf = tr.scale_deviation_facts()["limit_a_inf"]
    eps = sp.Rational(1, 10 ** 5)
    # ex3_var: the variance at which rho_inf = 1.001 (the exercise's 0.1 %)
    assert float(rho_inf.subs({V: sp.Float(s.ex3_var), e: eps})) == pytest.approx(1.001, rel=1e-9)
    assert s.bound_unit == pytest.approx(float(rho_inf.subs({V: 1, e: eps}) - 1), rel=1e-9)
    assert s.bound_small == pytest.approx(float(rho_inf.subs({V: sp.Rational(1, 10 ** 4), e: eps}) - 1),
                                          rel=1e-12)
    # whitening: rank min(m - 1, d) from the singular values of the centred batch (not the covariance),
    # and the ratio (m d)^2 / (d m^2) = d.
    z = np.random.default_rng(1).standard_normal((32, 512))
    sv = np.linalg.svd(z - z.mean(axis=0), compute_uv=False)
    assert s.wh_rank == int(np.sum(sv > sv[0] * 1e-10)) == 31
    assert s.wh_ratio == 512


def test_summary_matches_an_independent_recomputation():
    # Protects the chapter's shrink factor, its exercise's variance, the bounds on rho - 1 at
    # sigma^2 = 1 and 1e-4, and "rank 31 ... 512 times as many Jacobian entries".
    check(summarize_transform())


@pytest.mark.parametrize("wrong", [
    {"shrink": 0.05 ** 2 / (0.05 ** 2 + 1e-3)},     # the nominal variance, not the batch's
    {"bound_unit": 1e-5 / 2 + 1e-3},                 # off by more than a rounding
    {"bound_unit": 0.04880884817015163, "bound_small": 4.999987500031722e-06},  # swapped
    {"wh_rank": 32},                                 # forgot that centring removes a direction
    {"wh_ratio": 32},                                # m instead of d
])
def test_a_wrong_summary_fails(wrong):
    with pytest.raises(AssertionError):
        check(dataclasses.replace(summarize_transform(), **wrong))


def test_summary_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        summarize_transform().shrink = 1.0
