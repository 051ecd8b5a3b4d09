"""Experiment 4: the CNN with sigmoid nonlinearities, with and without BN (BN-x5-Sigmoid analog).

Three arms, all with sigmoids (and LeCun initialization, the sigmoid's analog of
He's): no BN at its own best rate from a validation sweep under the baseline
set-up; BN under the same baseline set-up at the base rate (BN alone); and the
paper's BN-x5-Sigmoid, the recipe at 5x the base rate. BN alone against no BN
credits BN; BN-x5-Sigmoid against BN alone credits the recipe.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from bn.statistics import Evidence, Interval, Outcomes, decide
from bn.experiments import report
from bn.experiments.base import Context, Experiment, ExperimentResult, RunRecord, RunSpec, select_rate
from bn.experiments.settings import base_rate, baseline_train, cnn_model, cnn_profiles, recipe_setup

CLAIM = ("BN makes training with saturating nonlinearities possible: BN-x5-Sigmoid reaches 69.8 % "
         "where Inception with sigmoids never exceeds 1/1000 accuracy "
         "(Ioffe & Szegedy 2015, Sec. 4.2.2).")


def no_bn_spec(cfg: dict[str, Any], lr: float, seed: int) -> RunSpec:
    return RunSpec(arm="no_bn", label="Sigmoid, no BN", seed=seed,
                   model=cnn_model(cfg, bn=False, activation="sigmoid"), train=baseline_train(cfg, lr))


def bn_alone_spec(cfg: dict[str, Any], base_lr: float, seed: int) -> RunSpec:
    return RunSpec(arm="bn", label="BN-Baseline-Sigmoid", seed=seed,
                   model=cnn_model(cfg, bn=True, activation="sigmoid"), train=baseline_train(cfg, base_lr))


def bn_recipe_spec(cfg: dict[str, Any], base_lr: float, seed: int) -> RunSpec:
    train, dropout = recipe_setup(cfg, base_lr)
    return RunSpec(arm="bn_x5", label="BN-x5-Sigmoid", seed=seed,
                   model=cnn_model(cfg, bn=True, activation="sigmoid", dropout=dropout), train=train)


def run(ctx: Context, cfg: dict[str, Any]) -> dict[str, Any]:
    base = base_rate(ctx, cfg)
    selection = select_rate(ctx, lambda lr, seed: no_bn_spec(cfg, lr, seed), cfg["rates"], cfg["select_seed"])
    # The headline pair (no BN, BN-x5-Sigmoid) runs every seed; BN alone, the control, the first few.
    alone = set(ctx.seeds[:cfg["bn_alone_seeds"]])
    ctx.run_all([make(seed) for seed in ctx.seeds for make in
                 (lambda s: no_bn_spec(cfg, selection["chosen"], s), lambda s: bn_recipe_spec(cfg, base, s))]
                + [bn_alone_spec(cfg, base, seed) for seed in ctx.seeds if seed in alone])
    return {"no_bn_lr": selection["chosen"], "selection": selection, "base_lr": base,
            "bn_x5_lr": bn_recipe_spec(cfg, base, ctx.seeds[0]).train["peak_lr"]}


_GRID = [0.01, 0.03, 0.1, 0.3, 1.0]
PROFILES = cnn_profiles(cpu={"rates": _GRID, "base_lr": "convergence", "bn_alone_seeds": 3},
                        gpu={"rates": _GRID, "base_lr": "convergence", "bn_alone_seeds": 5},
                        smoke={"rates": [0.1, 0.3], "base_lr": 0.03, "bn_alone_seeds": 2})

EXPERIMENT = Experiment(name="sigmoid", title="Saturating nonlinearity: a sigmoid CNN with and without BN",
                        claim=CLAIM, profiles=PROFILES, run=run)


# The chapter's analysis: what the result file says about the three arms.

ARMS = ("no_bn", "bn", "bn_x5")
SETUPS = {"no_bn": "baseline, own best rate", "bn": "baseline, base rate", "bn_x5": "recipe, 5× base rate"}


@dataclass(frozen=True)
class SweepSummary:
    """What the no-BN rate sweep found: its final grid (ascending), the chosen rate, how many rates
    trained, how often the grid was extended, and whether the chosen rate is interior to the grid.

    ``bracketed``: some rate trained and the chosen one has a tried rate on either side; with
    no rate trained there is no optimum to bracket (the "chosen" rate is the rule's fallback).
    """

    rates: list[float]
    chosen: float
    completed: int
    extended: int
    bracketed: bool

    @property
    def all_failed(self) -> bool:
        return self.completed == 0


def sweep_summary(result: ExperimentResult) -> SweepSummary:
    """:class:`SweepSummary` of ``result.measures["selection"]`` and the sweep's runs."""
    sel = result.measures["selection"]
    sweep = [r for r in result.runs if r.spec.arm == "no_bn" and r.spec.tags.get("sweep")]
    rates = sorted(r.spec.train["peak_lr"] for r in sweep)
    done = sum(not report.failed(r) for r in sweep)
    chosen = float(sel["chosen"])
    inside = rates[0] < chosen < rates[-1]
    return SweepSummary(rates=rates, chosen=chosen, completed=done, extended=int(sel["extended"]),
                        bracketed=done > 0 and inside)


def best_seen(runs: Sequence[RunRecord]) -> float:
    """The highest periodic (validation) accuracy any of ``runs`` showed after step 0, failed runs included."""
    return max(max(r.history.eval_acc[1:], default=0.0) for r in runs)


@dataclass(frozen=True)
class Contrast:
    """Arm ``a`` against arm ``b`` over paired seeds.

    ``difference``: mean paired final test accuracy ``a - b`` over the pairs where both
    completed (``left_out`` pairs had a failed run). ``basis``: ``"accuracy"`` when the
    verdict rests on that interval, ``"outcomes"`` when one arm trained in every seed and
    the other in none (no accuracy to pair: the failures are the effect), ``"none"``.
    """

    difference: Interval | None
    left_out: int
    trained: tuple[int, int]
    n: tuple[int, int]
    verdict: str
    basis: str

    def text(self) -> str:
        """The evidence in words: ``"+12.3 points [10.1, 14.5]"`` or ``"5/5 trained vs 0/5"``."""
        if self.basis == "outcomes":
            return f"{self.trained[0]}/{self.n[0]} trained vs {self.trained[1]}/{self.n[1]}"
        if self.difference is None:
            return "no pair of completed runs"
        out = report.points(self.difference)
        return out + (f" ({self.left_out} pairs left out: a run failed)" if self.left_out else "")


def contrast(a: Sequence[RunRecord], b: Sequence[RunRecord]) -> Contrast:
    """:class:`Contrast` of ``a`` against ``b``, its verdict from :func:`bn.statistics.decide`: on the
    outcomes where one arm trained in every run and the other in none (Fisher's exact test over all
    runs of each arm), otherwise on the final accuracy paired by seed, a claim about where training
    ends (not tested unless both arms plateaued)."""
    # Outcomes are counted over every run of each arm (Fisher's exact test needs no pairing);
    # accuracies are paired by seed.
    ta, na = sum(not report.failed(x) for x in a), len(a)
    tb, nb = sum(not report.failed(y) for y in b), len(b)
    diff, left = report.paired_final_difference(a, b)
    if na and nb and ((ta, tb) == (na, 0) or (ta, tb) == (0, nb)):
        verdict, basis = decide(Outcomes(trains=(ta, na), fails=(tb, nb))).word, "outcomes"
    elif diff is not None and diff.n >= 2:
        flat = report.plateau_of(a).plateaued and report.plateau_of(b).plateaued
        verdict, basis = decide(Evidence(diff, 0.0, about_end=True, plateaued=flat)).word, "accuracy"
    else:
        verdict, basis = "not resolved", "none"
    return Contrast(diff, left, (ta, tb), (na, nb), verdict, basis)


@dataclass(frozen=True)
class HealthSummary:
    """Layer health of several runs at one evaluation: medians over the runs that reached it.

    ``first_grad``/``last_grad``: gradient norm of the first convolution's and of the
    classifier's weight; ``ratio`` their quotient (a vanishing gradient makes it tiny);
    ``saturated``: the fraction of saturated outputs, averaged over the nonlinearities;
    ``step``: the evaluation's training step.
    """

    step: int
    first_grad: float
    last_grad: float
    ratio: float
    saturated: float
    n: int


def health_at(runs: Sequence[RunRecord], index: int = 1) -> HealthSummary | None:
    """:class:`HealthSummary` at evaluation ``index`` (1: the first after step 0, where gradients exist)
    of the runs whose health record reaches it; None if none does."""
    rows = []
    for r in runs:
        health = r.history.health
        if len(health) <= index:
            continue
        e = health[index]
        if e["grad_norm"][0] is None or e["grad_norm"][-1] is None:
            continue
        rows.append((r.history.eval_step[index], e["grad_norm"][0], e["grad_norm"][-1],
                     float(np.mean(e["saturated"]))))
    if not rows:
        return None
    a = np.array(rows, dtype=float)
    ratio = float(np.median(a[:, 1] / a[:, 2])) if np.all(a[:, 2] > 0) else math.nan
    return HealthSummary(step=int(a[0, 0]), first_grad=float(np.median(a[:, 1])),
                         last_grad=float(np.median(a[:, 2])), ratio=ratio,
                         saturated=float(np.median(a[:, 3])), n=len(rows))


def arm_runs(result: ExperimentResult) -> dict[str, list[RunRecord]]:
    """The reported runs of each of the three arms."""
    return {arm: report.runs_of(result, arm) for arm in ARMS}


def outcome_table(result: ExperimentResult) -> report.Table:
    """Per arm: set-up, peak rate, outcomes, final test accuracy (completed runs) and the best
    validation accuracy any run showed."""
    rows = []
    for arm, runs in arm_runs(result).items():
        rows.append([runs[0].spec.label, SETUPS[arm], f"{runs[0].spec.train['peak_lr']:g}",
                     report.outcome_text(runs), report.percent(report.final_accuracy(runs)),
                     f"{best_seen(runs) * 100:.1f} %"])
    return report.Table(["arm", "set-up", "peak rate", "runs", "final test accuracy",
                         "best validation accuracy seen"], rows)


COMPARISONS = (("bn", "no_bn", "BN"), ("bn_x5", "bn", "the recipe"), ("bn_x5", "no_bn", "BN and the recipe"))


def attribution(result: ExperimentResult) -> dict[tuple[str, str], Contrast]:
    """The three contrasts: BN alone vs no BN (credits BN), BN-x5 vs BN alone (credits the recipe),
    BN-x5 vs no BN (both together)."""
    runs = arm_runs(result)
    return {(a, b): contrast(runs[a], runs[b]) for a, b, _ in COMPARISONS}


def attribution_table(result: ExperimentResult) -> report.Table:
    """The contrasts of :func:`attribution` as a table: what each credits, its evidence, its verdict."""
    runs = arm_runs(result)
    rows = []
    for (a, b, credit), c in zip(COMPARISONS, attribution(result).values()):
        rows.append([f"{runs[a][0].spec.label} vs {runs[b][0].spec.label}", credit, c.text(),
                     c.verdict])
    return report.Table(["comparison (paired seeds)", "credits", "final test accuracy, difference", "verdict"],
                        rows)
