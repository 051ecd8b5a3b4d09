"""sync_bn.chapter_summary: recomputed by hand from the committed result's raw JSON, the exactness
bounds on synthetic and real agreement cases, and the facts the chapter's prose rests on
(formerly asserted in a hidden cell of the chapter)."""

import copy
import dataclasses
import statistics
from fractions import Fraction

import numpy as np
import pytest

from bn.experiments.sync_bn import ARMS, SyncSummary, chapter_summary, report
from bn.results import load_result, results_dir
from bn.torch_bn.sync_check import QUANTITIES, merge_errors
from tests.experiments.records import typed
from tests.experiments.raw_results import mean_ci, parse_interval

pytestmark = pytest.mark.skipif(not (results_dir() / "sync_bn.json").exists(), reason="no committed result")

EPS64 = float(np.finfo(np.float64).eps)


def fake_agreement(error=5 * EPS64, tolerance=1e-12):
    """Four cases shaped as full_batch_agreement's, every error ``error``."""
    return [{"rows": rows, "shape": [sum(rows), 3, *spatial], "errors": dict.fromkeys(QUANTITIES, error),
             "tolerance": tolerance} for rows in ([3, 5, 8], [5, 8]) for spatial in ((), (2, 3))]


@pytest.fixture(scope="module")
def raw():
    return load_result("sync_bn")


@pytest.fixture(scope="module")
def summary(raw):
    return chapter_summary(typed(raw), fake_agreement())


def close(text, hand, decimals):
    # Shown with ``decimals`` decimals: the hand value must round to it (half a unit), plus 1e-9
    # for two float64 paths. Bounds of an accuracy are clipped to [0, 100] (far from them here).
    return all(abs(a - b) <= 0.5 * 10**-decimals + 1e-9 for a, b in zip(parse_interval(text), hand))


def mismatches(summary, raw):
    """Fields of ``summary`` whose shown numbers differ from a recomputation from ``raw``."""
    runs = raw["measures"]["runs"]
    seeds = raw["config"]["seeds"]
    first = {(r["arm"], r["seed"]): r for r in runs if r["rank"] == 0}
    acc = {a: [100 * first[a, s]["final_test_acc"] for s in seeds] for a in ARMS}
    run = {a: [100 * first[a, s]["final_test_acc_running"] for s in seeds] for a in ARMS}

    def per_seed(arm, f):  # mean over the ranks of a run
        return [statistics.fmean(f(r) for r in runs if r["arm"] == arm and r["seed"] == s) for s in seeds]

    step = {a: per_seed(a, lambda r: 1e3 * r["step_seconds"]) for a in ARMS}
    grad = {a: per_seed(a, lambda r: 1e3 * r["comm_seconds"]["gradients"]) for a in ARMS}
    comm = {a: per_seed(a, lambda r: 1e3 * sum(r["comm_seconds"].values())) for a in ARMS}
    bn = [c - g for c, g in zip(comm["synchronized"], grad["synchronized"])]
    d = [s - p for p, s in zip(acc["per_process"], acc["synchronized"])]
    d_run = [s - p for p, s in zip(run["per_process"], run["synchronized"])]
    checks = {"acc_diff": (summary.acc_diff, mean_ci(d, n=3), 1),
              "acc_diff_running": (summary.acc_diff_running, mean_ci(d_run, n=3), 1),
              "eval_part": (summary.eval_part, mean_ci([a - b for a, b in zip(d_run, d)], n=3), 1),
              "step_diff": (summary.step_diff, mean_ci([s - p for p, s in zip(step["per_process"],
                                                                             step["synchronized"])], n=3), 1),
              "bn_share": (summary.bn_share, mean_ci([100 * b / t for b, t in zip(bn, step["synchronized"])], n=3), 0)}
    for a in ARMS:
        checks[f"acc {a}"] = (summary.acc[a], mean_ci(acc[a], n=3), 1)
        checks[f"acc_running {a}"] = (summary.acc_running[a], mean_ci(run[a], n=3), 1)
        checks[f"gain {a}"] = (summary.gain[a], mean_ci([x - y for x, y in zip(acc[a], run[a])], n=3), 1)
        checks[f"step {a}"] = (summary.step[a], mean_ci(step[a], n=3), 1)
        checks[f"grad_share {a}"] = (summary.grad_share[a],
                                     mean_ci([100 * g / t for g, t in zip(grad[a], step[a])], n=3), 0)
    bad = [k for k, (text, hand, decimals) in checks.items() if not close(text, hand, decimals)]
    for a in ARMS:  # mean over seeds of per-seed means: 1e-9 ms covers the float64 paths
        if abs(summary.comm_ms[a] - statistics.fmean(comm[a])) > 1e-9:
            bad.append(f"comm_ms {a}")
    return bad


def test_every_interval_matches_a_recomputation_by_hand(summary, raw):
    assert mismatches(summary, raw) == []


def test_setup_fields_from_the_raw_json(summary, raw):
    cfg = raw["config"]
    assert (summary.world, summary.batch, summary.global_batch) == (2, 4, 8)
    assert (summary.steps, summary.seeds, summary.lr) == (cfg["steps"], 3, cfg["peak_lr"])
    assert summary.widths == "16, 32, 64"
    assert (summary.precise_batches, summary.precise_size) == (cfg["precise_batches"], cfg["precise_batch_size"])
    assert summary.eval_examples == "1,000" and summary.n_test == "10,000"
    # conv-BN blocks: one all-gather and one all-reduce each, then the gradients' all-reduce.
    assert (summary.n_bn, summary.n_collectives) == (3, 7)
    assert summary.cpu_min == pytest.approx(raw["provenance"]["cpu_time_s"] / 60, rel=1e-15)
    assert summary.copy.startswith("CIFAR-10")


def test_verdicts_follow_the_intervals(summary):
    # The rule on a difference claimed above 0: above -> reproduced; straddling -> not resolved.
    lows = {"verdict": parse_interval(summary.acc_diff)[1],
            "verdict_running": parse_interval(summary.acc_diff_running)[1],
            "verdict_eval": parse_interval(summary.eval_part)[1]}
    for field, low in lows.items():
        assert getattr(summary, field) == ("reproduced" if low > 0 else "not resolved"), field


def test_chan_merge_error_against_exact_rational_arithmetic():
    # Fractions: the exact variance of the float64 values; the naive formula's loss is about
    # (mean/sd)^2 * eps = 1e12 * 2.2e-16, the merge's a few roundings of the spread.
    rng = np.random.default_rng(0)
    values = np.concatenate([1e4 + 1e-2 * rng.standard_normal((n, 1)) for n in (1, 7, 300, 2, 90)]).ravel()
    exact = [Fraction(float(v)) for v in values]
    mean = sum(exact) / len(exact)
    var = float(sum((v - mean) ** 2 for v in exact) / len(exact))
    chan, naive = merge_errors()
    # merge_errors compares with NumPy's two-pass variance, itself within ~1e-12 of the exact one.
    assert abs(float(np.var(values)) - var) / var < 1e-11
    assert chan < 1e-9 < 1e-5 < naive


def test_worst_eps_and_cases_from_the_agreement():
    raw = load_result("sync_bn")
    assert chapter_summary(typed(raw), fake_agreement(29 * EPS64)).worst_eps == 30.0
    assert chapter_summary(typed(raw), fake_agreement()).cases == 4 * len(QUANTITIES)
    with pytest.raises(ValueError):  # the prose's bound, 30 epsilon, would be false
        chapter_summary(typed(raw), fake_agreement(31 * EPS64))
    with pytest.raises(ValueError, match="tolerance"):  # a case that failed is never summarized
        chapter_summary(typed(raw), fake_agreement(error=1e-6, tolerance=1e-9))


@pytest.mark.slow
def test_with_the_real_agreement_of_three_processes(raw):
    from bn.torch_bn.sync_check import full_batch_agreement

    cases = full_batch_agreement([[3, 5, 8], [5, 8]], shapes=[(), (2, 3)], timeout=300)
    summary = chapter_summary(typed(raw), cases)
    assert (summary.cases, summary.worst_eps, summary.chan_bound) == (24, 30.0, 1e-9)


def test_a_summary_of_swapped_arms_fails_the_check(raw):
    swapped = copy.deepcopy(raw)
    for r in swapped["measures"]["runs"]:
        r["arm"] = {"per_process": "synchronized", "synchronized": "per_process"}[r["arm"]]
    bad = mismatches(chapter_summary(typed(swapped), fake_agreement()), raw)
    assert {"acc_diff", "step_diff", "acc per_process", "acc synchronized"} <= set(bad)


def test_summary_is_a_frozen_record(summary):
    assert isinstance(summary, SyncSummary)
    with pytest.raises(dataclasses.FrozenInstanceError):
        summary.steps = 0


# The facts the chapter's prose rests on, on the committed result.

def test_synchronized_step_is_the_longer_one(raw):
    # "A training step takes ... ms with per-process BN and ... ms with synchronized BN, a paired
    # difference of ... ms": read as synchronized minus per-process, above zero.
    assert report(typed(raw))["step_ms_difference"].low > 0


def test_accuracy_difference_is_positive_on_every_seed_yet_includes_zero(raw):
    # "The paired difference ... is ... points: positive on each of the seeds, but the interval
    # includes zero."
    rep = report(typed(raw))
    by_seed = rep["acc_by_seed"]
    assert all(s > p for p, s in zip(by_seed["per_process"], by_seed["synchronized"]))
    d = rep["acc_difference"]
    assert d.low < 0 < d.high


def test_evaluation_part_includes_zero_and_the_running_comparison_does_not(raw):
    # "the part of the running-statistics difference that the recomputation removes is ...
    # points, an interval that includes zero as well", while the running comparison's verdict
    # reads reproduced.
    rep = report(typed(raw))
    assert rep["evaluation_part"].low < 0 < rep["evaluation_part"].high
    assert rep["acc_difference_running"].low > 0
