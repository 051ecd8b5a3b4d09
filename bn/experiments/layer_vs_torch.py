"""The book's BN layer against ``torch.nn.BatchNorm2d`` in the plain CNN: training, gradients, speed.

    python -m bn.experiments run layer_vs_torch

writes ``book/results/layer_vs_torch.json``: the plain CNN trained with the book's layer
(paired by seed with the torch.nn runs of :mod:`bn.experiments.population_statistics`, the
same network, schedule and seeds), the relative errors of logits and gradients at
initialization, and CPU seconds per training step of both layers.
"""

from __future__ import annotations

from typing import Any

import time

import torch
import torch.nn.functional as F

from bn.experiments.base import Context, Experiment, record_run_seeds
from bn.experiments.plain_cnn import (PROFILES, arm_name, build_plain, fit, load_data, plain_args, probe_batch,
                                      train_config)
from bn.training import TensorData


def _grad_agreement(data: TensorData, seed: int, p: dict[str, Any]) -> dict[str, float]:
    """Book layer against torch.nn.BatchNorm2d on one batch at initialization: relative errors."""
    from bn.gradcheck.metrics import relative_error

    x, y = probe_batch(data, 64)
    out = {}
    for norm in ("torch", "book"):
        torch.manual_seed(seed)
        model = build_plain(p, norm=norm)
        logits = model(x)
        loss = F.cross_entropy(logits, y)
        loss.backward()
        out[norm] = (logits.detach(), {n: p.grad.clone() for n, p in model.named_parameters()})
    (lt, gt), (lb, gb) = out["torch"], out["book"]
    return {"logits": relative_error(lb.numpy(), lt.numpy()),
            "grad_worst": max(relative_error(gb[n].numpy(), gt[n].numpy()) for n in gt),
            "grad_median": float(torch.tensor([relative_error(gb[n].numpy(), gt[n].numpy())
                                               for n in gt]).median())}


def _step_seconds(data: TensorData, p: dict[str, Any], norm: str, batch_size: int, steps: int, rounds: int) -> list[float]:
    """CPU seconds per training step (forward, backward, SGD) of the plain CNN, best of each round."""
    x, y = probe_batch(data, batch_size)
    torch.manual_seed(0)
    model = build_plain(p, norm=norm)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    best = []
    for _ in range(rounds):
        c0 = time.process_time()
        for _ in range(steps):
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
        best.append((time.process_time() - c0) / steps)
    return best


def run_layer(data: TensorData, p: dict[str, Any]) -> dict[str, Any]:
    """Chapter 1: the plain CNN trained with the book's BN and with torch.nn.BatchNorm2d, paired seeds."""
    runs = []
    for seed in p["layer_seeds"]:
        for norm in p["layer_arms"]:
            _, rec = fit(data, plain_args(p, norm=norm), train_config(p), seed, norm)
            runs.append(rec)
    agreement = {str(s): _grad_agreement(data, s, p) for s in p["seeds"]}
    timing = {}
    for _ in range(2):  # interleave the arms so that a busy machine slows both alike
        for norm in ("torch", "book"):
            timing.setdefault(norm, []).extend(_step_seconds(data, p, norm, p["batch_size"], 5, 2))
    return {"runs": runs, "init_agreement": agreement, "step_cpu_seconds": timing}


def run(ctx: Context, cfg: dict[str, Any]) -> dict[str, Any]:
    """The study under ``cfg`` on ``ctx.data``: its own run records and measurements (the result's measures)."""
    measures = run_layer(ctx.data, {**cfg, "seeds": list(ctx.seeds)})
    record_run_seeds(ctx, measures["runs"], arm_name)
    return measures


EXPERIMENT = Experiment(
    name='layer_vs_torch', title="The book's BN layer against torch.nn.BatchNorm2d in a deep CNN",
    claim=("How closely the book's BN layer follows torch.nn.BatchNorm2d in the plain CNN: logits and gradients at initialization, the training curve, and the CPU time per step."),
    profiles=PROFILES, run=run, load_data=load_data)
