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

from dataclasses import dataclass, field
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


def arm_key(bn: bool, scale: float) -> str:
    """The chapter's short name of the arm ``bn`` at ``scale``, which its glue names end with:
    ``"bn_0.1"``, ``"nobn_10"``, ``"nobn_1"`` (the x1 reference)."""
    return f"{'bn' if bn else 'nobn'}_{scale:g}"


def check_reference(result: ExperimentResult, reference: ExperimentResult, seeds: Sequence[int]) -> None:
    """Raise ValueError unless the x1 runs of ``reference`` (the convergence result) are those this
    experiment would have made at scale 1: the same base rate, the same seeds, specs that differ in
    nothing but arm, label and tags (:func:`spec_differences`), and the same copy of the data."""
    meas = result.measures
    problems = []
    if reference.measures["baseline_lr"] != meas["lr"]:
        problems.append(f"base rate {reference.measures['baseline_lr']:g} against {meas['lr']:g}")
    for bn in (False, True):
        runs = scale_runs(result, reference, bn, 1.0, seeds)
        if [r.spec.seed for r in runs] != list(seeds):
            problems.append(f"{arm_name(bn, 1.0)}: seeds {[r.spec.seed for r in runs]}, not {list(seeds)}")
        for r in runs:
            differs = spec_differences(r, result.config, meas["lr"])
            if differs:
                problems.append(f"{r.spec.arm}, seed {r.spec.seed}: {', '.join(differs)} differ")
    if reference.provenance["data"]["copy"] != result.provenance["data"]["copy"]:
        problems.append("another copy of the data")
    if problems:
        raise ValueError("the x1 reference is not the run this experiment would make at scale 1: "
                         + "; ".join(problems))


def _median(values: Sequence[float]) -> float:
    return float(np.median(values))


@dataclass(frozen=True)
class InitializationSummary:
    """Every number and phrase the initialization chapter glues, under ``init_`` + field name; a
    mapping field holds one entry per arm and scale, keyed by :func:`arm_key` (``init_acc_bn_0.1``)
    or by the scale (``init_gap_10``).

    The set-up: the scales tried besides x1, the seeds and how many, the base rate (``"%g"``) and
    the file it came from, the data copy, steps, the stall rule's window and evaluation interval.

    The outcomes, per arm and scale (x1 from the convergence result): ``outcome`` and ``acc``
    (final test accuracy with its t interval); per scale besides x1 (:func:`compare_scale`):
    ``change`` per arm (paired against x1, ``"–"`` where no pair trained), ``scale_verdict``
    (glued as ``init_verdict_SCALE``) and ``gap``; ``verdict`` the scorecard's row (glued as
    ``verdict_initialization`` and ``verdict_initialization_ours``).

    The diagnostics: ``first_n`` the first losses kept per run; ``first`` the median first loss
    per arm and scale; at the first evaluation after step 0 (``health_step``), for the arms whose
    runs reached it, the first convolution's and the classifier's gradient norms (``grad_first``,
    ``grad_last``) and the fraction of zero ReLU outputs (``dead``); with BN, the first
    convolution's weight norm (``w_bn``) and relative gradient (``rel_bn``) per scale at that
    evaluation (``SCALE_start``) and the last (``SCALE_end``), and its initial norm at the smallest
    scale (``SCALE_init``); without BN, why and by which step the runs at the largest scale
    diverged (``div_reason_nobn``, ``div_step_nobn``) and by which step those at the smallest were
    stopped at chance (``stop_step_nobn``), keyed by that scale.
    """

    scales: str
    seeds: str
    n: int
    lr: str
    base_source: str
    copy: str
    steps: int
    window: int
    eval_every: int
    outcome: dict[str, str]
    acc: dict[str, str]
    change: dict[str, str]
    scale_verdict: dict[str, str] = field(metadata={"glue": "init_verdict_"})
    gap: dict[str, str]
    verdict: dict[str, str] = field(metadata={"glue": "verdict_"})
    first_n: int
    first: dict[str, str]
    grad_first: dict[str, str]
    grad_last: dict[str, str]
    dead: dict[str, str]
    health_step: int
    w_bn: dict[str, str]
    rel_bn: dict[str, str]
    div_reason_nobn: dict[str, str]
    div_step_nobn: dict[str, str]
    stop_step_nobn: dict[str, str]


def summarize(result: ExperimentResult, reference: ExperimentResult | None = None) -> InitializationSummary:
    """:class:`InitializationSummary` of the initialization result against its x1 runs, those of
    ``reference`` (the ``convergence`` result, read from ``book/results`` when not given), after
    :func:`check_reference` (a ValueError if they are not the runs this experiment would make)."""
    from bn.experiments import scorecard
    from bn.experiments.base import load_experiment_result
    from bn.formatting import data_copy_label

    reference = load_experiment_result("convergence") if reference is None else reference
    cfg, meas = result.config, result.measures
    seeds = sorted({r.spec.seed for r in result.runs})
    check_reference(result, reference, seeds)
    scales = sorted([meas["reference_scale"], *meas["init_scales"]])
    arms = [(bn, s) for bn in (False, True) for s in scales]
    runs = {(bn, s): scale_runs(result, reference, bn, s, seeds) for bn, s in arms}
    comparisons = {s: compare_scale(result, reference, s, seeds) for s in meas["init_scales"]}
    health = {k: health_at(rs) for k, rs in runs.items()}
    conv1 = {(s, when): first_conv_at(runs[(True, s)], i) for s in scales for when, i in (("start", 1), ("end", -1))}
    low, high = min(meas["init_scales"]), max(meas["init_scales"])
    w_bn = {f"{s:g}_{when}": f"{w:.2g}" for (s, when), (w, _) in conv1.items()}
    w_bn[f"{low:g}_init"] = f"{_median([r.history.health[0]['weight_norm'][0] for r in runs[(True, low)]]):.2g}"
    diverged = [r.history.diverged_at_step for r in runs[(False, high)] if r.history.diverged]
    stalled = [r.history.stalled_at_step for r in runs[(False, low)] if r.history.stalled]
    src = meas["base_lr_source"]
    return InitializationSummary(
        scales=", ".join(f"{s:g}" for s in meas["init_scales"]), seeds=", ".join(map(str, seeds)),
        n=len(seeds), lr=f"{meas['lr']:g}", base_source=f"{src['file']} ({src['profile']} profile)",
        copy=data_copy_label(result.provenance["data"]["copy"]), steps=cfg["steps"],
        window=cfg["stall_window"], eval_every=cfg["eval_every"],
        outcome={arm_key(*k): report.outcome_text(runs[k]) for k in arms},
        acc={arm_key(*k): report.percent(report.final_accuracy(runs[k])) for k in arms},
        change={arm_key(bn, s): "–" if c.change[bn][0] is None else report.points(c.change[bn][0])
                for s, c in comparisons.items() for bn in (False, True)},
        scale_verdict={f"{s:g}": c.verdict for s, c in comparisons.items()},
        gap={f"{s:g}": "–" if c.gap is None else report.points(c.gap) for s, c in comparisons.items()},
        verdict=scorecard.verdict_words([scorecard.initialization_row(result, reference)]),
        first_n=len(runs[(False, 1.0)][0].history.first_losses),
        first={arm_key(*k): f"{_median([r.history.first_losses[0] for r in runs[k]]):.2g}" for k in arms},
        grad_first={arm_key(*k): f"{h.first_grad:.1e}" for k, h in health.items() if h is not None},
        grad_last={arm_key(*k): f"{h.last_grad:.1e}" for k, h in health.items() if h is not None},
        dead={arm_key(*k): f"{h.saturated * 100:.0f} %" for k, h in health.items() if h is not None},
        health_step=health[(False, 1.0)].step,
        w_bn=w_bn, rel_bn={f"{s:g}_{when}": f"{rel:.2g}" for (s, when), (_, rel) in conv1.items()},
        div_reason_nobn={f"{high:g}": " / ".join(sorted({str(r.history.divergence_reason)
                                                          for r in runs[(False, high)]}))},
        div_step_nobn={f"{high:g}": f"{max(diverged) if diverged else '–'}"},
        stop_step_nobn={f"{low:g}": f"{max(stalled) if stalled else '–'}"},
    )


EXPERIMENT = Experiment(name="initialization", title="Initialization robustness: an init-scale sweep",
                        claim=CLAIM, profiles=PROFILES, run=run,
                        summarize=summarize)
