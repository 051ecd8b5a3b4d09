"""Fig. 1's stability claim at equal rates: both MLP arms at both rates the Fig. 1 sweeps chose.

In experiment 1 each arm ran at its own selected rate (no BN 0.03, BN 0.3), so a
difference in how far a sigmoid's input drifts mixes BN with a rate ten times
larger. Here both arms run at both rates, five seeds each, and the measure covers
every unit of the last hidden layer (the 15th, 50th and 85th percentiles of each
unit's sigmoid input on a fixed probe batch), not one unit.

The rule, fixed before the runs: per run, the drift of a unit is how far the
median of its sigmoid input moves (maximum minus minimum over the evaluations
after ``drift_after_step``), in absolute units and divided by the unit's mean
15-85 % width over the same evaluations; a run's drift is the median over its
units. "BN makes the input more stable" is *reproduced* only if the paired ratio
no BN / BN excludes 1 from above at both rates, in both units; *reversed* if it
excludes 1 from below at both rates, in both units; otherwise *not resolved*
(the answer depends on the rate or on the unit of measurement).

:func:`summarize` gives the Fig. 1 chapter's numbers, from this result and the fig1_mlp result it
builds on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from bn.statistics import Interval, paired_ratio_ci
from bn.experiments.base import Context, Experiment, ExperimentResult, RunRecord, RunSpec
from bn.experiments.report import failed, paired_runs

CLAIM = ("With BN the distribution of a sigmoid's input is much more stable over training, at the same "
         "learning rate (Ioffe & Szegedy 2015, Fig. 1b, c).")

UNITS = ("absolute", "width")
"""The two units a drift is measured in: the sigmoid input's own, and multiples of the unit's 15-85 % width."""


def spec(cfg: dict[str, Any], bn: bool, lr: float, seed: int) -> RunSpec:
    """One MLP run (arm ``bn`` at rate ``lr``) measuring every last-layer unit's sigmoid input."""
    from bn.experiments import fig1_mlp

    s = fig1_mlp.spec(cfg, bn, lr, seed)
    return RunSpec(arm=f"{s.arm}_lr{lr:g}", label=f"{s.label}, rate {lr:g}", seed=seed, model=s.model,
                   train=s.train, measure="sigmoid_input_units", tags={"bn": bn, "lr": lr})


def selected_rates(cfg: dict[str, Any]) -> tuple[list[float], dict[str, Any]]:
    """The rates to run at: the two the Fig. 1 sweeps chose (from the result ``cfg["rates_from"]`` names,
    ``"fig1_mlp"`` or ``"fig1_mlp_gpu"``), or the profile's own list."""
    if not isinstance(cfg["rates_from"], str):
        return sorted(float(r) for r in cfg["rates_from"]), {"rates": cfg["rates_from"]}
    from bn.results import load_result

    res = load_result(cfg["rates_from"])
    chosen = {arm: float(lr) for arm, lr in res["measures"]["lr"].items()}
    return sorted(set(chosen.values())), {"file": f"{cfg['rates_from']}.json", "chosen": chosen,
                                          "commit": res["provenance"]["code"]["commit"]}


def run(ctx: Context, cfg: dict[str, Any]) -> dict[str, Any]:
    rates, source = selected_rates(cfg)
    ctx.run_all([spec(cfg, bn, lr, seed) for lr in rates for seed in ctx.seeds for bn in (False, True)])
    return {"rates": rates, "rates_source": source, "drift_after_step": cfg["drift_after_step"]}


def _profiles() -> dict[str, dict[str, Any]]:
    from bn.experiments.fig1_mlp import PROFILES as FIG1

    # Evaluated every 250 steps (21 times, 19 of them after step 500): the drift needs the trajectory,
    # not every 100th step, and 100 units x 3 percentiles per evaluation fill the file quickly.
    return {"smoke": {**FIG1["smoke"], "rates_from": [0.03, 0.3]},
            "cpu": {**FIG1["cpu"], "eval_every": 250, "rates_from": "fig1_mlp"},
            "gpu": {**FIG1["gpu"], "rates_from": "fig1_mlp_gpu"}}


PROFILES = _profiles()


# ---------------------------------------------------------------------------------------------
# Analysis

def unit_drifts(run: RunRecord, after_step: int) -> dict[str, np.ndarray]:
    """Per unit of one run: the drift of its median sigmoid input after ``after_step``, in each of :data:`UNITS`."""
    h = run.history
    rows = [np.asarray(m["sigmoid_input_units"], dtype=float) for step, m in zip(h.eval_step, h.measures)
            if step >= after_step]
    if len(rows) < 2:
        raise ValueError(f"run has fewer than 2 evaluations at steps >= {after_step}")
    q = np.stack(rows)                          # (evaluations, 3 percentiles, units)
    drift = q[:, 1].max(0) - q[:, 1].min(0)     # the median's range
    width = (q[:, 2] - q[:, 0]).mean(0)         # the 15-85 % width, averaged over the same evaluations
    return {"absolute": drift, "width": drift / width}


def run_drift(run: RunRecord, after_step: int) -> dict[str, float]:
    """A run's drift in each unit of measurement: the median over its units."""
    return {u: float(np.median(v)) for u, v in unit_drifts(run, after_step).items()}


@dataclass(frozen=True)
class RateComparison:
    """At one rate: the paired ratio of drifts no BN / BN in each unit, and the seeds it pairs."""

    lr: float
    ratio: dict[str, Interval]
    seeds: list[int]
    left_out: int


def compare_at(result: ExperimentResult, lr: float) -> RateComparison:
    """No BN against BN at rate ``lr``: paired ratio of run drifts (runs that failed are counted as left out)."""
    from bn.experiments.report import runs_of

    after = result.measures["drift_after_step"]
    no_bn, bn = runs_of(result, f"no_bn_lr{lr:g}"), runs_of(result, f"bn_lr{lr:g}")
    pairs = [(a, b) for a, b in paired_runs(no_bn, bn) if not failed(a) and not failed(b)]
    da = [run_drift(a, after) for a, _ in pairs]
    db = [run_drift(b, after) for _, b in pairs]
    ratio = {u: paired_ratio_ci([d[u] for d in da], [d[u] for d in db]) for u in UNITS}
    return RateComparison(lr, ratio, [a.spec.seed for a, _ in pairs], len(no_bn) - len(pairs))


def comparisons(result: ExperimentResult) -> list[RateComparison]:
    """One :class:`RateComparison` per rate, in increasing rate."""
    return [compare_at(result, lr) for lr in result.measures["rates"]]


def stability_intervals(result: ExperimentResult) -> list[Interval]:
    """Every ratio the verdict rests on (each rate, each unit), in order."""
    return [c.ratio[u] for c in comparisons(result) for u in UNITS]


def rates_table(result: ExperimentResult) -> "Table":
    """Per rate: outcomes of both arms, the median drift of each (absolute units) and the paired ratios
    no BN / BN in both units, each with the rule's verdict."""
    from bn.experiments.report import Table, outcome_text, runs_of, times, verdict

    after = result.measures["drift_after_step"]
    rows = []
    for c in comparisons(result):
        no_bn, bn = runs_of(result, f"no_bn_lr{c.lr:g}"), runs_of(result, f"bn_lr{c.lr:g}")
        med = {arm: float(np.median([run_drift(r, after)["absolute"] for r in runs if not failed(r)]))
               for arm, runs in (("no_bn", no_bn), ("bn", bn))}
        rows.append([f"{c.lr:g}", outcome_text(no_bn), outcome_text(bn), f"{med['no_bn']:.2f}", f"{med['bn']:.2f}"]
                    + [f"{times(c.ratio[u])}: {verdict(c.ratio[u])}" for u in UNITS])
    return Table(["rate", "no BN", "BN", "drift, no BN", "drift, BN", "ratio no BN / BN (absolute)",
                  "ratio (in 15–85 % widths)"], rows)


@dataclass(frozen=True)
class Fig1Summary:
    """Every number and phrase the Fig. 1 chapter glues (``fig1_`` + field; a mapping entry by entry,
    ``fig1_`` + field + ``_`` + key): of the fig1_mlp study, each arm at its own rate, and of this
    one, which builds on it.

    The set-up of fig1_mlp: ``steps`` of ``batch`` examples with ``momentum``, ``seeds`` per arm
    (``seed_list``), the data ``copy``, the ``validation`` split and the ``n_fit`` images trained on, the rate ``grid``,
    the selection seed ``select_seed`` and ``rule``, each arm's chosen rate ``lr`` (``no_bn``, ``bn``)
    and their ratio ``lr_ratio``, evaluations every ``eval_every`` steps on ``eval_examples``, the
    ``probe`` batch, the first step of the drift ``after``, the study's ``cpu_min`` and ``wall_min``.
    Speed and accuracy, paired over seeds: the no-BN arm's best (``best_no``), the lower of the two
    arms' bests (``plateau``), the speedup to the no-BN arm's best (``speed_best``, its verdict
    ``speed_best_verdict``), the round ``target`` accuracies (keys ``1``, ``2``) and the speedups to
    them (``speed``: ``t1``, ``t1_verdict``, ...), the final test accuracies (``acc_no``, ``acc_bn``),
    their paired difference ``diff`` and its verdict ``diff_verdict``, the plateau rule's reading of
    each arm (``plateau_no``, ``plateau_bn``) and each arm's outcomes (``outcome_no``, ``outcome_bn``).
    The drift of unit 0's sigmoid input: ``drift`` (keys ``no_P``, ``y_P``, ``xhat_P`` for percentile
    P: no BN's input, BN's input, BN's x-hat), the paired ratio no BN / BN (``ratio``: ``P`` and
    ``P_verdict``), at the last evaluation BN's ``|gamma|`` (``gamma_end``) and the input's median
    (``median_end``: ``no``, ``bn``).
    Both arms at both rates, every unit (this study): ``eq_rates``, ``eq_seeds``, the paired ratios
    ``eq`` (keys ``RATE_UNIT``) and the study's ``eq_cpu_min``.
    ``verdict``: the scorecard's words for this chapter's rows (glued ``verdict_`` + key).
    """

    steps: str
    batch: int
    momentum: float
    seeds: int
    seed_list: str
    copy: str
    validation: str
    n_fit: str
    grid: str
    select_seed: int
    rule: str
    lr: dict[str, str]
    eval_every: int
    eval_examples: str
    probe: str
    after: str
    cpu_min: float
    wall_min: float
    best_no: str
    plateau: str
    speed_best: str
    speed_best_verdict: str
    target: dict[str, str]
    speed: dict[str, str]
    diff: str
    diff_verdict: str
    plateau_no: str
    plateau_bn: str
    acc_no: str
    acc_bn: str
    outcome_no: str
    outcome_bn: str
    drift: dict[str, str]
    ratio: dict[str, str]
    lr_ratio: str
    gamma_end: str
    median_end: dict[str, str]
    eq_rates: str
    eq_seeds: int
    eq: dict[str, str]
    eq_cpu_min: float
    verdict: dict[str, str] = field(metadata={"glue": "verdict_"})


def summarize(result: ExperimentResult, fig1: ExperimentResult | None = None) -> Fig1Summary:
    """The Fig. 1 chapter's numbers from this study's result (both arms at both chosen rates) and the
    fig1_mlp result it builds on (each arm at its own rate; loaded from ``book/results`` if not given)."""
    import inspect

    from bn.experiments import report, scorecard
    from bn.experiments.base import PERCENTILES, sigmoid_input_measure
    from bn.experiments.fig1_mlp import QUANTITIES, drift_summary, fixed_targets
    from bn.formatting import data_copy_label, interval
    from bn.statistics import mean_ci

    if fig1 is None:
        from bn.experiments.base import load_experiment_result

        fig1 = load_experiment_result("fig1_mlp")
    cfg, prov, measures = fig1.config, fig1.provenance, fig1.measures
    no_bn, bn = report.runs_of(fig1, "no_bn"), report.runs_of(fig1, "bn")
    best_no = report.baseline_best(no_bn)
    plateau = min(best_no, report.baseline_best(bn))
    targets = fixed_targets(plateau)
    speed = [report.paired_speedup(no_bn, bn, g) for g in [best_no] + targets]
    diff, _ = report.paired_final_difference(bn, no_bn)
    drift = drift_summary(no_bn, bn, measures["drift_after_step"])
    short = {("no_bn", "sigmoid_input"): "no", ("bn", "sigmoid_input"): "y", ("bn", "xhat"): "xhat"}
    ratio: dict[str, str] = {}
    for i, p in enumerate(PERCENTILES):
        ratio[f"{p}"], ratio[f"{p}_verdict"] = report.times(drift.ratio[i]), drift.verdicts()[i]
    # At the last evaluation: unit 0's |gamma| (width of y over width of x-hat) and the input's median.
    ends = [r.history.measures[-1] for r in bn]
    gamma = mean_ci([(e["sigmoid_input"][2] - e["sigmoid_input"][0]) / (e["xhat"][2] - e["xhat"][0]) for e in ends])
    comps = comparisons(result)
    sel = measures["selection"]
    probe = inspect.signature(sigmoid_input_measure).parameters["probe_examples"].default
    return Fig1Summary(
        steps=f"{cfg['steps']:,}", batch=cfg["batch_size"], momentum=cfg["momentum"], seeds=len(fig1.seeds),
        seed_list=", ".join(map(str, fig1.seeds)), copy=data_copy_label(prov["data"]["copy"]),
        validation=prov["data"]["validation"], n_fit=f"{prov['data']['n_fit']:,}",
        grid=", ".join(f"{r:g}" for r in cfg["rates"]), select_seed=sel["bn"]["seed"], rule=sel["bn"]["rule"],
        lr={arm: f"{measures['lr'][arm]:g}" for arm in ("no_bn", "bn")}, eval_every=cfg["eval_every"],
        eval_examples=f"{cfg['eval_examples']:,}", probe=f"{probe:,}", after=f"{measures['drift_after_step']:,}",
        cpu_min=prov["cpu_time_s"] / 60, wall_min=prov["wall_time_s"] / 60,
        best_no=f"{best_no * 100:.1f} %", plateau=f"{plateau * 100:.1f} %",
        speed_best=speed[0].text(), speed_best_verdict=report.verdict(speed[0].ratio),
        target={f"{i}": f"{t * 100:.0f} %" for i, t in enumerate(targets, 1)},
        speed={k: v for i, s in enumerate(speed[1:], 1)
               for k, v in ((f"t{i}", s.text()), (f"t{i}_verdict", report.verdict(s.ratio)))},
        diff=report.points(diff), diff_verdict=report.final_verdict(bn, no_bn, diff),
        plateau_no=report.plateau_of(no_bn).text(), plateau_bn=report.plateau_of(bn).text(),
        acc_no=report.percent(report.final_accuracy(no_bn)), acc_bn=report.percent(report.final_accuracy(bn)),
        outcome_no=report.outcome_text(no_bn), outcome_bn=report.outcome_text(bn),
        drift={f"{short[q]}_{p}": interval(drift.mean[q][i], 2, low_min=0.0)
               for i, p in enumerate(PERCENTILES) for q in QUANTITIES},
        ratio=ratio, lr_ratio=f"{measures['lr']['bn'] / measures['lr']['no_bn']:g}", gamma_end=gamma.fmt(2),
        median_end={k: mean_ci([r.history.measures[-1]["sigmoid_input"][1] for r in runs]).fmt(2)
                    for k, runs in (("no", no_bn), ("bn", bn))},
        eq_rates=" and ".join(f"{c.lr:g}" for c in comps), eq_seeds=len(comps[0].seeds),
        eq={f"{c.lr:g}_{u}": report.times(c.ratio[u]) for c in comps for u in UNITS},
        eq_cpu_min=result.provenance["cpu_time_s"] / 60,
        verdict=scorecard.verdict_words([scorecard.fig1_speed_row(fig1), scorecard.fig1_stability_row(result)]))



EXPERIMENT = Experiment(name="fig1_equal_rates", title="Fig. 1's stability at equal rates, every unit",
                        claim=CLAIM, profiles=PROFILES, run=run, summarize=summarize)
