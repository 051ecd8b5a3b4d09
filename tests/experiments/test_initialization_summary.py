"""initialization.summarize on the committed results (initialization, and convergence for the x1 runs):
fields recomputed by hand from the raw JSON, a failed run, a wrong seed pairing and a wrong x1 reference
that the checks would catch, and the facts the chapter's prose rests on (formerly asserted in hidden
cells of the chapter)."""

import copy
import json
import math
import statistics
from pathlib import Path

import pytest

from bn.experiments import initialization
from bn.experiments.base import ExperimentResult
from tests.experiments.raw_results import mean_ci, shown

RESULTS = Path(__file__).resolve().parents[2] / "book" / "results"
pytestmark = pytest.mark.skipif(not (RESULTS / "initialization.json").exists()
                                or not (RESULTS / "convergence.json").exists(), reason="no committed result yet")

# t quantiles 0.975 from a t table (scipy.stats.t.ppf), by degrees of freedom: 4 and 5 seeds


@pytest.fixture(scope="module")
def raw():
    return json.loads((RESULTS / "initialization.json").read_text())


@pytest.fixture(scope="module")
def raw_conv():
    return json.loads((RESULTS / "convergence.json").read_text())


def summarize(raw, raw_conv):
    return initialization.summarize(ExperimentResult.from_dict(raw), ExperimentResult.from_dict(raw_conv))


@pytest.fixture(scope="module")
def summary(raw, raw_conv):
    return summarize(raw, raw_conv)


# By hand, from the raw JSON.

def seeds_of(raw):
    return sorted({r["spec"]["seed"] for r in raw["runs"]})


def runs_at(raw, raw_conv, bn, scale):
    """The runs of an arm at a scale, by seed: x1 from the convergence result (its arms "bn"/"no_bn")."""
    source, arm = (raw_conv, "bn" if bn else "no_bn") if scale == 1 else \
        (raw, f"{'bn' if bn else 'no_bn'}_init{scale:g}")
    seeds = seeds_of(raw)
    return {r["spec"]["seed"]: r for r in source["runs"]
            if r["spec"]["arm"] == arm and not r["spec"]["tags"].get("sweep") and r["spec"]["seed"] in seeds}


def failed(run):
    return run["history"]["diverged"] or run["history"]["stalled"]


def shows(text, value):
    """Whether ``text`` (``"1.0e-09"``, ``"57 %"``, ``"0.092"``) shows ``value``: within half a unit of its
    last digit, plus 1e-9 relative for the two float64 paths (medians of a few float64 values)."""
    t = text.replace("%", "").strip()
    mantissa, _, exponent = t.lower().partition("e")
    decimals = len(mantissa.split(".")[1]) if "." in mantissa else 0
    unit = 10.0 ** (-decimals) * (10.0 ** int(exponent) if exponent else 1.0)
    return abs(float(t) - value) <= unit / 2 + 1e-9 * abs(value)


def scales_of(raw):
    return sorted([1.0, *raw["measures"]["init_scales"]])


def first_conv(runs, index):
    """Medians of the first convolution's weight norm and gradient norm over weight norm at ``index``."""
    entries = [r["history"]["health"][index] for r in runs]
    return (statistics.median(e["weight_norm"][0] for e in entries),
            statistics.median(e["grad_norm"][0] / e["weight_norm"][0] for e in entries))


def first_loss(runs):
    return statistics.median(r["history"]["first_losses"][0] for r in runs)


def first_grad(runs):
    return statistics.median(r["history"]["health"][1]["grad_norm"][0] for r in runs)


# The summary against the raw JSON.

def test_arm_key_names_the_arm_as_the_glue_names_do():
    assert initialization.arm_key(True, 0.1) == "bn_0.1"
    assert initialization.arm_key(False, 10.0) == "nobn_10" and initialization.arm_key(False, 1.0) == "nobn_1"


def test_setup_fields_from_the_raw_json(summary, raw):
    cfg, meas = raw["config"], raw["measures"]
    assert summary.seeds == ", ".join(map(str, seeds_of(raw))) and summary.n == len(seeds_of(raw))
    assert summary.scales == ", ".join(f"{s:g}" for s in meas["init_scales"])
    assert summary.lr == f"{raw['runs'][0]['spec']['train']['peak_lr']:g}"
    assert (summary.steps, summary.window, summary.eval_every) == (cfg["steps"], cfg["stall_window"],
                                                                   cfg["eval_every"])


def test_outcomes_and_accuracies_match_a_recomputation_by_hand(summary, raw, raw_conv):
    assert len(summary.outcome) == len(summary.acc) == 2 * len(scales_of(raw))
    for bn in (False, True):
        for s in scales_of(raw):
            runs, key = list(runs_at(raw, raw_conv, bn, s).values()), initialization.arm_key(bn, s)
            done = [100 * r["history"]["final_test_acc"] for r in runs if not failed(r)]
            n, div, stall = len(runs), sum(r["history"]["diverged"] for r in runs), \
                sum(r["history"]["stalled"] for r in runs)
            if len(done) == n:
                assert summary.outcome[key] == f"{n}/{n} trained" and shown(summary.acc[key], mean_ci(done)), key
            else:  # here a failing arm fails in every seed, one way
                assert not done and summary.acc[key] == "–"
                assert summary.outcome[key] == (f"{n} diverged (of {n})" if div == n else f"{n} at chance (of {n})")
                assert stall == n or div == n


def test_changes_against_x1_pair_runs_by_seed(summary, raw, raw_conv):
    ref = runs_at(raw, raw_conv, True, 1.0)
    for s in raw["measures"]["init_scales"]:
        runs = runs_at(raw, raw_conv, True, s)
        seeds = sorted(runs)
        hand = mean_ci([100 * (runs[k]["history"]["final_test_acc"] - ref[k]["history"]["final_test_acc"])
                       for k in seeds])
        assert shown(summary.change[f"bn_{s:g}"], hand), s
        # a wrong pairing (each scaled run against the next seed's x1 run) would not pass the check
        wrong = mean_ci([100 * (runs[k]["history"]["final_test_acc"] - ref[seeds[(i + 1) % len(seeds)]]
                               ["history"]["final_test_acc"]) for i, k in enumerate(seeds)])
        assert not shown(summary.change[f"bn_{s:g}"], wrong), s
        assert summary.change[f"nobn_{s:g}"] == "–" and summary.gap[f"{s:g}"] == "–"  # no BN never trains


def test_diagnostics_match_a_recomputation_by_hand(summary, raw, raw_conv):
    for bn in (False, True):
        for s in scales_of(raw):
            runs, key = list(runs_at(raw, raw_conv, bn, s).values()), initialization.arm_key(bn, s)
            assert shows(summary.first[key], first_loss(runs)), key
            if all(len(r["history"]["health"]) > 1 for r in runs):
                assert shows(summary.grad_first[key], first_grad(runs)), key
                last = statistics.median(r["history"]["health"][1]["grad_norm"][-1] for r in runs)
                dead = statistics.median(statistics.fmean(r["history"]["health"][1]["saturated"]) for r in runs)
                assert shows(summary.grad_last[key], last) and shows(summary.dead[key], 100 * dead), key
            else:  # diverged before the first evaluation: nothing to show
                assert key not in summary.grad_first
    for s in scales_of(raw):
        runs = list(runs_at(raw, raw_conv, True, s).values())
        for when, index in (("start", 1), ("end", -1)):
            w, rel = first_conv(runs, index)
            assert shows(summary.w_bn[f"{s:g}_{when}"], w) and shows(summary.rel_bn[f"{s:g}_{when}"], rel), (s, when)
    low = min(raw["measures"]["init_scales"])
    w0 = statistics.median(r["history"]["health"][0]["weight_norm"][0]
                           for r in runs_at(raw, raw_conv, True, low).values())
    assert shows(summary.w_bn[f"{low:g}_init"], w0)
    assert summary.first_n == len(next(iter(runs_at(raw, raw_conv, False, 1.0).values()))["history"]["first_losses"])


def test_the_scorecard_words_are_the_initialization_row(summary):
    assert set(summary.verdict) == {"initialization", "initialization_ours"}
    assert summary.verdict["initialization_ours"].startswith("×0.1: BN 5/5 trained, no BN 0/5")


def test_a_failed_run_leaves_the_mean_and_unsettles_the_verdict(raw, raw_conv):
    broken = copy.deepcopy(raw)
    victim = next(r for r in broken["runs"] if r["spec"]["arm"] == "bn_init10")
    victim["history"].update(diverged=True, diverged_at_step=30, divergence_reason="non-finite loss",
                             final_test_acc=None)
    s = summarize(broken, raw_conv)
    runs = list(runs_at(broken, raw_conv, True, 10.0).values())
    assert s.outcome["bn_10"] == f"{len(runs) - 1} trained, 1 diverged (of {len(runs)})"
    assert shown(s.acc["bn_10"], mean_ci([100 * r["history"]["final_test_acc"] for r in runs if not failed(r)]))
    # 4/5 against 0/5 is no longer all-or-nothing, and no pair of runs trained without BN: the scale's
    # verdict has nothing to rest on
    assert s.scale_verdict["10"] == "not resolved" and s.change["bn_10"] != summarize(raw, raw_conv).change["bn_10"]


def test_a_reference_that_is_not_the_x1_run_is_refused(raw, raw_conv):
    # "which have the same model and training specification apart from the init scale — the page checks
    # it each time it is executed": summarize (which the page runs) refuses any other reference
    other = copy.deepcopy(raw_conv)
    next(r for r in other["runs"] if r["spec"]["arm"] == "bn")["spec"]["model"]["widths"] = [8, 16, 32, 64]
    with pytest.raises(ValueError, match="model.widths"):
        summarize(raw, other)
    missing = copy.deepcopy(raw_conv)
    missing["runs"] = [r for r in missing["runs"] if not (r["spec"]["arm"] == "no_bn" and r["spec"]["seed"] == 0)]
    with pytest.raises(ValueError, match="seeds"):
        summarize(raw, missing)


# The facts the chapter's prose rests on (each names its sentence).

def test_the_x1_reference_is_the_run_this_experiment_would_make(raw, raw_conv):
    # "The ×1 runs are those of 02_convergence (...), which have the same model and training
    # specification apart from the init scale"
    res, conv = ExperimentResult.from_dict(raw), ExperimentResult.from_dict(raw_conv)
    initialization.check_reference(res, conv, seeds_of(raw))
    assert raw_conv["measures"]["baseline_lr"] == raw["measures"]["lr"]
    for bn in (False, True):
        assert sorted(runs_at(raw, raw_conv, bn, 1.0)) == seeds_of(raw)


def test_every_x1_run_trained(raw, raw_conv):
    # the changes "against ×1" pair every seed: both x1 arms trained in every seed
    for bn in (False, True):
        assert not any(failed(r) for r in runs_at(raw, raw_conv, bn, 1.0).values())


def test_without_bn_x10_diverges_in_every_seed_before_the_first_evaluation(raw, raw_conv):
    # "Without BN the network diverges in every seed ... by step 2 the loss is no longer finite ...
    # before the first evaluation, so the health figure has nothing of these runs beyond step 0"
    runs = list(runs_at(raw, raw_conv, False, 10.0).values())
    assert len(runs) == len(seeds_of(raw)) and all(r["history"]["diverged"] for r in runs)
    assert all(r["history"]["diverged_at_step"] <= 2 for r in runs)
    assert all(r["history"]["diverged_at_step"] < raw["config"]["eval_every"] for r in runs)
    assert all(len(r["history"]["health"]) == 1 for r in runs)


def test_without_bn_x01_never_leaves_chance(raw, raw_conv):
    # "×0.1. Without BN the network never leaves chance (5 at chance (of 5), stopped at step 144)"
    runs = list(runs_at(raw, raw_conv, False, 0.1).values())
    assert len(runs) == len(seeds_of(raw)) and all(r["history"]["stalled"] for r in runs)


def test_with_bn_both_scales_train_in_every_seed(raw, raw_conv):
    # "With BN the same scale trains in every seed" (×10) and "With BN it trains" (×0.1)
    for s in raw["measures"]["init_scales"]:
        runs = runs_at(raw, raw_conv, True, s)
        assert sorted(runs) == seeds_of(raw) and not any(failed(r) for r in runs.values())


def test_each_scale_is_reproduced_on_the_outcomes(raw, raw_conv):
    # "the claim's verdict for ×10 is reproduced, on the outcomes" and "Verdict for ×0.1: reproduced,
    # again on the outcomes": 5/5 against 0/5, one-sided Fisher's exact p = 1 / C(10, 5) = 1/252 < 2.5 %
    res, conv = ExperimentResult.from_dict(raw), ExperimentResult.from_dict(raw_conv)
    for s in raw["measures"]["init_scales"]:
        c = initialization.compare_scale(res, conv, s, seeds_of(raw))
        assert c.verdict == "reproduced" and c.basis == "outcomes"
    assert 1 / math.comb(2 * len(seeds_of(raw)), len(seeds_of(raw))) < 0.025


def test_the_first_loss_explodes_without_bn_at_x10(raw, raw_conv):
    # "its first loss is 1.8e+09 (median over seeds; ×1 starts at 3), the first update is enormous"
    assert first_loss(runs_at(raw, raw_conv, False, 10.0).values()) > \
        1e6 * first_loss(runs_at(raw, raw_conv, False, 1.0).values())


def test_the_gradient_vanishes_without_bn_at_x01(raw, raw_conv):
    # "the first convolution's gradient norm is 1.0e-09 against 7.6e-02 at ×1 — a vanishing gradient"
    assert first_grad(runs_at(raw, raw_conv, False, 0.1).values()) < \
        first_grad(runs_at(raw, raw_conv, False, 1.0).values()) / 1e6


def _change(raw, raw_conv, scale):
    runs, ref = runs_at(raw, raw_conv, True, scale), runs_at(raw, raw_conv, True, 1.0)
    return mean_ci([runs[k]["history"]["final_test_acc"] - ref[k]["history"]["final_test_acc"] for k in sorted(runs)])


def test_with_bn_x10_trains_worse_and_x01_is_not_resolved(raw, raw_conv):
    # "But it trains *worse*: 38.3 % [...], a change against ×1 of -20.6 points [...]"
    assert _change(raw, raw_conv, 10.0)[2] < 0
    # "change against ×1 -2.2 points [-4.5, 0.0], an interval that includes 0"
    _, low, high = _change(raw, raw_conv, 0.1)
    assert low < 0 < high


def test_with_bn_the_first_conv_turns_slowly_at_x10_and_fast_at_x01(raw, raw_conv):
    bn = {s: list(runs_at(raw, raw_conv, True, s).values()) for s in scales_of(raw)}
    # "so each step turns them far less — relative gradient 0.014 against 0.12"
    assert first_conv(bn[10.0], 1)[1] < first_conv(bn[1.0], 1)[1] / 5
    # "and weight decay has not shrunk them by the end (norm 54)"
    assert first_conv(bn[10.0], -1)[0] > 5 * first_conv(bn[1.0], -1)[0]
    # "its small weights make its effective rate large (relative gradient 3.5)"
    assert first_conv(bn[0.1], 1)[1] > 5 * first_conv(bn[1.0], 1)[1]
    # "grow the first convolution's norm from 0.57 to 2.5"
    w0 = statistics.median(r["history"]["health"][0]["weight_norm"][0] for r in bn[0.1])
    assert first_conv(bn[0.1], -1)[0] > 3 * w0


def test_with_bn_the_unnormalized_classifier_raises_the_first_loss_at_x10(raw, raw_conv):
    # "Its unnormalized classifier also starts at a first loss of 14 against 2.7"
    assert first_loss(runs_at(raw, raw_conv, True, 10.0).values()) > \
        2 * first_loss(runs_at(raw, raw_conv, True, 1.0).values())
