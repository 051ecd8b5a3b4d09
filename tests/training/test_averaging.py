"""Weight averaging after training and BN's statistics for the average (``bn.training.averaging``)."""

import numpy as np
import pytest
import torch
from torch import nn

from bn.models import SmallCNN
from bn.training.averaging import AveragingConfig, average_weights, recompute_bn, statistics_batches
from bn.training.tensordata import tensor_data_from_arrays

U32 = 2.0 ** -24


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, 120)
    images = np.clip(rng.normal(100, 40, (120, 3, 16, 16)) + 10 * labels[:, None, None, None], 0, 255)
    return tensor_data_from_arrays(images[:96].astype(np.uint8), labels[:96], images[96:].astype(np.uint8),
                                   labels[96:])


def test_update_bn_sets_the_population_statistics(data):
    """After update_bn, BN's running mean is the mean of its input over every image of the batches, and its
    running variance the mean of the batches' (unbiased) variances: momentum None, a plain average."""
    torch.manual_seed(0)
    conv, norm = nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4)
    model = nn.Sequential(conv, norm)
    batches = statistics_batches(data, batches=3, batch_size=16)
    assert len(batches) == 3 and all(len(b) == 16 for b in batches)
    stale = norm.running_mean.clone()
    recompute_bn(model, batches)
    with torch.no_grad():
        z = [conv(b).double() for b in batches]
    mean = torch.cat(z).mean(dim=(0, 2, 3))
    var = torch.stack([b.var(dim=(0, 2, 3), unbiased=True) for b in z]).mean(0)
    # float32 sums of n = 16 * 14 * 14 values per batch: random-walk rounding sqrt(n) * u, 4 times for the tails,
    # relative to the values' magnitude (|mean| + std)
    tol = 4 * (16 * 14 * 14) ** 0.5 * U32
    scale = mean.abs() + var.sqrt()
    assert torch.all((norm.running_mean.double() - mean).abs() <= tol * scale)
    assert torch.all((norm.running_var.double() - var).abs() <= tol * scale ** 2)
    assert not torch.allclose(stale, norm.running_mean)  # the statistics did change


def test_averages_and_their_buffers(data):
    torch.manual_seed(0)
    model = SmallCNN(widths=(4, 8), norm="torch")
    before = model.blocks[0].norm.running_mean.clone()
    cfg = AveragingConfig(steps=4, lr=0.05, swa_every=2, ema_decay=0.5, batch_size=16, crop_pad=2)
    av = average_weights(model, data, cfg, seed=0)
    assert int(av.swa.n_averaged) == 2 and int(av.ema.n_averaged) == 4
    swa_bn = av.swa.module.blocks[0].norm
    ema_bn = av.ema.module.blocks[0].norm
    after = model.blocks[0].norm.running_mean
    # SWA (use_buffers=False) copies the buffers of the network it averages at every update: the
    # statistics of the last weights (step 4), not of the average
    assert torch.equal(swa_bn.running_mean, after) and not torch.equal(after, before)
    # the EMA averages the buffers too: neither the old statistics nor the last ones
    assert not torch.equal(ema_bn.running_mean, before) and not torch.equal(ema_bn.running_mean, after)
    # the SWA weights are an average, not the last weights
    assert not torch.equal(av.swa.module.classifier.weight, model.classifier.weight)


def test_same_seed_same_averages(data):
    outs = []
    for _ in range(2):
        torch.manual_seed(0)
        model = SmallCNN(widths=(4, 8), norm="torch")
        av = average_weights(model, data, AveragingConfig(steps=2, swa_every=1, batch_size=16), seed=3)
        outs.append(av.swa.module.classifier.weight.detach().clone())
    assert torch.equal(*outs)


@pytest.mark.parametrize("kw", [{"steps": 0}, {"steps": 10, "swa_every": 3}, {"ema_decay": 1.0}])
def test_bad_averaging_config(kw):
    with pytest.raises(ValueError):
        AveragingConfig(**kw)
