"""Report helpers on a hand-made result: arms, outcomes, censored targets, paired comparisons, tables."""

import math

import pytest

from bn.experiments import report
from bn.experiments.base import ExperimentResult, RunRecord, RunSpec
from bn.training import History


def _run(arm, seed, accs, diverged=False, stalled=False, tags=None, final=None, steps_budget=150):
    steps = [0, 50, 100, 150][:len(accs)]
    failed = diverged or stalled
    spec = RunSpec(arm=arm, label=arm, seed=seed, model={}, train={"peak_lr": 0.1, "steps": steps_budget},
                   tags=tags or {})
    history = History(eval_step=steps, test_acc=[], train_loss=[None] * len(steps), lr=[0.1] * len(steps),
                      train_seconds=[s / 10 for s in steps], measures=[None] * len(steps), first_losses=[],
                      diverged=diverged, diverged_at_step=steps[-1] if diverged else None,
                      divergence_reason=None, steps_done=steps[-1],
                      final_test_acc=None if failed else (final or accs[-1]), val_acc=accs,
                      final_val_acc=None if failed else accs[-1], stalled=stalled,
                      stalled_at_step=steps[-1] if stalled else None)
    return RunRecord(spec, history)


RESULT = ExperimentResult(
    experiment="hand_made", title="", claim="", profile="smoke", seeds=[0, 1, 2], max_steps=None, config={},
    measures={}, provenance={}, runs=[
        _run("a", 100, [0.1, 0.5, 0.6, 0.7], tags={"sweep": True, "chosen": True}),
        _run("a", 100, [0.1, 0.2, 0.3, 0.4], tags={"sweep": True}),
        _run("a", 0, [0.1, 0.5, 0.6, 0.7]),
        _run("a", 1, [0.1, 0.4, 0.6, 0.65]),
        _run("a", 2, [0.1, 0.5, 0.55, 0.6]),
        _run("b", 0, [0.1, 0.6, 0.7, 0.7]),
        _run("b", 1, [0.1, 0.6, 0.65, 0.7]),
        _run("b", 2, [0.1, float("nan")], diverged=True),
        _run("c", 0, [0.1, 0.1, 0.1], stalled=True),
    ])


def test_runs_of_leaves_out_the_selection_sweep():
    assert [r.spec.seed for r in report.runs_of(RESULT, "a")] == [0, 1, 2]
    assert len(report.runs_of(RESULT, "a", include_sweep=True)) == 5
    assert report.arms(RESULT) == ["a", "b", "c"]


def test_outcomes_count_diverged_and_stalled_runs_apart():
    runs = report.runs_of(RESULT, "b") + report.runs_of(RESULT, "c")
    assert report.outcome_counts(runs) == {"completed": 2, "diverged": 1, "stalled": 1}
    assert report.outcome_text(runs) == "2 trained, 1 diverged, 1 at chance (of 4)"
    assert report.outcome_text(report.runs_of(RESULT, "a")) == "3/3 trained"


def test_final_accuracy_leaves_out_failed_runs():
    iv = report.final_accuracy(report.runs_of(RESULT, "b"))
    assert iv.n == 2 and iv.estimate == pytest.approx(0.7)
    assert report.final_accuracy(report.runs_of(RESULT, "c")) is None


def test_paired_speedup_exact_censored_and_unresolved():
    a, b = report.runs_of(RESULT, "a"), report.runs_of(RESULT, "b")
    up = report.paired_speedup(a[:2], b[:2], 0.6)  # a: 100, 100; b: 50, 50
    assert up.bound == "exact" and up.ratio.estimate == pytest.approx(2.0)
    # b's seed 2 diverged before reaching the target: it counts as its budget, an upper bound on the ratio
    capped = report.paired_speedup(a, b, 0.6)
    assert capped.bound == "at most" and capped.reached_other == 2 and capped.text().startswith("≤ ")
    # a's seed 2 never reaches 0.65: it counts as its budget (150), and the ratio is a lower bound
    fast = [_run("d", 1, [0.1, 0.7, 0.7, 0.7]), _run("d", 2, [0.1, 0.5, 0.7, 0.7])]  # 50 and 100 steps
    up = report.paired_speedup(a[1:], fast, 0.65)  # a: seed 1 at 150, seed 2 never (150)
    assert up.bound == "at least" and up.reached_reference == 1
    assert up.ratio.estimate == pytest.approx(math.sqrt((150 / 50) * (150 / 100)))
    assert up.text().startswith("≥ ")
    assert report.steps_text(a, 0.65) == "150 (2/3)" and report.steps_text(b[:1], 0.9) == "> 150 (0/1)"


def test_baseline_best_is_the_lowest_of_the_seeds_best():
    assert report.baseline_best(report.runs_of(RESULT, "a")) == 0.6


def test_paired_final_difference_keeps_pairs_where_both_completed():
    iv, left_out = report.paired_final_difference(report.runs_of(RESULT, "b"), report.runs_of(RESULT, "a"))
    assert left_out == 1 and iv.n == 2 and iv.estimate == pytest.approx(((0.7 - 0.7) + (0.7 - 0.65)) / 2)


def test_verdict_reads_the_interval():
    from bn.statistics import Interval

    assert report.verdict(Interval(2.0, 1.5, 2.5, 5)) == "reproduced"
    assert report.verdict(Interval(0.5, 0.3, 0.8, 5)) == "reversed"
    assert report.verdict(Interval(1.1, 0.9, 1.3, 5)) == "not resolved"
    assert report.verdict(Interval(0.01, -0.01, 0.03, 5), null=0.0) == "not resolved"
    assert report.verdict(None) == "not resolved"


def test_mean_curve_and_sweep_table():
    xs, m, lo, hi = report.mean_curve(report.runs_of(RESULT, "b"))
    assert list(xs) == [0, 50, 100, 150] and m[2] == pytest.approx(0.675)
    assert lo[2] < m[2] < hi[2]
    sweep = repr(report.sweep_table(RESULT, "a", {"seed": 100}))
    assert "chosen" in sweep and "70.0 %" in sweep and "selection seed 100" in sweep


def test_median_range_is_the_spread_of_the_middle_percentile():
    run = _run("a", 0, [0.1, 0.2, 0.3])
    run.history.measures = [{"xhat": [-1.0, 0.2, 1.0]}, {"xhat": [-2.0, -0.3, 0.5]}, {"xhat": [0.0, 0.1, 3.0]}]
    assert report.median_range(run, "xhat") == 0.5
