"""Experiment 1, the paper's Fig. 1 on CIFAR-10: a 3x100 sigmoid MLP with and without BN.

Each arm gets its own best rate from a sweep on the validation split (the
selection seed, not a reported seed); then every reported seed runs at it.
Measures validation accuracy over training and, on a fixed probe batch of
validation images, the 15/50/85th percentiles of the input to one sigmoid of
the last hidden layer: with BN both the normalized ``xhat`` and the sigmoid's
actual input ``gamma * xhat + beta``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

from bn.statistics import Interval, mean_ci, paired_ratio_ci
from bn.experiments.base import PERCENTILES, Context, Experiment, RunRecord, RunSpec, select_rate
from bn.experiments.report import failed, paired_runs, verdict
from bn.formatting import Table, interval, times

CLAIM = ("With BN the network trains faster and reaches higher accuracy, and the distribution of a "
         "sigmoid's input is much more stable over training (Ioffe & Szegedy 2015, Fig. 1).")


def spec(cfg: dict[str, Any], bn: bool, lr: float, seed: int) -> RunSpec:
    """One run of the MLP arm ``bn`` at rate ``lr``; the arms share every other setting."""
    model = {"kind": "mlp", "hidden": list(cfg["hidden"]), "bn": bn, "activation": "sigmoid"}
    train = {"steps": cfg["steps"], "batch_size": cfg["batch_size"], "peak_lr": lr,
             "momentum": cfg["momentum"], "nesterov": False, "weight_decay": 0.0,
             "eval_every": cfg["eval_every"], "eval_examples": cfg["eval_examples"],
             "stall_window": cfg["stall_window"]}
    return RunSpec(arm="bn" if bn else "no_bn", label="with BN" if bn else "without BN", seed=seed,
                   model=model, train=train, measure="sigmoid_input")


def run(ctx: Context, cfg: dict[str, Any]) -> dict[str, Any]:
    chosen, selections = {}, {}
    for bn in (False, True):
        sel = select_rate(ctx, lambda lr, seed: spec(cfg, bn, lr, seed), cfg["rates"], cfg["select_seed"])
        chosen["bn" if bn else "no_bn"], selections["bn" if bn else "no_bn"] = sel["chosen"], sel
    ctx.run_all([spec(cfg, bn, chosen["bn" if bn else "no_bn"], seed) for seed in ctx.seeds for bn in (False, True)])
    return {"lr": chosen, "selection": selections, "drift_after_step": cfg["drift_after_step"]}


# The paper trained with mini-batches of 60 (Sec. 4.1): plain SGD with momentum, each arm at its own rate.
_COMMON = {"hidden": [100, 100, 100], "batch_size": 60, "momentum": 0.9, "select_seed": 100, "n_val": 5000,
           "rates": [0.01, 0.03, 0.1, 0.3, 1.0], "stall_window": 20}
PROFILES = {
    "smoke": {**_COMMON, "seeds": [0, 1, 2], "n_train": 600, "n_test": 200, "n_val": 100, "steps": 40,
              "eval_every": 4, "eval_examples": 100, "rates": [0.03, 0.3], "drift_after_step": 8,
              "stall_window": 0},
    "cpu": {**_COMMON, "seeds": [0, 1, 2, 3, 4], "n_train": None, "n_test": None, "steps": 5000,
            "eval_every": 100, "eval_examples": 2000, "drift_after_step": 500},
    "gpu": {**_COMMON, "seeds": [0, 1, 2, 3, 4], "n_train": None, "n_test": None, "steps": 50000,
            "eval_every": 1000, "eval_examples": None, "drift_after_step": 5000},
}

EXPERIMENT = Experiment(name="fig1_mlp", title="Fig. 1 analog: a sigmoid MLP with and without BN",
                        claim=CLAIM, profiles=PROFILES, run=run)


# ---------------------------------------------------------------------------------------------
# Analysis: how far the distribution of the sigmoid's input moves, and the accuracy targets.

QUANTITIES = (("no_bn", "sigmoid_input"), ("bn", "sigmoid_input"), ("bn", "xhat"))
"""What the chapter follows: (arm, measure) for no BN's sigmoid input, BN's ``gamma*xhat+beta``
and BN's ``xhat``."""


def percentile_drift(run: RunRecord, key: str,
                     after_step: int) -> list[float]:
    """How far each tracked percentile (15th, 50th, 85th) of measure
    ``key`` moved in one run.

    For each percentile: its maximum minus its minimum over the
    evaluations at steps ``>= after_step`` (so the first transient, while
    the network leaves its initialization, is excluded). In the units of
    the measure, i.e. of the sigmoid's input for ``"sigmoid_input"``, so
    the arms compare on one scale.
    """
    h = run.history
    rows = [m[key] for step, m in zip(h.eval_step, h.measures)
            if step >= after_step]
    if not rows or any(v is None for v in rows):
        raise ValueError(
            f"run has no {key!r} measured at steps >= {after_step}")
    return [max(r[i] for r in rows) - min(r[i] for r in rows)
            for i in range(len(PERCENTILES))]


@dataclass(frozen=True)
class DriftSummary:
    """Drift (``percentile_drift``) of every tracked percentile, over the seeds of both arms.

    ``mean[(arm, key)][i]``: mean drift of percentile ``PERCENTILES[i]`` over the completed runs,
    with its t interval; ``ratio[i]``: geometric mean over paired seeds of no-BN's drift of the
    sigmoid input over BN's (``gamma*xhat+beta``), with its t interval; ``left_out``: runs (of
    either arm) left out because they diverged or stalled; ``after_step``: the first step counted.
    """

    mean: dict[tuple[str, str], list[Interval]]
    ratio: list[Interval]
    per_run: dict[tuple[str, str], list[list[float]]]
    left_out: int
    after_step: int

    def verdicts(self) -> list[str]:
        """Per percentile, the rule's verdict: ``"reproduced"`` (no BN drifts more: the interval lies above 1),
        ``"reversed"`` or ``"not resolved"``."""
        return [verdict(iv, 1.0) for iv in self.ratio]


def drift_summary(no_bn: Sequence[RunRecord], bn: Sequence[RunRecord], after_step: int
                  ) -> DriftSummary:
    """The drift of no BN's sigmoid input, BN's ``gamma*xhat+beta`` and BN's ``xhat`` (see
    :func:`percentile_drift`) over the runs that completed, and the paired ratio no BN / BN
    of the sigmoid input's drift over the seeds where both completed."""
    runs = {"no_bn": [r for r in no_bn if not failed(r)], "bn": [r for r in bn if not failed(r)]}
    per_run = {(arm, key): [percentile_drift(r, key, after_step) for r in runs[arm]]
               for arm, key in QUANTITIES}
    mean = {q: [mean_ci([d[i] for d in per_run[q]]) for i in range(len(PERCENTILES))]
            for q in QUANTITIES}
    pairs = paired_runs(runs["no_bn"], runs["bn"])
    a = [percentile_drift(x, "sigmoid_input", after_step) for x, _ in pairs]
    b = [percentile_drift(y, "sigmoid_input", after_step) for _, y in pairs]
    ratio = [paired_ratio_ci([d[i] for d in a], [d[i] for d in b]) for i in range(len(PERCENTILES))]
    left_out = len(no_bn) + len(bn) - len(runs["no_bn"]) - len(runs["bn"])
    return DriftSummary(mean, ratio, per_run, left_out, after_step)


QUANTITY_LABELS = {("no_bn", "sigmoid_input"): "without BN: sigmoid input z",
                   ("bn", "sigmoid_input"): "with BN: sigmoid input γx̂+β",
                   ("bn", "xhat"): "with BN: normalized x̂"}


def drift_table(summary: DriftSummary, digits: int = 2) -> Table:
    """Mean drift per quantity and percentile with its interval (a drift is never negative, so the
    interval's low end is shown clipped at 0), and the paired ratio no BN / BN."""
    rows = [[QUANTITY_LABELS[q]] + [interval(iv, digits, low_min=0.0) for iv in summary.mean[q]]
            for q in QUANTITIES]
    rows.append(["ratio, without BN / with BN (sigmoid input)"] + [times(iv) for iv in summary.ratio])
    return Table(["drift after step " + str(summary.after_step)]
                 + [f"{p}th percentile" for p in PERCENTILES], rows)


def fixed_targets(plateau: float, step: float = 0.1, n: int = 2) -> list[float]:
    """The ``n`` highest multiples of ``step`` above chance (10 %) and strictly below ``plateau``:
    accuracy targets that every run whose best accuracy is ``plateau`` or more attains."""
    below = [round(k * step, 10) for k in range(1, int(math.ceil(1 / step)) + 1)
             if 0.1 < round(k * step, 10) < plateau]
    return below[-n:]
