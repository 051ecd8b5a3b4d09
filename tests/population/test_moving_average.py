"""The momentum conventions: conversions, and PyTorch's meaning checked against PyTorch itself."""

import numpy as np
import pytest

from bn.population import moving_average as cv


def test_defaults_describe_the_documented_weights():
    assert cv.PYTORCH.new_value_weight() == pytest.approx(0.1)
    assert cv.KERAS.new_value_weight() == pytest.approx(0.01)
    assert cv.FLAX.new_value_weight() == pytest.approx(0.01)
    assert cv.CS231N.new_value_weight() == pytest.approx(0.1)


def test_pytorch_default_equals_cs231n_default():
    # Same average, opposite numbers: 0.1 (weight of new) and 0.9 (weight of old).
    assert cv.convert(0.1, cv.PYTORCH, cv.CS231N) == pytest.approx(0.9)
    assert cv.convert(0.99, cv.KERAS, cv.PYTORCH) == pytest.approx(0.01)


@pytest.mark.parametrize("value", [0.0, 0.1, 0.5, 0.9, 0.999, 1.0])
@pytest.mark.parametrize("src", cv.CONVENTIONS, ids=lambda c: c.library)
@pytest.mark.parametrize("dst", cv.CONVENTIONS, ids=lambda c: c.library)
def test_conversion_round_trips_and_preserves_the_average(value, src, dst):
    there = cv.convert(value, src, dst)
    # Two subtractions from 1 lose at most one ulp each in float64.
    assert cv.convert(there, dst, src) == pytest.approx(value, abs=1e-15)
    assert dst.new_value_weight(there) == pytest.approx(src.new_value_weight(value), abs=1e-15)


def test_out_of_range_coefficients_are_refused():
    with pytest.raises(ValueError):
        cv.PYTORCH.new_value_weight(1.5)
    with pytest.raises(ValueError):
        cv.ema_update(0.0, 1.0, -0.1)


def test_window_and_initial_weight():
    assert cv.effective_window(0.1) == pytest.approx(10.0)
    assert cv.weight_of_initial_value(0.1, 0) == 1.0
    assert cv.weight_of_initial_value(0.5, 3) == pytest.approx(0.125)
    with pytest.raises(ValueError):
        cv.effective_window(0.0)


def test_ema_update_matches_torch_batchnorm_running_mean():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    momentum = 0.3
    layer = torch.nn.BatchNorm1d(2, momentum=momentum).double()
    layer.train()
    running, misread = np.zeros(2), np.zeros(2)
    for _ in range(4):
        x = rng.standard_normal((8, 2)) * 2 + 1
        layer(torch.from_numpy(x))
        running = cv.ema_update(running, x.mean(axis=0), cv.PYTORCH.new_value_weight(momentum))
        misread = cv.ema_update(misread, x.mean(axis=0), 1 - momentum)  # read as weight of old
    # float64 everywhere; a handful of fused multiply-adds differ by a few ulps.
    np.testing.assert_allclose(layer.running_mean.numpy(), running, rtol=0, atol=1e-14)
    assert not np.allclose(layer.running_mean.numpy(), misread)


def test_table_rows():
    table = cv.conventions_table()
    assert [r[0] for r in table.rows] == [c.library for c in cv.CONVENTIONS]
    assert table.header[-1] == "PyTorch momentum for the same average"
    assert table.rows[0][-1] == "0.1" and table.rows[1][-1] == "0.01"
    assert table.rows[1][4] == "r ← 0.99·r + 0.01·batch"


def test_the_one_update_rounds_as_the_in_place_forms_it_replaced():
    """``ema_update`` gives, bit for bit, what the layers computed in place before it was their one home
    (``running.mul_(1 - a).add_(a * batch)``), on float32 tensors and arrays; ``ema_step`` gives
    ``running += a * (batch - running)``, Batch Renormalization's form."""
    import numpy as np
    import torch

    g = torch.Generator().manual_seed(0)
    for alpha in (0.1, 0.01, 1 / 3, 0.9, 1.0, 0.0):
        running, batch = torch.randn(1000, generator=g), torch.randn(1000, generator=g)
        assert torch.equal(cv.ema_update(running, batch, alpha), running.clone().mul_(1 - alpha).add_(alpha * batch))
        stepped = running.clone()
        stepped += alpha * (batch - running)
        assert torch.equal(cv.ema_step(running, batch, alpha), stepped)
        r, b, f = running.numpy(), batch.numpy(), np.float32(alpha)
        assert np.array_equal(cv.ema_update(r, b, f), (1 - f) * r + f * b)


@pytest.mark.parametrize("momentum, seen, expected", [(0.1, None, 0.1), (None, 0, 1.0), (None, 3, 0.25)])
def test_update_factor_is_momentum_or_the_cumulative_weight(momentum, seen, expected):
    assert cv.update_factor(momentum, seen) == expected


def test_update_factor_refuses_what_pytorch_would_misread():
    with pytest.raises(TypeError):
        cv.update_factor(None)
    with pytest.raises(ValueError):
        cv.update_factor(1.5)
    with pytest.raises(ValueError):
        cv.update_factor(None, -1)
