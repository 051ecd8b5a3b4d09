"""Test-time adaptation on tiny models: what each method normalizes by, and what TENT may change."""

import pytest
import torch
from torch import nn

from bn.models import build_model
from bn.population import bn_layers
from bn.training.adaptation import (TentConfig, adabn, bn_affine_parameters, entropy, source_logits, tent,
                                    per_batch_logits, values_per_channel, with_batch_statistics)

# float32 throughout: the same sums in another order differ by a few ulps of values of order 1-10,
# so 1e-5 (about 100 ulps at 1) bounds reordering error through a handful of layers.
ATOL = 1e-5


@pytest.fixture
def model():
    torch.manual_seed(0)
    m = build_model("cnn", widths=(4, 8), norm="torch", dropout=0.5, convs_per_block=2)
    with torch.no_grad():  # running statistics of some "source" data, so they differ from the target's
        m.train()
        for _ in range(5):
            m(torch.randn(16, 3, 8, 8))
    return m.eval()


@pytest.fixture
def target():
    g = torch.Generator().manual_seed(1)
    return 2.0 + 3.0 * torch.randn(32, 3, 8, 8, generator=g)  # shifted and scaled inputs


def test_source_logits_are_eval_mode(model, target):
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with torch.no_grad():
        expected = model(target)
    assert torch.allclose(source_logits(model, target, batch_size=5), expected, atol=ATOL, rtol=0)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_adabn_statistics_are_those_of_the_target(model, target):
    adapted = adabn(model, target, batch_size=8)  # four equal batches
    first = model.blocks[0].conv
    with torch.no_grad():
        h = first(target)
    layer = bn_layers(adapted)[0]
    # the cumulative average of equal batches' means is the mean over all of them
    assert torch.allclose(layer.running_mean, h.mean(dim=(0, 2, 3)), atol=ATOL, rtol=0)
    # the running variance: the average of the four batches' unbiased variances
    var = torch.stack([h[i:i + 8].var(dim=(0, 2, 3), unbiased=True) for i in range(0, 32, 8)]).mean(0)
    assert torch.allclose(layer.running_var, var, atol=ATOL, rtol=1e-5)
    assert not adapted.training and all(torch.equal(a, b) for a, b in zip(adapted.parameters(), model.parameters()))
    assert not torch.allclose(bn_layers(model)[0].running_mean, layer.running_mean)  # the original is untouched


def test_test_batch_statistics_of_the_whole_set_are_adabn_on_it(model, target):
    """One batch of everything: test-batch statistics = AdaBN with one batch, once AdaBN's unbiased
    running variance is rescaled by (n - 1) / n to the biased variance a training-mode layer divides by."""
    whole = per_batch_logits(model, target, batch_size=len(target))
    adapted = adabn(model, target, batch_size=len(target))
    for layer, n in zip(bn_layers(adapted), values_per_channel(adapted, target)):
        layer.running_var.mul_((n - 1) / n)
    assert torch.allclose(whole, source_logits(adapted, target), atol=ATOL, rtol=1e-4)
    # without the rescaling they differ, so the comparison can see a wrong variance
    assert not torch.allclose(whole, source_logits(adabn(model, target, len(target)), target), atol=ATOL, rtol=0)


def test_test_batch_statistics_depend_on_the_batch_and_keep_dropout_off(model, target):
    small, large = per_batch_logits(model, target, 4), per_batch_logits(model, target, 32)
    assert not torch.allclose(small, large, atol=1e-3)
    assert torch.allclose(large, per_batch_logits(model, target, 32), atol=0, rtol=0)  # dropout off: repeatable
    assert torch.allclose(small[:4], per_batch_logits(model, target[:4], 4), atol=ATOL, rtol=0)
    m = with_batch_statistics(model)
    assert all(not d.training for d in m.modules() if isinstance(d, nn.Dropout))
    assert all(layer.running_mean is None for layer in bn_layers(m))


def test_tent_changes_only_gamma_and_beta_and_predicts_online(model, target):
    before = {k: v.clone() for k, v in model.state_dict().items()}
    logits, adapted = tent(model, target, TentConfig(lr=1e-2, batch_size=8))
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())  # the trained network is kept
    affine = {id(p) for p in bn_affine_parameters(adapted)}
    for (name, p), p0 in zip(adapted.named_parameters(), model.parameters()):
        if id(p) in affine:
            assert not torch.equal(p, p0), name
        else:
            assert torch.equal(p, p0), name
    # the first batch is predicted before any step: exactly test-batch statistics
    assert torch.allclose(logits[:8], per_batch_logits(model, target[:8], 8), atol=ATOL, rtol=0)
    assert not torch.allclose(logits[8:], per_batch_logits(model, target, 8)[8:], atol=1e-4)
    # the steps lower the entropy they minimize
    with torch.no_grad():
        assert entropy(adapted(target)).mean() < entropy(per_batch_logits(model, target, 32)).mean()


def test_entropy_of_known_distributions():
    logits = torch.tensor([[0.0, 0.0, 0.0, 0.0], [100.0, 0.0, 0.0, 0.0]])
    e = entropy(logits)
    assert torch.allclose(e, torch.tensor([torch.log(torch.tensor(4.0)), 0.0]), atol=1e-6)


def test_bad_arguments_are_clear_errors(model, target):
    no_bn = build_model("cnn", widths=(4,), norm="none")
    for fn in (lambda: adabn(no_bn, target), lambda: with_batch_statistics(no_bn)):
        with pytest.raises(ValueError, match="no torch.nn BatchNorm"):
            fn()
    with pytest.raises(ValueError, match="batch_size must be at least 1"):
        per_batch_logits(model, target, 0)
    with pytest.raises(ValueError, match="optimizer must be 'adam' or 'sgd'"):
        TentConfig(optimizer="rmsprop")
    with pytest.raises(ValueError, match="lr > 0"):
        TentConfig(lr=0.0)


def test_values_per_channel_counts_batch_times_pixels(model):
    # widths (4, 8), two convolutions per block: two layers at 8x8, two at 4x4 after the pool
    assert values_per_channel(model, torch.zeros(3, 3, 8, 8)) == [3 * 64, 3 * 64, 3 * 16, 3 * 16]
