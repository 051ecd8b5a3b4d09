"""Synchronized BN in real gloo processes against full-batch BN, Chan's merge, the module and its errors."""

from __future__ import annotations

import os
import time

import numpy as np
import pytest
import torch
import torch.multiprocessing as mp
import torch.nn.functional as F
from torch import nn

from bn.models import build_model
from bn.torch_bn import BookBatchNorm
from bn.torch_bn.processes import run_processes
from bn.torch_bn.sync import (SyncBatchNorm, convert_sync_batch_norm, local_moments, merge_moments,
                             revert_sync_batch_norm, sync_batch_norm)
from bn.gradcheck.tolerances import agreement_tolerance
from bn.torch_bn.sync_check import QUANTITIES, full_batch_agreement, per_process_disagreement

EPS64 = float(np.finfo(np.float64).eps)


def _assert_gone(pids: list[int]) -> None:
    assert mp.active_children() == []
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)  # signal 0 only asks whether the process exists


def test_synchronized_bn_equals_full_batch_bn_in_float64():
    # Unequal slices: 3, 5 and 8 rows in three processes, and 5 and 8 rows in a group of two
    # of them; each runs an (N, C) and an (N, C, 2, 3) input. One set of processes for all four.
    cases = full_batch_agreement([[3, 5, 8], [5, 8]], shapes=[(), (2, 3)], timeout=50)
    _assert_gone(cases[0]["pids"])
    assert [(c["rows"], c["shape"]) for c in cases] == [
        ([3, 5, 8], [16, 3]), ([3, 5, 8], [16, 3, 2, 3]), ([5, 8], [13, 3]), ([5, 8], [13, 3, 2, 3])]
    for case in cases:
        # The bound is 16 * eps * sqrt(values per channel): 1.3e-14 for 13 values, 3.5e-14 for 96.
        assert case["tolerance"] == agreement_tolerance(case["values_per_channel"]) < 4e-14
        worst = {k: v for k, v in case["errors"].items() if v > case["tolerance"]}
        assert not worst, (case["rows"], case["shape"], worst)


@pytest.mark.parametrize("spatial", [(), (2, 3)])
def test_per_process_bn_does_not_equal_full_batch_bn(spatial):
    # The same comparison with each slice normalized by its own statistics: far outside the
    # bound, except the beta gradient, a plain sum over rows, which slices add up exactly.
    rows = [3, 5, 8]
    errors = per_process_disagreement(rows, spatial)
    tol = agreement_tolerance(sum(rows) * int(np.prod(spatial)))
    for k in QUANTITIES:
        if k == "dbeta":
            assert errors[k] <= tol
        else:
            assert errors[k] > 1e10 * tol, k


def test_chan_merge_of_unequal_parts_on_a_large_mean_with_a_small_variance():
    # Mean 1e4, sd 1e-2: the naive E[x^2] - E[x]^2 loses (mean/sd)^2 = 1e12 times eps, leaving
    # about 4 correct digits in float64; Chan's merge keeps the two-pass accuracy.
    rng = np.random.default_rng(0)
    sizes = [1, 7, 300, 2, 90]
    parts = [1e4 + 1e-2 * rng.standard_normal((n, 2)) for n in sizes]
    whole = np.concatenate(parts)
    triples = torch.stack([local_moments(torch.from_numpy(p)) for p in parts])
    count, mean, m2 = merge_moments(triples).numpy()
    ref_mean, ref_var = whole.mean(axis=0), whole.var(axis=0)
    n = len(whole)
    assert np.all(count == n)
    # mean: a sum of n values of size 1e4, relative error ~ sqrt(n) eps; the variance's
    # error is that of the deviations (each exact to eps * 1e4 = 2e-12, 1e-10 of the sd).
    assert np.abs(mean - ref_mean).max() <= 16 * EPS64 * np.sqrt(n) * 1e4
    chan_err = np.abs(m2 / n - ref_var).max() / ref_var.max()
    assert chan_err <= 1e-9
    naive = (whole ** 2).mean(axis=0) - whole.mean(axis=0) ** 2
    naive_err = np.abs(naive - ref_var).max() / ref_var.max()
    assert naive_err > 1e3 * chan_err  # the case is hard: the naive formula fails it


def test_merge_ignores_empty_parts_and_order():
    rng = np.random.default_rng(1)
    a, b = (torch.from_numpy(rng.normal(3.0, 2.0, (n, 4))) for n in (5, 11))
    empty = local_moments(a[:0])
    assert torch.equal(empty, torch.zeros(3, 4))
    ab = merge_moments([local_moments(a), local_moments(b)])
    assert torch.equal(merge_moments([empty, local_moments(a), empty, local_moments(b)]), ab)
    ba = merge_moments([local_moments(b), local_moments(a)])
    assert torch.allclose(ab, ba, rtol=8 * EPS64, atol=0)
    whole = torch.cat([a, b])
    assert torch.allclose(ab[1], whole.mean(0), rtol=16 * EPS64 * 4, atol=0)
    assert torch.allclose(ab[2] / 16, whole.var(0, correction=0), rtol=16 * EPS64 * 4, atol=0)


def test_without_a_process_group_training_raises_and_eval_works():
    x = torch.randn(6, 3, 2, 2, dtype=torch.float64)
    with pytest.raises(RuntimeError, match="init_process_group"):
        sync_batch_norm(x, torch.ones(3, dtype=torch.float64), torch.zeros(3, dtype=torch.float64))
    layer = SyncBatchNorm(3, dtype=torch.float64)
    with pytest.raises(RuntimeError, match="init_process_group"):
        layer(x)
    with torch.no_grad():
        layer.running_mean.copy_(torch.tensor([1.0, -2.0, 0.5]))
        layer.running_var.copy_(torch.tensor([2.0, 0.5, 3.0]))
        layer.weight.copy_(torch.tensor([1.5, 0.5, -1.0]))
    layer.eval()
    ref = F.batch_norm(x, layer.running_mean, layer.running_var, layer.weight, layer.bias, training=False)
    assert torch.equal(layer(x), ref)
    with pytest.raises(ValueError, match=r"expected \(N, 3"):
        layer(torch.randn(4, 2, dtype=torch.float64))


def test_convert_replaces_every_bn_layer_and_keeps_the_eval_function():
    torch.manual_seed(0)
    model = nn.Sequential(build_model("cnn", norm="torch", widths=(4, 8, 8)), nn.Unflatten(1, (10, 1)),
                          BookBatchNorm(10))
    x = torch.randn(5, 3, 32, 32)
    model.train()
    model(x)  # running statistics that differ from their initial values
    model.eval()
    before, keys = model(x), set(model.state_dict())
    convert_sync_batch_norm(model)
    bns = [m for m in model.modules() if isinstance(m, SyncBatchNorm)]
    assert len(bns) == 4
    assert not any(isinstance(m, (nn.modules.batchnorm._BatchNorm, BookBatchNorm)) for m in model.modules())
    assert set(model.state_dict()) == keys
    assert not model.training and all(not m.training for m in bns)
    # BookBatchNorm's eval mode folds gamma and the statistics into one scale and shift, the
    # replacement uses F.batch_norm: the same function up to a few float32 roundings.
    assert torch.allclose(model(x), before, rtol=1e-5, atol=1e-5)
    assert int(bns[0].num_batches_tracked) == 1
    with pytest.raises(ValueError, match="track_running_stats"):
        convert_sync_batch_norm(nn.BatchNorm2d(3, track_running_stats=False))


def test_revert_gives_back_torch_layers_with_the_same_state_and_eval_function():
    torch.manual_seed(0)
    model = build_model("cnn", norm="torch", widths=(4, 8, 8))
    x = torch.randn(5, 3, 32, 32)
    model.train()
    model(x)  # running statistics that differ from their initial values
    model.eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    out = model(x)
    revert_sync_batch_norm(convert_sync_batch_norm(model))
    assert not any(isinstance(m, SyncBatchNorm) for m in model.modules())
    assert sum(isinstance(m, nn.BatchNorm2d) for m in model.modules()) == 3
    after = model.state_dict()
    assert set(after) == set(before) and all(torch.equal(after[k], before[k]) for k in before)
    # Both directions copy every number, and both eval modes call F.batch_norm: bit for bit the same.
    assert torch.equal(model(x), out) and not model.training
    # In training mode the reverted layer needs no process group (a SyncBatchNorm would raise).
    model.train()
    model(x)
    assert [int(m.num_batches_tracked) for m in model.modules() if isinstance(m, nn.BatchNorm2d)] == [2, 2, 2]


def _sleep(rank: int, world_size: int) -> None:
    time.sleep(120)


def test_a_process_that_overruns_its_timeout_is_killed():
    start = time.monotonic()
    with pytest.raises(TimeoutError):
        run_processes(_sleep, 1, timeout=2)
    assert time.monotonic() - start < 15
    assert mp.active_children() == []


@pytest.fixture
def world_of_one():
    """A gloo process group of this process alone (no spawn): enough to run the layer's code path."""
    import torch.distributed as dist

    from bn.torch_bn.processes import free_port

    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{free_port()}", rank=0, world_size=1)
    try:
        yield
    finally:
        dist.destroy_process_group()


def test_the_module_trains_like_torch_batch_norm_in_a_world_of_one(world_of_one):
    torch.manual_seed(0)
    ref = nn.BatchNorm2d(3, momentum=None).double()
    ours = convert_sync_batch_norm(nn.BatchNorm2d(3, momentum=None).double())
    for _ in range(3):  # momentum None: the cumulative average, by num_batches_tracked
        x = (torch.randn(4, 3, 5, 5, dtype=torch.float64) * 3 + 2).requires_grad_()
        x2 = x.detach().clone().requires_grad_()
        dy = torch.randn_like(x)
        ref(x).backward(dy)
        ours(x2).backward(dy)
        # float64, 100 values per channel: the bound of the multi-process test
        tol = agreement_tolerance(100)
        assert (x2.grad - x.grad).abs().max() <= tol * x.grad.abs().max()
    for name in ("running_mean", "running_var", "num_batches_tracked"):
        a, b = getattr(ours, name), getattr(ref, name)
        assert torch.allclose(a.double(), b.double(), rtol=tol, atol=0), name
    for name in ("weight", "bias"):
        g, r = getattr(ours, name).grad, getattr(ref, name).grad
        assert (g - r).abs().max() <= tol * r.abs().max(), name


def test_half_precision_input_keeps_float32_statistics(world_of_one):
    # float16 in, float16 out, statistics in float32: the result is the float32 computation
    # rounded once to float16 (half an ulp of the output, 2**-11 relative).
    x = (torch.randn(64, 4, 8, 8) * 2 + 30).half().requires_grad_()
    gamma, beta = torch.ones(4, requires_grad=True), torch.zeros(4, requires_grad=True)
    y = sync_batch_norm(x, gamma, beta)
    assert y.dtype == torch.float16
    ref = F.batch_norm(x.detach().float(), None, None, gamma.detach(), beta.detach(), training=True)
    assert (y.float() - ref).abs().max() <= 2.0 ** -11 * ref.abs().max() * 1.01
    y.float().pow(2).sum().backward()
    assert x.grad.dtype == torch.float16 and gamma.grad.dtype == torch.float32
