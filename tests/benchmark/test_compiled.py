"""Folding BN into convolutions by hand and by inductor's freezing (``bn.benchmark.compiled``)."""

import shutil

import pytest
import torch
from torch import nn

from bn.benchmark.compiled import (compare_inference, count_batch_norms, fold_conv_bn, inductor_report,
                                   inference_tolerance)
from bn.models import SmallCNN


def _trained(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    model = SmallCNN(widths=(4, 8), norm="torch", convs_per_block=2)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for _ in range(3):  # a few steps, so that the running statistics are not the defaults
        nn.functional.cross_entropy(model(torch.randn(16, 3, 16, 16)), torch.randint(0, 10, (16,))).backward()
        opt.step()
        opt.zero_grad()
    return model.eval()


def test_folding_removes_every_bn_and_is_exact_to_float32():
    model = _trained()
    folded = fold_conv_bn(model)
    assert count_batch_norms(model) == 4 and count_batch_norms(folded) == 0
    x = torch.randn(32, 3, 16, 16)
    with torch.no_grad():
        ref, out = model(x), folded(x)
    assert float((out - ref).abs().max() / ref.abs().max()) <= inference_tolerance(model)
    assert model.blocks[0].norm.training is False  # the original is untouched


def test_a_wrong_folding_is_caught_by_the_tolerance():
    """Folding with a negligible eps (forgetting BN's eps, a classic mistake) is off by about
    eps / (2 running_var): caught once the variances are small, where it matters."""
    model = _trained()
    norms = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    for m in norms:
        m.running_var.mul_(1e-3)
    x = torch.randn(32, 3, 16, 16)
    with torch.no_grad():
        ref, right = model(x), fold_conv_bn(model)(x)
        for m in norms:
            m.eps = 1e-12
        wrong = fold_conv_bn(model)(x)
    assert float((right - ref).abs().max() / ref.abs().max()) <= inference_tolerance(model)
    assert float((wrong - ref).abs().max() / ref.abs().max()) > inference_tolerance(model)


def test_tolerance_counts_the_sum_lengths():
    model = SmallCNN(widths=(4, 8), norm="torch")
    fan_ins = 3 * 9 + 4 * 9 + 8  # conv 3->4, conv 4->8, linear 8->10
    assert inference_tolerance(model) == 2.0 ** -24 * (fan_ins + 4 * 2)


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("gcc") is None and shutil.which("cc") is None,
                    reason="inductor's CPU backend needs a C compiler")
@pytest.mark.skipif(torch.backends.cpu.get_cpu_capability() == "DEFAULT",
                    reason="inductor generates code for a real CPU's vector ISA; under the emulated scalar "
                           "kernels (capability DEFAULT) its compilation fails")
def test_freezing_folds_bn_and_plain_compile_does_not():
    model = _trained().to(memory_format=torch.channels_last)
    x = torch.randn(8, 3, 16, 16).contiguous(memory_format=torch.channels_last)
    plain, _ = inductor_report(model, x, freezing=False)
    frozen, compiled = inductor_report(model, x, freezing=True)
    assert plain.error is None and frozen.error is None
    assert plain.sqrt_in_code == count_batch_norms(model) and plain.binary_folding_conv == 0
    assert frozen.sqrt_in_code == 0 and frozen.binary_folding_conv > 0
    with torch.no_grad():
        assert float((compiled(x) - model(x)).abs().max() / model(x).abs().max()) <= inference_tolerance(model)
    torch._dynamo.reset()


def test_compare_needs_whole_batches():
    with pytest.raises(ValueError, match="whole batches"):
        compare_inference(_trained(), torch.randn(10, 3, 16, 16), batch_size=4)


def test_a_bn_after_the_nonlinearity_is_not_folded():
    """conv -> ReLU -> BN: the BN follows the conv among the unit's children but not in its forward;
    folding it into the conv would be wrong, so it is left in place (and the output unchanged)."""
    from bn.models.cnn import PlainCNN

    torch.manual_seed(0)
    model = PlainCNN(widths=(4, 4), pool_after=(0,), order="relu_bn").eval()
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.normal_()
    folded = fold_conv_bn(model)
    assert count_batch_norms(folded) == count_batch_norms(model) == 2
    x = torch.randn(4, 3, 8, 8)
    with torch.no_grad():
        assert torch.equal(folded(x), model(x))
