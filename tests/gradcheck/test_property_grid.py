"""Property-based gradient checks of bn.functional's backward on the issue's grid.

Grid: N 3..64, C 1..32, spatial shapes up to 2-D, eps in {1e-5, 1e-3}, channel
mean |mu| <= 1e3 and std 1e-3..1e3 with |mu| / std <= 1e3. Each example checks
dx, dgamma, dbeta along 3 random directions (std-scaled in x), so it costs a
few dozen forward passes whatever the tensor size.

Targets of the issue: float64 central differences relative error <= 1e-8,
complex step <= 1e-13. Where they come from and where the float64 data make
them unreachable is stated next to each assertion.
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bn.functional import batch_norm_backward, batch_norm_backward_staged, batch_norm_forward
from bn.gradcheck import batch_norm_condition, check_batch_norm_gradients

CENTRAL_TARGET = 1e-8
COMPLEX_TARGET = 1e-13


@st.composite
def bn_inputs(draw):
    n = draw(st.integers(3, 64))
    c = draw(st.integers(1, 32))
    spatial = draw(st.sampled_from([(), (1,), (2,), (3,), (2, 2), (1, 3), (3, 2)]))
    eps = draw(st.sampled_from([1e-5, 1e-3]))
    log_std = draw(st.floats(-3.0, 3.0))
    std = 10.0 ** log_std
    mean_limit = min(1e3, 1e3 * std)  # |mean| <= 1e3 and |mean| / std <= 1e3
    mean = draw(st.floats(-mean_limit, mean_limit))
    seed = draw(st.integers(0, 2 ** 32 - 1))
    rng = np.random.default_rng(seed)
    x = rng.normal(mean, std, (n, c) + spatial)
    gamma = rng.normal(1.0, 0.5, c)
    beta = rng.normal(0.0, 0.5, c)
    return x, gamma, beta, eps, rng


GRID = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@GRID
@given(bn_inputs())
def test_central_differences_meet_the_target(inputs):
    x, gamma, beta, eps, rng = inputs
    # Five-point (order-4) central stencil at the step that is optimal for
    # the round-off eps * kappa_x. Its modelled floor at the grid's worst
    # kappa_x ~ 1e3 is ~1e-10, so the 1e-8 is asserted everywhere,
    # together with the worst-case tolerance derived for the point.
    for name, result in check_batch_norm_gradients(x, gamma, beta, eps, rng, order=4).items():
        assert result.relative_error <= result.tolerance, name
        assert result.relative_error <= CENTRAL_TARGET, name


@GRID
@given(bn_inputs())
def test_two_point_central_differences_meet_their_modelled_bound(inputs):
    x, gamma, beta, eps, rng = inputs
    # The classic two-point stencil: its floor 0.5 * (3 eps kappa)^(2/3) grows
    # from 4e-11 (kappa 1) to 4e-9 (kappa 1e3), and the measured error is a
    # few times the floor, so 1e-8 is reached only for moderate kappa: the
    # derived tolerance is asserted everywhere, the target where the floor
    # is 100 x below it (kappa <= 50).
    kappa = batch_norm_condition(x)
    for name, result in check_batch_norm_gradients(x, gamma, beta, eps, rng, order=2).items():
        assert result.relative_error <= result.tolerance, name
        if kappa <= 50:
            assert result.relative_error <= CENTRAL_TARGET, name


@GRID
@given(bn_inputs())
def test_complex_step_is_exact_to_machine_precision(inputs):
    x, gamma, beta, eps, rng = inputs
    # With h = 1e-20 truncation is 1e-40: what remains is rounding in the
    # sums both sides compute (the analytic dgamma = sum(w * x_hat) is itself
    # a cancelling sum) and in x - mean: about eps x condition, the measured
    # condition of the point (bn.gradcheck.batch_norm). The derived tolerance,
    # 10 eps x condition, is asserted everywhere; the 1e-13 wherever
    # the model's own estimate eps x condition is below it, i.e. wherever
    # float64 data can support 1e-13 at all.
    eps64 = np.finfo(float).eps
    for name, result in check_batch_norm_gradients(x, gamma, beta, eps, rng, method="complex").items():
        assert result.relative_error <= result.tolerance, name
        if eps64 * result.condition <= COMPLEX_TARGET:
            assert result.relative_error <= COMPLEX_TARGET, name


@pytest.mark.parametrize("shape", [(3, 1), (16, 4), (8, 3, 5), (32, 8, 3, 3), (64, 32, 2, 2)])
@pytest.mark.parametrize("eps", [1e-5, 1e-3])
def test_complex_step_target_on_standard_inputs(shape, eps):
    # Fixed, well-conditioned points (x ~ N(0, 1) per channel, kappa_x < 10):
    # the targets asserted unconditionally. Measured errors are ~1e-15
    # (complex step) and ~1e-10 (two-point central differences).
    rng = np.random.default_rng(sum(shape))
    x = rng.standard_normal(shape)
    gamma, beta = rng.normal(1.0, 0.5, shape[1]), rng.normal(0.0, 0.5, shape[1])
    for name, result in check_batch_norm_gradients(x, gamma, beta, eps, rng, method="complex").items():
        assert result.relative_error <= COMPLEX_TARGET, name
    for name, result in check_batch_norm_gradients(x, gamma, beta, eps, rng, order=2).items():
        assert result.relative_error <= CENTRAL_TARGET, name


def backward_without_variance_path(dy, cache):
    """A classic bug: treats the batch variance as a constant."""
    dbeta = dy.sum(axis=cache.axes, keepdims=True)
    dx = cache.gamma * cache.inv_std * (dy - dbeta / cache.m)
    return dx, (dy * cache.x_hat).sum(axis=cache.axes), dbeta.ravel()


@pytest.mark.parametrize("method", ["central", "complex"])
def test_the_check_catches_a_wrong_backward(method, monkeypatch):
    import bn.gradcheck.batch_norm as module

    rng = np.random.default_rng(0)
    x = rng.normal(2.0, 3.0, (8, 3, 2))
    monkeypatch.setattr(module, "batch_norm_backward", backward_without_variance_path)
    results = module.check_batch_norm_gradients(x, np.ones(3), np.zeros(3), 1e-5, rng, method=method)
    assert results["x"].relative_error > 1e-2


@settings(max_examples=60, deadline=None)
@given(bn_inputs())
def test_staged_backward_agrees_with_compact(inputs):
    x, gamma, beta, eps, rng = inputs
    _, cache = batch_norm_forward(x, gamma, beta, eps)
    dy = rng.standard_normal(x.shape)
    compact = batch_norm_backward(dy, cache)
    staged = batch_norm_backward_staged(dy, cache)
    # Same derivative, different float64 operation order. dx is
    # gamma / std * (dy - dbeta / m - x_hat * dgamma / m), a difference of
    # terms whose size we measure; each channel sum over m <= 576 values
    # rounds to ~eps * m * term size, and each formula adds ~16 element-wise
    # roundings per entry: 4 eps * (m + 16) times the term size. The compact
    # form also relies on sum(x_hat) = 0 and mean(x_hat^2) = var / (var + eps),
    # which the computed x_hat obeys only to eps * kappa_x (x - mean loses
    # log10(kappa_x) digits); the staged form does not use them: factor kappa_x.
    m = cache.m
    tol = 4 * np.finfo(float).eps * (m + 16) * batch_norm_condition(x)
    dbeta, dgamma = compact[2].reshape(cache.gamma.shape), compact[1].reshape(cache.gamma.shape)
    terms = np.abs(dy) + np.abs(dbeta) / m + np.abs(cache.x_hat * dgamma) / m
    dx_scale = np.abs(cache.gamma * cache.inv_std * terms).max()
    assert np.abs(compact[0] - staged[0]).max() <= tol * dx_scale
    sum_scale = np.abs(dy).max() * max(1.0, np.abs(cache.x_hat).max())
    assert np.abs(compact[1] - staged[1]).max() <= tol * sum_scale
    assert np.abs(compact[2] - staged[2]).max() <= tol * np.abs(dy).max()
