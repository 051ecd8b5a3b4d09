"""bn.training.freezing's BN modes: frozen BN is torchvision's FrozenBatchNorm2d, and stays frozen."""

import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from bn.training import make_optimizer
from bn.training.freezing import BN_MODES, freeze_bn, frozen_bn_reference, is_frozen, set_bn_mode, unfreeze_bn


def trained_bn(dtype=torch.float64, c=5, seed=0):
    """A BatchNorm2d whose running statistics and gamma, beta are all away from their defaults."""
    g = torch.Generator().manual_seed(seed)
    bn = nn.BatchNorm2d(c).to(dtype)
    with torch.no_grad():
        bn.running_mean.copy_(torch.randn(c, generator=g, dtype=dtype))
        bn.running_var.copy_(torch.rand(c, generator=g, dtype=dtype) * 3 + 0.1)
        bn.weight.copy_(torch.randn(c, generator=g, dtype=dtype))
        bn.bias.copy_(torch.randn(c, generator=g, dtype=dtype))
    return bn


def test_frozen_bn_computes_torchvisions_frozen_batchnorm():
    bn = trained_bn()
    freeze_bn(bn)
    bn.train()  # a training-mode call must not bring the batch statistics back
    x = torch.randn(4, 5, 3, 3, generator=torch.Generator().manual_seed(1), dtype=torch.float64) * 2 + 1
    y = bn(x)
    ref = frozen_bn_reference(x, bn.running_mean, bn.running_var, bn.weight.detach(), bn.bias.detach(), bn.eps)
    direct = ((x - bn.running_mean.view(1, -1, 1, 1)) / torch.sqrt(bn.running_var.view(1, -1, 1, 1) + bn.eps)
              * bn.weight.detach().view(1, -1, 1, 1) + bn.bias.detach().view(1, -1, 1, 1))
    # The same operation in two orders of float64 operations (torch's (x - mean) * invstd * gamma + beta,
    # torchvision's x * scale + shift): a few roundings of |y| <~ 30, so 1e-13 absolute is tens of
    # roundings (2^-52 * 30 = 7e-15 each). A batch-statistics forward differs by order 1.
    assert torch.allclose(y, ref, rtol=0, atol=1e-13) and torch.allclose(y, direct, rtol=0, atol=1e-13)
    batch_mode = F.batch_norm(x, None, None, bn.weight.detach(), bn.bias.detach(), training=True)
    assert (batch_mode - ref).abs().max() > 0.1


def test_the_formula_check_fails_on_a_wrong_frozen_layer():
    """The reference catches the classic mistakes: a missing eps, or the standard deviation for the variance."""
    bn = trained_bn()
    x = torch.randn(4, 5, 3, 3, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    ref = frozen_bn_reference(x, bn.running_mean, bn.running_var, bn.weight.detach(), bn.bias.detach(), bn.eps)
    no_eps = frozen_bn_reference(x, bn.running_mean, bn.running_var, bn.weight.detach(), bn.bias.detach(), 0.0)
    std_for_var = frozen_bn_reference(x, bn.running_mean, bn.running_var.sqrt(), bn.weight.detach(),
                                      bn.bias.detach(), bn.eps)
    assert not torch.allclose(ref, no_eps, rtol=0, atol=1e-13)
    assert not torch.allclose(ref, std_for_var, rtol=0, atol=1e-13)


def net():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 4, 3, bias=False), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(),
                         nn.Linear(4 * 36, 3))


def step(model, shift=3.0):
    """One SGD step in training mode on a batch far from the statistics; returns what it changed."""
    model.train()
    bn = model[1]
    before = {k: v.detach().clone() for k, v in [("mean", bn.running_mean), ("var", bn.running_var),
                                                 ("gamma", bn.weight), ("beta", bn.bias), ("conv", model[0].weight)]}
    x = torch.randn(2, 3, 8, 8, generator=torch.Generator().manual_seed(3)) * 2 + shift
    opt = make_optimizer(model, 0.1, weight_decay=0.0)
    loss = F.cross_entropy(model(x), torch.tensor([0, 1]))
    opt.zero_grad()
    loss.backward()
    opt.step()
    after = {"mean": bn.running_mean, "var": bn.running_var, "gamma": bn.weight, "beta": bn.bias,
             "conv": model[0].weight}
    return {k for k in before if not torch.equal(before[k], after[k].detach())}


@pytest.mark.parametrize("mode, changed", [("train", {"mean", "var", "gamma", "beta", "conv"}),
                                           ("eval_stats", {"gamma", "beta", "conv"}),
                                           ("frozen", {"conv"})])
def test_each_mode_changes_exactly_what_it_says(mode, changed):
    model = net()
    set_bn_mode(model, mode)
    assert step(model) == changed
    # and a deep copy (the fine-tuning copies the pretrained network) behaves the same
    copied = copy.deepcopy(net())
    set_bn_mode(copied, mode)
    assert step(copy.deepcopy(copied)) == changed


def test_unfreeze_restores_training_mode_bn():
    model = net()
    assert freeze_bn(model) == 1 and is_frozen(model[1]) and not model[1].weight.requires_grad
    unfreeze_bn(model)
    assert not is_frozen(model[1]) and model[1].weight.requires_grad
    assert step(model) == {"mean", "var", "gamma", "beta", "conv"}
    set_bn_mode(model, "frozen")
    set_bn_mode(model, "eval_stats")  # switching modes leaves one hook, gamma and beta trainable again
    assert len(model[1]._forward_pre_hooks) == 1 and model[1].weight.requires_grad


def test_bad_input_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown BN mode 'frozn'.*train, eval_stats, frozen"):
        set_bn_mode(net(), "frozn")
    with pytest.raises(ValueError, match="no torch.nn BN layer"):
        freeze_bn(nn.Linear(3, 2))
    with pytest.raises(ValueError, match="track running statistics"):
        freeze_bn(nn.Sequential(nn.BatchNorm2d(3, track_running_stats=False)))
    assert BN_MODES == ("train", "eval_stats", "frozen")
