"""The higher-learning-rates chapter's summary, and the facts its verdict rests on, on the committed results.

The summary's numbers are recomputed from the raw JSON of the results the chapter reads
(:mod:`tests.experiments.raw_results`: standard library and a printed t table); a text that shows one
decimal is compared within half a unit of it, a ratio's two decimals within half a cent. The
``test_verdict_*`` tests hold what the chapter's prose and Verdict section say; each names the sentence.
"""

import dataclasses
import math
import statistics

import pytest

from bn import paper
from bn.experiments import learning_rates as lr
from bn.experiments import report
from bn.experiments.base import load_experiment_result

from tests.experiments.raw_results import (HALF_CENT, accs, close, failed, mean_ci, numbers, paired, raw, ratio_ci,
                                           runs)
from tests.experiments.records import run_record


@pytest.fixture(scope="module")
def results():
    return {n: load_experiment_result(n) for n in ("learning_rates", "convergence", "long_training")}


@pytest.fixture(scope="module")
def summary(results):
    return lr.summarize(results["learning_rates"], results["convergence"], results["long_training"])


@pytest.fixture(scope="module")
def arm(results):
    res = results["learning_rates"]
    return {(m, bn): lr.rung(res, m, bn) for m in lr.rungs(res) for bn in (False, True)}


def _target():
    return min(max(accs(r)) for r in runs(raw("convergence"), "no_bn") if not failed(r))


def test_the_chapter_numbers_are_the_committed_runs(summary):
    res, conv = raw("learning_rates"), raw("convergence")
    ms = sorted(res["config"]["multipliers"])
    assert summary.rung_seeds == ", ".join(f"×{m:g}: {len(runs(res, f'bn_x{m:g}'))}" for m in ms)
    assert summary.seeds == len(res["seeds"]) and summary.steps == res["config"]["steps"]
    target = _target()
    assert abs(summary.target - 100 * target) < 1e-9
    base = runs(conv, "no_bn")
    assert close(numbers(summary.speedup["BN_x5"]), ratio_ci(base, runs(res, "bn_x5"), target), 1.0, HALF_CENT)
    assert close(numbers(summary.speedup["BN_Baseline"]), ratio_ci(base, runs(conv, "bn"), target), 1.0, HALF_CENT)
    for m in ms:
        for bn in (False, True):
            done = [r["history"]["final_test_acc"] for r in runs(res, f"{'bn' if bn else 'no_bn'}_x{m:g}")
                    if not failed(r)]
            key = f"{'bn' if bn else 'nobn'}_x{m:g}"
            if len(done) >= 2:
                assert close(numbers(summary.acc[key]), mean_ci(done)), key
            elif done:  # one run: its accuracy, with the interval of no information
                assert summary.acc[key] == f"{100 * done[0]:.1f} % [0.0, 100.0]", key
            else:
                assert summary.acc[key] == "–", key
    # the 5x rate within the recipe, with BN: BN-x5 minus BN-x1 on equal seeds
    d = [a["history"]["final_test_acc"] - b["history"]["final_test_acc"]
         for a, b in paired(runs(res, "bn_x5"), runs(res, "bn_x1"))]
    assert close(numbers(summary.effect["0"]), mean_ci(d))
    assert summary.x30_div_steps == ", ".join(str(r["history"]["diverged_at_step"]) for r in runs(res, "no_bn_x30"))
    # the x30 schedule halves every half_life steps after the warm-up: below half its peak from the
    # first integer step past warmup + half_life
    train = runs(res, "bn_x30")[0]["spec"]["train"]
    assert summary.half_from == math.floor(train["warmup_steps"] + train["half_life"]) + 1
    assert abs(summary.half_share - 100 * (train["steps"] - summary.half_from) / train["steps"]) < 1e-9
    # the saturation ranges: each run's last evaluation, mean over the layers, at x5 and above
    high = [m for m in ms if m >= 5]
    sat = {bn: [statistics.fmean(r["history"]["health"][-1]["saturated"]) for m in high
                for r in runs(res, f"{'bn' if bn else 'no_bn'}_x{m:g}") if bn or len(r["history"]["health"]) > 1]
           for bn in (False, True)}
    for bn, text in ((False, summary.sat_nobn), (True, summary.sat_bn)):
        assert text == f"{100 * min(sat[bn]):.0f}–{100 * max(sat[bn]):.0f} %"
    assert summary.paper.x5_speedup == pytest.approx(31.0 / 2.1, rel=1e-12)  # 31M / 2.1M steps, Fig. 3
    assert summary.verdict["higher_rates"] == "reproduced" and summary.verdict["x5_speed"] == "reproduced"


def test_last_saturation_is_the_layer_mean_at_the_last_evaluation():
    r = run_record({"history": {"health": [{"saturated": [0.5, 0.5]}, {"saturated": [0.25, 1.0, 0.75]}]}})
    assert lr.last_saturation([r, r]) == [pytest.approx(2 / 3), pytest.approx(2 / 3)]
    assert lr.last_saturation([]) == []


def test_verdict_the_ladder_stands_on_the_baseline_rate():
    # "1, 3, 5, 10 and 30 times the base rate {lr_base} (the baseline's best, chosen on validation in
    # 02_convergence and read from its result)"
    assert raw("learning_rates")["measures"]["base_lr"] == raw("convergence")["measures"]["baseline_lr"]


def test_verdict_bn_trains_on_every_rung_and_no_bn_fails_from_x5(arm):
    # "With BN every seed trained on every rung, up to ×30. Without BN the same network already lost
    # seeds at ×5, sat at chance at ×10, and at ×30 every seed diverged within the first steps"
    fails = {k: sum(report.failed(r) for r in runs_) for k, runs_ in arm.items()}
    assert all(fails[m, True] == 0 for m, bn in arm if bn)
    assert fails[1, False] == 0 and fails[5, False] > 0 and fails[10, False] == len(arm[10, False])
    assert all(r.history.diverged for r in arm[30, False])


def test_verdict_the_diverged_runs_sat_near_ln_10(arm):
    # "at steps {lr_x30_div_steps}, from a loss that had sat near ln 10": the median loss of the
    # steps before the blow-up (after the first three) lies within 0.15 of ln 10 = 2.303
    for r in arm[30, False]:
        h = r.history
        before = h.first_losses[3:h.diverged_at_step - 2]
        assert before and 2.2 < statistics.median(before) < 2.45


def test_verdict_dead_relus_without_bn(summary, results, arm):
    # "Without BN at ×5 and above that fraction climbs ... to {lr_sat_nobn} ... With BN at the same
    # rates it stays at {lr_sat_bn}" and "the gradient that reaches their first convolution has fallen
    # to at most {lr_grad_stalled} (with BN, at least {lr_grad_bn})"
    high = [m for m in lr.rungs(results["learning_rates"]) if m >= 5]
    sat_nobn = lr.last_saturation([r for m in high for r in arm[m, False] if len(r.history.health) > 1])
    sat_bn = lr.last_saturation([r for m in high for r in arm[m, True]])
    assert max(sat_bn) < min(sat_nobn)
    stalled = [r for m in high for r in arm[m, False] if r.history.stalled]
    grad_stalled = max(r.history.health[-1]["grad_norm"][0] for r in stalled)
    grad_bn = min(r.history.health[-1]["grad_norm"][0] for m in high for r in arm[m, True])
    assert stalled and grad_stalled < grad_bn / 10
    assert float(summary.grad_stalled) < float(summary.grad_bn) / 10


def _up(results, arm, runs_):
    base = report.runs_of(results["convergence"], "no_bn")
    return report.paired_speedup(base, runs_, report.baseline_best(base))


def test_verdict_bn_x5_is_faster_but_far_below_the_paper(results, arm):
    # "BN-x5 is faster than the baseline: reproduced" and "The paper's number lies far above our interval"
    up = _up(results, arm, arm[5, True])
    assert up.bound == "exact" and 1 < up.ratio.low
    assert up.ratio.high < paper.fig3_speedup("BN-x5")


def test_verdict_the_baseline_and_bn_x30_are_still_rising(results, arm):
    # "the baseline was still improving when its budget ran out ({lr_base_plateau})" and "by the
    # plateau rule the two arms had not both stopped improving (BN-x5: ...; BN-x30: ...)"
    assert not report.plateau_of(report.runs_of(results["convergence"], "no_bn")).plateaued
    assert not (report.plateau_of(arm[30, True]).plateaued and report.plateau_of(arm[5, True]).plateaued)


def _effect(results, i):
    _, a, b = lr.attribution(results["learning_rates"], results["convergence"])[i]
    return report.paired_final_difference(a, b)[0]


def test_verdict_whose_gain_it_is(results, arm):
    base = report.runs_of(results["convergence"], "no_bn")
    target = report.baseline_best(base)
    # "It raised the final accuracy by {lr_effect_0}"
    assert _effect(results, 0).low > 0
    # "the 5× rate gives {lr_x5_over_x1} fewer steps to the target" (not resolved: the interval holds 1)
    x5_over_x1 = report.paired_speedup(arm[1, True], arm[5, True], target)
    assert x5_over_x1.ratio.low < 1 < x5_over_x1.ratio.high
    # "while BN under the recipe adds {lr_effect_1}"
    assert _effect(results, 1).low > 0
    # "the recipe's other items at the base rate change the final accuracy by intervals that include 0,
    # with BN ({lr_effect_3} over BN-Baseline) or without ({lr_effect_2} over the baseline)"
    for i in (2, 3):
        assert _effect(results, i).low < 0 < _effect(results, i).high
    # "With BN, though, the other items shorten the way to the target: the recipe at the base rate needs
    # {lr_items_speed} fewer steps than BN-Baseline"
    items = report.paired_speedup(report.runs_of(results["convergence"], "bn"), arm[1, True], target)
    assert items.bound == "exact" and items.ratio.low > 1


def test_verdict_bn_x30_ends_lower_at_this_budget(results, arm):
    # "only {lr_x30_reached} seeds reached the baseline's best, and after {lr_steps} steps it was
    # {lr_x30_vs_x5} below BN-x5"
    x30_vs_x5, _ = report.paired_final_difference(arm[30, True], arm[5, True])
    assert x30_vs_x5.high < 0 and _up(results, arm, arm[30, True]).bound == "at most"


def _relabel(result, arms):
    return dataclasses.replace(result, runs=[dataclasses.replace(r, spec=dataclasses.replace(
        r.spec, arm=arms.get(r.spec.arm, r.spec.arm))) for r in result.runs])


def test_swapped_rungs_or_a_lost_run_change_the_summary(results, summary):
    res, conv, long = results["learning_rates"], results["convergence"], results["long_training"]
    swapped = lr.summarize(_relabel(res, {"bn_x5": "bn_x1", "bn_x1": "bn_x5"}), conv, long)
    est = numbers(summary.effect["0"])[0]
    assert est > 0 and numbers(swapped.effect["0"])[0] == -est
    first = res.runs.index(next(r for r in res.runs if r.spec.arm == "bn_x5"))
    lost = dataclasses.replace(res, runs=[dataclasses.replace(r, history=dataclasses.replace(
        r.history, diverged=True, diverged_at_step=5, final_test_acc=None)) if i == first else r
        for i, r in enumerate(res.runs)])
    s = lr.summarize(lost, conv, long)
    assert s.outcome["bn_x5"] == s.outcome["BN_x5"] == "4 trained, 1 diverged (of 5)"
    assert s.acc["bn_x5"] != summary.acc["bn_x5"] and s.effect["5"] != summary.effect["5"]  # the pair is left out
