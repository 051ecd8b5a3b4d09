"""Forward and both backward passes: shapes, dtypes, independent references, agreement."""

import subprocess
import sys

import numpy as np
import pytest

from bn.functional import batch_norm_backward, batch_norm_backward_staged, batch_norm_forward

SHAPES = [(5, 3), (4, 2, 7), (3, 4, 5, 6), (2, 3, 2, 2, 3), (7, 1), (2, 5)]
DTYPES = [np.float16, np.float32, np.float64]


def per_channel_loop_forward(x, gamma, beta, eps):
    """Independent reference: move channels first, flatten, plain mean/var per row."""
    xc = np.moveaxis(x, 1, 0).reshape(x.shape[1], -1)
    out = np.empty_like(xc)
    for c in range(xc.shape[0]):
        mu = xc[c].mean()
        var = ((xc[c] - mu) ** 2).mean()
        out[c] = gamma[c] * (xc[c] - mu) / np.sqrt(var + eps) + beta[c]
    moved = out.reshape((x.shape[1], x.shape[0]) + x.shape[2:])
    return np.moveaxis(moved, 0, 1)


def sample(shape, dtype=np.float64, seed=0, mean=0.0, std=1.0):
    rng = np.random.default_rng(seed)
    c = shape[1]
    x = rng.normal(mean, std, shape).astype(dtype)
    gamma = rng.normal(1.0, 0.5, c).astype(dtype)
    beta = rng.normal(0.0, 0.5, c).astype(dtype)
    dy = rng.standard_normal(shape).astype(dtype)
    return x, gamma, beta, dy


def test_importing_bn_functional_does_not_import_torch():
    code = "import sys, bn.functional, bn.gradcheck; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_output_shapes_and_dtypes(shape, dtype):
    x, gamma, beta, dy = sample(shape, dtype)
    y, cache = batch_norm_forward(x, gamma, beta)
    assert y.shape == shape and y.dtype == dtype
    for backward in (batch_norm_backward, batch_norm_backward_staged):
        dx, dgamma, dbeta = backward(dy, cache)
        assert dx.shape == shape and dgamma.shape == dbeta.shape == (shape[1],)
        assert dx.dtype == dgamma.dtype == dbeta.dtype == dtype


@pytest.mark.parametrize("shape", SHAPES)
def test_forward_matches_per_channel_loop(shape):
    x, gamma, beta, _ = sample(shape, mean=3.0, std=2.0)
    y, _ = batch_norm_forward(x, gamma, beta, 1e-3)
    # Same float64 operations in another order: agreement to a few ulps of
    # |y| ~ |gamma| * max|x_hat| + |beta|, i.e. ~10 eps relative.
    np.testing.assert_allclose(y, per_channel_loop_forward(x, gamma, beta, 1e-3),
                               rtol=0, atol=50 * np.finfo(np.float64).eps * np.abs(y).max())


def test_output_moments_per_channel():
    x, _, _, _ = sample((64, 3, 4, 4), mean=-5.0, std=3.0)
    eps = 1e-5
    y, cache = batch_norm_forward(x, np.ones(3), np.zeros(3), eps)
    axes = (0, 2, 3)
    # Mean 0 up to float64 rounding of a 1024-term sum of O(1) values.
    np.testing.assert_allclose(y.mean(axis=axes), 0.0, atol=1e-14)
    # Variance is var / (var + eps), not 1: eps shrinks it by eps / var ~ 1e-6.
    var = x.var(axis=axes)
    np.testing.assert_allclose(y.var(axis=axes), var / (var + eps), rtol=1e-13)


def test_float32_forward_is_computed_in_float32_and_close_to_float64():
    x, gamma, beta, _ = sample((32, 4, 3, 3))
    y32, _ = batch_norm_forward(x.astype(np.float32), gamma.astype(np.float32), beta.astype(np.float32))
    y64, _ = batch_norm_forward(x, gamma, beta)
    # Inputs rounded to float32 (rel 6e-8) plus a few float32 operations:
    # 1e-5 of max|y| is ~100 float32 ulps, far above that, far below a bug.
    assert np.abs(y32 - y64).max() <= 1e-5 * np.abs(y64).max()


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("mean,std", [(0.0, 1.0), (1e3, 1.0), (0.0, 1e-3), (-50.0, 1e2)])
def test_staged_and_compact_backward_agree(shape, mean, std):
    x, gamma, beta, dy = sample(shape, mean=mean, std=std, seed=3)
    _, cache = batch_norm_forward(x, gamma, beta)
    compact = batch_norm_backward(dy, cache)
    staged = batch_norm_backward_staged(dy, cache)
    # Both are float64 evaluations of the same derivative that round
    # differently. dx is a difference of terms of size |gamma * dy| / std
    # (it cancels almost completely when m = 2), dgamma/dbeta are sums of m
    # terms of size |dy| * |x_hat|: each carries ~eps * m relative error in its
    # sums, so 1e3 * eps (m <= 180 here) times the term size bounds the gap.
    tol = 1e3 * np.finfo(float).eps
    dx_terms = np.abs(cache.gamma * dy * cache.inv_std).max()
    np.testing.assert_allclose(compact[0], staged[0], rtol=0, atol=tol * dx_terms)
    for a, b in zip(compact[1:], staged[1:]):
        np.testing.assert_allclose(a, b, rtol=0, atol=tol * cache.m * np.abs(dy).max() * max(1.0, np.abs(cache.x_hat).max()))


def test_dx_sums_to_zero_and_its_x_hat_moment_is_the_eps_term():
    # Shift invariance of BN makes dx sum to 0 per channel. Scale invariance
    # would make it orthogonal to x_hat, but eps breaks it: the closed form
    # gives sum(dx * x_hat) = gamma / std * dgamma * eps / (var + eps) exactly.
    x, gamma, beta, dy = sample((16, 3, 5), mean=2.0, std=3.0, seed=7)
    _, cache = batch_norm_forward(x, gamma, beta)
    dx, dgamma, _ = batch_norm_backward(dy, cache)
    var = cache.var.ravel()
    eps_term = gamma / np.sqrt(var + 1e-5) * dgamma * 1e-5 / (var + 1e-5)
    # Each channel sum adds m terms of size |gamma * dy| / std that cancel:
    # float64 rounding leaves a few eps times the sum of their magnitudes
    # (pairwise summation), hence 10 eps * that sum per channel.
    scale = 10 * np.finfo(float).eps * np.abs(cache.gamma * dy * cache.inv_std).sum(axis=(0, 2))
    scale_hat = scale * np.abs(cache.x_hat).max()
    assert np.all(np.abs(dx.sum(axis=(0, 2))) <= scale)
    assert np.all(np.abs((dx * cache.x_hat).sum(axis=(0, 2)) - eps_term) <= scale_hat)
    assert np.all(np.abs(eps_term) > 1e3 * scale_hat)  # the eps term is really seen


def test_dgamma_dbeta_against_direct_sums():
    x, gamma, beta, dy = sample((6, 4, 3), seed=9)
    _, cache = batch_norm_forward(x, gamma, beta)
    _, dgamma, dbeta = batch_norm_backward(dy, cache)
    x_hat = per_channel_loop_forward(x, np.ones(4), np.zeros(4), 1e-5)
    np.testing.assert_allclose(dbeta, dy.sum(axis=(0, 2)), rtol=1e-14)
    np.testing.assert_allclose(dgamma, (dy * x_hat).sum(axis=(0, 2)), rtol=1e-12)


def test_inputs_are_not_modified():
    x, gamma, beta, dy = sample((4, 3, 2))
    copies = [a.copy() for a in (x, gamma, beta, dy)]
    _, cache = batch_norm_forward(x, gamma, beta)
    batch_norm_backward(dy, cache)
    batch_norm_backward_staged(dy, cache)
    for a, b in zip((x, gamma, beta, dy), copies):
        np.testing.assert_array_equal(a, b)


def test_complex_input_is_the_analytic_continuation():
    # A real input cast to complex gives the real result with zero imaginary part.
    x, gamma, beta, _ = sample((5, 3, 2))
    y, _ = batch_norm_forward(x, gamma, beta)
    yc, _ = batch_norm_forward(x.astype(complex), gamma, beta)
    assert yc.dtype == np.complex128
    np.testing.assert_array_equal(yc.imag, 0.0)
    np.testing.assert_allclose(yc.real, y, rtol=0, atol=1e-14)


def test_batch_of_two_is_degenerate():
    # With two values per channel x_hat = +-sqrt(var / (var + eps)) whatever x:
    # dx is only the tiny eps-term, so a backward that returns zeros would pass
    # an allclose check with default atol. The book's checks therefore use m >= 3.
    _, gamma, beta, dy = sample((2, 4), seed=11)
    x = np.array([[0.0, 1.0, -3.0, 5.0], [2.0, 4.0, 1.0, 9.5]])  # gaps >= 2, so var >= 1
    eps = 1e-5
    _, cache = batch_norm_forward(x, gamma, beta, eps)
    var = cache.var.ravel()
    np.testing.assert_allclose(np.abs(cache.x_hat), np.broadcast_to(np.sqrt(var / (var + eps)), x.shape), rtol=1e-15)
    dx, _, _ = batch_norm_backward(dy, cache)
    # d x_hat / dx = (eps / (var + eps)) * (what it would be without normalization):
    # every entry of dx is at most eps / var times the undegenerate size.
    undegenerate = np.abs(cache.gamma * cache.inv_std).max() * np.abs(dy).max()
    assert np.abs(dx).max() <= eps / var.min() * undegenerate
    # The same check with three values per channel: dx is of the undegenerate size.
    _, cache3 = batch_norm_forward(np.vstack([x, x[:1] + 1.0]), gamma, beta, eps)
    dx3, _, _ = batch_norm_backward(np.vstack([dy, dy[:1]]), cache3)
    assert np.abs(dx3).max() > 1e3 * np.abs(dx).max()
