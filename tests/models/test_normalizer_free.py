"""The residual networks without BN: each variant's defining property at initialization, and AGC."""

import math

import pytest
import torch
import torch.nn.functional as F

from bn.models import build_model
from bn.models.normalizer_free import (AGC_EPS, RELU_GAIN, WS_EPS, FixupBlock, NormFreeResNet,
                                       WSConv2d, adaptive_grad_clip_, agc_clipped, branch_skip_variance,
                                       nf_betas, standardize, unitwise_norm)
from bn.models.resnet import SmallResNet

# float32: a sum of k terms of size ~1 carries a rounding error of about k * 2**-24 relative.
F32 = 2.0**-24


def _net(method, **kw):
    torch.manual_seed(0)
    return build_model("residual", method=method, width=8, blocks=kw.pop("blocks", 3), **kw)


def _images(n=16):
    g = torch.Generator().manual_seed(1)
    return torch.randn(n, 3, 32, 32, generator=g)


def test_bn_is_the_books_small_resnet_and_bad_choices_are_errors():
    assert type(_net("bn")) is SmallResNet
    assert isinstance(_net("fixup"), NormFreeResNet)
    with pytest.raises(ValueError, match="unknown method 'batch'"):
        _net("batch")
    with pytest.raises(ValueError, match="used by 'nf' only"):
        _net("fixup", agc=0.01)
    with pytest.raises(ValueError, match="agc must be >= 0"):
        _net("nf", agc=-1.0)


def test_skipinit_block_is_the_identity_at_initialization():
    net = _net("skipinit")
    h = net.pool(net.stem(_images()))       # what the first block receives: a ReLU's output, >= 0
    assert bool((h >= 0).all())
    out = net.blocks(h)
    assert torch.equal(out, h)               # alpha = 0: exactly, not approximately
    assert branch_skip_variance(net, _images()) == [0.0, 0.0, 0.0]
    # a wrong variant, alpha starting at 1 (a plain residual block without normalization), is not
    torch.manual_seed(0)
    wrong = build_model("residual", method="skipinit", width=8, blocks=3, skip_alpha=1.0)
    assert not torch.equal(wrong.blocks(h), h)


def test_fixup_branch_is_zero_and_its_first_layer_is_rescaled():
    for blocks in (4, 16):
        net = _net("fixup", blocks=blocks)
        h = net.pool(net.stem(_images()))
        for b in net.blocks:
            assert isinstance(b, FixupBlock)
            assert torch.equal(b.branch(h), torch.zeros_like(h))
            assert torch.equal(b.conv2.weight, torch.zeros_like(b.conv2.weight))
        assert torch.equal(net.classifier.weight, torch.zeros_like(net.classifier.weight))
        # conv1: He std (fan-in 8*9 = 72) times L^(-1/(2m-2)) = L^(-1/2) for m = 2 layers per branch
        w = torch.cat([b.conv1.weight.detach().flatten() for b in net.blocks])
        expected = math.sqrt(2 / 72) * blocks ** -0.5
        # the sample std of n Gaussians has relative standard error 1/sqrt(2n); allow 5 of them
        tol = 5 / math.sqrt(2 * w.numel())
        assert abs(float(w.std()) / expected - 1) < tol
        # a wrong exponent, L^(-1/4) (m = 3's rule on a two-layer branch), is far outside
        assert abs(float(w.std()) / (math.sqrt(2 / 72) * blocks ** -0.25) - 1) > tol


def test_weight_standardization_gives_zero_mean_unit_variance_per_output_channel():
    torch.manual_seed(0)
    conv = WSConv2d(8, 16)
    w = conv.standardized_weight().detach().double().flatten(1)
    var = conv.weight.detach().double().flatten(1).var(dim=1, unbiased=False)
    # the eps in the denominator makes the variance v / (v + eps), not 1; float32 adds ~k * 2^-24
    k = w.shape[1]
    assert torch.allclose(w.mean(1), torch.zeros(16, dtype=torch.float64), atol=10 * k * F32)
    assert torch.allclose(w.var(1, unbiased=False), var / (var + WS_EPS), rtol=10 * k * F32)
    # the conv uses exactly those weights
    x = torch.randn(2, 8, 6, 6)
    assert torch.allclose(conv(x), F.conv2d(x, conv.standardized_weight(), None, 1, 1), atol=0)
    # the raw weights do not have the property (a layer that forgot to standardize would fail)
    assert not torch.allclose(conv.weight.detach().double().flatten(1).var(1, unbiased=False),
                              torch.ones(16, dtype=torch.float64), rtol=0.1)


def test_scaled_weight_standardization_has_the_nf_variance():
    torch.manual_seed(0)
    conv = WSConv2d(8, 16, scaled=True, gain=RELU_GAIN)
    w = conv.standardized_weight().detach().double().flatten(1)
    fan_in = 8 * 9
    raw = conv.weight.detach().double().flatten(1).var(1, unbiased=False)
    assert torch.allclose(w.var(1, unbiased=False) * fan_in / RELU_GAIN**2, raw / (raw + WS_EPS),
                          rtol=10 * fan_in * F32)
    # the gain restores unit variance after a ReLU of a unit Gaussian: (1 - 1/pi) / 2 * gain^2 = 1
    assert RELU_GAIN**2 * (1 - 1 / math.pi) / 2 == pytest.approx(1.0, rel=1e-15)
    assert nf_betas(3, 0.2) == pytest.approx([1.0, math.sqrt(1.04), math.sqrt(1.08)], rel=1e-15)


def _direct_agc(grad, weight, clip):
    """AGC written out unit by unit, as Brock et al. state it."""
    out = grad.clone()
    if grad.dim() <= 1:
        units = [(slice(None),)]
    else:
        units = [(i,) for i in range(grad.shape[0])]
    for u in units:
        w = max(float(weight[u].double().norm()), AGC_EPS)
        g = float(grad[u].double().norm())
        if g / w > clip:
            out[u] = grad[u] * (clip * w / g)
    return out


def test_agc_clips_each_unit_exactly_by_the_ratio_formula():
    g = torch.Generator().manual_seed(0)
    weight = torch.randn(6, 4, 3, 3, generator=g)
    weight[2] = 0.0                                    # a unit at zero: the floor eps applies
    grad = torch.randn(6, 4, 3, 3, generator=g) * torch.tensor([1e-4, 1e-1, 1e-2, 1e-3, 1.0, 3e-2]).view(6, 1, 1, 1)
    clip = 0.01
    got = agc_clipped(grad, weight, clip)
    want = _direct_agc(grad, weight, clip)
    # both scale the same float32 numbers by factors equal to within rounding of a 36-term norm
    assert torch.allclose(got, want, rtol=100 * F32, atol=0)
    ratios = unitwise_norm(got).flatten() / unitwise_norm(weight).clamp(min=AGC_EPS).flatten()
    assert bool((ratios <= clip * (1 + 100 * F32)).all())
    assert torch.equal(got[0], grad[0])                # a small gradient is left as it was
    # a wrong variant, clipping the whole tensor's norm at once, gives another answer
    total = clip * weight.norm() / grad.norm()
    assert not torch.allclose(grad * min(1.0, float(total)), want, rtol=0.01)
    # a vector (a bias) is one unit
    b, gb = torch.randn(5, generator=g), torch.randn(5, generator=g)
    assert torch.allclose(agc_clipped(gb, b, clip), _direct_agc(gb, b, clip), rtol=100 * F32, atol=0)


def test_the_nf_network_clips_every_gradient_but_the_classifiers():
    x, y = _images(8), torch.arange(8) % 10
    clipped, plain = _net("nf", agc=0.01), _net("nf")
    F.cross_entropy(clipped(x), y).backward()
    F.cross_entropy(plain(x), y).backward()
    params = dict(plain.named_parameters())
    for name, p in clipped.named_parameters():
        raw = params[name].grad
        if name.startswith("classifier"):
            assert torch.equal(p.grad, raw)
        else:
            assert torch.allclose(p.grad, agc_clipped(raw, p.detach(), 0.01), rtol=100 * F32, atol=0)
    assert any(not torch.equal(p.grad, params[n].grad) for n, p in clipped.named_parameters())
    # the in-place function does the same as the hooks
    adaptive_grad_clip_([p for n, p in plain.named_parameters() if not n.startswith("classifier")], 0.01)
    for name, p in clipped.named_parameters():
        assert torch.allclose(p.grad, params[name].grad, rtol=100 * F32, atol=0)


def test_bn_downscales_the_branch_with_depth_and_skipinit_fixup_do_not_have_one():
    torch.manual_seed(0)
    x = torch.randn(64, 3, 32, 32)
    bn = build_model("residual", method="bn", width=8, blocks=12).train()
    r = branch_skip_variance(bn, x)
    assert r[-1] < r[0] / 4                            # falls by far more than noise over 12 blocks
    for m in ("skipinit", "fixup"):
        assert branch_skip_variance(_net(m, blocks=12), x) == [0.0] * 12
