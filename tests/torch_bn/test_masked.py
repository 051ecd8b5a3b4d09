"""Masked BN against a direct computation over the real positions, and against nn.BatchNorm1d."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from bn.torch_bn.masked import MaskedBatchNorm1d

# float64 throughout: the two computations sum the same terms in different orders, so they agree to a
# few units of the last place times the number of terms (~1e-13 here); 1e-10 leaves a wide margin and
# is still 10^6 times smaller than the effect of counting one padded position.
TOL = 1e-10


def _data(seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(4, 3, 7, generator=g, dtype=torch.float64) * 2 + 1
    lengths = torch.tensor([7, 3, 5, 1])
    mask = torch.arange(7)[None, :] < lengths[:, None]
    return x, mask


def test_training_output_uses_only_real_positions():
    x, mask = _data()
    bn = MaskedBatchNorm1d(3).double()
    with torch.no_grad():
        bn.weight.copy_(torch.tensor([1.0, 2.0, 0.5]))
        bn.bias.copy_(torch.tensor([0.0, -1.0, 3.0]))
    y = bn(x, mask)
    for c in range(3):
        real = x[:, c][mask]                     # the real positions of channel c, directly
        mu, var = real.mean(), real.var(unbiased=False)
        want = (x[:, c] - mu) / torch.sqrt(var + bn.eps) * bn.weight[c] + bn.bias[c]
        assert torch.allclose(y[:, c], want, atol=TOL, rtol=0)
        # running statistics: PyTorch's convention, unbiased variance
        assert bn.running_mean[c] == pytest.approx(0.1 * float(mu), abs=TOL)
        assert bn.running_var[c] == pytest.approx(0.9 + 0.1 * float(real.var(unbiased=True)), abs=TOL)
    # padded positions do not matter: change them and the real outputs stay
    x2 = torch.where(mask[:, None, :], x, torch.full_like(x, 1e3))
    y2 = MaskedBatchNorm1d(3).double()(x2, mask)
    y1 = MaskedBatchNorm1d(3).double()(x, mask)
    assert torch.allclose(y1.transpose(1, 2)[mask], y2.transpose(1, 2)[mask], atol=TOL, rtol=0)


def test_without_a_mask_it_is_batchnorm1d_and_unmasked_bn_is_polluted():
    x, mask = _data(1)
    mine, ref = MaskedBatchNorm1d(3).double(), nn.BatchNorm1d(3).double()
    assert torch.allclose(mine(x), ref(x), atol=TOL, rtol=0)
    assert torch.allclose(mine.running_mean, ref.running_mean, atol=TOL, rtol=0)
    assert torch.allclose(mine.running_var, ref.running_var, atol=TOL, rtol=0)
    mine.eval(), ref.eval()
    assert torch.allclose(mine(x, mask), ref(x), atol=TOL, rtol=0)  # eval: running statistics, mask ignored
    # a wrong implementation (the mask ignored in training) would differ by far more than TOL
    masked = MaskedBatchNorm1d(3).double()(x, mask)
    plain = nn.BatchNorm1d(3).double()(x)
    assert (masked - plain).abs().max() > 1e-3


def test_gradients_match_the_direct_computation():
    x, mask = _data(2)
    x.requires_grad_(True)
    y = MaskedBatchNorm1d(3).double()(x, mask)
    (g,) = torch.autograd.grad((y.transpose(1, 2)[mask] ** 3).sum(), x)
    x2 = x.detach().clone().requires_grad_(True)
    outs = []
    for c in range(3):
        real = x2[:, c][mask]
        outs.append(((real - real.mean()) / torch.sqrt(real.var(unbiased=False) + 1e-5)) ** 3)
    (g2,) = torch.autograd.grad(torch.cat(outs).sum(), x2)
    assert torch.allclose(g, g2, atol=1e-9, rtol=0)
    assert (g.transpose(1, 2)[~mask] == 0).all()  # padding receives no gradient


def test_bad_shapes_and_too_few_positions_are_errors():
    bn = MaskedBatchNorm1d(3)
    with pytest.raises(ValueError, match=r"expected \(batch, 3, time\)"):
        bn(torch.zeros(2, 4, 5))
    mask = torch.zeros(2, 5, dtype=torch.bool)
    mask[0, 0] = True
    with pytest.raises(ValueError, match="at least 2 real positions"):
        bn(torch.randn(2, 3, 5), mask)
