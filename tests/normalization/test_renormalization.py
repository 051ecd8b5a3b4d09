"""Batch Renormalization: the identities with BN and with inference, clipping, checks."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bn.normalization import batch_renorm_forward
from bn.functional import batch_norm_forward, batch_norm_inference

EPS64 = np.finfo(np.float64).eps


def tolerance(y):
    # Both sides evaluate (x - mean) / std with the same float64 statistics but
    # in a different order (multiply by 1/std vs divide, add d = 0 or fold the
    # affine map): a few roundings of size eps * |value| each; 16 is generous.
    return 16 * EPS64 * max(1.0, float(np.abs(y).max()))


def sample(shape, seed=0):
    rng = np.random.default_rng(seed)
    c = shape[1]
    x = rng.normal(1.0, 2.0, shape)
    gamma, beta = rng.normal(1.0, 0.5, c), rng.normal(0.0, 0.5, c)
    running_mean, running_var = rng.normal(0.0, 1.0, c), rng.uniform(0.5, 4.0, c)
    return x, gamma, beta, running_mean, running_var


@pytest.mark.parametrize("shape", [(8, 3), (4, 2, 5, 5)])
def test_no_correction_is_batch_norm(shape):
    x, gamma, beta, rm, rv = sample(shape)
    out = batch_renorm_forward(x, gamma, beta, rm, rv, r_max=1.0, d_max=0.0)
    y_bn, _ = batch_norm_forward(x, gamma, beta)
    np.testing.assert_array_equal(out.r, 1.0)
    np.testing.assert_array_equal(out.d, 0.0)
    np.testing.assert_allclose(out.y, y_bn, rtol=0, atol=tolerance(y_bn))


@pytest.mark.parametrize("shape", [(8, 3), (4, 2, 5, 5)])
def test_running_stats_equal_to_batch_stats_give_r_one_d_zero_and_inference(shape):
    x, gamma, beta, _, _ = sample(shape)
    axes = (0,) + tuple(range(2, x.ndim))
    rm, rv = x.mean(axis=axes), x.var(axis=axes)
    out = batch_renorm_forward(x, gamma, beta, rm, rv)
    y_inf = batch_norm_inference(x, gamma, beta, rm, rv)
    y_bn, _ = batch_norm_forward(x, gamma, beta)
    # r = sqrt(v + eps) / sqrt(v' + eps) with v, v' the same variance by two
    # summation orders: 1 up to a few eps; d = (mean - mean') / std likewise 0.
    np.testing.assert_allclose(out.r, 1.0, rtol=0, atol=8 * EPS64)
    np.testing.assert_allclose(out.d, 0.0, rtol=0, atol=8 * EPS64 * np.abs(rm).max())
    np.testing.assert_allclose(out.y, y_inf, rtol=0, atol=tolerance(y_inf))
    np.testing.assert_allclose(out.y, y_bn, rtol=0, atol=tolerance(y_bn))


@settings(max_examples=50, deadline=None)
@given(st.integers(2, 16), st.integers(1, 4), st.integers(0, 2**32 - 1))
def test_unclipped_output_is_the_inference_output_for_any_batch(n, c, seed):
    x, gamma, beta, rm, rv = sample((n, c), seed)
    out = batch_renorm_forward(x, gamma, beta, rm, rv, r_max=np.inf, d_max=np.inf)
    y_inf = batch_norm_inference(x, gamma, beta, rm, rv)
    assert not out.r_clipped.any() and not out.d_clipped.any()
    # (x - mu_B)/s_B * s_B/s + (mu_B - mu)/s = (x - mu)/s: equal in exact arithmetic;
    # the rounding of the two routes scales with |x - mu_B| / s and |mu_B - mu| / s.
    scale = (np.abs(x).max() + np.abs(rm).max()) / np.sqrt(rv.min()) * np.abs(gamma).max()
    np.testing.assert_allclose(out.y, y_inf, rtol=0, atol=16 * EPS64 * max(1.0, scale))


def test_clipping_bounds_r_and_d():
    rng = np.random.default_rng(3)
    x = rng.normal(10.0, 5.0, (6, 2))  # far from the running statistics below
    out = batch_renorm_forward(x, np.ones(2), np.zeros(2), np.zeros(2), np.ones(2), r_max=2.0, d_max=1.0)
    np.testing.assert_array_equal(out.r, 2.0)
    np.testing.assert_array_equal(out.d, 1.0)
    assert out.r_clipped.all() and out.d_clipped.all()
    low = batch_renorm_forward(x / 100, np.ones(2), np.zeros(2), np.zeros(2), np.ones(2), r_max=2.0)
    np.testing.assert_array_equal(low.r, 0.5)


def test_argument_checks():
    x, gamma, beta, rm, rv = sample((4, 3))
    with pytest.raises(ValueError, match="r_max"):
        batch_renorm_forward(x, gamma, beta, rm, rv, r_max=0.5)
    with pytest.raises(ValueError, match="d_max"):
        batch_renorm_forward(x, gamma, beta, rm, rv, d_max=-1.0)
    with pytest.raises(TypeError, match="r_max"):
        batch_renorm_forward(x, gamma, beta, rm, rv, r_max="3")
    with pytest.raises(ValueError, match="more than 1 value"):
        batch_renorm_forward(x[:1], gamma, beta, rm, rv)
    with pytest.raises(ValueError, match="running_var"):
        batch_renorm_forward(x, gamma, beta, rm, -np.ones(3))
