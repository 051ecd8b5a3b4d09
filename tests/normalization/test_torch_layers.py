"""Ghost-batch BN and Batch Renormalization against BN, the paper's running statistics and the NumPy forward."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from bn.normalization import batch_renorm_forward, layer_norm
from bn.normalization import BatchRenorm2d, GhostBatchNorm2d
from bn.normalization.layers import renorm_limits

# float64 throughout: the same statistics summed in a different order agree to a few ulps.
TOL = {"rtol": 1e-12, "atol": 1e-12}


def _x(n=8, c=3, hw=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (2.0 + 3.0 * torch.randn(n, c, hw, hw, generator=g, dtype=torch.float64)).requires_grad_()


def _affine(layer, seed=1):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        layer.weight.copy_(1 + 0.5 * torch.randn(layer.weight.shape, generator=g))
        layer.bias.copy_(0.5 * torch.randn(layer.bias.shape, generator=g))
    return layer


def test_ghost_bn_with_ghost_size_equal_to_the_batch_is_bn():
    x = _x()
    ghost = _affine(GhostBatchNorm2d(3, ghost_size=8).double())
    bn = _affine(nn.BatchNorm2d(3).double())
    for _ in range(3):  # three steps: the running statistics must follow too
        y_g, y_b = ghost(x), bn(x)
        torch.testing.assert_close(y_g, y_b, **TOL)
        gx_g, = torch.autograd.grad(y_g.pow(3).sum(), x)
        gx_b, = torch.autograd.grad(y_b.pow(3).sum(), x)
        torch.testing.assert_close(gx_g, gx_b, **TOL)
    torch.testing.assert_close(ghost.running_mean, bn.running_mean, **TOL)
    torch.testing.assert_close(ghost.running_var, bn.running_var, **TOL)
    ghost.eval(), bn.eval()
    torch.testing.assert_close(ghost(x), bn(x), **TOL)


def test_ghost_bn_normalizes_each_ghost_batch_and_updates_once_per_ghost_batch():
    x = _x(n=10)
    ghost = GhostBatchNorm2d(3, ghost_size=4, momentum=0.1).double()
    y = ghost(x)
    mean, var = torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
    for lo, hi in ((0, 4), (4, 8), (8, 10)):  # the last ghost batch holds the 2 left over
        chunk = x[lo:hi].detach()
        ref = F.batch_norm(chunk, None, None, training=True, eps=ghost.eps)
        torch.testing.assert_close(y[lo:hi].detach(), ref, **TOL)
        mean = 0.9 * mean + 0.1 * chunk.mean((0, 2, 3))
        var = 0.9 * var + 0.1 * chunk.var((0, 2, 3), unbiased=True)
    torch.testing.assert_close(ghost.running_mean, mean, **TOL)
    torch.testing.assert_close(ghost.running_var, var, **TOL)
    assert int(ghost.num_batches_tracked) == 3
    # Normalizing each ghost batch on its own is not the same as normalizing the batch.
    assert not torch.allclose(y, F.batch_norm(x, None, None, training=True))


def test_renorm_with_r_max_1_and_d_max_0_is_bn_in_training():
    x = _x()
    renorm = _affine(BatchRenorm2d(3, r_max=1.0, d_max=0.0).double())
    bn = _affine(nn.BatchNorm2d(3).double())
    with torch.no_grad():  # running statistics far from the batch's: r and d would matter
        renorm.running_mean.fill_(-4.0)
        renorm.running_std.fill_(0.2)
    y_r, y_b = renorm(x), bn(x)
    torch.testing.assert_close(y_r, y_b, **TOL)
    g_r = torch.autograd.grad(y_r.pow(3).sum(), [x, renorm.weight, renorm.bias])
    g_b = torch.autograd.grad(y_b.pow(3).sum(), [x, bn.weight, bn.bias])
    for a, b in zip(g_r, g_b):
        torch.testing.assert_close(a, b, **TOL)


@pytest.mark.parametrize("r_max, d_max", [(3.0, 5.0), (1.5, 0.5), (float("inf"), float("inf"))])
def test_renorm_forward_equals_the_numpy_forward(r_max, d_max):
    x = _x()
    renorm = _affine(BatchRenorm2d(3, r_max=r_max, d_max=d_max).double())
    g = torch.Generator().manual_seed(2)
    with torch.no_grad():
        renorm.running_mean.copy_(torch.randn(3, generator=g))
        renorm.running_std.copy_(0.5 + 3 * torch.rand(3, generator=g))
    std = renorm.running_std.clone()
    ref = batch_renorm_forward(x.detach().numpy(), renorm.weight.detach().numpy(), renorm.bias.detach().numpy(),
                               renorm.running_mean.numpy().copy(), (std ** 2 - renorm.eps).numpy(),
                               r_max=r_max, d_max=d_max, eps=renorm.eps)
    np.testing.assert_allclose(renorm(x).detach().numpy(), ref.y, rtol=1e-12, atol=1e-12)
    if r_max == 1.5:
        assert ref.r_clipped.any() or ref.d_clipped.any(), "the tight limits should clip"


def test_renorm_gradient_treats_r_and_d_as_constants():
    # With r and d constant, y = gamma * (BN(x) * r + d) + beta: the gradient w.r.t. x is BN's gradient times r.
    x = _x()
    renorm = BatchRenorm2d(3, r_max=3.0, d_max=5.0).double()
    with torch.no_grad():
        renorm.running_mean.fill_(1.0)
        renorm.running_std.fill_(2.5)
    std_b = torch.sqrt(x.detach().var((0, 2, 3), unbiased=False) + renorm.eps)
    r = (std_b / 2.5).clamp(1 / 3, 3).view(1, 3, 1, 1)
    w = torch.randn(x.shape, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    gx, = torch.autograd.grad((renorm(x) * w).sum(), x)
    gx_bn, = torch.autograd.grad((F.batch_norm(x, None, None, training=True, eps=renorm.eps) * w * r).sum(), x)
    torch.testing.assert_close(gx, gx_bn, **TOL)


def test_renorm_running_statistics_follow_the_paper_and_eval_uses_them():
    x = _x()
    renorm = BatchRenorm2d(3, momentum=0.25).double()
    renorm(x)
    xd = x.detach()
    mean_b, std_b = xd.mean((0, 2, 3)), torch.sqrt(xd.var((0, 2, 3), unbiased=False) + renorm.eps)
    torch.testing.assert_close(renorm.running_mean, 0.25 * mean_b, **TOL)
    torch.testing.assert_close(renorm.running_std, 1 + 0.25 * (std_b - 1), **TOL)
    renorm.eval()
    expect = (xd - renorm.running_mean.view(1, 3, 1, 1)) / renorm.running_std.view(1, 3, 1, 1)
    torch.testing.assert_close(renorm(x).detach(), expect, **TOL)


def test_renorm_schedule_starts_as_bn_and_reaches_the_final_limits():
    assert renorm_limits(0, 3.0, 5.0, warmup=10, ramp=20) == (1.0, 0.0)
    assert renorm_limits(10, 3.0, 5.0, warmup=10, ramp=20) == (1.0, 0.0)
    assert renorm_limits(20, 3.0, 5.0, warmup=10, ramp=20) == (2.0, 2.5)
    assert renorm_limits(30, 3.0, 5.0, warmup=10, ramp=20) == (3.0, 5.0)
    assert renorm_limits(0, 3.0, 5.0, warmup=0, ramp=0) == (3.0, 5.0)
    layer = BatchRenorm2d(2, warmup=1, ramp=1)
    assert layer.limits() == (1.0, 0.0)
    layer(torch.randn(4, 2, 3, 3))
    layer(torch.randn(4, 2, 3, 3))
    assert layer.limits() == (3.0, 5.0)
    with pytest.raises(ValueError):
        BatchRenorm2d(2, r_max=0.5)


def test_group_norm_with_one_group_is_layer_norm_over_c_h_w():
    x = _x().detach()
    gn = _affine(nn.GroupNorm(1, 3).double())
    ln = nn.LayerNorm(x.shape[1:], elementwise_affine=False).double()
    affine = gn.weight.view(1, 3, 1, 1) * ln(x) + gn.bias.view(1, 3, 1, 1)
    torch.testing.assert_close(gn(x), affine, **TOL)
    # and the book's NumPy LayerNorm over all non-batch axes, without its affine map
    np.testing.assert_allclose(nn.GroupNorm(1, 3, affine=False).double()(x).numpy(),
                               layer_norm(x.numpy(), eps=gn.eps), **TOL)


def test_the_layers_declare_parameters_and_buffers_once_in_one_order():
    """Both book layers get weight, bias, running mean, running spread, count from ``NormBase``, in order."""
    import bn.normalization
    from bn.normalization import layers
    from bn.torch_bn import BookBatchNorm, NormBase

    assert bn.normalization.BatchRenorm2d is layers.BatchRenorm2d
    for layer, spread in ((BookBatchNorm(3), "running_var"), (BatchRenorm2d(3), "running_std")):
        assert isinstance(layer, NormBase)
        assert list(layer.state_dict()) == ["weight", "bias", "running_mean", spread, "num_batches_tracked"]
        assert torch.equal(getattr(layer, spread), torch.ones(3)) and int(layer.num_batches_tracked) == 0
