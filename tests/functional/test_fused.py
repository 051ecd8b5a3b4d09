"""The fewer-pass NumPy BN equals the readable pair, with fewer array passes."""

import numpy as np
import pytest

from bn.functional import batch_norm_backward, batch_norm_forward
from bn.benchmark.array_passes import count_array_passes
from bn.functional.backward import compact_gradients
from bn.functional.forward import forward_arithmetic
from bn.functional.fused import (FusedCache, batch_norm_backward_fused, batch_norm_forward_fused,
                                 fused_backward_arithmetic, fused_forward_arithmetic)
from bn.gradcheck.metrics import relative_error

# (8, 4, 6, 6): the speed chapter's batch, of which it states this bound
SHAPES = [(16, 3), (4, 3, 5, 6), (8, 4, 6, 6), (2, 4, 3, 3, 2)]


def _case(shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    c = shape[1]
    # A shifted, scaled input: the centring must be exact enough not to lose digits.
    x = (3.0 + 2.0 * rng.standard_normal(shape)).astype(dtype)
    dy = rng.standard_normal(shape).astype(dtype)
    return x, rng.standard_normal(c).astype(dtype), rng.standard_normal(c).astype(dtype), dy


def _tolerance(dtype, m):
    # Both codes evaluate the same formulas; they differ only in the order of the
    # m-term per-channel sums, whose rounding error is at most (m - 1) u relative
    # to the sum of magnitudes. A factor 10 covers the few operations around them.
    return 10 * m * np.finfo(dtype).eps / 2


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_fused_equals_readable_to_rounding(shape, dtype):
    x, gamma, beta, dy = _case(shape, dtype)
    y, cache = batch_norm_forward(x, gamma, beta)
    dx, dgamma, dbeta = batch_norm_backward(dy, cache)
    y_f, cache_f = batch_norm_forward_fused(x, gamma, beta)
    dx_f, dgamma_f, dbeta_f = batch_norm_backward_fused(dy, cache_f)
    tol = _tolerance(dtype, x.size // x.shape[1])
    for fused, readable in [(y_f, y), (dx_f, dx), (dgamma_f, dgamma), (dbeta_f, dbeta)]:
        assert fused.dtype == dtype and fused.shape == readable.shape
        assert relative_error(fused, readable) < tol


def test_fused_is_not_trivially_equal():
    # The comparison can fail: a wrong gamma changes every output.
    x, gamma, beta, dy = _case((8, 3, 4, 4), np.float64)
    y, _ = batch_norm_forward(x, gamma, beta)
    y_f, _ = batch_norm_forward_fused(x, 1.001 * gamma, beta)
    assert relative_error(y_f, y) > 1e-4


def test_backward_into_the_cache_buffer_gives_the_same_gradients():
    x, gamma, beta, dy = _case((4, 3, 5, 5), np.float32)
    _, cache = batch_norm_forward_fused(x, gamma, beta)
    fresh = batch_norm_backward_fused(dy, cache)
    reused = batch_norm_backward_fused(dy, cache, out=cache.centered)
    for a, b in zip(fresh, reused):
        np.testing.assert_array_equal(a, b)
    assert np.shares_memory(reused[0], cache.centered)


def _readable(x, gamma, beta, dy):
    _, cache = forward_arithmetic(x, gamma, beta, 1e-5)
    return compact_gradients(dy, cache)


def _fused(x, gamma, beta, dy):
    _, cache = fused_forward_arithmetic(x, gamma, beta, 1e-5)
    return fused_backward_arithmetic(dy, cache, out=cache.centered)


def test_pass_counts_fused_against_readable():
    args = _case((4, 3, 5, 5), np.float32)
    readable = count_array_passes(_readable, *args)
    fused = count_array_passes(_fused, *args)
    # Readable: 13 forward + 14 backward. Fused: 9 forward + 12 backward, of which
    # 4 are the two operands of vecdot(centered, centered) reading one array.
    assert (readable.passes, fused.passes) == (27, 21)
    assert fused.by_ufunc()["vecdot"] == 4
    assert fused.writes == 7 and readable.writes == 10


def test_bad_input_is_refused():
    x, gamma, beta, dy = _case((4, 3), np.float64)
    _, cache = batch_norm_forward_fused(x, gamma, beta)
    with pytest.raises(ValueError, match="shape"):
        batch_norm_backward_fused(dy[:2], cache)
    with pytest.raises(TypeError, match="FusedCache"):
        batch_norm_backward_fused(dy, batch_norm_forward(x, gamma, beta)[1])
    with pytest.raises(ValueError, match="out"):
        batch_norm_backward_fused(dy, cache, out=np.empty(3))
    with pytest.raises(TypeError, match="real-only"):
        batch_norm_forward_fused(x + 0j, gamma, beta)
    with pytest.raises(ValueError):
        batch_norm_forward_fused(x, gamma[:2], beta)
    assert isinstance(cache, FusedCache) and cache.m == 4
