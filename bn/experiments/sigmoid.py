"""Experiment 4: the CNN with sigmoid nonlinearities, with and without BN (BN-x5-Sigmoid analog).

Three arms, all with sigmoids (and LeCun initialization, the sigmoid's analog of
He's): no BN at its own best rate from a validation sweep under the baseline
set-up; BN under the same baseline set-up at the base rate (BN alone); and the
paper's BN-x5-Sigmoid, the recipe at 5x the base rate. BN alone against no BN
credits BN; BN-x5-Sigmoid against BN alone credits the recipe.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from bn.statistics import LATE_FRACTION, Evidence, Interval, Outcomes, decide
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


SUSTAIN_MARGIN = 0.02
"""How far above chance (10 %) a run must stay to count as learning: three binomial standard errors
of an accuracy near 10 % on the 2,000 evaluation images (3 * sqrt(0.1 * 0.9 / 2000) = 0.020)."""


def sustains_learning(run: RunRecord, fraction: float = LATE_FRACTION, margin: float = SUSTAIN_MARGIN) -> bool:
    """Whether a run *sustains* accuracy clearly above chance: the median of its periodic accuracies over
    the last ``fraction`` of its steps exceeds 10 % + ``margin``. A run that diverged or was stopped never does."""
    from statistics import median

    h = run.history
    if h.diverged or h.stalled:
        return False
    cut = (1 - fraction) * run.spec.train["steps"]
    late = [a for s, a in zip(h.eval_step, h.eval_acc) if s > cut]
    return bool(late) and median(late) > 0.1 + margin


def sweep_finding(result: ExperimentResult) -> str:
    """What the no-BN rate sweep found, in a sentence: every rate stopped at chance (and the best
    accuracy any sweep run showed before its stop), or the chosen rate inside or at the edge of the grid."""
    sweep = sweep_summary(result)
    if sweep.all_failed:
        shown = [best_seen([r]) * 100 for r in report.runs_of(result, "no_bn", include_sweep=True)
                 if r.spec.tags.get("sweep")]
        return ("Every rate of the grid sat at chance and was stopped: there is no optimum "
                "to bracket (the best validation accuracy any sweep run showed before its "
                f"stop lies between {min(shown):.1f} % and {max(shown):.1f} %, chance being "
                "10 %). The reported runs without BN use the rule's fallback — the highest "
                "accuracy shown before the stop, ties to the lower rate — which picks "
                f"{sweep.chosen:g}; any other rate of the grid would have done the same.")
    if sweep.bracketed:
        return (f"The best rate, {sweep.chosen:g}, lies inside the grid: a tried rate on "
                "either side did worse.")
    return (f"The best rate, {sweep.chosen:g}, is still at the edge of the grid after "
            f"{sweep.extended} extensions: a rate beyond it might do better.")


def _rates(rates: Sequence[float]) -> str:
    return ", ".join(f"{r:g}" for r in rates)


def _seeds(seeds: Sequence[int]) -> str:
    return ", ".join(map(str, seeds))


# The first convolution's gradient passes the eight sigmoid layers on its way from the classifier.
SIGMOID_LAYERS = 8


@dataclass(frozen=True)
class SigmoidSummary:
    """Every number and phrase the sigmoid chapter glues, under ``sig_`` + field name (a mapping
    field per arm of :data:`ARMS`: ``sig_outcome_no_bn``, ...).

    The set-up: the no-BN sweep's grid as configured and after any extension (``grid``,
    ``final_grid``), its selection seed, the base rate and the file it came from, the no-BN and
    BN-x5 rates (``"%g"`` text), the seeds of the headline arms and of BN alone, steps, batch size,
    the data copy, the stall rule's window and evaluation interval; ``paper_acc`` the paper's
    BN-x5-Sigmoid accuracy in % (glued as ``paper_sig_acc``) and ``sweep_finding``
    (:func:`sweep_finding`).

    The outcomes, per arm: ``outcome`` (``"5/5 trained"``), ``acc`` (final test accuracy with its
    t interval), ``best`` (best validation accuracy seen), and ``stop_step``, the last step at which
    a run without BN was stopped (``"–"`` when none was). The contrasts of :func:`attribution`:
    ``c_bn`` (BN alone vs no BN), ``c_recipe`` (BN-x5 vs BN alone), ``c_both`` (BN-x5 vs no BN)
    in words and the first two's verdicts; ``verdict`` the scorecard's row (glued as
    ``verdict_sigmoid`` and ``verdict_sigmoid_ours``).

    The diagnostics (:func:`health_at`, medians over seeds): per arm at the first evaluation after
    step 0 (``health_step``) the first convolution's gradient norm over the classifier's (``ratio``)
    and the saturated fraction (``sat``); ``per_layer`` the no-BN ratio's eighth root; the no-BN
    ratio and saturation at the last evaluation (``*_last_no_bn``).

    The sigmoid net without BN trained four times longer (``long_training``, arm
    ``no_bn_sigmoid``): the late fraction and the margin of the sustain rule (in % and points),
    steps, seeds, how many of ``long_n`` runs sustain learning and the best validation accuracy seen.
    """

    grid: str
    select_seed: int
    base_lr: str
    base_source: str
    no_bn_lr: str
    x5_lr: str
    seeds: str
    n: int
    alone_seeds: str
    n_alone: int
    steps: int
    batch: int
    copy: str
    window: int
    eval_every: int
    final_grid: str
    paper_acc: float = field(metadata={"glue": "paper_sig_acc"})
    sweep_finding: str
    outcome: dict[str, str]
    acc: dict[str, str]
    best: dict[str, str]
    stop_step: int | str
    c_bn: str
    c_bn_verdict: str
    c_recipe: str
    c_recipe_verdict: str
    c_both: str
    verdict: dict[str, str] = field(metadata={"glue": "verdict_"})
    ratio: dict[str, str]
    sat: dict[str, str]
    health_step: int
    per_layer: str
    sat_last_no_bn: str
    ratio_last_no_bn: str
    long_late: float
    long_steps: str
    long_seeds: str
    long_margin: float
    long_learned: int
    long_n: int
    long_best: str


def summarize(result: ExperimentResult, long: ExperimentResult | None = None) -> SigmoidSummary:
    """:class:`SigmoidSummary` of the sigmoid result and of ``long`` (the ``long_training`` result, read
    from ``book/results`` when not given), whose arm ``no_bn_sigmoid`` is the no-BN arm trained longer."""
    from bn import paper
    from bn.experiments import scorecard
    from bn.experiments.base import load_experiment_result
    from bn.formatting import data_copy_label

    long = load_experiment_result("long_training") if long is None else long
    cfg, meas = result.config, result.measures
    runs = arm_runs(result)
    contrasts = attribution(result)
    c_bn, c_recipe, c_both = (contrasts[("bn", "no_bn")], contrasts[("bn_x5", "bn")],
                              contrasts[("bn_x5", "no_bn")])
    stops = [r.history.stalled_at_step for r in runs["no_bn"] if r.history.stalled]
    health = {a: health_at(runs[a]) for a in ARMS}
    last_no_bn = health_at(runs["no_bn"], len(runs["no_bn"][0].history.health) - 1)
    long_runs = report.runs_of(long, "no_bn_sigmoid")
    src = meas["base_lr_source"]
    return SigmoidSummary(
        grid=_rates(cfg["rates"]), select_seed=cfg["select_seed"], base_lr=f"{meas['base_lr']:g}",
        base_source=f"{src['file']} ({src['profile']} profile)", no_bn_lr=f"{meas['no_bn_lr']:g}",
        x5_lr=f"{meas['bn_x5_lr']:g}", seeds=_seeds(result.seeds), n=len(result.seeds),
        alone_seeds=_seeds([r.spec.seed for r in runs["bn"]]), n_alone=len(runs["bn"]),
        steps=cfg["steps"], batch=cfg["batch_size"], copy=data_copy_label(result.provenance["data"]["copy"]),
        window=cfg["stall_window"], eval_every=cfg["eval_every"],
        final_grid=_rates(sweep_summary(result).rates),
        paper_acc=paper.FIG3_MAX_ACCURACY["BN-x5-Sigmoid"] * 100,
        sweep_finding=sweep_finding(result),
        outcome={a: report.outcome_text(runs[a]) for a in ARMS},
        acc={a: report.percent(report.final_accuracy(runs[a])) for a in ARMS},
        best={a: f"{best_seen(runs[a]) * 100:.1f} %" for a in ARMS},
        stop_step=max(stops) if stops else "–",
        c_bn=c_bn.text(), c_bn_verdict=c_bn.verdict, c_recipe=c_recipe.text(),
        c_recipe_verdict=c_recipe.verdict, c_both=c_both.text(),
        verdict=scorecard.verdict_words([scorecard.sigmoid_row(result, long)]),
        ratio={a: f"{health[a].ratio:.1e}" for a in ARMS},
        sat={a: f"{health[a].saturated * 100:.2g} %" for a in ARMS},
        health_step=health["no_bn"].step,
        per_layer=f"{health['no_bn'].ratio ** (1 / SIGMOID_LAYERS):.2f}",
        sat_last_no_bn=f"{last_no_bn.saturated * 100:.2g} %",
        ratio_last_no_bn=f"{last_no_bn.ratio:.1e}",
        long_late=100 * LATE_FRACTION, long_steps=f"{long_runs[0].spec.train['steps']:,}",
        long_seeds=_seeds([r.spec.seed for r in long_runs]), long_margin=100 * SUSTAIN_MARGIN,
        long_learned=sum(sustains_learning(r) for r in long_runs), long_n=len(long_runs),
        long_best=f"{best_seen(long_runs) * 100:.1f} %",
    )


EXPERIMENT = Experiment(name="sigmoid", title="Saturating nonlinearity: a sigmoid CNN with and without BN",
                        claim=CLAIM, profiles=PROFILES, run=run,
                        summarize=summarize)
