"""The scorecard: every training claim of the paper, the paper's number, ours with its interval, the verdict.

Each row is computed from the committed result files by the same ``report``
functions the chapters use, so the preface and Part III show exactly what the
chapters conclude. A verdict is one of:

* ``reproduced``: our interval lies on the paper's side of "no effect";
* ``reversed``: it lies on the other side;
* ``not resolved``: it includes "no effect";
* ``not reproduced``: a condition of the claim fails in our data (e.g. a run the
  paper says trains does not).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from bn import paper
from bn.experiments import report
from bn.formatting import Table
from bn.results import load_result

VERDICT = {"shown": "reproduced", "reversed": "reversed", "not resolved": "not resolved"}


@dataclass(frozen=True)
class Row:
    """One claim: where it is tested, what the paper reports, what we measured, the verdict."""

    claim: str
    chapter: str
    paper: str
    ours: str
    verdict: str


def _ratio_verdict(up: "report.Speedup", paper_value: float) -> str:
    """The verdict on a speedup, and where the paper's number falls: "reproduced, smaller" when the
    paper's speedup lies above our interval, "reproduced, larger" when below it."""
    if up.ratio is None:
        return "not resolved"
    verdict = VERDICT[report.verdict(up.ratio)]
    if verdict == "reproduced" and paper_value > up.ratio.high:
        return "reproduced, smaller"
    if verdict == "reproduced" and paper_value < up.ratio.low and up.kind == "exact":
        return "reproduced, larger"
    return verdict


def _all_trained(runs: list[dict[str, Any]]) -> bool:
    return all(not report.failed(r) for r in runs)


def _all_failed(runs: list[dict[str, Any]]) -> bool:
    return all(report.failed(r) for r in runs)


def convergence_row(conv: dict[str, Any]) -> Row:
    base, bn = report.runs_of(conv, "no_bn"), report.runs_of(conv, "bn")
    up = report.paired_speedup(base, bn, report.baseline_best(base))
    return Row("BN alone (BN-Baseline) reaches the baseline's best accuracy in fewer steps", "02_convergence",
               f"{paper.fig3_speedup('BN-Baseline'):.1f}× fewer steps", f"{up.text()} fewer steps",
               _ratio_verdict(up, paper.fig3_speedup("BN-Baseline")))


def x5_row(conv: dict[str, Any], lrs: dict[str, Any]) -> Row:
    base, x5 = report.runs_of(conv, "no_bn"), report.runs_of(lrs, "bn_x5")
    up = report.paired_speedup(base, x5, report.baseline_best(base))
    return Row("BN-x5 (BN, 5× rate, the recipe) reaches it far faster still", "03_learning_rates",
               f"{paper.fig3_speedup('BN-x5'):.1f}× fewer steps", f"{up.text()} fewer steps",
               _ratio_verdict(up, paper.fig3_speedup("BN-x5")))


def higher_rate_row(lrs: dict[str, Any]) -> Row:
    """BN trains at rates where the network without it fails: the highest rung where BN trained on every seed."""
    rungs = sorted(lrs["config"]["multipliers"])
    ok = [m for m in rungs if _all_trained(report.runs_of(lrs, f"bn_x{m:g}"))
          and _all_failed(report.runs_of(lrs, f"no_bn_x{m:g}"))]
    top = max(rungs)
    ours = (f"BN trains where no BN fails at ×{', ×'.join(f'{m:g}' for m in ok)}; at ×{top:g}: BN "
            f"{report.outcome_text(report.runs_of(lrs, f'bn_x{top:g}'))}, no BN "
            f"{report.outcome_text(report.runs_of(lrs, f'no_bn_x{top:g}'))}") if ok else "no rung separates the arms"
    return Row("BN allows much higher learning rates without divergence", "03_learning_rates",
               "BN-x5 and BN-x30 train", ours, "reproduced" if ok else "not reproduced")


def x30_row(lrs: dict[str, Any]) -> Row:
    x5, x30 = report.runs_of(lrs, "bn_x5"), report.runs_of(lrs, "bn_x30")
    diff, left_out = report.paired_final_difference(x30, x5)
    paper_gain = paper.FIG3_MAX_ACCURACY["BN-x30"] - paper.FIG3_MAX_ACCURACY["BN-x5"]
    if not _all_trained(x30):
        return Row("BN-x30 trains, to a higher final accuracy than BN-x5", "03_learning_rates",
                   f"{100 * paper_gain:+.1f} points", f"BN-x30 {report.outcome_text(x30)}", "not reproduced")
    return Row("BN-x30 trains, to a higher final accuracy than BN-x5", "03_learning_rates",
               f"{100 * paper_gain:+.1f} points", report.points(diff), VERDICT[report.verdict(diff, 0.0)])


def recipe_rate_row(lrs: dict[str, Any]) -> Row:
    """The higher rate's own share of BN-x5's gain: BN-x5 against the recipe at the base rate (both with BN)."""
    diff, _ = report.paired_final_difference(report.runs_of(lrs, "bn_x5"), report.runs_of(lrs, "bn_x1"))
    return Row("Within the recipe, the 5× rate itself raises the final accuracy", "03_learning_rates",
               "not reported alone", report.points(diff), VERDICT[report.verdict(diff, 0.0)])


def sigmoid_row(sig: dict[str, Any]) -> Row:
    no_bn, x5 = report.runs_of(sig, "no_bn"), report.runs_of(sig, "bn_x5")
    acc = report.final_accuracy(x5)
    ours = f"BN-x5-Sigmoid {report.percent(acc)}; no BN: {report.outcome_text(no_bn)}"
    if acc is None:
        verdict = "not reproduced"
    elif _all_failed(no_bn):
        verdict = "reproduced"
    else:
        diff, _ = report.paired_final_difference(x5, no_bn)
        verdict = VERDICT[report.verdict(diff, 0.0)]
    return Row("BN makes a sigmoid network trainable where it otherwise is not", "04_sigmoid",
               f"{100 * paper.FIG3_MAX_ACCURACY['BN-x5-Sigmoid']:.1f} % vs < 0.1 %", ours, verdict)


def _init_cost(init: dict[str, Any], conv: dict[str, Any], arm: str, scale: float
               ) -> tuple[list[dict[str, Any]], dict[int, float]]:
    """The runs of ``arm`` at ``scale`` and, per seed, the final accuracy they lose against the same seed at x1."""
    runs = report.runs_of(init, f"{arm}_init{scale:g}")
    ref = {r["spec"]["seed"]: r for r in report.runs_of(conv, arm)}
    return runs, {r["spec"]["seed"]: r["history"]["final_test_acc"] - ref[r["spec"]["seed"]]["history"]["final_test_acc"]
                  for r in runs if not report.failed(r) and not report.failed(ref[r["spec"]["seed"]])}


def initialization_row(init: dict[str, Any], conv: dict[str, Any]) -> Row:
    """Less care about initialization: what a 10x larger or smaller init does to each arm, against x1.

    Per scale: if BN fails, not reproduced; if BN trains and no BN fails, reproduced; if both
    train, the paired difference of their accuracy changes (BN's minus no BN's) decides.
    """
    from bn.statistics import paired_difference_ci

    parts, verdicts = [], []
    for scale in init["measures"]["init_scales"]:
        bn_runs, bn_cost = _init_cost(init, conv, "bn", scale)
        nb_runs, nb_cost = _init_cost(init, conv, "no_bn", scale)
        bn_text = (report.points(paired_difference_ci(list(bn_cost.values()), [0.0] * len(bn_cost)))
                   if len(bn_cost) == len(bn_runs) else report.outcome_text(bn_runs))
        nb_text = (report.points(paired_difference_ci(list(nb_cost.values()), [0.0] * len(nb_cost)))
                   if len(nb_cost) == len(nb_runs) else report.outcome_text(nb_runs))
        parts.append(f"×{scale:g}: BN {bn_text}, no BN {nb_text}")
        if len(bn_cost) < len(bn_runs):
            verdicts.append("not reproduced")
        elif len(nb_cost) < len(nb_runs):
            verdicts.append("reproduced")
        else:
            seeds = sorted(set(bn_cost) & set(nb_cost))
            d = paired_difference_ci([bn_cost[s] for s in seeds], [nb_cost[s] for s in seeds])
            verdicts.append(VERDICT[report.verdict(d, 0.0)])
    verdict = verdicts[0] if len(set(verdicts)) == 1 else "; ".join(
        f"×{s:g}: {v}" for s, v in zip(init["measures"]["init_scales"], verdicts))
    return Row("BN allows less careful initialization", "05_initialization", "qualitative",
               "; ".join(parts) + " (final test accuracy against ×1, same seeds)", verdict)


def bn_alone_not_enough_row(conv: dict[str, Any], lrs: dict[str, Any]) -> Row:
    """BN alone does not take full advantage: BN-x5 against BN-Baseline, steps to the baseline's best."""
    target = report.baseline_best(report.runs_of(conv, "no_bn"))
    up = report.paired_speedup(report.runs_of(conv, "bn"), report.runs_of(lrs, "bn_x5"), target)
    steps = paper.FIG3_STEPS_TO_INCEPTION_MAX
    return Row("BN alone does not take full advantage: the recipe speeds BN up further", "06_recipe",
               f"{steps['BN-Baseline'] / steps['BN-x5']:.1f}× fewer steps than BN-Baseline",
               f"{up.text()} fewer steps than BN-Baseline",
               _ratio_verdict(up, steps["BN-Baseline"] / steps["BN-x5"]))


def recipe_items_row(rec: dict[str, Any], conv: dict[str, Any], lrs: dict[str, Any]) -> Row:
    """Each item of the recipe, added alone to BN-Baseline and removed alone from the full recipe:
    how many raise the final test accuracy with an interval that excludes 0 (paired by seed)."""
    from bn.experiments.settings import RECIPE_ITEMS

    baseline, full = report.runs_of(conv, "bn"), report.runs_of(lrs, "bn_x5")
    added, removed = [], []
    for item in RECIPE_ITEMS:
        alone, _ = report.paired_final_difference(report.runs_of(rec, f"only_{item}"), baseline)
        without = report.runs_of(lrs, "bn_x1") if item == "higher_lr" else report.runs_of(rec, f"without_{item}")
        lost, _ = report.paired_final_difference(full, without)
        added.append(report.verdict(alone, 0.0))
        removed.append(report.verdict(lost, 0.0))
    names = {"higher_lr": "5× rate", "no_dropout": "no dropout", "less_l2": "L2 / 5",
             "faster_decay": "6× faster decay", "fewer_distortions": "no crops"}

    def which(verdicts: list[str], v: str) -> str:
        hits = [names[item] for item, w in zip(RECIPE_ITEMS, verdicts) if w == v]
        return ", ".join(hits) if hits else "none"

    ours = (f"missed when removed: {which(removed, 'shown')}; better without: {which(removed, 'reversed')}; "
            f"helps added alone: {which(added, 'shown')}; hurts added alone: {which(added, 'reversed')}; "
            f"the rest not resolved (final test accuracy; 2 seeds except the 5× rate's 5)")
    helps = {i for i, a, r in zip(RECIPE_ITEMS, added, removed) if "shown" in (a, r)}
    hurts = {i for i, a, r in zip(RECIPE_ITEMS, added, removed) if "reversed" in (a, r)}
    if helps == set(RECIPE_ITEMS) and not hurts:
        verdict = "reproduced"
    elif not helps and not hurts:
        verdict = "not resolved"
    else:
        verdict = (f"reproduced for {len(helps - hurts)}, reversed for {len(hurts - helps)}, "
                   f"not resolved for {len(RECIPE_ITEMS) - len(helps | hurts)} of {len(RECIPE_ITEMS)} items")
    return Row("Each item of the recipe accelerates the BN network", "06_recipe", "qualitative (Sec. 4.2.1)", ours,
               verdict)


def fig1_speed_row(fig1: dict[str, Any]) -> Row:
    """Fig. 1(a): the MLP with BN reaches the no-BN arm's best accuracy in fewer steps (each at its own rate)."""
    no_bn, bn = report.runs_of(fig1, "no_bn"), report.runs_of(fig1, "bn")
    up = report.paired_speedup(no_bn, bn, report.baseline_best(no_bn))
    diff, _ = report.paired_final_difference(bn, no_bn)
    return Row("Fig. 1: with BN the MLP trains faster and reaches higher accuracy", "01_fig1_mlp",
               "qualitative (Fig. 1a)", f"{up.text()} fewer steps; {report.points(diff)} final",
               VERDICT[report.verdict(up.ratio)] if up.ratio else "not resolved")


def fig1_stability_row(fig1: dict[str, Any]) -> Row:
    """Fig. 1(b, c): the median of a sigmoid's input drifts less with BN (paired ratio of drifts, no BN / BN)."""
    from bn.experiments.fig1_mlp import drift_summary

    summary = drift_summary(report.runs_of(fig1, "no_bn"), report.runs_of(fig1, "bn"),
                            fig1["measures"]["drift_after_step"])
    ratio = summary.ratio[1]  # the median
    return Row("Fig. 1: a sigmoid's input distribution is much more stable with BN", "01_fig1_mlp",
               "qualitative (Fig. 1b, c)", f"drift of the median, no BN / BN: {report.times(ratio)}",
               VERDICT[report.verdict(ratio)])


ROWS: list[tuple[Callable[..., Row], tuple[str, ...]]] = [
    (fig1_speed_row, ("fig1_mlp",)),
    (fig1_stability_row, ("fig1_mlp",)),
    (convergence_row, ("convergence",)),
    (x5_row, ("convergence", "learning_rates")),
    (higher_rate_row, ("learning_rates",)),
    (x30_row, ("learning_rates",)),
    (recipe_rate_row, ("learning_rates",)),
    (bn_alone_not_enough_row, ("convergence", "learning_rates")),
    (sigmoid_row, ("sigmoid",)),
    (initialization_row, ("initialization", "convergence")),
    (recipe_items_row, ("recipe", "convergence", "learning_rates")),
]


def rows(results: dict[str, dict[str, Any]] | None = None) -> list[Row]:
    """Every row, from ``results`` (name -> result) or the committed files."""
    names = {n for _, needs in ROWS for n in needs}
    results = results or {n: load_result(n) for n in names}
    return [make(*[results[n] for n in needs]) for make, needs in ROWS]


def table(results: dict[str, dict[str, Any]] | None = None) -> Table:
    """The scorecard as a table (claim, paper, ours with 95 % intervals, verdict)."""
    return Table(["claim (Ioffe & Szegedy 2015)", "paper (ImageNet)", "ours (CIFAR-10, 95 % intervals)", "verdict"],
                 [[r.claim, r.paper, r.ours, r.verdict] for r in rows(results)])
