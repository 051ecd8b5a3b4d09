"""The long-training chapter's summary, checked against the committed result read as raw JSON.

Each value of :func:`bn.experiments.long_training.summarize` that the chapter pastes is recomputed here
from the JSON dicts with the standard library (:mod:`tests.experiments.raw_results`); a text that shows
one decimal is compared within half a unit of that decimal.
"""

import dataclasses

from bn.experiments import long_training
from bn.experiments.base import ExperimentResult, load_experiment_result

from tests.experiments.raw_results import (HALF_CENT, accs, close, failed, mean_ci, numbers, paired, raw, ratio_ci,
                                           runs)


def _summary():
    return long_training.summarize(load_experiment_result("long_training"), load_experiment_result("convergence"))


def test_the_chapter_numbers_are_the_committed_runs():
    s, res = _summary(), raw("long_training")
    bn_runs = runs(res, "bn")
    assert s.seeds == ", ".join(str(x) for x in sorted(r["spec"]["seed"] for r in bn_runs))
    assert s.steps == f"{res['config']['steps']:,}" and s.factor == res["measures"]["steps_factor"]
    # the epochs: steps x batch / training images, a float64 ratio of integers (relative error ~1e-16)
    assert abs(s.epochs - res["config"]["steps"] * res["config"]["batch_size"]
               / res["provenance"]["data"]["n_fit"]) < 1e-12
    for arm in long_training.RELU_ARMS:
        done = [r["history"]["final_test_acc"] for r in runs(res, arm) if not failed(r)]
        assert close(numbers(s.acc[arm]), mean_ci(done)), arm
        assert s.outcome[arm] == f"{len(done)}/{len(runs(res, arm))} trained"
    for better, ref in long_training.END_CLAIMS:
        pairs = paired(runs(res, better), runs(res, ref))
        best = mean_ci([max(accs(a)) - max(accs(b)) for a, b in pairs])
        final = mean_ci([a["history"]["final_test_acc"] - b["history"]["final_test_acc"] for a, b in pairs])
        assert close(numbers(s.best[f"{better}_{ref}"])[:3], best), (better, ref)
        assert close(numbers(s.final[f"{better}_{ref}"])[:3], final), (better, ref)
    target = min(max(accs(r)) for r in runs(res, "no_bn"))
    assert abs(s.target - 100 * target) < 1e-9
    # the speedup shows two decimals
    assert close(numbers(s.speedup), ratio_ci(runs(res, "no_bn"), bn_runs, target), 1.0, HALF_CENT)
    assert s.verdict["x30_end"] == "not tested at this budget"
    assert s.verdict["bn_baseline_end"] == "not tested at this budget"


def test_the_long_runs_stand_on_the_convergence_rate():
    # "No rate is chosen again: the base rate is the convergence sweep's, read from its result."
    assert raw("long_training")["measures"]["base_lr"] == raw("convergence")["measures"]["baseline_lr"]
    assert _summary().base_lr == f"{raw('convergence')['measures']['baseline_lr']:g}"


def _with_runs(result: ExperimentResult, change) -> ExperimentResult:
    return dataclasses.replace(result, runs=[change(r) for r in result.runs])


def test_swapped_arms_or_a_lost_run_change_the_summary():
    res, conv = load_experiment_result("long_training"), load_experiment_result("convergence")
    s = long_training.summarize(res, conv)
    swap = {"bn": "no_bn", "no_bn": "bn"}
    swapped = _with_runs(res, lambda r: dataclasses.replace(
        r, spec=dataclasses.replace(r.spec, arm=swap.get(r.spec.arm, r.spec.arm))))
    t = long_training.summarize(swapped, conv)
    est, swapped_est = numbers(s.best["bn_no_bn"])[0], numbers(t.best["bn_no_bn"])[0]
    assert est > 0 and swapped_est == -est and t.acc["bn"] == s.acc["no_bn"]
    first = res.runs.index(next(r for r in res.runs if r.spec.arm == "bn_x30"))
    lost = dataclasses.replace(res, runs=[dataclasses.replace(r, history=dataclasses.replace(
        r.history, diverged=True, final_test_acc=None)) if i == first else r for i, r in enumerate(res.runs)])
    u = long_training.summarize(lost, conv)
    assert u.outcome["bn_x30"] == "2 trained, 1 diverged (of 3)" and u.acc["bn_x30"] != s.acc["bn_x30"]
    assert u.best["bn_x30_bn_x5"] != s.best["bn_x30_bn_x5"]  # the lost run's pair is left out
