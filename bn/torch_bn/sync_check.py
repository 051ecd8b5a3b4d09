"""Synchronized BN against full-batch BN: real processes, unequal slices, float64.

:func:`full_batch_agreement` splits one batch into unequal slices (3, 5 and 8
rows, say), runs :func:`bn.torch_bn.sync.sync_batch_norm` on them in as many
processes, and compares the output, dx, the summed gamma and beta gradients
and the running statistics with ``torch.nn.functional.batch_norm`` on the
whole batch in one process. :func:`per_process_disagreement` makes the same
comparison for unsynchronized BN, which must fail it. :func:`merge_errors` measures Chan's merge
of per-slice moments against the naive sums of ``x`` and ``x**2`` on a hard channel.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F

from bn.gradcheck.metrics import max_relative_error
from bn.gradcheck.tolerances import agreement_tolerance
from bn.torch_bn.processes import run_processes
from bn.torch_bn.sync import local_moments, merge_moments, sync_batch_norm

__all__ = ["QUANTITIES", "full_batch_agreement", "merge_errors", "per_process_disagreement",
           "reference_batch"]

QUANTITIES = ("y", "dx", "dgamma", "dbeta", "running_mean", "running_var")
MOMENTUM = 0.1


def reference_batch(rows: list[int], spatial: tuple[int, ...] = (), channels: int = 3, seed: int = 0
                    ) -> dict[str, torch.Tensor]:
    """The whole batch ``(sum(rows), C, *spatial)``, float64, with gamma, beta, dy and running statistics.

    Channels get different means and scales (mean up to 5, sd 0.5 to 3), so a
    wrong mean or variance shows in every quantity.
    """
    g = torch.Generator().manual_seed(seed)
    n = sum(rows)
    shape = (n, channels, *spatial)
    cshape = (1, channels, *([1] * len(spatial)))
    loc = torch.linspace(-5, 5, channels, dtype=torch.float64).reshape(cshape)
    scale = torch.linspace(0.5, 3, channels, dtype=torch.float64).reshape(cshape)
    x = torch.randn(shape, dtype=torch.float64, generator=g) * scale + loc
    return {"x": x, "dy": torch.randn(shape, dtype=torch.float64, generator=g),
            "gamma": 1 + 0.5 * torch.randn(channels, dtype=torch.float64, generator=g),
            "beta": torch.randn(channels, dtype=torch.float64, generator=g),
            "running_mean": torch.randn(channels, dtype=torch.float64, generator=g),
            "running_var": 0.5 + torch.rand(channels, dtype=torch.float64, generator=g)}


def _full_batch(batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    x = batch["x"].clone().requires_grad_()
    gamma, beta = batch["gamma"].clone().requires_grad_(), batch["beta"].clone().requires_grad_()
    rm, rv = batch["running_mean"].clone(), batch["running_var"].clone()
    y = F.batch_norm(x, rm, rv, gamma, beta, training=True, momentum=MOMENTUM, eps=1e-5)
    y.backward(batch["dy"])
    return {"y": y.detach(), "dx": x.grad, "dgamma": gamma.grad, "dbeta": beta.grad,
            "running_mean": rm, "running_var": rv}


def _slices(batch: dict[str, torch.Tensor], rows: list[int], rank: int) -> dict[str, torch.Tensor]:
    start = sum(rows[:rank])
    return {**batch, "x": batch["x"][start:start + rows[rank]], "dy": batch["dy"][start:start + rows[rank]]}


def _local_bn(part: dict[str, torch.Tensor], synchronized: bool, group: Any = None) -> dict[str, torch.Tensor]:
    x = part["x"].clone().requires_grad_()
    gamma, beta = part["gamma"].clone().requires_grad_(), part["beta"].clone().requires_grad_()
    rm, rv = part["running_mean"].clone(), part["running_var"].clone()
    if synchronized:
        y = sync_batch_norm(x, gamma, beta, rm, rv, eps=1e-5, momentum=MOMENTUM, group=group)
    else:
        y = F.batch_norm(x, rm, rv, gamma, beta, training=True, momentum=MOMENTUM, eps=1e-5)
    y.backward(part["dy"])
    return {"y": y.detach(), "dx": x.grad, "dgamma": gamma.grad, "dbeta": beta.grad,
            "running_mean": rm, "running_var": rv}


def _worker(rank: int, world_size: int, splits: list[list[int]], shapes: list[tuple[int, ...]], seed: int,
            out_dir: str) -> None:
    for i, rows in enumerate(splits):
        # Every rank takes part in creating every group; only the group's members then run BN.
        group = dist.new_group(list(range(len(rows))))
        if rank >= len(rows):
            continue
        for k, spatial in enumerate(shapes):
            part = _slices(reference_batch(rows, spatial, seed=seed), rows, rank)
            result = _local_bn(part, synchronized=True, group=group)
            torch.save(result, Path(out_dir) / f"split{i}_shape{k}_rank{rank}.pt")


def _combine(results: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """The processes' results as one: rows concatenated, gamma/beta gradients summed, rank 0's running stats."""
    return {"y": torch.cat([r["y"] for r in results]), "dx": torch.cat([r["dx"] for r in results]),
            "dgamma": sum(r["dgamma"] for r in results), "dbeta": sum(r["dbeta"] for r in results),
            "running_mean": results[0]["running_mean"], "running_var": results[0]["running_var"]}


def _errors(ours: dict[str, torch.Tensor], ref: dict[str, torch.Tensor]) -> dict[str, float]:
    """Normwise relative error per quantity (:func:`bn.gradcheck.metrics.max_relative_error`)."""
    return {k: max_relative_error(ours[k].detach().numpy(), ref[k].detach().numpy()) for k in QUANTITIES}


def full_batch_agreement(splits: list[list[int]], shapes: list[tuple[int, ...]] = ((), (2, 3)), seed: int = 0,
                         timeout: float = 60.0) -> list[dict[str, Any]]:
    """Synchronized BN against full-batch BN for each split of a batch into per-process slices, and each shape.

    One set of ``max(len(rows))`` gloo processes runs everything: the split
    ``rows = [3, 5, 8]`` uses three of them, ``[5, 8]`` a group of the first
    two. ``()`` in ``shapes`` is an (N, C) input, ``(2, 3)`` an
    (N, C, 2, 3) one. Returns one dict per split and shape: ``{"rows",
    "shape", "errors": {quantity: normwise relative error}, "tolerance",
    "values_per_channel", "pids"}``; every process has exited on return.
    """
    shapes = [tuple(s) for s in shapes]
    with tempfile.TemporaryDirectory() as out_dir:
        pids = run_processes(_worker, max(len(r) for r in splits), (splits, shapes, seed, out_dir),
                             timeout=timeout)
        cases = []
        for i, rows in enumerate(splits):
            for k, spatial in enumerate(shapes):
                per_rank = [torch.load(Path(out_dir) / f"split{i}_shape{k}_rank{r}.pt") for r in range(len(rows))]
                batch = reference_batch(rows, spatial, seed=seed)
                m = batch["x"].numel() // batch["x"].shape[1]
                cases.append({"rows": list(rows), "shape": [sum(rows), batch["x"].shape[1], *spatial],
                              "errors": _errors(_combine(per_rank), _full_batch(batch)),
                              "tolerance": agreement_tolerance(m), "values_per_channel": m, "pids": pids})
    return cases


def per_process_disagreement(rows: list[int], spatial: tuple[int, ...] = (), seed: int = 0) -> dict[str, float]:
    """Unsynchronized BN on each slice against full-batch BN: the same errors (no processes needed)."""
    batch = reference_batch(rows, spatial, seed=seed)
    results = [_local_bn(_slices(batch, rows, r), synchronized=False) for r in range(len(rows))]
    # Each process's running statistics differ; compare the first, as a checkpoint would save it.
    return _errors(_combine(results), _full_batch(batch))


def merge_errors(sizes: tuple[int, ...] = (1, 7, 300, 2, 90), offset: float = 1e4, scale: float = 1e-2,
                 seed: int = 0) -> tuple[float, float]:
    """Relative error of the variance of one channel, by Chan's merge and by the naive formula.

    The channel is ``offset + scale * N(0, 1)`` (from ``default_rng(seed)``), split into slices of
    ``sizes`` rows: a mean-to-spread ratio of ``offset / scale``. Chan's merge
    (:func:`bn.torch_bn.sync.merge_moments` of each slice's :func:`~bn.torch_bn.sync.local_moments`)
    and ``mean(x**2) - mean(x)**2`` over the whole channel are each compared with NumPy's two-pass
    variance of the whole channel. Returns ``(chan_error, naive_error)``, float64.
    """
    rng = np.random.default_rng(seed)
    parts = [offset + scale * rng.standard_normal((n, 1)) for n in sizes]
    whole = np.concatenate(parts)
    exact = whole.var()
    count, _, m2 = merge_moments([local_moments(torch.from_numpy(p)) for p in parts])[:, 0].tolist()
    naive = (whole**2).mean() - whole.mean() ** 2
    return float(abs(m2 / count - exact) / exact), float(abs(naive - exact) / exact)
