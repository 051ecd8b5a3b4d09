"""The compact backward must not overflow float16 where PyTorch's kernel does not."""

import numpy as np

from bn.functional import batch_norm_backward, batch_norm_forward


def test_float16_backward_stays_finite_for_large_batches():
    # m * |dy| exceeds float16's max (65504) here: m = 16384 and |dy| reaches ~4.
    rng = np.random.default_rng(0)
    x = rng.standard_normal((16384, 2)).astype(np.float16)
    dy = rng.standard_normal((16384, 2)).astype(np.float16)
    _, cache = batch_norm_forward(x, np.ones(2, np.float16), np.zeros(2, np.float16))
    dx, dgamma, dbeta = batch_norm_backward(dy, cache)
    assert dx.dtype == np.float16
    assert np.isfinite(dx).all()
    # Against the float64 result: float16 carries ~3 significant digits, and the sums
    # over 16384 values accumulate error; 5e-2 of the gradient's scale is what fp16 gives.
    _, c64 = batch_norm_forward(x.astype(np.float64), np.ones(2), np.zeros(2))
    dx64, _, _ = batch_norm_backward(dy.astype(np.float64), c64)
    assert np.abs(dx - dx64).max() < 5e-2 * np.abs(dx64).max()
