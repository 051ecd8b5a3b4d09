"""The chapter "Faster convergence: BN alone": its summary of the committed convergence result, and
the facts of that result its verdict rests on (each test names the sentence it protects)."""

import json
import math
import random
import statistics
from pathlib import Path

import pytest

from bn.experiments import convergence
from bn.experiments.base import ExperimentResult
from bn.glue import glue_record
from tests.experiments.raw_results import T975

RESULT = Path(__file__).resolve().parents[2] / "book" / "results" / "convergence.json"


@pytest.fixture(scope="module")
def raw():
    with open(RESULT) as f:
        return json.load(f)


@pytest.fixture(scope="module")
def summary(raw):
    return convergence.summarize(ExperimentResult.from_dict(raw))


def _runs(raw, arm):
    """The reported runs of ``arm`` by seed (the sweep's runs have the tag ``sweep``)."""
    return {r["spec"]["seed"]: r for r in raw["runs"] if r["spec"]["arm"] == arm and not r["spec"]["tags"].get("sweep")}


def _first(run, target, x="eval_step"):
    h = run["history"]
    return next((s for s, a in zip(h[x], h["val_acc"]) if a >= target), None)


def _t(values):
    """Mean and 95 % t half-width over the five seeds."""
    assert len(values) == 5
    return statistics.mean(values), T975[4] * statistics.stdev(values) / math.sqrt(len(values))


def _ratio_text(num, den):
    m, h = _t([math.log(a / b) for a, b in zip(num, den)])
    return f"{math.exp(m):.2f}× [{math.exp(m - h):.2f}, {math.exp(m + h):.2f}]"


def _acc_text(values):
    m, h = _t(values)
    return f"{100 * m:.1f} % [{100 * (m - h):.1f}, {100 * (m + h):.1f}]"


def test_summary_against_the_raw_result(raw, summary):
    # By hand from the JSON: every run completed, so the target is the lowest of the baseline seeds'
    # best validation accuracies and every run has a step count (no censoring). Two-decimal ratios and
    # one-decimal percentages of t intervals: the hand computation must give the same text (only a value
    # within float64 rounding of a rounding boundary could differ; none is).
    base, bn = _runs(raw, "no_bn"), _runs(raw, "bn")
    seeds = sorted(base)
    assert seeds == sorted(bn) == raw["seeds"] and summary.seeds == 5
    best = min(max(r["history"]["val_acc"][1:]) for r in base.values())
    assert summary.target_best == pytest.approx(100 * best, rel=1e-12)
    assert summary.speedup_best == _ratio_text([_first(base[s], best) for s in seeds],
                                               [_first(bn[s], best) for s in seeds])
    assert summary.time_speedup == _ratio_text([_first(base[s], best, "train_seconds") for s in seeds],
                                               [_first(bn[s], best, "train_seconds") for s in seeds])
    final = {arm: [runs[s]["history"]["final_test_acc"] for s in seeds] for arm, runs in (("no", base), ("bn", bn))}
    assert summary.acc_base == _acc_text(final["no"]) and summary.acc_bn == _acc_text(final["bn"])
    m, h = _t([a - b for a, b in zip(final["bn"], final["no"])])
    assert summary.gain == f"{100 * m:+.1f} points [{100 * (m - h):.1f}, {100 * (m + h):.1f}]"
    per_step = {arm: sum(r["history"]["train_seconds"][-1] for r in runs.values())
                / sum(r["history"]["steps_done"] for r in runs.values()) for arm, runs in (("no", base), ("bn", bn))}
    # a ratio of sums of the same float64 numbers, summed in the same order: equal to rounding
    assert summary.cost_ratio == pytest.approx(per_step["bn"] / per_step["no"], rel=1e-12)
    cfg = raw["config"]
    assert summary.lr == raw["measures"]["selection"]["chosen"] == 0.03
    assert summary.epochs == pytest.approx(cfg["steps"] * cfg["batch_size"] / 45_000, rel=1e-12)
    assert summary.n_evals == len(base[0]["history"]["eval_step"]) == cfg["steps"] // cfg["eval_every"] + 2
    assert (summary.steps, summary.batch, summary.warmup, summary.crop) == (500, 128, 25, 4)
    assert summary.outcomes == "10/10 trained"
    # the paper's Fig. 3: 31.0 and 13.3 million steps to Inception's best
    assert summary.paper["bn_baseline_speedup"] == pytest.approx(31.0 / 13.3, rel=1e-12)


def test_one_glue_call_gives_the_chapter_names(summary, monkeypatch):
    glued = {}
    monkeypatch.setattr("bn.glue.glue", lambda name, value, display=True, digits=8: glued.setdefault(name, value))
    names = glue_record(summary, "conv_")
    assert {"conv_lr", "conv_speedup_best", "paper_bn_baseline_speedup", "paper_x5_speedup_02",
            "verdict_convergence_speed", "verdict_convergence_speed_ours"} <= set(names)
    assert glued["verdict_convergence_speed"] == "reproduced"


def test_run_order_does_not_matter_but_swapped_arms_do(raw, summary):
    shuffled = json.loads(json.dumps(raw))
    random.Random(0).shuffle(shuffled["runs"])
    assert convergence.summarize(ExperimentResult.from_dict(shuffled)) == summary  # paired by seed
    swapped = json.loads(json.dumps(raw))
    for r in swapped["runs"]:
        if not r["spec"]["tags"].get("sweep"):
            r["spec"]["arm"] = {"bn": "no_bn", "no_bn": "bn"}[r["spec"]["arm"]]
    bad = convergence.summarize(ExperimentResult.from_dict(swapped))
    assert bad.acc_base == summary.acc_bn and bad.gain.startswith("-") and summary.gain.startswith("+")
    # the target becomes BN's best, which the slower arm does not reach in time: a bound below 1
    assert bad.speedup_best.startswith("≤ 0.") and not summary.speedup_best.startswith(("≤", "≥"))
    assert bad.verdict["convergence_speed"] != "reproduced"


def test_a_failed_run_is_counted_not_dropped(raw, summary):
    stalled = json.loads(json.dumps(raw))
    run = next(r for r in stalled["runs"] if r["spec"]["arm"] == "bn" and r["spec"]["seed"] == 4)
    run["history"].update(stalled=True, stalled_at_step=144)
    bad = convergence.summarize(ExperimentResult.from_dict(stalled))
    assert bad.outcomes == "9 trained, 1 at chance (of 10)" != summary.outcomes
    assert bad.acc_bn != summary.acc_bn  # four seeds' mean, not five


# The verdict's facts, on the committed result (they were the chapter's hidden assert cell).

def test_no_run_failed(raw):
    # Protects "no run left out ({conv_outcomes})": every run of both arms completed its 500 steps.
    for r in list(_runs(raw, "no_bn").values()) + list(_runs(raw, "bn").values()):
        assert not r["history"]["diverged"] and not r["history"]["stalled"]
        assert r["history"]["steps_done"] == raw["config"]["steps"]


def test_every_run_reached_the_target_and_the_interval_excludes_1(raw):
    # Protects "To the baseline's best validation accuracy ... BN alone needed {conv_speedup_best} fewer
    # steps ... The interval excludes 1": no censored count, and the lower end of the t interval above 1.
    base, bn = _runs(raw, "no_bn"), _runs(raw, "bn")
    best = min(max(r["history"]["val_acc"][1:]) for r in base.values())
    logs = [math.log(_first(base[s], best) / _first(bn[s], best)) for s in sorted(base)]
    m, h = _t(logs)
    assert m - h > 0


def test_every_target_of_the_table_gives_a_speedup_above_1(raw):
    # Protects "every target of the table, including those the baseline never reached in its budget,
    # gives a speedup above 1" (a run that never reached a target counts as its whole budget).
    from bn.experiments import report

    res = ExperimentResult.from_dict(raw)
    base, bn = report.runs_of(res, "no_bn"), report.runs_of(res, "bn")
    for _, target in report.targets(base):
        assert report.paired_speedup(base, bn, target).ratio.low > 1


def _late_rise_and_spread(runs, steps):
    cut = 0.8 * steps
    rises, bests = [], []
    for r in runs.values():
        h = r["history"]
        early = [a for s, a in zip(h["eval_step"], h["val_acc"]) if 0 < s <= cut]
        late = [a for s, a in zip(h["eval_step"], h["val_acc"]) if s > cut]
        rises.append(max(late) - max(early))
        bests.append(max(h["val_acc"][1:]))
    return statistics.mean(rises), statistics.stdev(bests)


def test_neither_arm_plateaued(raw):
    # Protects "the baseline was still improving when its budget ran out ({conv_base_plateau})" and
    # "as a claim about where training ends that is *not tested at this budget*, since neither arm had
    # plateaued": by the plateau rule, the mean late rise exceeds the spread of the best accuracies.
    for arm in ("no_bn", "bn"):
        rise, spread = _late_rise_and_spread(_runs(raw, arm), raw["config"]["steps"])
        assert rise > spread, arm


def test_bn_wins_in_seconds_and_at_the_end(summary):
    # Protects "Per second of training the gain is a little smaller ({conv_time_speedup})" (still a
    # speedup) and "At the end of the run BN-Baseline is ahead by {conv_gain}": both intervals exclude
    # no effect (checked against the raw JSON by test_summary_against_the_raw_result).
    low = float(summary.time_speedup.split("[")[1].split(",")[0])
    assert low > 1 and float(summary.gain.split("[")[1].split(",")[0]) > 0


def test_the_chosen_rate_is_the_best_interior_point_of_the_grid(raw):
    # Protects "the baseline at the best of its own rate grid (an interior point of the grid, so the
    # optimum is bracketed)".
    sel, rates = raw["measures"]["selection"], raw["config"]["rates"]
    scores = {float(r): s for r, s in sel["scores"].items() if s is not None}
    assert max(scores, key=scores.get) == sel["chosen"] == raw["measures"]["baseline_lr"]
    assert min(rates) < sel["chosen"] < max(rates) and sel["extended"] == 0
