"""bn.population: recomputed statistics, forgotten eval(), refreshed averages, dropout's variance shift."""

import pytest
import torch

from bn.population import (batch_statistics_accuracy, bn_layers, bn_state, buffer_change, dropout_variance_shift,
                           precise_statistics, refresh_statistics, statistics_gap, train_batches)
from bn.models import PlainCNN
from tests.conftest import tiny_data


def tiny_model():
    torch.manual_seed(0)
    return PlainCNN(widths=(4, 6), pool_after=(0,), norm="torch")


def test_precise_statistics_are_the_average_over_the_batches():
    data, model = tiny_data(64, 32, size=8), tiny_model()
    batches = train_batches(data, 4, 16, seed=0)
    calibrated = precise_statistics(model, batches)
    first = bn_layers(calibrated)[0]
    with torch.no_grad():
        z = [model.features[0].conv(b) for b in batches]
    mean = torch.stack([t.mean(dim=(0, 2, 3)) for t in z]).mean(0)
    var = torch.stack([t.var(dim=(0, 2, 3)) for t in z]).mean(0)  # unbiased per batch, then averaged
    assert torch.allclose(first.running_mean, mean, atol=1e-6)
    assert torch.allclose(first.running_var, var, rtol=1e-5)
    assert not calibrated.training
    # The cumulative average is what refresh_statistics computes with momentum None.
    again = refresh_statistics(model, batches, None)
    for a, b in zip(bn_layers(again), bn_layers(calibrated)):
        assert torch.allclose(a.running_var, b.running_var, rtol=1e-6)
    assert all(row["mean_shift"] < 1e-5 for row in statistics_gap(again, calibrated))
    with pytest.raises(ValueError):
        train_batches(data, 5, 16, seed=0)


def test_statistics_gap_is_zero_for_itself_and_positive_after_a_change():
    model = tiny_model()
    assert all(r == {"mean_shift": 0.0, "log_var_ratio": 0.0} for r in statistics_gap(model, model))
    other = refresh_statistics(model, train_batches(tiny_data(64, 32, size=8), 2, 16, seed=1), 0.1)
    assert all(r["mean_shift"] > 0 for r in statistics_gap(other, model))


def test_batch_statistics_accuracy_does_not_touch_the_running_statistics():
    data, model = tiny_data(64, 32, size=8), tiny_model()
    before = bn_state(model)
    acc = batch_statistics_accuracy(model, data, 8)
    assert 0.0 <= acc <= 1.0
    after = bn_state(model)
    assert buffer_change(before, after, "running_mean") == 0.0
    assert buffer_change(before, after, "running_var") == 0.0


def test_buffer_change_sees_a_training_mode_forward():
    data, model = tiny_data(64, 32, size=8), tiny_model()
    before = bn_state(model)
    model.train()
    with torch.no_grad():
        model(train_batches(data, 1, 16, seed=0)[0])
    after = bn_state(model)
    assert buffer_change(before, after, "running_mean") > 0
    assert buffer_change(before, after, "weight") == 0.0
    with pytest.raises(KeyError):
        buffer_change(before, after, "nothing")


def test_dropout_variance_shift_is_one_minus_p_for_centred_independent_inputs():
    conv = torch.nn.Conv2d(1, 1, 1, bias=False)
    with torch.no_grad():
        conv.weight.fill_(1.0)
    x = torch.randn(400, 1, 16, 16, generator=torch.Generator().manual_seed(12345))
    assert float(dropout_variance_shift(x, conv, 0.0)) == pytest.approx(1.0)
    ratio = float(dropout_variance_shift(x, conv, 0.5))
    # Var(keep * x / (1 - p)) = 1 / (1 - p) for zero-mean unit-variance x; 1e5 samples: ~1 % noise.
    assert ratio == pytest.approx(0.5, rel=0.03)
    with pytest.raises(ValueError):
        dropout_variance_shift(x, conv, 1.0)
