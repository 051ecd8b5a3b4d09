"""Eval mode, running statistics and folding against independent NumPy computations."""

import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

from bn.functional import batch_norm_inference, fold_batch_norm, update_running_stats

F64_EPS = np.finfo(np.float64).eps


def params(c, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.normal(1, 0.3, c), rng.normal(0, 0.3, c), rng.normal(0, 2, c), rng.uniform(0.1, 3, c))


@pytest.mark.parametrize("shape", [(1, 3), (4, 3, 5), (2, 3, 4, 4)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_inference_matches_the_formula(shape, dtype):
    rng = np.random.default_rng(1)
    x = rng.normal(0, 2, shape).astype(dtype)
    gamma, beta, rm, rv = (p.astype(dtype) for p in params(3))
    y = batch_norm_inference(x, gamma, beta, rm, rv, 1e-3)
    assert y.shape == shape and y.dtype == dtype
    b = (1, 3) + (1,) * (len(shape) - 2)
    expected = (gamma.reshape(b) * (x.astype(np.float64) - rm.reshape(b))
                / np.sqrt(rv.reshape(b).astype(np.float64) + 1e-3) + beta.reshape(b))
    # Folded scale/shift vs the textbook order: a few roundings of the dtype
    # applied to values of size max|y|.
    tol = 20 * np.finfo(dtype).eps * np.abs(expected).max()
    np.testing.assert_allclose(y, expected, rtol=0, atol=tol)


def batch_stats(x):
    flat = np.moveaxis(x, 1, 0).reshape(x.shape[1], -1)
    return flat.mean(axis=1), flat.var(axis=1, ddof=1)


@pytest.mark.parametrize("momentum", [0.1, 0.5, 1.0, 0.0])
def test_running_stats_exponential_average_over_k_steps(momentum):
    rng = np.random.default_rng(2)
    rm, rv = np.zeros(4), np.ones(4)
    exp_m, exp_v = rm.copy(), rv.copy()
    for step in range(5):
        x = rng.normal(step, 1 + step, (8, 4, 3))
        rm, rv = update_running_stats(rm, rv, x, momentum)
        bm, bv = batch_stats(x)
        exp_m = (1 - momentum) * exp_m + momentum * bm
        exp_v = (1 - momentum) * exp_v + momentum * bv
    # Same recurrence, different summation order: a few eps of the values (~10).
    np.testing.assert_allclose(rm, exp_m, rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(rv, exp_v, rtol=1e-13, atol=1e-13)


def test_running_stats_cumulative_average_is_mean_of_batch_stats():
    rng = np.random.default_rng(3)
    rm, rv = np.zeros(2), np.ones(2)  # PyTorch's initial buffers; discarded at count 0
    means, variances = [], []
    for count in range(6):
        x = rng.normal(count, 2, (5, 2, 2))
        rm, rv = update_running_stats(rm, rv, x, None, num_batches_tracked=count)
        bm, bv = batch_stats(x)
        means.append(bm)
        variances.append(bv)
        np.testing.assert_allclose(rm, np.mean(means, axis=0), rtol=1e-13, atol=1e-14)
        np.testing.assert_allclose(rv, np.mean(variances, axis=0), rtol=1e-13)


def test_running_stats_uses_unbiased_variance_and_keeps_float32():
    x = np.array([[1.0], [3.0]], dtype=np.float32)  # batch var: biased 1, unbiased 2
    rm, rv = update_running_stats(np.zeros(1, np.float32), np.zeros(1, np.float32), x, 1.0)
    assert rm.dtype == rv.dtype == np.float32
    assert rm[0] == 2.0 and rv[0] == 2.0


def test_running_stats_do_not_modify_inputs():
    rm, rv = np.zeros(3), np.ones(3)
    update_running_stats(rm, rv, np.random.default_rng(0).normal(size=(4, 3)))
    np.testing.assert_array_equal(rm, 0.0)
    np.testing.assert_array_equal(rv, 1.0)


def conv2d(x, w, b):
    """Direct 'valid' convolution (cross-correlation), stride 1, as an independent reference."""
    windows = sliding_window_view(x, w.shape[2:], axis=(2, 3))  # N, Cin, H', W', kh, kw
    return np.einsum("nchwij,ocij->nohw", windows, w) + b[None, :, None, None]


def eval_bn(z, gamma, beta, rm, rv, eps):
    b = (1, -1) + (1,) * (z.ndim - 2)
    return gamma.reshape(b) * (z - rm.reshape(b)) / np.sqrt(rv.reshape(b) + eps) + beta.reshape(b)


@pytest.mark.parametrize("with_bias", [True, False])
def test_fold_linear(with_bias):
    rng = np.random.default_rng(4)
    w, x = rng.normal(size=(5, 7)), rng.normal(size=(10, 7))
    b = rng.normal(size=5) if with_bias else None
    gamma, beta, rm, rv = params(5, seed=5)
    fw, fb = fold_batch_norm(w, b, gamma, beta, rm, rv, 1e-5)
    assert fw.shape == w.shape and fb.shape == (5,)
    reference = eval_bn(x @ w.T + (b if with_bias else 0), gamma, beta, rm, rv, 1e-5)
    # Reassociated float64 products/sums of O(1..10) values: 1e-13 absolute.
    np.testing.assert_allclose(x @ fw.T + fb, reference, rtol=0, atol=1e-13 * np.abs(reference).max())


@pytest.mark.parametrize("with_bias", [True, False])
def test_fold_conv(with_bias):
    rng = np.random.default_rng(6)
    w, x = rng.normal(size=(4, 3, 3, 3)), rng.normal(size=(2, 3, 6, 5))
    b = rng.normal(size=4) if with_bias else np.zeros(4)
    gamma, beta, rm, rv = params(4, seed=7)
    fw, fb = fold_batch_norm(w, b if with_bias else None, gamma, beta, rm, rv, 1e-3)
    assert fw.shape == w.shape
    reference = eval_bn(conv2d(x, w, b), gamma, beta, rm, rv, 1e-3)
    np.testing.assert_allclose(conv2d(x, fw, fb), reference, rtol=0, atol=1e-13 * np.abs(reference).max())


def test_fold_keeps_float32():
    gamma, beta, rm, rv = (p.astype(np.float32) for p in params(2))
    fw, fb = fold_batch_norm(np.ones((2, 3), np.float32), None, gamma, beta, rm, rv)
    assert fw.dtype == fb.dtype == np.float32
