"""From a result file to what a chapter shows: runs of an arm, intervals over seeds, speedups, tables.

Diverged runs never enter a mean: they are counted and reported beside it.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from bn.analysis import Interval, mean_ci, ratio_ci, reached, steps_to_target
# The chapters read a result through this module; its cells' text is built in bn.formatting.
from bn.formatting import Table, count, percent, times

__all__ = ["Table", "arms", "count", "diverged_count", "final_accuracy", "mean_curve", "median_range",
           "percent", "reachable_best", "runs_of", "speedup", "stalled_count", "steps_to", "sweep_table",
           "times"]


def runs_of(result: dict[str, Any], arm: str, include_unchosen_sweep: bool = False) -> list[dict[str, Any]]:
    """The run records of ``arm``; for a swept arm only the chosen rate's runs (one per seed)."""
    runs = [r for r in result["runs"] if r["spec"]["arm"] == arm]
    if not include_unchosen_sweep and any(r["spec"]["tags"].get("sweep") for r in runs):
        runs = [r for r in runs if r["spec"]["tags"].get("chosen")]
    return runs


def arms(result: dict[str, Any]) -> list[str]:
    """The arms of a result, in the order they were run."""
    seen: list[str] = []
    for r in result["runs"]:
        if r["spec"]["arm"] not in seen:
            seen.append(r["spec"]["arm"])
    return seen


def diverged_count(runs: Sequence[dict[str, Any]]) -> int:
    """How many of ``runs`` diverged."""
    return sum(bool(r["history"]["diverged"]) for r in runs)


def final_accuracy(runs: Sequence[dict[str, Any]]) -> Interval | None:
    """Mean final test accuracy (whole test set) over the runs that did not diverge, with its t interval."""
    accs = [r["history"]["final_test_acc"] for r in runs if not r["history"]["diverged"]]
    return mean_ci(accs) if accs else None


def steps_to(runs: Sequence[dict[str, Any]], target: float) -> tuple[Interval | None, int]:
    """Mean steps to reach ``target`` over the runs that reached it, and how many did not."""
    kept, missing = reached([None if r["history"]["diverged"] else steps_to_target(r["history"], target)
                             for r in runs])
    return (mean_ci(kept) if kept else None), missing


def speedup(baseline: Sequence[dict[str, Any]], other: Sequence[dict[str, Any]], target: float
            ) -> Interval | None:
    """Ratio of mean steps to ``target``, baseline over other (> 1: other is faster), with its interval.

    None unless every run of both arms reached the target (a ratio over the
    subset that got there would flatter the arm that often did not).
    """
    a, miss_a = reached([steps_to_target(r["history"], target) for r in baseline])
    b, miss_b = reached([steps_to_target(r["history"], target) for r in other])
    if miss_a or miss_b or not a or not b:
        return None
    return ratio_ci(a, b)


def mean_curve(runs: Sequence[dict[str, Any]], key: str = "test_acc", x: str = "eval_step"
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x, mean, low, high) of ``history[key]`` over the non-diverged runs, a t interval at every x.

    ``x="train_seconds"`` averages the runs' clocks at each evaluation.
    """
    hs = [r["history"] for r in runs if not r["history"]["diverged"]]
    if not hs:
        raise ValueError("every run diverged")
    n = min(len(h[key]) for h in hs)
    ys = np.array([h[key][:n] for h in hs], dtype=float)
    xs = np.array([h[x][:n] for h in hs], dtype=float).mean(0)
    ivs = [mean_ci(ys[:, i]) for i in range(n)]
    return (xs, np.array([iv.estimate for iv in ivs]), np.array([iv.low for iv in ivs]),
            np.array([iv.high for iv in ivs]))


def median_range(run: dict[str, Any], key: str) -> float:
    """How far the median of measure ``key`` (e.g. ``"sigmoid_input"``) moved over one run: max minus min.

    Each entry of ``history["measures"]`` holds, per quantity, its 15th, 50th and
    85th percentile on the probe batch; the middle one is the median.
    """
    medians = [m[key][1] for m in run["history"]["measures"]]
    return max(medians) - min(medians)


def reachable_best(runs: Sequence[dict[str, Any]]) -> float:
    """The highest periodic test accuracy that *every* run reached: the minimum over runs of each run's maximum.

    The paper's target is "Inception's maximum accuracy"; with several seeds,
    taking the lowest of the seeds' maxima makes it an accuracy every baseline run attains.
    """
    return min(max(r["history"]["test_acc"]) for r in runs if not r["history"]["diverged"])


def sweep_table(result: dict[str, Any], arm: str) -> Table:
    """Peak rate against final test accuracy for the sweep runs of ``arm`` (first seed)."""
    rows = []
    for r in result["runs"]:
        if r["spec"]["arm"] == arm and r["spec"]["tags"].get("sweep"):
            h = r["history"]
            acc = "diverged" if h["diverged"] else f"{h['final_test_acc'] * 100:.1f} %"
            chosen = "chosen" if r["spec"]["tags"].get("chosen") else ""
            rows.append([f"{r['spec']['train']['peak_lr']:g}", acc, chosen])
    return Table(["peak rate", "final test accuracy (seed %d)" % result["seeds"][0], ""], rows)


def stalled_count(runs: Sequence[dict[str, Any]], chance: float = 0.1, margin: float = 0.05) -> int:
    """Runs that finished without diverging but did not learn: final accuracy below ``chance + margin``.

    A net whose units all died (e.g. ReLUs pushed negative by one huge early step)
    keeps a finite loss of about ln 10 and is not caught by the divergence
    monitor, yet it has failed as surely; 5 points above chance is far below any
    run that learned anything in our budget.
    """
    return sum(1 for r in runs if not r["history"]["diverged"]
               and r["history"]["final_test_acc"] is not None and r["history"]["final_test_acc"] < chance + margin)
