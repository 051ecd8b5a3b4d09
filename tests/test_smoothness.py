"""bn.smoothness: noisy BN's moments, the gradient ICS measure and the landscape measures on known cases."""

import copy
import math

import pytest
import torch
from torch import nn

from bn.models import PlainCNN
from bn.smoothness import gradient_ics, input_moments, landscape_along_gradient, moment_shift
from bn.torch_bn.noisy import NoisyShift, add_noise_after_bn, freeze_noise, set_noise

F64_TOL = 1e-12  # a few float64 roundings of O(1) quantities


# --- noisy BN -----------------------------------------------------------------------------------

def test_noise_is_the_identity_in_eval_mode():
    layer = NoisyShift(4, shift_max=2.0, scale_max=3.0, seed=0).eval()
    y = torch.randn(8, 4, 5, 5)
    assert torch.equal(layer(y), y)


def test_noise_has_the_stated_moments_and_is_the_same_across_a_channel():
    n_m, n_s, c = 0.5, 2.0, 20000
    layer = NoisyShift(c, n_m, n_s, seed=1).train()
    y = torch.zeros(3, c, 2, 2, dtype=torch.float64)
    shift = layer(y)
    scale_plus_shift = layer(y + 1)  # a new draw: the noise is fresh at every forward pass
    scale = scale_plus_shift - layer.last[1].view(1, -1, 1, 1)
    for t in (shift, scale):
        assert torch.equal(t, t[:1, :, :1, :1].expand_as(t))  # one value per channel
    m, s = shift[0, :, 0, 0], scale[0, :, 0, 0]
    # U(a, b): mean (a + b) / 2, variance (b - a)^2 / 12; 5 standard errors of c draws.
    for v, (a, b) in ((m, (-n_m, n_m)), (s, (1.0, n_s))):
        sd = (b - a) / math.sqrt(12)
        assert float(v.min()) >= a and float(v.max()) <= b
        assert abs(float(v.mean()) - (a + b) / 2) < 5 * sd / math.sqrt(c)
        assert abs(float(v.std()) - sd) < 5 * sd / math.sqrt(2 * c)
    assert not torch.equal(m, layer.draw()[1])


def test_frozen_noise_repeats_its_draw_and_a_copy_leaves_the_original_stream_alone():
    layer = NoisyShift(6, 1.0, 2.0, seed=3).train()
    y = torch.randn(4, 6)
    twin = copy.deepcopy(layer)
    freeze_noise(twin)
    first = twin(y)
    assert torch.equal(twin(y), first)
    assert torch.equal(layer(y), first)  # the copy drew from its own copy of the generator
    assert not torch.equal(layer(y), first)
    set_noise(layer, False)
    assert torch.equal(layer(y), y)  # off: the identity in training mode too


def test_noise_after_bn_keeps_the_initialization_and_the_eval_function():
    torch.manual_seed(0)
    plain = PlainCNN(widths=(4, 8), pool_after=(0,), norm="torch")
    torch.manual_seed(0)
    noisy = PlainCNN(widths=(4, 8), pool_after=(0,), norm="torch")
    noises = add_noise_after_bn(noisy, 1.0, 2.0, seed=5)
    assert len(noises) == 2
    x = torch.randn(6, 3, 8, 8)
    plain.eval(), noisy.eval()
    assert torch.equal(plain(x), noisy(x))
    plain.train(), noisy.train()
    assert not torch.allclose(plain(x), noisy(x))
    with pytest.raises(ValueError):
        add_noise_after_bn(PlainCNN(widths=(4,), pool_after=(), norm="none"), 1.0, 2.0)


# --- input distributions ------------------------------------------------------------------------

def test_input_moments_are_per_channel_and_leave_the_model_untouched():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(2, 3, 1), nn.BatchNorm2d(3), nn.Conv2d(3, 2, 1))
    x = torch.randn(5, 2, 4, 4) * torch.tensor([1.0, 3.0]).view(1, 2, 1, 1) + 2.0
    before = copy.deepcopy(model.state_dict())
    got = input_moments(model, ["0", "2"], x)
    mean, std = got["0"]
    expected = x.double().transpose(0, 1).flatten(1)
    assert torch.allclose(mean, expected.mean(1), atol=F64_TOL)
    assert torch.allclose(std, expected.std(1, unbiased=False), atol=F64_TOL)
    assert torch.allclose(got["2"][0], torch.zeros(3, dtype=torch.float64), atol=1e-6)  # BN output
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k]), k
    with pytest.raises(KeyError):
        input_moments(model, ["nope"], x)


def test_moment_shift_on_known_moves_skips_dead_channels():
    before = (torch.tensor([0.0, 1.0, 5.0]), torch.tensor([1.0, 2.0, 0.0]))
    after = (torch.tensor([0.5, 0.0, 5.0]), torch.tensor([math.e, 2.0, 1.0]))
    got = moment_shift(before, after)
    assert got["live"] == 2
    assert got["mean_shift"] == pytest.approx((0.5 + 0.5) / 2, abs=F64_TOL)
    assert got["std_shift"] == pytest.approx((1.0 + 0.0) / 2, abs=1e-7)


# --- internal covariate shift by gradients ------------------------------------------------------

def _chain(w1: float, w2: float):
    a = torch.tensor(w1, dtype=torch.float64, requires_grad=True)
    b = torch.tensor(w2, dtype=torch.float64, requires_grad=True)
    x, y = 1.5, 0.7
    return a, b, (lambda: 0.5 * (b * a * x - y) ** 2), x, y


def test_ics_is_zero_when_the_earlier_layers_do_not_move():
    torch.manual_seed(0)
    model = PlainCNN(widths=(4, 8), pool_after=(0,), norm="torch")
    x, y = torch.randn(8, 3, 8, 8), torch.randint(0, 10, (8,))
    groups = [list(u.parameters()) for u in model.units] + [list(model.classifier.parameters())]
    out = gradient_ics(lambda: nn.functional.cross_entropy(model(x), y), groups, lr=0.0)
    assert [r["layer"] for r in out] == [1, 2]
    assert all(r["diff"] == 0.0 and r["norm"] > 0 for r in out)
    assert all(r["cos"] == pytest.approx(1.0, abs=F64_TOL) for r in out)
    moved = gradient_ics(lambda: nn.functional.cross_entropy(model(x), y), groups, lr=0.1)
    assert all(r["diff"] > 0 for r in moved)


def test_ics_of_a_scalar_chain_matches_the_closed_form():
    w1, w2, lr = 0.8, -1.3, 0.2
    a, b, loss, x, y = _chain(w1, w2)
    (got,) = gradient_ics(loss, [[a], [b]], lr)
    r = w2 * w1 * x - y
    g2 = r * w1 * x
    w1_new = w1 - lr * r * w2 * x
    g2_new = (w2 * w1_new * x - y) * w1_new * x
    assert got["diff"] == pytest.approx(abs(g2 - g2_new), rel=F64_TOL)
    assert got["cos"] == pytest.approx(math.copysign(1.0, g2 * g2_new), abs=F64_TOL)
    assert (a.item(), b.item()) == (w1, w2)  # restored


def test_ics_is_zero_for_layers_that_do_not_interact():
    a = torch.tensor([0.3, -0.4], dtype=torch.float64, requires_grad=True)
    b = torch.tensor([1.1], dtype=torch.float64, requires_grad=True)
    (got,) = gradient_ics(lambda: (a ** 2).sum() + (b ** 4).sum(), [[a], [b]], lr=0.5)
    assert got["diff"] == 0.0


# --- the landscape along the gradient -----------------------------------------------------------

def test_effective_smoothness_of_an_isotropic_quadratic_is_its_curvature():
    lam = 2.5
    p = torch.tensor([0.3, -1.0, 0.2], dtype=torch.float64, requires_grad=True)
    start = p.detach().clone()
    steps = [0.01, 0.05, 0.2]
    land = landscape_along_gradient(lambda: 0.5 * lam * (p ** 2).sum(), [p], steps)
    g_norm = lam * float(start.norm())
    assert land.beta == pytest.approx(lam, rel=F64_TOL)
    assert land.predictiveness == pytest.approx(lam * max(steps) * g_norm, rel=F64_TOL)
    q = [0.5 * lam * (1 - t * lam) ** 2 * float(start.norm()) ** 2 for t in [0.0, *steps]]
    assert land.loss_range == pytest.approx(max(q) - min(q), rel=F64_TOL)
    assert torch.equal(p.detach(), start)


def test_effective_smoothness_along_an_eigenvector_is_that_eigenvalue():
    curv = torch.tensor([0.5, 3.0, 8.0], dtype=torch.float64)
    p = torch.tensor([0.0, 1.2, 0.0], dtype=torch.float64, requires_grad=True)
    land = landscape_along_gradient(lambda: 0.5 * (curv * p ** 2).sum(), [p], [0.05, 0.1])
    assert land.beta == pytest.approx(3.0, rel=F64_TOL)
    # Off an eigenvector the ratio lies between the smallest and largest curvature.
    p2 = torch.tensor([1.0, 1.0, 1.0], dtype=torch.float64, requires_grad=True)
    mixed = landscape_along_gradient(lambda: 0.5 * (curv * p2 ** 2).sum(), [p2], [0.05])
    assert 0.5 < mixed.beta < 8.0 and abs(mixed.beta - 3.0) > 0.1


def test_landscape_rejects_non_positive_steps():
    p = torch.tensor([1.0], requires_grad=True)
    with pytest.raises(ValueError):
        landscape_along_gradient(lambda: (p ** 2).sum(), [p], [0.0, 0.1])
