"""Gradient accumulation (``TrainConfig.accumulation_steps``): exact without BN, a different step with BN."""

import numpy as np
import pytest
import torch

from bn.models import SmallCNN
from bn.training import TrainConfig, train
from bn.training.loop import accumulated_backward
from bn.training.tensordata import tensor_data_from_arrays

U32 = 2.0 ** -24  # float32 unit roundoff
BATCH, SIDE = 32, 32


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, 300)
    images = np.clip(rng.normal(100, 40, (300, 3, SIDE, SIDE)) + 10 * labels[:, None, None, None], 0, 255)
    return tensor_data_from_arrays(images[:200].astype(np.uint8), labels[:200], images[200:].astype(np.uint8),
                                   labels[200:])


def _grads(bn: bool, k: int, seed: int = 0):
    torch.manual_seed(seed)
    model = SmallCNN(widths=(4, 8), norm="torch" if bn else "none")
    gen = torch.Generator().manual_seed(1)
    x, y = torch.randn(BATCH, 3, SIDE, SIDE, generator=gen), torch.randint(0, 10, (BATCH,), generator=gen)
    loss = accumulated_backward(model, x, y, k)
    return loss, [p.grad.clone() for p in model.parameters()], model


# The first convolution's weight gradient is a sum over the batch and every pixel: n = BATCH * SIDE^2
# terms, summed in another order (and blocking) when the batch is split. Rounding errors of a sum
# accumulate like a random walk, sqrt(n) * u relative to the terms' magnitudes (bounded here by the
# largest gradient); 4 times that leaves room for the tails. (Measured: about 2e-6, against 4.4e-5.)
SUM_TOL = 4 * (BATCH * SIDE * SIDE) ** 0.5 * U32


def _gap(a, b):
    """Largest difference of two lists of tensors, relative to each tensor's largest entry."""
    with torch.no_grad():
        return max(float((x - y).abs().max() / y.abs().max()) for x, y in zip(a, b))


@pytest.mark.parametrize("k", [2, 4, 8])
def test_without_bn_accumulation_is_the_whole_batch_gradient(k):
    loss1, g1, _ = _grads(bn=False, k=1)
    lossk, gk, _ = _grads(bn=False, k=k)
    assert abs(loss1 - lossk) <= SUM_TOL * abs(loss1)
    assert _gap(gk, g1) <= SUM_TOL


def test_the_loss_scaling_is_what_makes_it_exact():
    """Summing micro-batch gradients without the 1/k (a classic mistake) is k times too large: caught."""
    _, g1, _ = _grads(bn=False, k=1)
    _, g4, _ = _grads(bn=False, k=4)
    assert _gap([4 * g for g in g4], g1) > 1.0


def test_with_bn_accumulation_is_another_gradient():
    _, g1, m1 = _grads(bn=True, k=1)
    _, g4, m4 = _grads(bn=True, k=4)
    assert _gap(g4, g1) > 100 * SUM_TOL  # normalized over 8 examples, not 32: not a rounding difference
    bn1, bn4 = m1.blocks[0].norm, m4.blocks[0].norm
    assert int(bn1.num_batches_tracked) == 1 and int(bn4.num_batches_tracked) == 4  # one update per micro-batch
    assert not torch.allclose(bn1.running_mean, bn4.running_mean)


def _train(data, bn: bool, k: int, steps: int = 3):
    cfg = TrainConfig(steps=steps, batch_size=BATCH, peak_lr=0.05, eval_every=steps, eval_examples=32,
                      accumulation_steps=k)
    torch.manual_seed(0)
    model = SmallCNN(widths=(4, 8), norm="torch" if bn else "none")
    h = train(model, data, cfg, seed=0, progress=False)
    return h, model


def test_training_without_bn_follows_the_same_trajectory(data):
    h1, m1 = _train(data, bn=False, k=1)
    h4, m4 = _train(data, bn=False, k=4)
    # three steps: the rounding differences of each step's gradient, carried by the rate into the weights
    assert np.allclose(h4.first_losses, h1.first_losses, rtol=3 * SUM_TOL, atol=0)
    assert _gap(list(m4.parameters()), list(m1.parameters())) <= 3 * SUM_TOL


def test_training_with_bn_differs(data):
    _, m1 = _train(data, bn=True, k=1)
    _, m4 = _train(data, bn=True, k=4)
    assert _gap(list(m4.parameters()), list(m1.parameters())) > 100 * SUM_TOL


def test_default_is_one_step_and_old_configs_load():
    cfg = TrainConfig(steps=5)
    assert cfg.accumulation_steps == 1
    old = {k: v for k, v in cfg.to_dict().items() if k != "accumulation_steps"}  # a spec written before the key
    assert TrainConfig.from_dict(old) == cfg


@pytest.mark.parametrize("k", [0, 3, 2.0])
def test_accumulation_must_divide_the_batch(k):
    with pytest.raises(ValueError, match="accumulation_steps"):
        TrainConfig(steps=5, batch_size=32, accumulation_steps=k)
