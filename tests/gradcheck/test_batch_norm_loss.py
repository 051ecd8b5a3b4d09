"""The checked scalar sum(upstream * BN(x, gamma, beta)) (bn.gradcheck.batch_norm_loss): the twin of the
hand-written ``loss_of`` and ``loss`` of the chapter on building a BN layer."""

import numpy as np
import pytest

from bn.gradcheck import batch_norm_loss


def _by_hand(x, gamma, beta, up, eps):
    # An independent forward pass: per channel, with a Python loop and the biased variance.
    y = np.empty_like(x)
    for c in range(x.shape[1]):
        v = x[:, c]
        y[:, c] = gamma[c] * (v - v.mean()) / np.sqrt(v.var() + eps) + beta[c]
    return float(np.sum(up * y))


def test_loss_is_the_upstream_weighted_output_in_each_argument():
    rng = np.random.default_rng(0)
    x = rng.normal(1.0, 2.0, size=(4, 3, 2, 2))
    gamma, beta, up = rng.normal(1.0, 0.5, 3), rng.normal(0.0, 0.5, 3), rng.normal(size=x.shape)
    expected = _by_hand(x, gamma, beta, up, 1e-5)
    # float64 sums of 48 O(1) terms, in another order: agreement to 1e-12 relative.
    for wrt, value in (("x", x), ("gamma", gamma), ("beta", beta)):
        assert batch_norm_loss(x, gamma, beta, up, 1e-5, wrt)(value) == pytest.approx(expected, rel=1e-12)
    beta2 = beta + 1.0
    assert batch_norm_loss(x, gamma, beta, up, 1e-5, "beta")(beta2) == pytest.approx(
        _by_hand(x, gamma, beta2, up, 1e-5), rel=1e-12)
    with pytest.raises(ValueError):
        batch_norm_loss(x, gamma, beta, up, 1e-5, "eps")


def test_all_ones_upstream_makes_the_loss_independent_of_x():
    # The chapter's point: with dy = 1 the loss is m * sum(beta) whatever x is.
    rng = np.random.default_rng(1)
    x = rng.normal(size=(4, 3, 2, 2))
    gamma, beta = rng.normal(1.0, 0.5, 3), rng.normal(0.0, 0.5, 3)
    loss = batch_norm_loss(x, gamma, beta, np.ones_like(x), 1e-5, "x")
    m = x.size // x.shape[1]
    assert loss(x) == pytest.approx(m * beta.sum(), abs=1e-12)
    assert loss(3 * x + 1) == pytest.approx(m * beta.sum(), abs=1e-12)
