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
"""

from __future__ import annotations

from dataclasses import dataclass
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

EXPERIMENT = Experiment(name="fig1_equal_rates", title="Fig. 1's stability at equal rates, every unit",
                        claim=CLAIM, profiles=PROFILES, run=run)


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
