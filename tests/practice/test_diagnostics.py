"""bn.diagnostics: saturation, histograms, layer probes and update-to-data ratios."""

import math

import pytest
import torch
from torch import nn

from bn.diagnostics import (UpdateRatioTracker, conv_weights, diagnostics_measure, histogram, layer_summary,
                            probe_layers, saturated_fraction)
from bn.models import PlainCNN


def small_cnn(norm="torch"):
    torch.manual_seed(0)
    return PlainCNN(widths=(4, 4, 8), pool_after=(0,), norm=norm)


def test_saturated_fraction_counts_the_flat_part_of_each_nonlinearity():
    a = torch.tensor([0.0, 0.0, 0.5, 2.0])
    assert saturated_fraction(a, "relu") == 0.5
    t = torch.tensor([-0.99, 0.98, 0.5, 0.0])
    assert saturated_fraction(t, "tanh") == 0.5
    s = torch.tensor([0.01, 0.99, 0.5, 0.2])
    assert saturated_fraction(s, "sigmoid") == 0.5
    with pytest.raises(ValueError, match="unknown activation"):
        saturated_fraction(a, "gelu")
    with pytest.raises(ValueError, match="empty"):
        saturated_fraction(torch.tensor([]))


def test_histogram_counts_every_entry_and_clips_outliers_into_the_end_bins():
    t = torch.tensor([-10.0, -0.5, 0.0, 0.25, 10.0])
    h = histogram(t, bins=4, limit=1.0)
    assert h["edges"] == [-1.0, -0.5, 0.0, 0.5, 1.0]
    assert sum(h["counts"]) == 5
    assert h["counts"][0] >= 1 and h["counts"][-1] >= 1  # the two clipped outliers
    auto = histogram(torch.randn(1000, generator=torch.Generator().manual_seed(0)))
    limit = auto["edges"][-1]
    assert math.log2(limit) == int(math.log2(limit))  # a power of two
    with pytest.raises(ValueError):
        histogram(t, limit=-1.0)


def test_layer_summary_matches_torch():
    t = torch.randn(100, generator=torch.Generator().manual_seed(1))
    s = layer_summary(t, "relu")
    assert s["mean"] == pytest.approx(float(t.double().mean()))
    assert s["std"] == pytest.approx(float(t.double().std()))
    assert s["saturated"] == pytest.approx(float((t <= 0).double().mean()))


def test_probe_layers_leaves_the_model_alone_and_returns_true_gradients():
    model = small_cnn()
    x, y = torch.randn(6, 3, 8, 8), torch.tensor([0, 1, 2, 3, 4, 5])
    before = {k: v.clone() for k, v in model.state_dict().items()}
    names = ["features.0", "features.3"]
    rec = probe_layers(model, names, x, y)
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k]), k  # running statistics untouched
    assert all(p.grad is None for p in model.parameters())
    assert [o.shape for o in rec.outputs] == [(6, 4, 8, 8), (6, 8, 4, 4)]
    # Gradient of the loss w.r.t. the last unit's output, by autograd on a fresh forward.
    h = model.features(x).detach().requires_grad_(True)
    nn.functional.cross_entropy(model.classifier(h.mean(dim=(2, 3))), y).backward()
    assert torch.allclose(rec.grads[1], h.grad, rtol=1e-5, atol=1e-8)
    with pytest.raises(KeyError):
        probe_layers(model, ["nope"], x, y)


def test_diagnostics_measure_reports_one_row_per_layer():
    model = small_cnn()
    x, y = torch.randn(6, 3, 8, 8), torch.arange(6)
    out = diagnostics_measure(["features.0", "features.2", "features.3"], x, y, bins=8)(model)
    assert len(out["layers"]) == 3
    row = out["layers"][0]
    assert sum(row["act_hist"]["counts"]) == 6 * 4 * 8 * 8
    assert 0.0 <= row["act"]["saturated"] <= 1.0


def test_update_ratio_is_lr_times_grad_std_over_weight_std_for_plain_sgd():
    model = small_cnn("none")
    weights = conv_weights(model)
    assert list(weights) == ["features.0.conv.weight", "features.2.conv.weight", "features.3.conv.weight"]
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = torch.randn(6, 3, 8, 8), torch.arange(6)
    tracker = UpdateRatioTracker(weights)
    with tracker:
        for _ in range(3):
            opt.zero_grad()
            nn.functional.cross_entropy(model(x), y).backward()
            opt.step()
    assert all(len(r) == 3 for r in tracker.ratios.values())
    w = weights["features.0.conv.weight"]
    expected = float((0.1 * w.grad).std() / w.detach().std())
    assert tracker.ratios["features.0.conv.weight"][-1] == pytest.approx(expected, rel=1e-5)
    # Outside the context no step is recorded.
    opt.step()
    assert all(len(r) == 3 for r in tracker.ratios.values())


def test_tanh_saturation_matches_the_diagnostic_on_normal_draws():
    # Protects the tanh exercise's solution: "the saturated fraction would be the probability
    # that a standard normal z exceeds artanh of that threshold". The fraction measured by
    # saturated_fraction on a million N(0, 1) draws has binomial standard error
    # sqrt(p (1 - p) / n) < 2e-4, so 1e-3 is five of them.
    from bn.diagnostics import SATURATION_MARGIN, tanh_saturation

    t = tanh_saturation()
    assert t.edge == 1 - SATURATION_MARGIN and math.tanh(t.z) == pytest.approx(t.edge, rel=1e-15)
    gen = torch.Generator().manual_seed(0)
    z = torch.randn(10**6, generator=gen, dtype=torch.float64)
    assert abs(saturated_fraction(torch.tanh(z), "tanh") - t.saturated / 100) < 1e-3
    # A wrong (one-sided) probability would be half as large and fail the same check.
    assert abs(saturated_fraction(torch.tanh(z), "tanh") - t.saturated / 200) > 1e-3


def test_layer_values_reads_one_number_per_layer_in_order():
    from bn.diagnostics import layer_values

    snapshot = {"layers": [{"act": {"std": 1.0, "saturated": 0.5}, "grad": {"std": 3.0}},
                           {"act": {"std": 2.0, "saturated": 0.25}, "grad": {"std": 4.0}}]}
    assert layer_values(snapshot, "act", "saturated") == [0.5, 0.25]
    assert layer_values(snapshot, "grad", "std") == [3.0, 4.0]
