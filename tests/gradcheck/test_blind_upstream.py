"""Blind upstream gradients of a BN gradient check, and the wrong backward pass such a check passes.

These protect the exercise "all-ones gradient check" of the chapter on building a BN layer
(its solution's numbers are :func:`blind_upstream_gradients`) and the sentence "against dy = 1
it matches finite differences, against a random dy it fails by the whole size of the gradient".
"""

import numpy as np

from bn.functional import batch_norm_backward, batch_norm_forward
from bn.gradcheck.blind_upstream import blind_upstream_arrays, blind_upstream_gradients, zero_dx_backward
from bn.gradcheck.finite_differences import numerical_gradient
from bn.gradcheck.metrics import max_abs_error, relative_error

EPS64 = float(np.finfo(np.float64).eps)


def test_shift_part_of_dx_cancels_to_rounding():
    # "The a_c part is blind for every eps": what is left is rounding of O(m) terms of size
    # |gamma * a / std|, each with relative error eps64.
    arr = blind_upstream_arrays()
    m = arr.cache.x.size // arr.cache.x.shape[1]
    scale = np.abs(arr.cache.gamma * arr.a * arr.cache.inv_std).max()
    assert np.abs(arr.shift).max() < m * EPS64 * scale


def test_scale_part_of_dx_is_the_closed_form():
    # dx = gamma b eps xhat / (var + eps)^(3/2): computing it as 1 - var/(var + eps) loses
    # digits in proportion to 1 / shrink, so the bound is m eps64 / shrink.
    arr = blind_upstream_arrays()
    m = arr.cache.x.size // arr.cache.x.shape[1]
    assert relative_error(arr.scale, arr.closed_form) < m * EPS64 / arr.shrink.min()


def test_summary_against_an_independent_computation():
    # Recomputed here from the draws (same generator order), with np.var: the formatted
    # one-digit strings and the float (2 significant digits glued) must agree.
    s = blind_upstream_gradients(seed=1, sd=2.0)
    gen = np.random.default_rng(1)
    x = gen.normal(1.0, 2.0, size=(4, 3, 2, 2))
    gen.normal(1.0, 0.5, 3), gen.normal(0.0, 0.5, 3)
    gen.normal(size=(1, 3, 1, 1)), gen.normal(size=(1, 3, 1, 1))
    var = x.var(axis=(0, 2, 3))
    assert s.sd == 2.0 and s.eps == "1e-05"
    assert s.shrink == f"{(1e-5 / (var + 1e-5)).max():.0e}"
    assert s.shrink != f"{(1e-5 / (var + 1e-5)).min():.0e}"  # the largest factor, not the smallest
    assert 0.1 < s.dx_random < 10  # an ordinary gradient: O(gamma / std) * O(1)
    assert float(s.dx_scale) < 1e-3 * s.dx_random


def test_zero_dx_backward_passes_the_all_ones_check_only():
    rng = np.random.default_rng(3)
    x = rng.normal(1.0, 2.0, size=(4, 3, 2, 2))
    gamma, beta = rng.normal(1.0, 0.5, 3), rng.normal(0.0, 0.5, 3)
    _, cache = batch_norm_forward(x, gamma, beta)
    for up, blind in ((np.ones_like(x), True), (rng.normal(size=x.shape), False)):
        dx, dgamma, dbeta = zero_dx_backward(up, cache)
        ref = batch_norm_backward(up, cache)
        assert not dx.any()
        assert np.array_equal(dgamma, ref[1]) and np.array_equal(dbeta, ref[2])
        # Central differences in float64 with h = 1e-6: error ~1e-9 on an O(1) gradient.
        num = numerical_gradient(lambda v: float(np.sum(up * batch_norm_forward(v, gamma, beta)[0])),
                                 x, h=1e-6)
        assert (max_abs_error(dx, num) < 1e-6) == blind
