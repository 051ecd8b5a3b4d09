"""The placement study's pieces: the sigmoid's linear regime, the three MLPs, layer Jacobians."""

import math

import numpy as np
import pytest
import torch

from bn.experiments.placement import (layer_jacobian_singular_values, linear_region_halfwidth, run_placement,
                                      sigmoid_linearity)
from bn.models.placement import PlacedMLP
from bn.training import TensorData
from tests.experiments.records import typed


def test_linear_region_is_where_the_tangent_is_within_tolerance():
    c = linear_region_halfwidth(0.01)
    sig = lambda z: 1 / (1 + math.exp(-z))  # noqa: E731
    assert abs(sig(c) - (0.5 + c / 4)) == pytest.approx(0.01, abs=1e-9)
    assert abs(sig(1.01 * c) - (0.5 + 1.01 * c / 4)) > 0.01


def test_sigmoid_is_more_linear_on_narrower_inputs():
    r2 = [sigmoid_linearity(s)["r2"] for s in (0.1, 1.0, 4.0)]
    assert 1 - r2[0] < 1e-4 and r2[0] > r2[1] > r2[2]
    # N(0, 1): the probability of |z| < c is erf(c / sqrt 2).
    c = linear_region_halfwidth()
    assert sigmoid_linearity(1.0)["fraction_linear"] == pytest.approx(math.erf(c / math.sqrt(2)))
    # A shift moves the inputs out of the linear region.
    assert sigmoid_linearity(1.0, shift=4.0)["fraction_linear"] < 0.01
    with pytest.raises(ValueError):
        sigmoid_linearity(0.0)


def test_placements_build_the_layers_they_name():
    before, after, none = (PlacedMLP(p, in_features=6, hidden=(5, 4)) for p in ("before", "after", "none"))
    assert before.linears[0].bias is None and after.linears[0].bias is not None
    assert isinstance(none.norms[0], torch.nn.Identity)
    x = torch.randn(8, 6)
    after.train()
    out = after.linears[0](x)
    h = after.norms[0](torch.sigmoid(out))
    # BN after the sigmoid: the next layer's input has zero batch mean.
    assert torch.allclose(h.mean(0), torch.zeros(5), atol=1e-6)
    with pytest.raises(ValueError):
        PlacedMLP("inside")


def test_jacobian_of_the_no_bn_map_matches_the_formula():
    torch.manual_seed(0)
    model = PlacedMLP("none", in_features=6, hidden=(5, 4))
    x = torch.randn(16, 6)
    sv = layer_jacobian_singular_values(model, x, 1)
    with torch.no_grad():
        z0 = model.linears[0](x)
        z1 = model.linears[1](torch.sigmoid(z0))
        s0, s1 = z0.std(0, unbiased=False), z1.std(0, unbiased=False)
        d = torch.sigmoid(z0) * (1 - torch.sigmoid(z0))
        # d z1_hat / d u0 = diag(1/s1) W diag(sigmoid'(z0)) diag(s0), per example.
        jac = (model.linears[1].weight / s1[:, None])[None] * (d * s0)[:, None, :]
    np.testing.assert_allclose(sv, torch.linalg.svdvals(jac).numpy(), rtol=1e-5, atol=1e-6)
    assert sv.shape == (16, 4)
    with pytest.raises(ValueError):
        layer_jacobian_singular_values(PlacedMLP("after", in_features=6, hidden=(5, 4)), x, 1)


def test_a_shortened_study_runs_end_to_end():
    g = torch.Generator().manual_seed(0)
    imgs = torch.randint(0, 256, (60, 3, 4, 4), dtype=torch.uint8, generator=g)
    labels = torch.randint(0, 10, (60,), generator=g)
    data = TensorData(imgs, labels, imgs[:20], labels[:20], torch.full((3,), 127.0), torch.full((3,), 64.0))
    cfg = {"in_features": 3 * 4 * 4, "hidden": [6, 6, 6], "n_train": 40, "n_val": 20, "seeds": [0],
           "train": {"steps": 4, "batch_size": 8, "eval_every": 2, "eval_examples": 20},
           "jacobian_examples": 8}
    out = run_placement(data, cfg, progress=False)
    assert {r["placement"] for r in out["runs"]} == {"none", "before", "after"}
    assert set(out["jacobian_spectra"]) == {"before/layer1", "before/layer2", "none/layer1", "none/layer2"}


def test_jacobian_of_the_bn_map_matches_the_formula():
    torch.manual_seed(1)
    model = PlacedMLP("before", in_features=6, hidden=(5, 4))
    with torch.no_grad():
        model.norms[0].weight.uniform_(0.5, 2.0)
        model.norms[0].bias.uniform_(-1.0, 1.0)
    x = torch.randn(16, 6)
    sv = layer_jacobian_singular_values(model, x, 1)
    with torch.no_grad():
        z0 = model.linears[0](x)
        u = (z0 - z0.mean(0)) / z0.std(0, unbiased=False)
        a = model.norms[0].weight * u + model.norms[0].bias
        z1 = model.linears[1](torch.sigmoid(a))
        s1 = z1.std(0, unbiased=False)
        d = torch.sigmoid(a) * (1 - torch.sigmoid(a)) * model.norms[0].weight
        # d z1_hat / d u0 = diag(1/s1) W diag(sigmoid'(a) gamma), per example.
        jac = (model.linears[1].weight / s1[:, None])[None] * d[:, None, :]
    np.testing.assert_allclose(sv, torch.linalg.svdvals(jac).numpy(), rtol=1e-5, atol=1e-6)


def test_the_smoke_profile_runs_by_the_one_command(smoke_run):
    from bn.experiments.placement import PROFILES, accuracy_table, paired_final, runs_of

    result = smoke_run("placement")
    p = PROFILES["smoke"]
    runs = result["measures"]["runs"]
    assert {(r["placement"], r["seed"]) for r in runs} == {(a, s) for a in ("before", "after", "none")
                                                           for s in p["seeds"]}
    assert result["seeds_run"] == {a: p["seeds"] for a in ("none", "before", "after")}
    assert all(r["steps_done"] == p["train"]["steps"] for r in runs if not r["diverged"])
    # The records the study just wrote read back through its typed reader and write back unchanged.
    assert [r.to_dict() for r in runs_of(typed(result))] == runs
    assert paired_final(typed(result), "before", "none").n == len(p["seeds"])
    assert len(accuracy_table(typed(result)).rows) == 3
