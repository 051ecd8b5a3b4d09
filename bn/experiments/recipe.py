"""Experiment 6: the accelerating recipe, item by item, all with BN.

Two families of configurations around the two references, BN-Baseline (no
recipe item) and the full recipe (BN-x5):

* *removed*: the full recipe with one item left out, so an item's contribution
  is what is lost without it;
* *added alone*: BN-Baseline with one item added, so an item's contribution is
  what it gives on its own.

The references and one configuration are runs of other experiments with the
same specs (hence the same histories): BN-Baseline is experiment 2's BN arm,
the full recipe is experiment 3's BN-x5 rung, and the recipe without its higher
rate is experiment 3's BN-x1 rung; the control "no BN + recipe at the base
rate" is experiment 3's no-BN x1 rung. Only the other configurations run here
(``with_references`` false); :func:`reference_specs` names the borrowed ones so
a test can check that they coincide.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Sequence

from bn.experiments.base import Context, Experiment, ExperimentResult, RunRecord, RunSpec
from bn.experiments.report import (CensoredRatio, Table, arms, baseline_best, failed, final_accuracy, outcome_text,
                                   paired_final_difference, paired_runs, paired_speedup, percent, plateau_of, points,
                                   runs_of, steps_text, verdict)
from bn.statistics import VERDICTS, Evidence, Interval, decide
from bn.experiments.settings import RECIPE_ITEMS, base_rate, cnn_model, cnn_profiles, recipe_setup

CLAIM = ("BN alone does not take full advantage of the method; the network is accelerated by: a higher "
         "learning rate, removing dropout, reducing the L2 weight regularization 5x, accelerating the "
         "learning rate decay 6x, removing local response normalization, shuffling training examples "
         "more thoroughly and reducing the photometric distortions (Ioffe & Szegedy 2015, Sec. 4.2.1).")


REFERENCES = [("baseline", "BN-Baseline", ()), ("full", "full recipe (BN-x5)", RECIPE_ITEMS)]
# Borrowed from experiment 3 (learning_rates): the recipe without its higher rate.
BORROWED = {"without_higher_lr": "bn_x1"}

# What leaving an item out of the recipe means, and what adding it alone means, for labels.
_KEPT_AS_BASELINE = {"higher_lr": "base rate", "no_dropout": "dropout kept", "less_l2": "full L2",
                     "faster_decay": "slow decay", "fewer_distortions": "crops kept"}
_ADDED = {"higher_lr": "5x rate", "no_dropout": "no dropout", "less_l2": "L2 / 5", "faster_decay": "6x faster decay",
          "fewer_distortions": "no crops"}


def configurations(leave_out: list[str], add_alone: list[str], with_references: bool = True
                   ) -> list[tuple[str, str, tuple[str, ...]]]:
    """(arm, label, recipe items applied) for every configuration of the ablation.

    ``leave_out``: items each removed alone from the full recipe (arm ``without_ITEM``);
    ``add_alone``: items each added alone to BN-Baseline (arm ``only_ITEM``).
    """
    unknown = (set(leave_out) | set(add_alone)) - set(RECIPE_ITEMS)
    if unknown:
        raise ValueError(f"unknown recipe items {sorted(unknown)}")
    configs = list(REFERENCES) if with_references else []
    for item in leave_out:
        configs.append((f"without_{item}", f"recipe, but {_KEPT_AS_BASELINE[item]}",
                        tuple(i for i in RECIPE_ITEMS if i != item)))
    for item in add_alone:
        configs.append((f"only_{item}", f"BN-Baseline + {_ADDED[item]}", (item,)))
    return configs


def spec(cfg: dict[str, Any], base_lr: float, arm: str, label: str, items: tuple[str, ...], seed: int) -> RunSpec:
    train, dropout = recipe_setup(cfg, base_lr, items)
    return RunSpec(arm=arm, label=label, seed=seed, model=cnn_model(cfg, bn=True, dropout=dropout),
                   train=train, tags={"items": list(items)})


def run(ctx: Context, cfg: dict[str, Any]) -> dict[str, Any]:
    base = base_rate(ctx, cfg)
    seeds = ctx.seeds[:cfg["n_seeds"]]
    ctx.run_all([spec(cfg, base, arm, label, items, seed) for seed in seeds
                 for arm, label, items in configurations(cfg["leave_out"], cfg["add_alone"], cfg["with_references"])])
    return {"base_lr": base, "items": list(RECIPE_ITEMS), "borrowed": dict(BORROWED)}


def reference_specs(cfg: dict[str, Any], base_lr: float, seed: int) -> dict[str, RunSpec]:
    """The specs this experiment borrows, by arm: BN-Baseline, the full recipe, the recipe at the base rate."""
    out = {arm: spec(cfg, base_lr, arm, label, items, seed) for arm, label, items in REFERENCES}
    out["without_higher_lr"] = spec(cfg, base_lr, "without_higher_lr", "recipe, but base rate",
                                    tuple(i for i in RECIPE_ITEMS if i != "higher_lr"), seed)
    return out


_OTHERS = [i for i in RECIPE_ITEMS if i != "higher_lr"]
PROFILES = cnn_profiles(
    cpu={"base_lr": "convergence", "with_references": False, "leave_out": _OTHERS, "add_alone": list(RECIPE_ITEMS),
         "n_seeds": 2},
    gpu={"base_lr": "convergence", "with_references": False, "leave_out": _OTHERS, "add_alone": list(RECIPE_ITEMS),
         "n_seeds": 5},
    smoke={"base_lr": 0.03, "with_references": True, "leave_out": list(RECIPE_ITEMS),
           "add_alone": list(RECIPE_ITEMS), "n_seeds": 1})


# --- Analysis: what the chapter shows ------------------------------------------------------------

# Where the arms this experiment does not run come from: (result name, arm there).
BORROWED_RUNS = {"baseline": ("convergence", "bn"), "full": ("learning_rates", "bn_x5"),
                 "without_higher_lr": ("learning_rates", "bn_x1")}
# The controls without BN: the recipe at the base rate and the baseline set-up.
CONTROL_RUNS = {"no_bn_recipe": ("learning_rates", "no_bn_x1"), "no_bn_baseline": ("convergence", "no_bn")}
# Each recipe item in words, for tables and figures.
ITEM_TEXT = {"higher_lr": "5× rate", "no_dropout": "no dropout", "less_l2": "L2 / 5",
             "faster_decay": "6× faster decay", "fewer_distortions": "no random crops"}
# Every arm of the chapter in words, in the order the chapter lists them.
ARM_TEXT = {"baseline": "BN-Baseline", "full": "full recipe (BN-x5)",
            "without_higher_lr": "recipe at the base rate (BN-x1)",
            **{f"without_{i}": f"recipe, but {_KEPT_AS_BASELINE[i]}" for i in RECIPE_ITEMS if i != "higher_lr"},
            **{f"only_{i}": f"BN-Baseline + {ITEM_TEXT[i]}" for i in RECIPE_ITEMS},
            "no_bn_recipe": "no BN + recipe at the base rate", "no_bn_baseline": "Baseline (no BN)"}


def arm_runs(result: ExperimentResult, sources: dict[str, ExperimentResult]) -> dict[str, list[RunRecord]]:
    """Every arm of the chapter, by name (in the order of :data:`ARM_TEXT`): this result's own runs, and the
    borrowed ones.

    ``sources`` maps a result name (``"convergence"``, ``"learning_rates"``) to that
    result. An arm this result ran itself (a smoke run with its references) is taken
    from it; the others come from :data:`BORROWED_RUNS` and :data:`CONTROL_RUNS`.
    """
    out = {arm: runs_of(result, arm) for arm in arms(result)}
    for arm, (name, there) in {**BORROWED_RUNS, **CONTROL_RUNS}.items():
        if arm not in out:
            out[arm] = runs_of(sources[name], there)
    order = list(ARM_TEXT)
    return dict(sorted(out.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else len(order)))


def arm_source(result: ExperimentResult, arm: str) -> str:
    """Which result an arm's runs come from: ``"recipe"`` or e.g. ``"learning_rates: bn_x1"``."""
    if arm in arms(result):
        return "recipe"
    name, there = {**BORROWED_RUNS, **CONTROL_RUNS}[arm]
    return f"{name}: {there}"


def step_ratio(reference: Sequence[RunRecord], better: Sequence[RunRecord], target: float
               ) -> CensoredRatio:
    """``steps(reference) / steps(better)`` to ``target`` over paired seeds (:func:`report.paired_speedup`)."""
    return paired_speedup(reference, better, target)


def steps_verdict(ratio: CensoredRatio) -> str:
    """The verdict word on "fewer steps" (a bound settles only its own side)."""
    return verdict(ratio.ratio, 1.0, bound=ratio.bound)


@dataclass(frozen=True)
class Effect:
    """What arm ``better`` gains over arm ``reference`` on the same seeds.

    ``accuracy``: mean paired difference of final test accuracy (fractions; pairs where
    a run failed left out, counted in ``failed_pairs``); ``differences``: the kept pairs'
    differences; ``steps``: the censored step ratio to the target; ``plateaued``: whether both
    arms' runs plateaued (:func:`report.plateau_of`), which a verdict on final accuracy, a claim
    about where training ends, needs.
    """

    label: str
    better: str
    reference: str
    accuracy: Interval | None
    failed_pairs: int
    differences: tuple[float, ...]
    steps: CensoredRatio
    plateaued: bool

    @property
    def n(self) -> int:
        return self.steps.n

    def accuracy_verdict(self) -> str:
        """The rule's verdict on "a higher final accuracy" (not tested unless both arms plateaued)."""
        return decide(Evidence(self.accuracy, 0.0, about_end=True, plateaued=self.plateaued)).word

    def steps_verdict(self) -> str:
        """The rule's verdict on "fewer steps to the target"."""
        return steps_verdict(self.steps)

    def accuracy_text(self) -> str:
        if self.accuracy is None:
            return f"– ({self.failed_pairs} pairs with a failed run)"
        text = points(self.accuracy) if math.isfinite(self.accuracy.low) else (
            f"{100 * self.accuracy.estimate:+.1f} points (one pair)")
        return text + (f", {self.failed_pairs} pairs left out (failed)" if self.failed_pairs else "")


def paired_effect(label: str, runs: dict[str, list[RunRecord]], better: str, reference: str,
                  target: float) -> Effect:
    """The :class:`Effect` of arm ``better`` over arm ``reference`` (both keys of ``runs``)."""
    a, b = runs[better], runs[reference]
    iv, left_out = paired_final_difference(a, b)
    kept = [(x, y) for x, y in paired_runs(a, b) if not failed(x) and not failed(y)]
    diffs = tuple(x.history.final_test_acc - y.history.final_test_acc for x, y in kept)
    flat = all(plateau_of(r).plateaued for r in (a, b) if any(not failed(x) for x in r))
    return Effect(label, better, reference, iv, left_out, diffs, step_ratio(b, a, target), flat)


def item_effects(runs: dict[str, list[RunRecord]], target: float) -> dict[tuple[str, str], Effect]:
    """Each recipe item's effect, by ``(item, "removed")`` and ``(item, "added")``.

    Removed: the full recipe over the recipe without the item (what is lost without it);
    added: BN-Baseline with the item alone over BN-Baseline (what it gives by itself).
    Items whose arms are missing from ``runs`` are skipped.
    """
    out: dict[tuple[str, str], Effect] = {}
    for item in RECIPE_ITEMS:
        if f"without_{item}" in runs:
            out[item, "removed"] = paired_effect(f"{ITEM_TEXT[item]}: removed", runs, "full", f"without_{item}",
                                                 target)
        if f"only_{item}" in runs:
            out[item, "added"] = paired_effect(f"{ITEM_TEXT[item]}: added alone", runs, f"only_{item}", "baseline",
                                               target)
    return out


# The attribution controls: (key, label, better arm, reference arm).
CONTROLS = [
    ("package", "the whole recipe with BN: full recipe vs BN-Baseline", "full", "baseline"),
    ("higher_rate", "the higher rate: full recipe vs recipe at the base rate", "full", "without_higher_lr"),
    ("other_items", "the other items, with BN: recipe at the base rate vs BN-Baseline", "without_higher_lr",
     "baseline"),
    ("other_items_no_bn", "the other items, without BN: no BN + recipe at the base rate vs Baseline",
     "no_bn_recipe", "no_bn_baseline"),
    ("bn_under_recipe", "BN under the recipe: recipe at the base rate, with vs without BN", "without_higher_lr",
     "no_bn_recipe"),
]


def control_effects(runs: dict[str, list[RunRecord]], target: float) -> dict[str, Effect]:
    """The attribution controls of :data:`CONTROLS`, by key."""
    return {key: paired_effect(label, runs, better, ref, target) for key, label, better, ref in CONTROLS}


def effect_table(effects: dict[Any, Effect], target: float, first: str = "comparison") -> Table:
    """One row per effect: seeds paired, accuracy difference and its verdict, step ratio and its verdict."""
    rows = [[e.label, str(e.n), e.accuracy_text(), e.accuracy_verdict(), e.steps.text(), e.steps_verdict()]
            for e in effects.values()]
    return Table([first, "seeds", "final test accuracy gained", "verdict",
                  f"times fewer steps to {100 * target:.1f} %", "verdict"], rows)


def configuration_table(result: ExperimentResult, runs: dict[str, list[RunRecord]], target: float) -> Table:
    """Every arm of the chapter: where its runs come from, seeds, outcomes, final accuracy, steps to ``target``."""
    rows = []
    for arm, rs in runs.items():
        seeds = ",".join(str(r.spec.seed) for r in sorted(rs, key=lambda r: r.spec.seed))
        rows.append([ARM_TEXT.get(arm, arm), arm_source(result, arm), seeds, outcome_text(rs),
                     percent(final_accuracy(rs)), steps_text(rs, target)])
    return Table(["configuration", "runs from", "seeds", "outcome", "final test accuracy",
                  f"steps to {100 * target:.1f} % (median, reached)"], rows)


def settings_table(cfg: dict[str, Any], base_lr: float) -> Table:
    """The five items that apply, as BN-Baseline and the full recipe set them (from :func:`recipe_setup`)."""
    base_train, base_dropout = recipe_setup(cfg, base_lr, ())
    full_train, full_dropout = recipe_setup(cfg, base_lr)
    what = [("higher_lr", "peak rate", "peak_lr"), ("faster_decay", "rate half-life (steps)", "half_life"),
            ("less_l2", "weight decay", "weight_decay"),
            ("fewer_distortions", "random-crop padding (pixels)", "crop_pad")]
    rows = [[ITEM_TEXT[i], name, f"{base_train[k]:.4g}", f"{full_train[k]:.4g}"] for i, name, k in what]
    rows.insert(1, [ITEM_TEXT["no_dropout"], "dropout before the classifier", f"{base_dropout:g}", f"{full_dropout:g}"])
    return Table(["item", "setting", "BN-Baseline", "full recipe"], rows)


def verdict_lists(effects: dict[tuple[str, str], Effect], direction: str, on: str = "accuracy"
                  ) -> dict[str, list[str]]:
    """The items of one direction (``"removed"`` / ``"added"``) grouped by verdict, on ``"accuracy"`` or ``"steps"``."""
    out: dict[str, list[str]] = {v: [] for v in VERDICTS}
    for (item, d), e in effects.items():
        if d == direction:
            out[e.accuracy_verdict() if on == "accuracy" else e.steps_verdict()].append(item)
    return out


def verdict_text(effects: dict[tuple[str, str], Effect], verdict_word: str, direction: str, on: str) -> str:
    """The items of ``direction`` whose verdict on ``on`` (``"accuracy"`` or ``"steps"``) is ``verdict_word``,
    each with its evidence: ``"5× rate (+4.6 points [3.8, 5.5])"``, or ``"none"``."""
    keys = verdict_lists(effects, direction, on)[verdict_word]
    texts = [f"{ITEM_TEXT[k]} ({effects[k, direction].accuracy_text() if on == 'accuracy' else effects[k, direction].steps.text()})"
             for k in keys]
    return "; ".join(texts) if texts else "none"


@dataclass(frozen=True)
class RecipeSummary:
    """What the recipe chapter states, glued under ``recipe_``.

    The set-up: data copy, base rate, the target (the no-BN baseline's best, in percent), the item
    configurations' seeds (``n_seeds``, ``seeds`` as words, the interval's ``df`` and ``t`` quantile),
    the borrowed configurations' seeds (``ref_n``), steps, batch, evaluation interval and examples, the
    experiment's own wall minutes, and which runs failed (``failures``). The items grouped by verdict
    (``removed`` / ``added``, keyed ``ON_VERDICT`` with ``on`` accuracy or steps, the verdict's spaces
    as underscores), each with its evidence. The attribution controls (``controls``, keyed ``KEY_acc``,
    ``KEY_steps``, ``KEY_acc_verdict``, ``KEY_steps_verdict`` for each key of :data:`CONTROLS`, glued
    ``recipe_KEY_...``); how many no-BN recipe runs never reach the target (``nobn_short``); the median
    half-width of the items' accuracy intervals in points; the full recipe's plateau reading. The
    scorecard's words for the chapter's rows (``verdict``, glued ``verdict_KEY``).
    """

    copy: str
    base_lr: str
    target: float
    n_seeds: int
    seeds: str
    t: float
    df: int
    ref_n: int
    steps: int
    batch: int
    eval_every: int
    eval_examples: int
    wall_min: float
    failures: str
    removed: dict[str, str]
    added: dict[str, str]
    controls: dict[str, str] = field(metadata={"glue": "recipe_"})
    nobn_short: int
    item_halfwidth: float
    package_plateau: str
    verdict: dict[str, str] = field(metadata={"glue": "verdict_"})


def summarize(result: ExperimentResult, convergence: ExperimentResult | None = None,
              learning_rates: ExperimentResult | None = None) -> RecipeSummary:
    """The chapter's numbers from a ``recipe`` result and the two results it borrows arms from
    (``convergence``, ``learning_rates``; the committed ones when not given)."""
    from bn.experiments import scorecard
    from bn.formatting import data_copy_label
    from bn.statistics import t_quantile

    if convergence is None or learning_rates is None:
        from bn.experiments.base import load_experiment_result

        convergence = convergence or load_experiment_result("convergence")
        learning_rates = learning_rates or load_experiment_result("learning_rates")
    cfg, prov = result.config, result.provenance
    runs = arm_runs(result, {"convergence": convergence, "learning_rates": learning_rates})
    target = baseline_best(runs["no_bn_baseline"])
    seeds = sorted({r.spec.seed for r in result.runs})
    effects, controls = item_effects(runs, target), control_effects(runs, target)
    lost = [f"{outcome_text(rs)} in {ARM_TEXT[a]}" for a, rs in runs.items() if any(failed(r) for r in rs)]
    by_verdict = {d: {f"{on}_{group.replace(' ', '_')}": verdict_text(effects, group, d, on)
                      for on in ("accuracy", "steps") for group in VERDICTS} for d in ("removed", "added")}
    words: dict[str, str] = {}
    for key, e in controls.items():
        words |= {f"{key}_acc": e.accuracy_text(), f"{key}_steps": e.steps.text(),
                  f"{key}_acc_verdict": e.accuracy_verdict(), f"{key}_steps_verdict": e.steps_verdict()}
    nobn = controls["other_items_no_bn"].steps
    half = sorted((e.accuracy.high - e.accuracy.low) / 2 * 100 for k, e in effects.items()
                  if e.accuracy is not None and k != ("higher_lr", "removed"))
    rows = [scorecard.bn_alone_not_enough_row(convergence, learning_rates),
            scorecard.recipe_items_row(result, convergence, learning_rates)]
    return RecipeSummary(
        copy=data_copy_label(prov["data"]["copy"]), base_lr=f"{result.measures['base_lr']:g}", target=100 * target,
        n_seeds=len(seeds), seeds=" and ".join(str(s) for s in seeds), t=t_quantile(0.975, max(len(seeds) - 1, 1)),
        df=len(seeds) - 1, ref_n=len(runs["full"]), steps=cfg["steps"], batch=cfg["batch_size"],
        eval_every=cfg["eval_every"], eval_examples=cfg["eval_examples"], wall_min=prov["wall_time_s"] / 60,
        failures="; ".join(lost) if lost else "none: every run of every configuration completed its steps",
        removed=by_verdict["removed"], added=by_verdict["added"], controls=words,
        nobn_short=nobn.n - nobn.reached_other, item_halfwidth=half[len(half) // 2],
        package_plateau=plateau_of(runs["full"]).text(), verdict=scorecard.verdict_words(rows))


EXPERIMENT = Experiment(name="recipe", title="The accelerating recipe, item by item",
                        claim=CLAIM, profiles=PROFILES, run=run, summarize=summarize)
