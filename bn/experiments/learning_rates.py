"""Experiment 3: higher learning rates (the paper's BN-x5 and BN-x30 analogs) as a rate ladder.

Both arms run the recipe's set-up (no dropout, L2 / 5, 6x faster decay, fewer
distortions) at 1, 3, 5, 10 and 30 times the base rate, the rate the
convergence sweep chose for the baseline; BN is the only difference between
the arms at each rung. The x1 rung is also the recipe's control without its
higher rate: with BN ("recipe at the base rate") and without ("no BN +
recipe"). The baseline and BN-Baseline rows of the paper's Fig. 3 come from
experiment 2 (``convergence``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

from bn.experiments.base import Context, Experiment, ExperimentResult, RunRecord, RunSpec
from bn.experiments.settings import base_rate, cnn_model, cnn_profiles, recipe_setup

CLAIM = ("With BN much higher learning rates can be used without divergence; BN-x5 reaches "
         "Inception's accuracy in 14.8x fewer steps and BN-x30 trains too, to a higher final accuracy "
         "(Ioffe & Szegedy 2015, Sec. 3.3, 4.2.2, Fig. 3).")


def spec(cfg: dict[str, Any], base_lr: float, bn: bool, multiplier: float, seed: int) -> RunSpec:
    train, dropout = recipe_setup(cfg, base_lr, lr_multiplier=multiplier)
    name = f"BN-x{multiplier:g}" if bn else f"no BN, x{multiplier:g}"
    return RunSpec(arm=f"{'bn' if bn else 'no_bn'}_x{multiplier:g}", label=name, seed=seed,
                   model=cnn_model(cfg, bn=bn, dropout=dropout), train=train,
                   tags={"multiplier": multiplier, "bn": bn})


def seeds_of(cfg: dict[str, Any], seeds: list[int], multiplier: float) -> list[int]:
    """The reported seeds of rung ``multiplier``: all for the headline rungs, the first few for the others."""
    n = cfg["seeds_per_rung"].get(f"{multiplier:g}")
    return seeds if n is None else seeds[:n]


def run(ctx: Context, cfg: dict[str, Any]) -> dict[str, Any]:
    base = base_rate(ctx, cfg)
    ctx.run_all([spec(cfg, base, bn, m, seed) for m in cfg["multipliers"]
                 for seed in seeds_of(cfg, ctx.seeds, m) for bn in (False, True)])
    return {"base_lr": base, "multipliers": list(cfg["multipliers"])}


# The headline rungs (x1, x5, x30) run every seed; x3 and x10 one seed each, to fit the budget.
_LADDER = {"multipliers": [1, 5, 30, 3, 10], "seeds_per_rung": {"3": 1, "10": 1}}
PROFILES = cnn_profiles(cpu={"base_lr": "convergence", **_LADDER}, gpu={"base_lr": "convergence", **_LADDER},
                        smoke={"base_lr": 0.03, "multipliers": [1, 5, 30], "seeds_per_rung": {"30": 1}})


# --- Analysis: what the chapter shows ------------------------------------------------------------

def rungs(result: ExperimentResult) -> list[float]:
    """The ladder's rate multipliers, in increasing order."""
    return sorted(result.config["multipliers"])


def rung(result: ExperimentResult, multiplier: float, bn: bool) -> list[RunRecord]:
    """The runs of one rung of the ladder, with BN or without."""
    from bn.experiments.report import runs_of

    return runs_of(result, f"{'bn' if bn else 'no_bn'}_x{multiplier:g}")


def fig3_arms(result: ExperimentResult, convergence: ExperimentResult
              ) -> dict[str, tuple[list[RunRecord], str | None]]:
    """The rows of the chapter's Fig. 3 table: name -> (runs, the paper's model in :mod:`bn.paper` or None).
    Baseline and BN-Baseline are the convergence result's arms (baseline set-up, base rate)."""
    from bn.experiments.report import runs_of

    return {"Baseline": (runs_of(convergence, "no_bn"), "Inception"),
            "BN-Baseline": (runs_of(convergence, "bn"), "BN-Baseline"),
            "BN-x5": (rung(result, 5, True), "BN-x5"), "BN-x30": (rung(result, 30, True), "BN-x30"),
            "no BN, ×5": (rung(result, 5, False), None), "no BN, ×30": (rung(result, 30, False), None)}


def attribution(result: ExperimentResult, convergence: ExperimentResult
                ) -> list[tuple[str, list[RunRecord], list[RunRecord]]]:
    """The comparisons that split BN-x5's gain over the baseline: (what it credits, better, reference)."""
    from bn.experiments.report import runs_of

    base, bn_base = runs_of(convergence, "no_bn"), runs_of(convergence, "bn")
    x1, x1_no_bn = rung(result, 1, True), rung(result, 1, False)
    return [("the 5× rate, within the recipe, with BN", rung(result, 5, True), x1),
            ("BN, under the recipe at the base rate", x1, x1_no_bn),
            ("the recipe's other items, without BN", x1_no_bn, base),
            ("the recipe's other items, with BN", x1, bn_base),
            ("BN alone (baseline set-up)", bn_base, base),
            ("BN-x5 over the baseline (all three)", rung(result, 5, True), base)]


def last_saturation(runs: Sequence[RunRecord]) -> list[float]:
    """Per run: the fraction of ReLU outputs at zero at its last evaluation, averaged over the layers
    (the ``saturated`` entry of the run's last ``health`` record, :func:`bn.diagnostics.layer_health`)."""
    import numpy as np

    return [float(np.mean(r.history.health[-1]["saturated"])) for r in runs]


def ladder_table(result: ExperimentResult) -> "Table":
    """Per rung, without and with BN: the runs' outcomes (and where failed runs were stopped), and the
    final test accuracy of the runs that trained."""
    from bn.experiments.report import Table, failed, final_accuracy, outcome_text, percent

    base_lr = result.measures["base_lr"]
    rows = []
    for m in rungs(result):
        for bn in (False, True):
            runs = rung(result, m, bn)
            where = [r.history.diverged_at_step or r.history.stalled_at_step for r in runs if failed(r)]
            rows.append([f"{'BN' if bn else 'no BN'}, ×{m:g} (rate {m * base_lr:g})",
                         outcome_text(runs) + (f", stopped at step {', '.join(map(str, where))}" if where else ""),
                         percent(final_accuracy(runs))])
    return Table(["arm", "runs", "final test accuracy (runs that trained)"], rows)


def fig3_table(result: ExperimentResult, convergence: ExperimentResult) -> "Table":
    """The paper's Fig. 3 on our scale: per arm of :func:`fig3_arms`, steps to the baseline's best, the
    paired speedup over the baseline, the final test accuracy, and the paper's ImageNet numbers."""
    from bn import paper
    from bn.experiments.report import Table, baseline_best, final_accuracy, paired_speedup, percent, steps_text

    arms_ = fig3_arms(result, convergence)
    base = arms_["Baseline"][0]
    target = baseline_best(base)
    rows = []
    for name, (runs, key) in arms_.items():
        up = paired_speedup(base, runs, target).text() if name != "Baseline" else "1"
        rows.append([name, steps_text(runs, target), up, percent(final_accuracy(runs)),
                     f"{paper.FIG3_STEPS_TO_INCEPTION_MAX[key] / 1e6:.1f}M" if key else "",
                     f"{paper.fig3_speedup(key):.1f}×" if key else "",
                     f"{paper.FIG3_MAX_ACCURACY[key] * 100:.1f} %" if key else ""])
    return Table(["model", f"steps to {target * 100:.1f} %", "speedup (steps)", "final test accuracy",
                  "paper: steps to 72.2 %", "paper: speedup", "paper: max accuracy"], rows)


def attribution_table(result: ExperimentResult, convergence: ExperimentResult) -> "Table":
    """Per comparison of :func:`attribution`: the paired difference of final test accuracy, its verdict,
    and how many pairs were left out for a failed run."""
    from bn.experiments.report import Table, final_verdict, paired_final_difference, points

    rows = []
    for name, a, b in attribution(result, convergence):
        diff, left_out = paired_final_difference(a, b)
        rows.append([name, points(diff), final_verdict(a, b, diff),
                     f"{left_out} pairs with a failed run" if left_out else ""])
    return Table(["what the comparison credits", "paired difference", "", ""], rows)


def _slug(name: str) -> str:
    """A Fig. 3 row's name as a glue-name part: ``"no BN, ×5"`` -> ``"noBN_x5"``."""
    return name.replace(" ", "").replace(",", "_").replace("×", "x").replace("-", "_")


@dataclass(frozen=True)
class Fig3Paper:
    """The paper's Fig. 3 as the chapter quotes it: the speedups of BN-x5 and BN-x30 to Inception's best,
    their maximum accuracies in percent, and Inception's steps to its best in millions."""

    x5_speedup: float
    x30_speedup: float
    x30_acc: float
    x5_acc: float
    inception_msteps: float


@dataclass(frozen=True)
class LearningRatesSummary:
    """What the higher-learning-rates chapter states, glued under ``lr_``.

    The ladder: base rate and the ×5 and ×30 rates, seeds (all, and per rung as words), data copy, CPU
    minutes, steps. The paper's Fig. 3 (``paper``, glued ``paper_...``). The failures' diagnostics: the
    range of last-evaluation saturation without and with BN at ×5 and above, the largest first-layer
    gradient of a stalled run and the smallest with BN, the saturation at the start. Per Fig. 3 row
    (``BN_x5``, ``noBN_x30``...) and per rung (``bn_x5``, ``nobn_x10``...): speedup over the baseline,
    final accuracy and outcomes (``Baseline``'s accuracy too); the target in percent; the 5× rate's
    speedup over ×1 with its verdict; the six attribution comparisons (``effect``, keyed by index and
    ``INDEX_verdict``); the plateau readings; the recipe schedule's half-life, the step from which the
    ×30 rate is below half its peak and the share of the run after it (percent). BN-x30 against BN-x5:
    the long runs' verdict and evidence (``x30_end_*``), the paired final difference here, how many
    seeds reached the target, the no-BN ×30 divergence steps; BN-x5 over BN-Baseline and the recipe at
    the base rate over BN-Baseline in steps. The scorecard's words (``verdict``, glued ``verdict_KEY``).
    """

    base: float
    x5: float
    x30: float
    seeds: int
    rung_seeds: str
    copy: str
    cpu_min: float
    steps: int
    paper: Fig3Paper = field(metadata={"glue": "paper_"})
    sat_nobn: str
    sat_bn: str
    grad_stalled: str
    grad_bn: str
    sat_start: str
    speedup: dict[str, str]
    acc: dict[str, str]
    outcome: dict[str, str]
    target: float
    x5_over_x1: str
    x5_over_x1_verdict: str
    effect: dict[str, str]
    base_plateau: str
    x30_plateau: str
    x5_plateau: str
    half_life: float
    half_from: int
    half_share: float
    x30_end_verdict: str
    x30_end_ours: str
    x30_vs_x5: str
    x30_reached: str
    x30_div_steps: str
    bnbase_over_x5: str
    items_speed: str
    verdict: dict[str, str] = field(metadata={"glue": "verdict_"})


def _range_text(values: Sequence[float]) -> str:
    return f"{100 * min(values):.0f}–{100 * max(values):.0f} %"


def summarize(result: ExperimentResult, convergence: ExperimentResult | None = None,
              long_training: ExperimentResult | None = None) -> LearningRatesSummary:
    """The chapter's numbers from a ``learning_rates`` result, the ``convergence`` result whose arms are
    Fig. 3's baseline and BN-Baseline, and the ``long_training`` result that decides where BN-x30 ends
    (the committed ones when not given)."""
    import numpy as np

    from bn import paper
    from bn.experiments import scorecard
    from bn.experiments.report import (baseline_best, final_accuracy, final_verdict, outcome_text,
                                       paired_final_difference, paired_speedup, percent, plateau_of, points,
                                       runs_of, verdict)
    from bn.formatting import data_copy_label
    from bn.training.schedules import learning_rate

    if convergence is None or long_training is None:
        from bn.experiments.base import load_experiment_result

        convergence = convergence or load_experiment_result("convergence")
        long_training = long_training or load_experiment_result("long_training")
    cfg, prov, base_lr = result.config, result.provenance, result.measures["base_lr"]
    ms = rungs(result)
    arm = {(m, bn): rung(result, m, bn) for m in ms for bn in (False, True)}
    base, bn_base = runs_of(convergence, "no_bn"), runs_of(convergence, "bn")
    target = baseline_best(base)
    # the failures' diagnostics, at x5 and above
    high = [m for m in ms if m >= 5]
    sat_nobn = last_saturation([r for m in high for r in arm[m, False] if len(r.history.health) > 1])
    sat_bn = last_saturation([r for m in high for r in arm[m, True]])
    stalled = [r for m in high for r in arm[m, False] if r.history.stalled]
    grad_stalled = max(r.history.health[-1]["grad_norm"][0] for r in stalled)
    grad_bn = min(r.history.health[-1]["grad_norm"][0] for m in high for r in arm[m, True])
    start = arm[1, False][0].history.health[0]["saturated"]
    # Fig. 3's rows and the ladder's rungs
    ours = {name: runs for name, (runs, _) in fig3_arms(result, convergence).items() if name != "Baseline"}
    up = {name: paired_speedup(base, runs, target) for name, runs in ours.items()}
    speedup = {_slug(name): u.text() for name, u in up.items()}
    acc = {_slug(name): percent(final_accuracy(runs)) for name, runs in ours.items()}
    acc["Baseline"] = percent(final_accuracy(base))
    outcome = {_slug(name): outcome_text(runs) for name, runs in ours.items()}
    for (m, bn), runs in arm.items():
        acc[f"{'bn' if bn else 'nobn'}_x{m:g}"] = percent(final_accuracy(runs))
        outcome[f"{'bn' if bn else 'nobn'}_x{m:g}"] = outcome_text(runs)
    x5_over_x1 = paired_speedup(arm[1, True], arm[5, True], target)
    effect: dict[str, str] = {}
    for i, (_, a, b) in enumerate(attribution(result, convergence)):
        diff, _ = paired_final_difference(a, b)
        effect |= {f"{i}": points(diff), f"{i}_verdict": final_verdict(a, b, diff)}
    # how fast the recipe's rate decays: the x30 run's schedule, step by step
    x30 = arm[30, True][0].spec.train
    sched = [learning_rate(s, x30["peak_lr"], x30["warmup_steps"], x30["half_life"]) for s in range(x30["steps"])]
    half_from = next(s for s in range(x30["warmup_steps"], x30["steps"]) if sched[s] < x30["peak_lr"] / 2)
    x30_end = scorecard.x30_row(long_training)
    x30_vs_x5, _ = paired_final_difference(arm[30, True], arm[5, True])
    rows = [scorecard.x5_row(convergence, result), scorecard.higher_rate_row(result),
            scorecard.recipe_rate_row(convergence, result)]
    return LearningRatesSummary(
        base=base_lr, x5=5 * base_lr, x30=30 * base_lr, seeds=len(result.seeds),
        rung_seeds=", ".join(f"×{m:g}: {len(arm[m, True])}" for m in ms),
        copy=data_copy_label(prov["data"]["copy"]), cpu_min=prov["cpu_time_s"] / 60, steps=cfg["steps"],
        paper=Fig3Paper(x5_speedup=paper.fig3_speedup("BN-x5"), x30_speedup=paper.fig3_speedup("BN-x30"),
                        x30_acc=100 * paper.FIG3_MAX_ACCURACY["BN-x30"],
                        x5_acc=100 * paper.FIG3_MAX_ACCURACY["BN-x5"],
                        inception_msteps=paper.FIG3_STEPS_TO_INCEPTION_MAX["Inception"] / 1e6),
        sat_nobn=_range_text(sat_nobn), sat_bn=_range_text(sat_bn), grad_stalled=f"{grad_stalled:.0e}",
        grad_bn=f"{grad_bn:.0e}", sat_start=f"{100 * np.mean(start):.0f} %",
        speedup=speedup, acc=acc, outcome=outcome, target=target * 100,
        x5_over_x1=x5_over_x1.text(), x5_over_x1_verdict=verdict(x5_over_x1.ratio, bound=x5_over_x1.bound),
        effect=effect, base_plateau=plateau_of(base).text(), x30_plateau=plateau_of(arm[30, True]).text(),
        x5_plateau=plateau_of(arm[5, True]).text(), half_life=x30["half_life"], half_from=half_from,
        half_share=100 * (x30["steps"] - half_from) / x30["steps"],
        x30_end_verdict=x30_end.verdict.text(), x30_end_ours=x30_end.ours, x30_vs_x5=points(x30_vs_x5),
        x30_reached=f"{up['BN-x30'].reached_other} of {up['BN-x30'].n}",
        x30_div_steps=", ".join(str(r.history.diverged_at_step) for r in arm[30, False]),
        bnbase_over_x5=paired_speedup(bn_base, arm[5, True], target).text(),
        items_speed=paired_speedup(bn_base, arm[1, True], target).text(),
        verdict=scorecard.verdict_words(rows))


EXPERIMENT = Experiment(name="learning_rates", title="Higher learning rates: a rate ladder with and without BN",
                        claim=CLAIM, profiles=PROFILES, run=run, summarize=summarize)
