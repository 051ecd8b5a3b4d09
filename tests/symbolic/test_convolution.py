"""Proofs of chapter 4 (BN for convolutional layers)."""

import numpy as np
import pytest
import sympy as sp

from bn.symbolic import convolution as conv


@pytest.mark.parametrize("shape", [(2, 2, 2, 3), (1, 3, 2, 2), (3, 1, 1, 2)])
def test_effective_batch_size_is_m_p_q(shape):
    assert conv.prove_effective_batch_size(*shape) == 0


@pytest.mark.parametrize("shape", [(2, 2, 2, 2), (1, 2, 2, 3)])
def test_conv_bn_equals_fc_bn_on_reshaped_rows(shape):
    residuals = conv.prove_conv_equals_reshaped_fc(*shape)
    assert len(residuals) == int(np.prod(shape))
    assert all(r == 0 for r in residuals)


def test_reshape_without_transpose_is_wrong():
    # The negative control: (N, C, H, W).reshape(-1, C) mixes channels, so the proof above
    # depends on to_rows moving the channel axis last.
    x = conv.symbolic_feature_map(2, 2, 1, 2)
    gamma, beta, eps = conv.channel_params(2)
    direct = conv.conv_batch_norm(x, gamma, beta, eps)
    wrong = conv.fc_batch_norm(x.reshape(-1, 2), gamma, beta, eps).reshape(x.shape)
    assert any(sp.simplify(a - b) != 0 for a, b in zip(direct.flat, wrong.flat))


def test_rows_round_trip():
    x = conv.symbolic_feature_map(2, 3, 2, 2)
    assert (conv.from_rows(conv.to_rows(x), x.shape) == x).all()


def test_conv_gradient_is_fc_formula_with_effective_batch():
    residuals = conv.prove_conv_gradient_uses_effective_batch(n=2, h=1, w=2)
    assert len(residuals) == 4 and all(r == 0 for r in residuals)


def test_per_channel_bn_commutes_with_spatial_shift():
    assert all(r == 0 for r in conv.prove_per_channel_equivariance(2, 2, 1, 3))


def test_per_location_bn_does_not_commute_with_spatial_shift():
    assert any(r != 0 for r in conv.per_location_equivariance_residuals(2, 1, 1, 3))


def test_fc_batch_of_one_outputs_beta_with_zero_gradient():
    assert conv.prove_fc_batch_of_one_is_constant() == {"output": 0, "gradient": 0}


def test_conv_batch_of_one_keeps_information():
    res = conv.conv_batch_of_one_moments(2, 2)
    assert res["mean_residual"] == 0 and res["variance_residual"] == 0
    # The spatial variance is a nonzero polynomial and the output depends on the input:
    assert sp.expand(res["spatial_variance"]) != 0
    values = dict(zip(res["x"], [1, 2, 4, 8]))
    assert res["dy0_dx0"].subs({**values, sp.Symbol("gamma_0", real=True): 1,
                                sp.Symbol("epsilon", positive=True): 0}) != 0


def test_conv2d_expr_matches_numpy_cross_correlation():
    rng = np.random.default_rng(0)
    x, w, b = rng.integers(-3, 4, (2, 4, 4)), rng.integers(-3, 4, (3, 2, 2, 2)), rng.integers(-3, 4, 3)
    got = conv.conv2d_expr(x.astype(object), w.astype(object), b.astype(object)).astype(np.int64)
    want = np.zeros((3, 3, 3), dtype=np.int64)
    for o in range(3):
        for i in range(3):
            for j in range(3):
                want[o, i, j] = np.sum(w[o] * x[:, i:i + 2, j:j + 2]) + b[o]
    assert (got == want).all()
