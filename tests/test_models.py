"""Models of the experiments: shapes, where BN sits, biases dropped before BN, init scale, sigmoid-input probe."""

import math

import pytest
import torch
from torch import nn

from bn.models import MLP, SmallCNN, build_model, count_parameters, init_std, last_hidden_sigmoid_input


@pytest.mark.parametrize("bn", [False, True])
def test_mlp_shapes_and_bn_placement(bn):
    m = MLP(norm="torch" if bn else "none")
    assert m(torch.randn(7, 3, 32, 32)).shape == (7, 10)
    kinds = [type(x) for x in m.features]
    norm = nn.BatchNorm1d if bn else nn.Identity
    # Fig. 1: three times (linear, [BN], sigmoid), BN between the linear map and the nonlinearity
    assert kinds == [nn.Linear, norm, nn.Sigmoid] * 3
    assert all((lin.bias is None) == bn for lin in m.pre_bn)  # BN's beta replaces the bias
    assert [lin.out_features for lin in m.pre_bn] == [100, 100, 100]


@pytest.mark.parametrize("bn", [False, True])
@pytest.mark.parametrize("activation", ["relu", "sigmoid"])
def test_cnn_shapes_bn_placement_and_size(bn, activation):
    m = SmallCNN(norm="torch" if bn else "none", activation=activation, dropout=0.3)
    assert m(torch.randn(4, 3, 32, 32)).shape == (4, 10)
    for block in m.blocks:
        assert isinstance(block.norm, nn.BatchNorm2d if bn else nn.Identity)
        assert (block.conv.bias is None) == bn
        assert isinstance(block.act, nn.ReLU if activation == "relu" else nn.Sigmoid)
    assert isinstance(m.dropout, nn.Dropout) and m.dropout.p == 0.3
    assert 90_000 < count_parameters(m) < 100_000  # the ~100k-parameter net of the cpu profile


def test_init_scale_multiplies_the_weight_std():
    torch.manual_seed(0)
    a = SmallCNN(init_scale=1.0)
    torch.manual_seed(0)
    b = SmallCNN(init_scale=10.0)
    # same draws, scaled: exact up to one float32 rounding of the product
    torch.testing.assert_close(b.blocks[1].conv.weight, 10 * a.blocks[1].conv.weight)
    w = a.blocks[2].conv.weight.detach()
    fan_in = w[0].numel()
    # 64*9*128 = 73,728 draws: the sample std is within ~1 % of He's sqrt(2/fan_in)
    assert abs(float(w.std()) / math.sqrt(2 / fan_in) - 1) < 0.02
    assert init_std(100, "sigmoid") == pytest.approx(0.1)


def test_build_model_dispatch_and_error():
    assert isinstance(build_model("mlp", norm="torch"), MLP)
    assert isinstance(build_model("cnn", widths=[8, 16, 32]), SmallCNN)
    with pytest.raises(ValueError):
        build_model("vgg")


def test_sigmoid_input_probe_matches_the_forward_pass():
    torch.manual_seed(1)
    m = MLP(norm="torch")
    with torch.no_grad():  # non-trivial gamma/beta so that xhat and gamma*xhat+beta differ
        m.norms[2].weight.fill_(2.0)
        m.norms[2].bias.fill_(-0.5)
    x = torch.randn(64, 3, 32, 32)
    rec = last_hidden_sigmoid_input(m, x, unit=3)
    captured = {}
    m.norms[2].register_forward_hook(lambda mod, inp, out: captured.update(a=out[:, 3]))
    m.train()
    m(x)  # training mode: BN uses this batch's statistics, like the probe
    torch.testing.assert_close(rec.sigmoid_input, captured["a"])
    torch.testing.assert_close(rec.sigmoid_input, 2.0 * rec.xhat - 0.5)
    # xhat is standardized over the batch (biased variance, eps = 1e-5 shrinks it by ~1e-5 relative)
    assert abs(float(rec.xhat.mean())) < 1e-5
    assert abs(float(rec.xhat.var(unbiased=False)) - 1) < 1e-3


def test_sigmoid_input_probe_without_bn_is_the_linear_output():
    torch.manual_seed(2)
    m = MLP(norm="none")
    x = torch.randn(16, 3072)
    rec = last_hidden_sigmoid_input(m, x, unit=0)
    h = torch.sigmoid(m.pre_bn[1](torch.sigmoid(m.pre_bn[0](x))))
    torch.testing.assert_close(rec.sigmoid_input, m.pre_bn[2](h)[:, 0])
    assert rec.xhat is None


def test_sigmoid_input_probe_leaves_the_model_as_it_was():
    torch.manual_seed(3)
    m = MLP(norm="torch").eval()
    before = {k: v.clone() for k, v in m.state_dict().items()}
    last_hidden_sigmoid_input(m, torch.randn(32, 3072), unit=1)
    assert not m.training  # still in eval mode, running averages unchanged, no hook left behind
    assert all(torch.equal(before[k], v) for k, v in m.state_dict().items())
    assert not any(mod._forward_hooks for mod in m.modules())
