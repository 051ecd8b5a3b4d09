"""From a result file to what a chapter shows: runs of an arm, paired comparisons over seeds, tables.

A result is the typed :class:`bn.experiments.base.ExperimentResult` (read with
:func:`bn.experiments.base.load_experiment_result`), a run its
:class:`~bn.experiments.base.RunRecord`: ``run.spec.seed``, ``run.history.final_test_acc``.

Every run is counted. A run *completed* its steps, *diverged* (the loss blew up)
or *stalled* (stopped while sitting at chance, see ``bn.training.loop``); a failed
run never enters a mean of accuracies, and is reported beside it. A run that
never reached a target accuracy has a *censored* step count, "> its budget":
it enters a paired speedup as its budget, which makes that speedup a lower
bound, never as a missing value.

Comparisons are paired by seed (what a pair shares is computed by
:func:`bn.experiments.pairing.shared_streams`), so the statistics are taken over
per-seed differences (or log ratios), with t intervals; verdicts come from the one
rule, :func:`bn.statistics.decide`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from bn.analysis import first_reaching
from bn.statistics import (CensoredRatio, Evidence, Interval, Plateau, Verdict, censored_ratio, decide, mean_ci,
                           pair_by, paired_difference_ci, plateau)
# The chapters read a result through this module; its cells' text is built in bn.formatting.
from bn.formatting import Table, count, percent, points, times

if TYPE_CHECKING:  # the records live beside torch (bn.experiments.base), which a report does not load
    from bn.experiments.base import ExperimentResult, RunRecord

__all__ = ["CensoredRatio", "Table", "arms", "baseline_best", "best_accuracy", "count", "failed", "final_accuracy",
           "mean_curve", "outcome", "outcome_counts", "outcome_text", "paired_best_difference",
           "paired_final_difference", "paired_runs", "paired_speedup", "percent", "plateau_of", "points", "runs_of",
           "steps_to", "sweep_table", "times", "verdict"]



@dataclass(frozen=True)
class Row:
    """One claim of a scorecard: its key (glue names ``verdict_KEY``), where it is tested, the paper's number, ours, the verdict."""

    key: str
    claim: str
    chapter: str
    paper: str
    ours: str
    verdict: Verdict


def runs_of(result: ExperimentResult, arm: str, include_sweep: bool = False) -> list[RunRecord]:
    """The reported run records of ``arm`` (a sweep's runs, made with the selection seed, only on request)."""
    return [r for r in result.runs if r.spec.arm == arm and (include_sweep or not r.spec.tags.get("sweep"))]


def arms(result: ExperimentResult) -> list[str]:
    """The arms of a result, in the order they were run."""
    seen: list[str] = []
    for r in result.runs:
        if r.spec.arm not in seen:
            seen.append(r.spec.arm)
    return seen


def outcome(run: RunRecord) -> str:
    """``"completed"``, ``"diverged"`` or ``"stalled"``."""
    h = run.history
    if h.diverged:
        return "diverged"
    if h.stalled:
        return "stalled"
    return "completed"


def failed(run: RunRecord) -> bool:
    """Whether ``run`` diverged or stalled."""
    return outcome(run) != "completed"


def outcome_counts(runs: Sequence[RunRecord]) -> dict[str, int]:
    """How many runs completed, diverged and stalled."""
    out = {"completed": 0, "diverged": 0, "stalled": 0}
    for r in runs:
        out[outcome(r)] += 1
    return out


def outcome_text(runs: Sequence[RunRecord]) -> str:
    """``"5/5 trained"``, ``"2 diverged, 3 at chance (of 5)"``..."""
    c = outcome_counts(runs)
    n = len(runs)
    if c["completed"] == n:
        return f"{n}/{n} trained"
    parts = [f"{c['completed']} trained"] if c["completed"] else []
    parts += [f"{c['diverged']} diverged"] if c["diverged"] else []
    parts += [f"{c['stalled']} at chance"] if c["stalled"] else []
    return ", ".join(parts) + f" (of {n})"


def final_accuracy(runs: Sequence[RunRecord]) -> Interval | None:
    """Mean final test accuracy (whole test set, measured once) of the completed runs, with its t interval."""
    accs = [r.history.final_test_acc for r in runs if not failed(r)]
    return mean_ci(accs) if accs else None


def best_accuracy(run: RunRecord) -> float:
    """The highest periodic (validation) accuracy of one run."""
    return max(run.history.eval_acc)


def baseline_best(runs: Sequence[RunRecord]) -> float:
    """The paper's target, "the baseline's maximum accuracy", for several seeds: the lowest of the
    seeds' best periodic accuracies, so that every baseline run attains it."""
    return min(best_accuracy(r) for r in runs if not failed(r))


def steps_to(run: RunRecord, target: float, x: str = "eval_step") -> float | None:
    """Steps (or ``x="train_seconds"``) until ``run``'s periodic accuracy first reaches ``target``; None: never."""
    h = run.history
    return first_reaching(getattr(h, x), h.eval_acc, target)


def budget(run: RunRecord, x: str = "eval_step") -> float:
    """What a run that never reached a target is censored at: its whole step budget (or its last clock)."""
    if x == "eval_step":
        return float(run.spec.train["steps"])
    return float(getattr(run.history, x)[-1])


def paired_runs(a: Sequence[RunRecord], b: Sequence[RunRecord]) -> list[tuple[RunRecord, RunRecord]]:
    """The runs of ``a`` and ``b`` with equal seeds, in seed order (:func:`bn.statistics.pair_by`)."""
    return pair_by(a, b, key=lambda r: r.spec.seed)


def paired_speedup(base: Sequence[RunRecord], other: Sequence[RunRecord], target: float,
                   x: str = "eval_step") -> CensoredRatio:
    """How many times fewer steps (``x="train_seconds"``: seconds) ``other`` needs than ``base`` to reach
    ``target``, over paired seeds: :func:`bn.statistics.censored_ratio`, a run that never got there
    counting as its budget."""
    pairs = paired_runs(base, other)
    return censored_ratio([steps_to(a, target, x) for a, _ in pairs], [steps_to(b, target, x) for _, b in pairs],
                          [budget(a, x) for a, _ in pairs], [budget(b, x) for _, b in pairs])


def steps_text(runs: Sequence[RunRecord], target: float) -> str:
    """Median steps to ``target`` and how many runs reached it: ``"240 (5/5)"``, ``"> 500 (0/5)"``."""
    vals = [steps_to(r, target) for r in runs]
    got = [v for v in vals if v is not None]
    if not got:
        return f"> {int(budget(runs[0]))} (0/{len(runs)})"
    return f"{np.median(got):.0f} ({len(got)}/{len(runs)})"


def paired_final_difference(a: Sequence[RunRecord], b: Sequence[RunRecord]
                            ) -> tuple[Interval | None, int]:
    """Mean over seeds of final test accuracy ``a - b`` for pairs where both completed; and how many pairs
    were left out because a run failed (those are reported as failures, not as accuracies)."""
    pairs = paired_runs(a, b)
    kept = [(x, y) for x, y in pairs if not failed(x) and not failed(y)]
    if len(kept) == 0:
        return None, len(pairs)
    iv = paired_difference_ci([x.history.final_test_acc for x, _ in kept],
                              [y.history.final_test_acc for _, y in kept])
    return iv, len(pairs) - len(kept)


def verdict(iv: Interval | None, null: float = 1.0, claimed: str = "above", bound: str = "exact") -> str:
    """The verdict word of :func:`bn.statistics.decide` on a paired comparison that is not about where
    training ends (1 is "no effect" for a ratio, 0 for a difference)."""
    return decide(Evidence(iv, null, claimed=claimed, bound=bound)).word


def plateau_of(runs: Sequence[RunRecord]) -> Plateau:
    """The plateau rule (:func:`bn.statistics.plateau`) on the periodic accuracy of the completed ``runs``."""
    done = [r for r in runs if not failed(r)]
    if not done:
        raise ValueError("no run completed: a plateau needs whole runs")
    return plateau([(r.history.eval_step, r.history.eval_acc) for r in done], int(done[0].spec.train["steps"]))


def paired_best_difference(a: Sequence[RunRecord], b: Sequence[RunRecord]) -> tuple[Interval | None, int]:
    """Mean over seeds of the best periodic (validation) accuracy ``a - b`` (the paper's "maximum
    accuracy"), for pairs where both completed; and how many pairs were left out because a run failed."""
    pairs = paired_runs(a, b)
    kept = [(x, y) for x, y in pairs if not failed(x) and not failed(y)]
    if not kept:
        return None, len(pairs)
    return (paired_difference_ci([best_accuracy(x) for x, _ in kept], [best_accuracy(y) for _, y in kept]),
            len(pairs) - len(kept))


def mean_curve(runs: Sequence[RunRecord], key: str | None = None, x: str = "eval_step"
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x, mean, low, high) of a periodic quantity over the completed runs, a t interval at every x.

    ``key`` defaults to the periodic accuracy (validation where there was a split);
    ``x="train_seconds"`` averages the runs' clocks at each evaluation.
    """
    hs = [r.history for r in runs if not failed(r)]
    if not hs:
        raise ValueError("no run completed")
    ys_all = [h.eval_acc if key is None else getattr(h, key) for h in hs]
    n = min(len(y) for y in ys_all)
    ys = np.array([y[:n] for y in ys_all], dtype=float)
    xs = np.array([getattr(h, x)[:n] for h in hs], dtype=float).mean(0)
    ivs = [mean_ci(ys[:, i]) for i in range(n)]
    return (xs, np.array([iv.estimate for iv in ivs]), np.array([iv.low for iv in ivs]),
            np.array([iv.high for iv in ivs]))


def median_range(run: RunRecord, key: str) -> float:
    """How far the median of measure ``key`` (e.g. ``"sigmoid_input"``) moved over one run: max minus min."""
    medians = [m[key][1] for m in run.history.measures]
    return max(medians) - min(medians)


def sweep_table(result: ExperimentResult, arm: str, selection: dict[str, Any]) -> Table:
    """The selection sweep of ``arm``: rate, outcome and final validation accuracy of the selection seed's runs."""
    rows = []
    for r in result.runs:
        if r.spec.arm == arm and r.spec.tags.get("sweep"):
            h = r.history
            what = outcome(r)
            acc = f"{h.final_val_acc * 100:.1f} %" if what == "completed" else (
                "diverged" if what == "diverged" else f"at chance, stopped at step {h.stalled_at_step}")
            rate = r.spec.train["peak_lr"]
            rows.append((rate, [f"{rate:g}", acc, "chosen" if r.spec.tags.get("chosen") else ""]))
    rows.sort(key=lambda t: t[0])
    return Table(["peak rate", f"final validation accuracy (selection seed {selection['seed']})", ""],
                 [row for _, row in rows])


def targets(base: Sequence[RunRecord], fixed: Sequence[float] = (0.3, 0.4, 0.5, 0.6)
            ) -> list[tuple[str, float]]:
    """(name, accuracy) of the targets a speedup is read at: fixed levels and the baseline's best, in order."""
    best = baseline_best(base)
    out = [(f"{t * 100:.0f} %", float(t)) for t in fixed]
    out.append((f"baseline's best, {best * 100:.1f} %", best))
    return sorted(out, key=lambda t: t[1])


def speedup_table(base: Sequence[RunRecord], other: Sequence[RunRecord],
                  names: tuple[str, str], targets_: Sequence[tuple[str, float]]) -> Table:
    """Steps to each target for two arms (median, runs that reached it) and the paired speedup,
    in steps and in training seconds; a "≥" marks a lower bound (some base runs never got there)."""
    rows = [[name, steps_text(base, t), steps_text(other, t), paired_speedup(base, other, t).text(),
             paired_speedup(base, other, t, x="train_seconds").text()] for name, t in targets_]
    return Table(["target (validation)", f"{names[0]}: steps", f"{names[1]}: steps", "speedup in steps",
                  "speedup in seconds"], rows)


def seconds_per_step(runs: Sequence[RunRecord]) -> float:
    """Mean training seconds per step (evaluation excluded) over ``runs``."""
    return (sum(r.history.train_seconds[-1] for r in runs)
            / max(1, sum(r.history.steps_done for r in runs)))


def final_table(groups: Sequence[tuple[str, Sequence[RunRecord]]]) -> Table:
    """Per ``(label, runs)``: outcomes, best validation accuracy, final test accuracy (once, whole test set)
    of the completed runs, and training seconds per step."""
    rows = []
    for label, runs in groups:
        done = [r for r in runs if not failed(r)]
        best = mean_ci([best_accuracy(r) for r in done]) if done else None
        rows.append([label, outcome_text(runs), percent(best), percent(final_accuracy(runs)),
                     f"{seconds_per_step(runs):.3f}"])
    return Table(["arm", "runs", "best validation accuracy", "final test accuracy", "s per step"], rows)


def relative_to(value: float, iv: Interval) -> str:
    """Where the paper's ``value`` lies relative to our interval: "inside our interval", "below it", "above it"."""
    if value < iv.low:
        return "below our interval"
    if value > iv.high:
        return "above our interval"
    return "inside our interval"


def seeds_text(result: ExperimentResult) -> str:
    """How many seeds each arm of ``result`` actually ran (sweep runs excluded): ``"5 for 6 arms; 1 for 4"``.

    Read from the runs themselves, not from the profile's list, which names the seeds an arm
    *may* run.
    """
    from bn.experiments.base import seeds_run

    counts: dict[int, int] = {}
    for seeds in seeds_run(result.runs).values():
        counts[len(seeds)] = counts.get(len(seeds), 0) + 1
    parts = [f"{n} for {k} arm{'s' if k > 1 else ''}" for n, k in sorted(counts.items(), reverse=True)]
    return "; ".join(parts)


def final_verdict(better: Sequence[RunRecord], reference: Sequence[RunRecord],
                  diff: Interval | None = None) -> str:
    """The rule's verdict on "``better`` ends with a higher final test accuracy than ``reference``": a claim
    about where training ends, so not tested unless both arms' runs plateaued (:func:`plateau_of`)."""
    if diff is None:
        diff, _ = paired_final_difference(better, reference)
    flat = all(plateau_of(r).plateaued for r in (better, reference) if any(not failed(x) for x in r))
    return decide(Evidence(diff, 0.0, about_end=True, plateaued=flat)).word
