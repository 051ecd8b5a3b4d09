"""summarize_jacobian: the Jacobian chapter's numbers, against a recomputation by other code."""

import dataclasses

import numpy as np
import pytest

from bn.symbolic import jacobian as jac
from bn.symbolic.jacobian import JacobianSummary, summarize_jacobian

EPS = 1e-3


def by_hand(x: np.ndarray, eps: float) -> np.ndarray:
    """BN of a 1-D batch written out (gamma = 1, beta = 0), not bn.functional's code."""
    mu = sum(x) / len(x)
    var = sum((xi - mu) ** 2 for xi in x) / len(x)
    return (x - mu) / np.sqrt(var + eps)


def check(s: JacobianSummary) -> None:
    x = 0.05 * np.random.default_rng(3).standard_normal(8)
    var = sum((xi - x.mean()) ** 2 for xi in x) / 8
    # float64 sums of 8 values ~2.5e-3: a few ulps apart; rel 1e-12 is ample.
    assert s.batch_var == pytest.approx(var, rel=1e-12)
    assert s.eps == EPS
    # |J| entries from the closed form (not the backward pass): entries O(1/sigma) ~ 20, the
    # chapter's own check is 1e-10 between the two.
    J = jac.jacobian_numpy(x, 1.0, EPS)
    assert s.min_entry == pytest.approx(np.abs(J).min(), abs=1e-10)
    assert s.max_entry == pytest.approx(np.abs(J).max(), abs=1e-10)
    # lambda = eps / (var + eps): 2 roundings
    assert s.lam_small == pytest.approx(1e-4 / (var + 1e-4), rel=1e-12)
    assert s.lam_large == pytest.approx(1e-2 / (var + 1e-2), rel=1e-12)
    # the spectrum from the general (nonsymmetric) eigensolver on the backward pass's J: its
    # eigenvalues of O(1) carry errors of a few ulps times the condition, far below 1e-9.
    for e in (1e-4, 1e-2):
        ev = np.sort(np.linalg.eigvals(jac.jacobian_from_backward(x, 1.0, e) * np.sqrt(var + e)).real)
        lam = e / (var + e)
        assert np.allclose(ev, np.sort([0.0, lam] + [1.0] * 6), rtol=0, atol=1e-9)
    assert s.spectrum_ok == "True"
    # coupling: the other seven outputs, by hand, over the same sweep; float64 values O(1)
    sweep = np.linspace(x.min() - 0.15, x.max() + 0.15, 121)
    outs = np.array([by_hand(np.where(np.arange(8) == 7, v, x), EPS) for v in sweep])[:, :7]
    assert s.coupling_range == pytest.approx(float((outs.max(axis=0) - outs.min(axis=0)).max()), abs=1e-12)


def test_summary_matches_an_independent_recomputation():
    # Protects the chapter's batch variance, |J| range, lambda at eps = 1e-4 and 1e-2, "below
    # 1e-12: True" and the coupling figure's caption.
    check(summarize_jacobian(EPS))


@pytest.mark.parametrize("wrong", [
    {"lam_small": 0.69605618, "lam_large": 0.022388111},       # swapped
    {"batch_var": 0.0043666564 * 8 / 7},                       # unbiased variance
    {"coupling_range": 2.1},                                   # the moved example's own change
    {"spectrum_ok": "False"},
    {"max_entry": 11.944158 * np.sqrt(0.0043666564 + 1e-3) / np.sqrt(0.0043666564)},  # eps left out
])
def test_a_wrong_summary_fails(wrong):
    with pytest.raises(AssertionError):
        check(dataclasses.replace(summarize_jacobian(EPS), **wrong))


def test_spectrum_deviation_sees_a_wrong_eigenvalue():
    # eps = 0 predicts {0, 0, 1, ...}; asking for the eps = 1e-2 set at eps = 0 is off by lambda
    x = jac.chapter_batch()
    assert jac.spectrum_deviation(x) < 1e-12
    ev = np.sort(np.linalg.eigvalsh(jac.jacobian_numpy(x, 1.0, 0.0) * np.sqrt(x.var())))
    lam = 1e-2 / (x.var() + 1e-2)
    assert np.max(np.abs(ev - np.sort([0.0, lam] + [1.0] * 6))) > 0.5
