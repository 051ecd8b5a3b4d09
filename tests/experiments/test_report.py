"""Report helpers on a hand-made result: arm selection, divergence handling, targets, tables."""

import pytest

from bn.experiments import report


def _run(arm, seed, accs, diverged=False, tags=None, final=None):
    steps = [0, 50, 100, 150][:len(accs)]
    return {"spec": {"arm": arm, "seed": seed, "tags": tags or {}, "train": {"peak_lr": 0.1}},
            "history": {"eval_step": steps, "test_acc": accs, "train_seconds": [s / 10 for s in steps],
                        "diverged": diverged, "final_test_acc": None if diverged else (final or accs[-1]),
                        "steps_done": steps[-1]}}


RESULT = {"seeds": [0, 1, 2], "runs": [
    _run("a", 0, [0.1, 0.5, 0.6, 0.7], tags={"sweep": True, "chosen": True}),
    _run("a", 0, [0.1, 0.2, 0.3, 0.4], tags={"sweep": True}),
    _run("a", 1, [0.1, 0.4, 0.6, 0.65], tags={"chosen": True}),
    _run("a", 2, [0.1, 0.5, 0.55, 0.6], tags={"chosen": True}),
    _run("b", 0, [0.1, 0.6, 0.7, 0.7]),
    _run("b", 1, [0.1, 0.6, 0.65, 0.7]),
    _run("b", 2, [0.1, float("nan")], diverged=True),
]}


def test_runs_of_keeps_only_the_chosen_sweep_rate():
    assert [r["spec"]["seed"] for r in report.runs_of(RESULT, "a")] == [0, 1, 2]
    assert len(report.runs_of(RESULT, "a", include_unchosen_sweep=True)) == 4
    assert report.arms(RESULT) == ["a", "b"]
    assert report.diverged_count(report.runs_of(RESULT, "b")) == 1


def test_final_accuracy_leaves_out_diverged_runs():
    iv = report.final_accuracy(report.runs_of(RESULT, "b"))
    assert iv.n == 2 and iv.estimate == pytest.approx(0.7)


def test_steps_to_and_speedup():
    a, b = report.runs_of(RESULT, "a"), report.runs_of(RESULT, "b")
    iv, missing = report.steps_to(a, 0.6)  # reached at 100, 100, 150
    assert missing == 0 and iv.estimate == pytest.approx(350 / 3)
    iv, missing = report.steps_to(b, 0.6)  # the diverged run counts as not reaching
    assert missing == 1 and iv.estimate == 50
    assert report.speedup(a, b, 0.6) is None  # not every run got there
    assert report.speedup(a, b[:2], 0.6).estimate == pytest.approx((350 / 3) / 50)
    assert report.reachable_best(a) == 0.6  # the lowest of the maxima 0.7, 0.65, 0.6


def test_mean_curve_and_sweep_table():
    xs, m, lo, hi = report.mean_curve(report.runs_of(RESULT, "b"))
    assert list(xs) == [0, 50, 100, 150] and m[2] == pytest.approx(0.675)
    assert lo[2] < m[2] < hi[2]
    sweep = repr(report.sweep_table(RESULT, "a"))
    assert "chosen" in sweep and "70.0 %" in sweep


def test_stalled_runs_are_counted_apart_from_diverged_ones():
    runs = [_run("c", 0, [0.1, 0.1], final=0.101), _run("c", 1, [0.1, 0.5]), _run("c", 2, [0.1], diverged=True)]
    assert report.stalled_count(runs) == 1 and report.diverged_count(runs) == 1


def test_median_range_is_the_spread_of_the_middle_percentile():
    run = {"history": {"measures": [{"xhat": [-1.0, 0.2, 1.0]}, {"xhat": [-2.0, -0.3, 0.5]},
                                    {"xhat": [0.0, 0.1, 3.0]}]}}
    assert report.median_range(run, "xhat") == 0.5
