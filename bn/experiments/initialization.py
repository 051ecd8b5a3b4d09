"""Experiment 5: robustness to the scale of the initial weights, with and without BN.

Every layer's He standard deviation is multiplied by ``init_scale``: 0.1 and 10,
two orders of magnitude apart, around the x1 runs of experiment 2, whose specs
these would repeat. Both arms keep the base rate (the convergence sweep's choice
for x1) and the baseline set-up: the rate is fixed, not re-tuned per scale, so
the question is what a scale does to a net trained as the unscaled one was.
BN makes a layer's output invariant to the scale of its weights
(Ioffe & Szegedy 2015, Sec. 3.3), so the BN arm should hardly notice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from bn.statistics import Interval, Outcomes, decide, paired_difference_ci
from bn.experiments import report
from bn.experiments.base import Context, Experiment, ExperimentResult, RunRecord, RunSpec
from bn.experiments.settings import base_rate, baseline_train, cnn_model, cnn_profiles
from bn.experiments.sigmoid import HealthSummary, health_at  # noqa: F401  (the chapter uses both)

CLAIM = ("Batch Normalization allows us to be less careful about initialization: BN(Wu) = BN((aW)u), "
         "so back-propagation through a layer is unaffected by the scale of its parameters "
         "(Ioffe & Szegedy 2015, Abstract and Sec. 3.3).")


def arm_name(bn: bool, scale: float) -> str:
    """The arm of ``bn`` at ``scale``: ``"bn_init0.1"``; at scale 1 ``"bn"`` / ``"no_bn"``, the
    convergence result's arms, which are the x1 runs of this experiment."""
    arm = "bn" if bn else "no_bn"
    return arm + f"_init{scale:g}" if scale != 1 else arm


def spec(cfg: dict[str, Any], base_lr: float, bn: bool, scale: float, seed: int) -> RunSpec:
    arm = arm_name(bn, scale)
    label = f"{'BN' if bn else 'no BN'}, init x{scale:g}"
    tags = {"init_scale": scale, "bn": bn}
    return RunSpec(arm=arm, label=label, seed=seed, model=cnn_model(cfg, bn=bn, init_scale=scale),
                   train=baseline_train(cfg, base_lr), tags=tags)


def run(ctx: Context, cfg: dict[str, Any]) -> dict[str, Any]:
    base = base_rate(ctx, cfg)
    seeds = ctx.seeds[:cfg["n_seeds"]]
    ctx.run_all([spec(cfg, base, bn, scale, seed) for scale in cfg["init_scales"] for seed in seeds
                 for bn in (False, True)])
    return {"lr": base, "init_scales": list(cfg["init_scales"]), "reference_scale": 1.0,
            "reference": "convergence"}


PROFILES = cnn_profiles(cpu={"init_scales": [0.1, 10.0], "base_lr": "convergence", "n_seeds": 5},
                        gpu={"init_scales": [0.1, 10.0], "base_lr": "convergence", "n_seeds": 5},
                        smoke={"init_scales": [0.1, 10.0], "base_lr": 0.03, "n_seeds": 2})

EXPERIMENT = Experiment(name="initialization", title="Initialization robustness: an init-scale sweep",
                        claim=CLAIM, profiles=PROFILES, run=run)


# The chapter's analysis: the scaled arms against the x1 runs of the convergence result.

def spec_differences(reference: RunRecord | RunSpec, cfg: dict[str, Any], base_lr: float) -> list[str]:
    """What differs between a reference run's spec (a convergence run at x1) and :func:`spec` at scale 1
    with the same arm kind and seed: ``"model.widths"``, ``"train.peak_lr"``, ``"seed"``... (arm, label
    and tags are expected to differ and are not compared). Empty when the x1 reference is the run this
    experiment would have made at scale 1."""
    ref = reference.spec if isinstance(reference, RunRecord) else reference
    mine = spec(cfg, base_lr, ref.model["bn"], 1.0, ref.seed)
    out = [f"{part}.{k}" for part in ("model", "train")
           for k in sorted(set(getattr(ref, part)) | set(getattr(mine, part)))
           if getattr(ref, part).get(k) != getattr(mine, part).get(k)]
    return out + [k for k in ("seed", "measure") if getattr(ref, k) != getattr(mine, k)]


def scale_runs(result: ExperimentResult, reference: ExperimentResult, bn: bool, scale: float,
               seeds: Sequence[int]) -> list[RunRecord]:
    """The runs of ``bn`` at ``scale`` with ``seeds``: from ``result``, or at scale 1 from ``reference``."""
    source = reference if scale == 1 else result
    return [r for r in report.runs_of(source, arm_name(bn, scale)) if r.spec.seed in seeds]


@dataclass(frozen=True)
class ScaleComparison:
    """One init scale against x1, for both arms, over paired seeds.

    ``outcomes[bn]``: completed/diverged/stalled counts at this scale; ``final[bn]``: mean final
    test accuracy of the completed runs; ``change[bn]``: paired final accuracy (scale minus x1)
    and how many pairs a failed run left out. ``gap``: per seed, BN's change minus no BN's
    change, over the seeds where all four runs completed. ``verdict`` on the claim "BN is
    less hurt by this scale than no BN", from :func:`bn.statistics.decide`;
    ``basis``: ``"outcomes"`` (one arm trained in every seed and the other in none),
    ``"accuracy"`` (the gap's interval) or ``"none"``.
    """

    scale: float
    outcomes: dict[bool, dict[str, int]]
    final: dict[bool, Interval | None]
    change: dict[bool, tuple[Interval | None, int]]
    gap: Interval | None
    verdict: str
    basis: str


def compare_scale(result: ExperimentResult, reference: ExperimentResult, scale: float,
                  seeds: Sequence[int]) -> ScaleComparison:
    """:class:`ScaleComparison` of ``scale`` against the x1 runs of ``reference`` on ``seeds``."""
    runs = {bn: scale_runs(result, reference, bn, scale, seeds) for bn in (False, True)}
    ref = {bn: scale_runs(result, reference, bn, 1.0, seeds) for bn in (False, True)}
    outcomes = {bn: report.outcome_counts(runs[bn]) for bn in (False, True)}
    final = {bn: report.final_accuracy(runs[bn]) for bn in (False, True)}
    change = {bn: report.paired_final_difference(runs[bn], ref[bn]) for bn in (False, True)}
    acc = {(bn, s): {r.spec.seed: r.history.final_test_acc for r in rs if not report.failed(r)}
           for bn in (False, True) for s, rs in ((scale, runs[bn]), (1.0, ref[bn]))}
    both = [s for s in seeds if all(s in acc[k] for k in acc)]
    gap = None
    if len(both) >= 2:
        gap = paired_difference_ci([acc[(True, scale)][s] - acc[(True, 1.0)][s] for s in both],
                                   [acc[(False, scale)][s] - acc[(False, 1.0)][s] for s in both])
    n = {bn: len(runs[bn]) for bn in (False, True)}
    done = {bn: outcomes[bn]["completed"] for bn in (False, True)}
    if n[True] and n[False] and {done[True], done[False]} in ({0, n[True]}, {0, n[False]}) and done[True] != done[False]:
        verdict, basis = decide(Outcomes(trains=(done[True], n[True]), fails=(done[False], n[False]))).word, "outcomes"
    elif gap is not None:
        verdict, basis = report.verdict(gap, 0.0), "accuracy"
    else:
        verdict, basis = "not resolved", "none"
    return ScaleComparison(scale, outcomes, final, change, gap, verdict, basis)


def scale_table(result: ExperimentResult, reference: ExperimentResult, seeds: Sequence[int]) -> report.Table:
    """Per init scale (x1 from the reference) and arm: outcomes, final test accuracy, paired change vs x1."""
    rows = []
    for scale in sorted([1.0, *result.measures["init_scales"]]):
        for bn in (False, True):
            runs = scale_runs(result, reference, bn, scale, seeds)
            if scale == 1:
                change = "(reference)"
            else:
                iv, left = report.paired_final_difference(
                    runs, scale_runs(result, reference, bn, 1.0, seeds))
                change = "–" if iv is None else report.points(iv)
                change += f" ({left} pairs left out)" if left and iv is not None else ""
            rows.append([f"×{scale:g}", "BN" if bn else "no BN", report.outcome_text(runs),
                         report.percent(report.final_accuracy(runs)), change])
    return report.Table(["init scale", "arm", "runs", "final test accuracy", "change vs ×1 (paired)"], rows)


def first_conv_at(runs: Sequence[RunRecord], index: int) -> tuple[float, float] | None:
    """Medians over ``runs`` of the first convolution's weight norm and of its relative gradient
    (gradient norm / weight norm, how far one step turns the weight at rate 1) at evaluation ``index``
    (negative: from the end of each run's record); None if no run has a gradient there."""
    rows = []
    for r in runs:
        health = r.history.health
        if not -len(health) <= index < len(health):
            continue
        e = health[index]
        if e["grad_norm"][0] is None:
            continue
        rows.append((e["weight_norm"][0], e["grad_norm"][0] / e["weight_norm"][0]))
    if not rows:
        return None
    return float(np.median([w for w, _ in rows])), float(np.median([g for _, g in rows]))
