"""summarize_family: the family chapter's two numbers, against a recomputation by other code."""

import dataclasses

import numpy as np
import pytest
import torch

from bn.normalization import family_summary
from bn.normalization.family_summary import (FamilySummary, MemberAgreement, summarize_family,
                                             torch_agreement)

U64 = np.finfo(np.float64).eps / 2


def test_tol_max_is_that_of_torch_batchnorm_module():
    # Independent path: nn.BatchNorm2d (the module, not F.batch_norm) on the same draw. The
    # largest tolerance is BN's, whose sets are the largest (N*H*W = 128 values). The two torch
    # paths compute the same float64 kernel, and max|y| enters the tolerance through one product
    # of exact powers of two and an integer: 4 float64 roundings, so rel=1e-15 is ample.
    rng = np.random.default_rng(0)
    x = rng.normal(2.0, 3.0, size=(8, 6, 4, 4))
    gamma, beta = rng.normal(1.0, 0.5, 6), rng.normal(0.0, 0.5, 6)
    layer = torch.nn.BatchNorm2d(6, eps=1e-5).double().train()
    with torch.no_grad():
        layer.weight.copy_(torch.from_numpy(gamma))
        layer.bias.copy_(torch.from_numpy(beta))
        y = layer(torch.from_numpy(x)).numpy()
    expected = 8 * 128 * U64 * max(1.0, float(np.abs(y).max()))
    assert summarize_family().tol_max == pytest.approx(expected, rel=1e-15)
    assert max(a.set_size for a in torch_agreement()) == 128


def test_bn_min_leak_against_bn_by_hand():
    # BN written out per channel with NumPy reductions (not bn.normalization's code): the output
    # change of each example i != j. Both compute the same float64 sums in possibly different
    # orders; outputs are O(3), so agreement to 1e-12 leaves three orders of magnitude over the
    # m * u ~ 54 * 1.1e-16 rounding of a mean of 54 values.
    rng = np.random.default_rng(1)
    x = rng.standard_normal((6, 4, 3, 3))
    delta = rng.uniform(0.5, 2.0, size=x.shape[1:])

    def bn(z):
        mu = z.mean(axis=(0, 2, 3), keepdims=True)
        var = ((z - mu) ** 2).mean(axis=(0, 2, 3), keepdims=True)
        return (z - mu) / np.sqrt(var + 1e-5)

    changed = x.copy()
    changed[2] += delta
    moved = np.abs(bn(changed) - bn(x)).reshape(6, -1).max(axis=1)
    others = np.delete(moved, 2)
    summary = summarize_family()
    assert summary.bn_min_leak == pytest.approx(others.min(), abs=1e-12)
    # A summary that took the changed example itself into the minimum or the maximum over the
    # others would read differently: the chapter's "the least by" is the other examples' minimum.
    assert abs(moved[2] - others.min()) > 0.1 and abs(others.max() - others.min()) > 0.01


def test_agreement_holds_for_every_member():
    # The table's last column (every member within its tolerance) and the glued maximum.
    agreement = torch_agreement()
    assert [a.member for a in agreement] == ["batch", "layer", "instance", "group (G=2)"]
    assert all(a.within for a in agreement)
    assert summarize_family(agreement).tol_max == max(a.tolerance for a in agreement)


def test_a_member_outside_its_tolerance_is_refused():
    bad = [*torch_agreement()[:3], MemberAgreement("group (G=2)", 48, 1e-6, 2e-13)]
    with pytest.raises(ValueError, match="group"):
        summarize_family(bad)


def test_a_member_that_leaks_across_examples_is_refused(monkeypatch):
    # "For layer, instance and group normalization the other examples do not move at all":
    # a layer norm that were really a batch norm would be caught, not summarized.
    leaky = dict(family_summary.FAMILY, layer=family_summary.FAMILY["batch"])
    monkeypatch.setattr(family_summary, "FAMILY", leaky)
    with pytest.raises(ValueError, match="layer"):
        summarize_family()


def test_summary_is_frozen_and_glues_the_chapter_names():
    summary = summarize_family()
    assert dataclasses.is_dataclass(summary) and isinstance(summary, FamilySummary)
    with pytest.raises(dataclasses.FrozenInstanceError):
        summary.tol_max = 0.0
    assert [f.name.replace("_", "-") for f in dataclasses.fields(summary)] == ["tol-max", "bn-min-leak"]
