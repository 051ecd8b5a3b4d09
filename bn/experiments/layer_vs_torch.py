"""The book's BN layer against ``torch.nn.BatchNorm2d`` in the plain CNN: training, gradients, speed.

    python -m bn.experiments run layer_vs_torch

writes ``book/results/layer_vs_torch.json``: the plain CNN trained with the book's layer
(paired by seed with the torch.nn runs of :mod:`bn.experiments.population_statistics`, the
same network, schedule and seeds), the relative errors of logits and gradients at
initialization, and CPU seconds per training step of both layers.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import time

import numpy as np

import torch
import torch.nn.functional as F

from bn.experiments.base import Context, Experiment, ExperimentResult, record_run_seeds
from bn.experiments.plain_cnn import (PROFILES, PlainRun, arm_name, build_plain, fit, load_data, plain_args,
                                      plain_runs, probe_batch, train_config)
from bn.gradcheck.blind_upstream import BlindUpstream, blind_upstream_gradients
from bn.results import from_strict_dict
from bn.training import History, TensorData


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


# The tolerances of the chapter's checks of the hand-written layer (float64): forward against
# bn.functional to a relative error of 1e-12, gradients against central differences with
# h = 1e-6 (truncation ~h^2, rounding ~eps64/h ~ 1e-10) to 1e-6, as the prose states them.
FORWARD_TOLERANCE = "1e-12"
GRADIENT_TOLERANCE = "1e-6"
# Two per-step training losses near 2 agree "to float32 rounding" while they differ by at most
# this (a few ulps of float32 at 2, 2 * 2**-23 ~ 2.4e-7, summed over a batch mean: 1e-5).
EXACT_LOSS_DIFFERENCE = 1e-5


@dataclass(frozen=True)
class InitAgreement:
    """The book layer against ``torch.nn.BatchNorm2d`` at initialization, one seed (``measures["init_agreement"]``):
    relative errors of the logits, and the worst and the median over parameters of their gradients'."""

    logits: float
    grad_worst: float
    grad_median: float


def init_agreement(result: ExperimentResult) -> dict[int, InitAgreement]:
    """Seed -> :class:`InitAgreement` of a layer_vs_torch result, read strictly (a missing or an unknown
    key is a ValueError naming the result's file, the seed and the key)."""
    from bn.experiments import result_filename

    source = f"book/results/{result_filename(result.experiment, result.profile)}"
    return {int(seed): from_strict_dict(InitAgreement, d, f"{source}: measures['init_agreement'][{seed!r}]")
            for seed, d in result.measures["init_agreement"].items()}


@dataclass(frozen=True)
class LayerSummary:
    """Every number the chapter on building a BN layer glues (``byo-`` + field, hyphenated).

    Tolerances of the hand-written layer's checks: ``forward_tol``, ``grad_tol``. The run:
    ``steps``, ``batch``, ``copy`` (the data), ``seed`` (the book layer's seed). Agreement at
    initialization (worst over seeds, formatted ``"5e-07"``): ``logit_err``, ``grad_worst``,
    ``grad_median``. The paired losses of seed ``seed``: ``nfirst`` steps recorded, the largest
    difference ``first_diff`` over them, the first ``nexact`` steps agreeing to float32 rounding
    with at most ``exact_max``. Final accuracy on the whole test set, in points: ``arm_gap`` (book
    layer against torch, same seed), ``seed_gap`` (torch, two seeds). Cost: ``slowdown`` (best
    CPU seconds per step, book over torch), ``train_ratio`` (wall-clock training time of the
    paired runs). ``ones``: the all-ones exercise (:mod:`bn.gradcheck.blind_upstream`).
    """

    forward_tol: str
    grad_tol: str
    steps: int
    batch: int
    copy: str
    logit_err: str
    grad_worst: str
    grad_median: str
    nfirst: int
    first_diff: str
    nexact: int
    exact_max: str
    arm_gap: float
    seed_gap: float
    seed: int
    slowdown: float
    train_ratio: float
    ones: BlindUpstream


def arm_runs(result: ExperimentResult, population: ExperimentResult) -> list[PlainRun]:
    """Both arms' runs: the book layer's (arm ``"book"``) and the ``torch.nn.BatchNorm2d`` runs of the
    population-statistics study (its arm renamed ``"torch"``)."""
    return [*plain_runs(result), *[dataclasses.replace(r, arm="torch") for r in plain_runs(population)]]


def paired_runs(result: ExperimentResult, population: ExperimentResult) -> dict[tuple[str, int], History]:
    """The histories of :func:`arm_runs` by ``(arm, seed)``."""
    return {(r.arm, r.seed): r.history for r in arm_runs(result, population)}


def summarize(result: ExperimentResult, population: ExperimentResult | None = None) -> LayerSummary:
    """The chapter's numbers from this study's result and the population-statistics result
    (whose torch.nn runs are this study's torch arm; loaded from ``book/results`` if not given)."""
    from bn.formatting import data_copy_label

    if population is None:
        from bn.experiments.base import load_experiment_result

        population = load_experiment_result("population_statistics")
    cfg = result.config
    by = paired_runs(result, population)
    s0, s1 = population.config["seeds"][:2]
    book, torch0 = by[("book", s0)], by[("torch", s0)]
    diff = np.abs(np.array(book.first_losses) - np.array(torch0.first_losses))
    off = diff > EXACT_LOSS_DIFFERENCE
    n_exact = int(np.argmax(off)) if off.any() else len(diff)
    if n_exact == 0:
        raise ValueError(f"the book run of seed {s0} and the torch run it is paired with differ from the "
                         f"first step ({diff[0]:.1e}): they did not start from the same weights and batches")
    agree = init_agreement(result).values()
    step = {a: min(v) for a, v in result.measures["step_cpu_seconds"].items()}
    return LayerSummary(
        forward_tol=FORWARD_TOLERANCE, grad_tol=GRADIENT_TOLERANCE,
        steps=cfg["steps"], batch=cfg["batch_size"], copy=data_copy_label(result.provenance["data"]["copy"]),
        logit_err=f"{max(a.logits for a in agree):.0e}",
        grad_worst=f"{max(a.grad_worst for a in agree):.0e}",
        grad_median=f"{max(a.grad_median for a in agree):.0e}",
        nfirst=len(torch0.first_losses), first_diff=f"{diff.max():.0e}", nexact=n_exact,
        exact_max=f"{diff[:n_exact].max():.0e}",
        arm_gap=100 * abs(book.final_test_acc - torch0.final_test_acc),
        seed_gap=100 * abs(torch0.final_test_acc - by[("torch", s1)].final_test_acc),
        seed=s0, slowdown=step["book"] / step["torch"],
        train_ratio=float(book.train_seconds[-1] / torch0.train_seconds[-1]),
        ones=blind_upstream_gradients(seed=1, sd=2.0))


def run(ctx: Context, cfg: dict[str, Any]) -> dict[str, Any]:
    """The study under ``cfg`` on ``ctx.data``: its own run records and measurements (the result's measures)."""
    measures = run_layer(ctx.data, {**cfg, "seeds": list(ctx.seeds)})
    record_run_seeds(ctx, measures["runs"], arm_name)
    return measures


EXPERIMENT = Experiment(
    name='layer_vs_torch', title="The book's BN layer against torch.nn.BatchNorm2d in a deep CNN",
    claim=("How closely the book's BN layer follows torch.nn.BatchNorm2d in the plain CNN: logits and gradients at initialization, the training curve, and the CPU time per step."),
    profiles=PROFILES, run=run, summarize=summarize, load_data=load_data)
