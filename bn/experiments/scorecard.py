"""The scorecard: every training claim of the paper, the paper's number, ours with its interval, the verdict.

Each row is computed from the committed result files by the same ``report``
functions the chapters use, and its verdict by the one rule,
:func:`bn.statistics.decide` (reproduced, reversed, not resolved, not tested at
this budget). The chapters glue their rows' verdicts from here
(:func:`glue_chapter`), so the preface, Part III and each chapter say the same.
A last column says whether a reproduced or reversed verdict survives Holm's
correction over all rows that made a test. :func:`method_summary` gives what the
set-up chapter states of the rule and of the set-up the experiments share.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from bn import paper
from bn.experiments import TODAY, report
from bn.experiments.report import Row
from bn.formatting import Table

if TYPE_CHECKING:
    from bn.experiments.base import ExperimentResult, RunRecord
from bn.statistics import Evidence, Outcomes, Verdict, all_of, decide, holm


def _all_trained(runs: list[RunRecord]) -> bool:
    return all(not report.failed(r) for r in runs)


def _speedup_row(key: str, claim: str, chapter: str, base: list, other: list, paper_value: float | None,
                 paper_text: str, target_runs: list | None = None, suffix: str = " fewer steps") -> Row:
    """A speedup claim: steps to the reference arm's best, censored ratio, judged by the rule. The
    target is set by the budget when the arm that sets it has not plateaued."""
    target_runs = base if target_runs is None else target_runs
    up = report.paired_speedup(base, other, report.baseline_best(target_runs))
    from_budget = not report.plateau_of(target_runs).plateaued
    v = decide(Evidence(up.ratio, 1.0, bound=up.bound, paper=paper_value, target_from_budget=from_budget))
    ours = up.text() + suffix + ("; the target is where the budget ran out" if from_budget else "")
    return Row(key, claim, chapter, paper_text, ours, v)


def fig1_speed_row(fig1: ExperimentResult) -> Row:
    """Fig. 1(a): the MLP with BN reaches the no-BN arm's best accuracy in fewer steps (each at its own rate)."""
    no_bn, bn = report.runs_of(fig1, "no_bn"), report.runs_of(fig1, "bn")
    return _speedup_row("fig1_speed", "Fig. 1: with BN the MLP trains faster", "01_fig1_mlp", no_bn, bn, None,
                        "qualitative (Fig. 1a)")


def fig1_stability_row(rates: ExperimentResult) -> Row:
    """Fig. 1(b, c) at equal rates: the rule of :mod:`bn.experiments.fig1_rates` (all four ratios agree)."""
    from bn.experiments.fig1_rates import UNITS, comparisons

    comps = comparisons(rates)
    v = all_of([decide(Evidence(c.ratio[u], 1.0)) for c in comps for u in UNITS])
    ours = "; ".join(f"rate {c.lr:g}: " + ", ".join(f"{report.times(c.ratio[u])} ({u})" for u in UNITS)
                     for c in comps)
    return Row("fig1_stability", "Fig. 1: a sigmoid's input distribution is much more stable with BN",
               "01_fig1_mlp", "qualitative (Fig. 1b, c)", "drift of the median, no BN / BN, " + ours, v)


def convergence_row(conv: ExperimentResult) -> Row:
    base, bn = report.runs_of(conv, "no_bn"), report.runs_of(conv, "bn")
    return _speedup_row("convergence_speed", "BN alone (BN-Baseline) reaches the baseline's best accuracy in fewer steps",
                        "02_convergence", base, bn, paper.fig3_speedup("BN-Baseline"),
                        f"{paper.fig3_speedup('BN-Baseline'):.1f}× fewer steps")


def _end_row(key: str, claim: str, long: ExperimentResult, better: str, reference: str, paper_gain: float) -> Row:
    """A claim about where training ends: paired best validation accuracy, judged only if both arms plateaued."""
    a, b = report.runs_of(long, better), report.runs_of(long, reference)
    diff, left_out = report.paired_best_difference(a, b)
    plats = [report.plateau_of(r) for r in (a, b) if any(not report.failed(x) for x in r)]
    flat = len(plats) == 2 and all(p.plateaued for p in plats)
    v = decide(Evidence(diff, 0.0, about_end=True, plateaued=flat, paper=paper_gain))
    still = [lbl for lbl, p in zip((a[0].spec.label, b[0].spec.label), plats) if not p.plateaued]
    ours = (f"{report.points(diff)} best validation accuracy at {a[0].spec.train['steps']} steps"
            + (f"; still rising: {', '.join(still)}" if still else "; both plateaued"))
    return Row(key, claim, "07_long_training", f"{100 * paper_gain:+.1f} points", ours, v)


def bn_baseline_end_row(long: ExperimentResult) -> Row:
    gain = paper.FIG3_MAX_ACCURACY["BN-Baseline"] - paper.FIG3_MAX_ACCURACY["Inception"]
    return _end_row("bn_baseline_end", "Trained to the end, BN-Baseline reaches a higher accuracy than the baseline",
                    long, "bn", "no_bn", gain)


def x30_row(long: ExperimentResult) -> Row:
    gain = paper.FIG3_MAX_ACCURACY["BN-x30"] - paper.FIG3_MAX_ACCURACY["BN-x5"]
    return _end_row("x30_end", "Trained to the end, BN-x30 reaches a higher accuracy than BN-x5", long, "bn_x30",
                    "bn_x5", gain)


def x5_row(conv: ExperimentResult, lrs: ExperimentResult) -> Row:
    base, x5 = report.runs_of(conv, "no_bn"), report.runs_of(lrs, "bn_x5")
    return _speedup_row("x5_speed", "BN-x5 (BN, 5× rate, the recipe) reaches it far faster still", "03_learning_rates",
                        base, x5, paper.fig3_speedup("BN-x5"), f"{paper.fig3_speedup('BN-x5'):.1f}× fewer steps")


def higher_rate_row(lrs: ExperimentResult) -> Row:
    """BN trains at the rate where the network without it fails: the top rung, ×30 (the paper's BN-x30)."""
    top = max(lrs.config["multipliers"])
    bn, no_bn = report.runs_of(lrs, f"bn_x{top:g}"), report.runs_of(lrs, f"no_bn_x{top:g}")
    done = lambda runs: sum(not report.failed(r) for r in runs)  # noqa: E731
    v = decide(Outcomes(trains=(done(bn), len(bn)), fails=(done(no_bn), len(no_bn))))
    ours = f"at ×{top:g}: BN {report.outcome_text(bn)}, no BN {report.outcome_text(no_bn)}"
    return Row("higher_rates", "BN allows much higher learning rates without divergence", "03_learning_rates",
               "BN-x5 and BN-x30 train", ours, v)


def recipe_rate_row(conv: ExperimentResult, lrs: ExperimentResult) -> Row:
    """The higher rate's own share: BN-x5 against the recipe at the base rate (both with BN), in steps."""
    return _speedup_row("recipe_rate", "Within the recipe, the 5× rate itself speeds BN up", "03_learning_rates",
                        report.runs_of(lrs, "bn_x1"), report.runs_of(lrs, "bn_x5"), None, "not reported alone",
                        target_runs=report.runs_of(conv, "no_bn"))


def bn_alone_not_enough_row(conv: ExperimentResult, lrs: ExperimentResult) -> Row:
    """BN alone does not take full advantage: BN-x5 against BN-Baseline, steps to the baseline's best."""
    steps = paper.FIG3_STEPS_TO_INCEPTION_MAX
    ratio = steps["BN-Baseline"] / steps["BN-x5"]
    return _speedup_row("recipe_package", "BN alone does not take full advantage: the recipe speeds BN up further",
                        "06_recipe", report.runs_of(conv, "bn"), report.runs_of(lrs, "bn_x5"), ratio,
                        f"{ratio:.1f}× fewer steps than BN-Baseline", target_runs=report.runs_of(conv, "no_bn"),
                        suffix=" fewer steps than BN-Baseline")


def sigmoid_row(sig: ExperimentResult, long: ExperimentResult) -> Row:
    """BN-x5-Sigmoid trains; the sigmoid network without BN, trained four times longer without a stop
    at chance, does not (:func:`bn.experiments.long_training.sustains_learning`)."""
    from bn.experiments.long_training import sustains_learning

    x5 = report.runs_of(sig, "bn_x5")
    no_bn = report.runs_of(long, "no_bn_sigmoid")
    learned = sum(sustains_learning(r) for r in no_bn)
    v = decide(Outcomes(trains=(sum(not report.failed(r) for r in x5), len(x5)), fails=(learned, len(no_bn))))
    acc = report.final_accuracy(x5)
    ours = (f"BN-x5-Sigmoid {report.outcome_text(x5)}, {report.percent(acc)}; no BN at "
            f"{no_bn[0].spec.train['steps']} steps: {learned} of {len(no_bn)} above chance")
    return Row("sigmoid", "BN makes a sigmoid network trainable where it otherwise is not", "04_sigmoid",
               f"{100 * paper.FIG3_MAX_ACCURACY['BN-x5-Sigmoid']:.1f} % vs < 0.1 %", ours, v)


def initialization_row(init: ExperimentResult, conv: ExperimentResult) -> Row:
    """Less care about initialization: at each scale, BN trains where no BN fails (outcomes, exact test);
    reproduced only if it is so at every scale."""
    from bn.experiments.initialization import compare_scale

    seeds = sorted({r.spec.seed for r in report.runs_of(init, f"bn_init{init.measures['init_scales'][0]:g}")})
    parts, verdicts = [], []
    for scale in init.measures["init_scales"]:
        c = compare_scale(init, conv, scale, seeds)
        n = {bn: sum(c.outcomes[bn].values()) for bn in (False, True)}
        verdicts.append(decide(Outcomes(trains=(c.outcomes[True]["completed"], n[True]),
                                        fails=(c.outcomes[False]["completed"], n[False]))))
        parts.append(f"×{scale:g}: BN {c.outcomes[True]['completed']}/{n[True]} trained, "
                     f"no BN {c.outcomes[False]['completed']}/{n[False]}")
    v = all_of(verdicts)
    return Row("initialization", "BN allows less careful initialization", "05_initialization", "qualitative",
               "; ".join(parts), v)


def recipe_items_row(rec: ExperimentResult, conv: ExperimentResult, lrs: ExperimentResult) -> Row:
    """Each item of the recipe accelerates the BN network: per item, the step ratio to the baseline's best,
    removed from the full recipe and added alone to BN-Baseline; reproduced only if every item is."""
    from bn.experiments import recipe

    runs = recipe.arm_runs(rec, {"convergence": conv, "learning_rates": lrs})
    target = report.baseline_best(report.runs_of(conv, "no_bn"))
    effects = recipe.item_effects(runs, target)
    words = {item: {e.steps_verdict() for (i, _), e in effects.items() if i == item} for item in recipe.RECIPE_ITEMS}
    seeds = sorted({e.n for e in effects.values()})
    if all(w == {"reproduced"} or w == {"reproduced", "not resolved"} for w in words.values()):
        word = "reproduced"
    elif all("reversed" in w for w in words.values()):
        word = "reversed"
    else:
        word = "not resolved"
    resolved = sorted(recipe.ITEM_TEXT[i] for i, w in words.items() if w & {"reproduced", "reversed"})
    ours = (f"steps to the baseline's best, each item removed and added alone: "
            f"{'resolved for ' + ', '.join(resolved) if resolved else 'no item resolved'} "
            f"({'/'.join(map(str, seeds))} seeds)")
    return Row("recipe_items", "Each item of the recipe accelerates the BN network", "06_recipe",
               "qualitative (Sec. 4.2.1)", ours, Verdict(word, None, "per item, on steps to the target", None))


ROWS: list[tuple[Callable[..., Row], tuple[str, ...]]] = [
    (fig1_speed_row, ("fig1_mlp",)),
    (fig1_stability_row, ("fig1_equal_rates",)),
    (convergence_row, ("convergence",)),
    (bn_baseline_end_row, ("long_training",)),
    (x5_row, ("convergence", "learning_rates")),
    (higher_rate_row, ("learning_rates",)),
    (x30_row, ("long_training",)),
    (recipe_rate_row, ("convergence", "learning_rates")),
    (bn_alone_not_enough_row, ("convergence", "learning_rates")),
    (sigmoid_row, ("sigmoid", "long_training")),
    (initialization_row, ("initialization", "convergence")),
    (recipe_items_row, ("recipe", "convergence", "learning_rates")),
]


# Where each row is tested, so that a chapter computes only its own rows (the others' results may be
# rerunning); the Row's own ``chapter`` field is the one that counts, and a test checks they agree.
CHAPTER_OF = {"fig1_speed_row": "01_fig1_mlp", "fig1_stability_row": "01_fig1_mlp",
              "convergence_row": "02_convergence", "bn_baseline_end_row": "07_long_training",
              "x5_row": "03_learning_rates", "higher_rate_row": "03_learning_rates", "x30_row": "07_long_training",
              "recipe_rate_row": "03_learning_rates", "bn_alone_not_enough_row": "06_recipe",
              "sigmoid_row": "04_sigmoid", "initialization_row": "05_initialization",
              "recipe_items_row": "06_recipe"}


def rows(results: dict[str, ExperimentResult] | None = None) -> list[Row]:
    """Every row, from ``results`` (name -> result) or the committed files."""
    from bn.experiments.base import load_experiment_result

    names = {n for _, needs in ROWS for n in needs}
    results = results or {n: load_experiment_result(n) for n in names}
    return [make(*[results[n] for n in needs]) for make, needs in ROWS]


def holm_column(rs: list[Row]) -> list[str]:
    """Per row: whether its verdict survives Holm's correction over every row that made a test
    ("yes"/"no"), or "–" for a verdict that settles nothing to correct."""
    keep = holm([r.verdict.p for r in rs])
    return ["–" if r.verdict.word not in ("reproduced", "reversed") or k is None else ("yes" if k else "no")
            for r, k in zip(rs, keep)]


def table(results: dict[str, ExperimentResult] | None = None) -> Table:
    """The scorecard as a table (claim, paper, ours with 95 % intervals, verdict, survives Holm)."""
    rs = rows(results)
    return Table(["claim (Ioffe & Szegedy 2015)", "paper (ImageNet)", "ours (CIFAR-10, 95 % intervals)", "verdict",
                  "after Holm"],
                 [[r.claim, r.paper, r.ours, r.verdict.text(), h] for r, h in zip(rs, holm_column(rs))])


def glue_chapter(chapter: str, results: dict[str, ExperimentResult] | None = None) -> list[Row]:
    """Glue ``verdict_KEY`` (the verdict's text) and ``verdict_KEY_ours`` for every row tested in
    ``chapter`` (e.g. ``"03_learning_rates"``); return those rows."""
    from bn.experiments.base import load_experiment_result
    from bn.glue import glue

    mine = []
    for make, needs in ROWS:
        if make.__name__ in CHAPTER_OF and CHAPTER_OF[make.__name__] != chapter:
            continue
        row = make(*[(results or {}).get(n) or load_experiment_result(n) for n in needs])
        if row.chapter == chapter:
            mine.append(row)
    for r in mine:
        glue(f"verdict_{r.key}", r.verdict.text(), display=False)
        glue(f"verdict_{r.key}_ours", r.ours, display=False)
    return mine



def verdict_words(rs: list[Row]) -> dict[str, str]:
    """What a chapter pastes of its scorecard rows, as the mapping field of its summary that
    :func:`bn.glue.glue_record` glues under ``verdict_`` (``field(metadata={"glue": "verdict_"})``):
    per row, ``KEY`` the verdict's words and ``KEY_ours`` our number with its interval; the same
    names :func:`glue_chapter` glues."""
    out: dict[str, str] = {}
    for r in rs:
        out[r.key] = r.verdict.text()
        out[f"{r.key}_ours"] = r.ours
    return out

# The claims made since the paper that Part VI tests, one study per chapter: each study module's
# ``claim_rows(result)`` gives its rows (chapter ids "today/NN_name").


def today_rows(results: dict[str, ExperimentResult] | None = None, studies: tuple[str, ...] | None = None
               ) -> list[Row]:
    """Every row of Part VI's studies (``studies``, by default :data:`TODAY`), from ``results`` (name ->
    result) or the committed files."""
    import importlib

    from bn.experiments.base import load_experiment_result

    out = []
    for name in TODAY if studies is None else studies:
        module = importlib.import_module(f"bn.experiments.{name}")
        out += module.claim_rows((results or {}).get(name) or load_experiment_result(name))
    return out


def today_table(rs: list[Row]) -> Table:
    """Part VI's scorecard: each claim with its source, the source's number, ours, the verdict, and
    whether it survives Holm's correction over these rows."""
    return Table(["claim (source)", "source's number", "ours (95 % intervals)", "verdict", "after Holm"],
                 [[r.claim, r.paper, r.ours, r.verdict.text(), h] for r, h in zip(rs, holm_column(rs))])


@dataclass(frozen=True)
class TodaySummary:
    """What Part VI's overview states: how many claims, how many of each verdict, how many made a test
    (``tested``), how many reproduced or reversed verdicts survive Holm's correction over those tests and
    how many do not, and the CPU minutes of all its committed profiles together."""

    claims: int
    reproduced: int
    reversed: int
    not_resolved: int
    not_tested: int
    tested: int
    survive_holm: int
    lose_holm: int
    cpu_minutes: float


def today_summary(rs: list[Row], results: dict[str, ExperimentResult] | None = None,
                  studies: tuple[str, ...] | None = None) -> TodaySummary:
    """Counts of ``rs``'s verdicts and the studies' CPU time (``provenance.cpu_time_s``)."""
    from bn.experiments.base import load_experiment_result

    words = [r.verdict.word for r in rs]
    names = TODAY if studies is None else studies
    cpu = sum(((results or {}).get(n) or load_experiment_result(n)).provenance["cpu_time_s"] for n in names)
    holm_words = holm_column(rs)
    return TodaySummary(len(rs), words.count("reproduced"), words.count("reversed"), words.count("not resolved"),
                        words.count("not tested at this budget"), sum(r.verdict.p is not None for r in rs),
                        holm_words.count("yes"), holm_words.count("no"), cpu / 60)


CIFAR10_TRAIN_IMAGES = 50_000
"""The official training set's size; the validation split is held out of it."""


@dataclass(frozen=True)
class MethodSummary:
    """How the training experiments are run and judged, as their set-up chapter states it (glued
    ``setup_`` + field).

    The verdict rule: ``level`` (%) of every interval, the ``late`` share (%) of a run's steps that
    the plateau rule and the test of sustained learning read, ``alpha_side`` (%) per side of Fisher's
    test, ``sustain_margin`` (points above chance) a run must sustain to count as learning.
    The committed results of the paper's claims: how many (``n_results``), the data ``copy`` they
    were computed on, their CPU minutes together (``cpu_total``).
    The CNN's cpu profile (:func:`bn.experiments.settings.cnn_profiles`, shared by the studies after
    Fig. 1): ``steps`` of ``batch`` images, ``widths``, evaluated ``n_evals`` times (every
    ``eval_every`` steps and at the end) on ``eval_examples`` of the ``n_val`` held-out images
    (training on ``n_fit``), with a binomial standard error ``eval_se`` (points) near 50 %;
    ``seeds`` reported seeds and the selection seed ``select_seed``; the gpu profile's
    ``gpu_widths`` and ``gpu_steps``.
    Failures: a run stalls after ``stall`` evaluations at most ``chance`` (%), diverges when the mean
    of its last ``div_window`` losses exceeds ``div_factor`` times the first; a nonlinearity counts
    as saturated within ``sat_margin`` of its bounds.
    """

    level: float
    late: float
    alpha_side: float
    sustain_margin: float
    copy: str
    n_results: int
    cpu_total: float
    eval_examples: str
    eval_every: int
    n_evals: int
    n_val: str
    n_fit: str
    steps: int
    batch: int
    widths: str
    gpu_widths: str
    gpu_steps: str
    seeds: int
    select_seed: int
    stall: int
    eval_se: float
    chance: float
    sat_margin: float
    div_window: int
    div_factor: float


def method_summary(results: Mapping[str, ExperimentResult]) -> MethodSummary:
    """The rule that judges the training experiments and the set-up they share, with what
    ``results`` (name -> committed result of a paper claim) add: how many, their data, their CPU time."""
    from bn.diagnostics import SATURATION_MARGIN
    from bn.experiments.long_training import SUSTAIN_MARGIN
    from bn.experiments.settings import cnn_profiles
    from bn.formatting import data_copy_label
    from bn.statistics import LATE_FRACTION, LEVEL
    from bn.statistics.verdict import ALPHA_PER_SIDE
    from bn.training import DivergenceMonitor
    from bn.training.loop import CHANCE_MARGIN

    profiles = cnn_profiles(cpu={}, gpu={})
    cnn, gpu = profiles["cpu"], profiles["gpu"]
    copies = sorted({res.provenance["data"]["copy"] for res in results.values()})
    monitor = DivergenceMonitor()
    return MethodSummary(
        level=100 * LEVEL, late=100 * LATE_FRACTION, alpha_side=100 * ALPHA_PER_SIDE,
        sustain_margin=100 * SUSTAIN_MARGIN,
        copy=", ".join(data_copy_label(c) for c in copies), n_results=len(results),
        cpu_total=sum(res.provenance["cpu_time_s"] for res in results.values()) / 60,
        eval_examples=f"{cnn['eval_examples']:,}", eval_every=cnn["eval_every"],
        n_evals=cnn["steps"] // cnn["eval_every"] + 2, n_val=f"{cnn['n_val']:,}",
        n_fit=f"{CIFAR10_TRAIN_IMAGES - cnn['n_val']:,}", steps=cnn["steps"], batch=cnn["batch_size"],
        widths=", ".join(map(str, cnn["widths"])), gpu_widths=", ".join(map(str, gpu["widths"])),
        gpu_steps=f"{gpu['steps']:,}", seeds=len(cnn["seeds"]), select_seed=cnn["select_seed"],
        stall=cnn["stall_window"], eval_se=100 * 0.5 / cnn["eval_examples"] ** 0.5,
        chance=100 * (0.1 + CHANCE_MARGIN), sat_margin=SATURATION_MARGIN, div_window=monitor.window,
        div_factor=monitor.factor)
