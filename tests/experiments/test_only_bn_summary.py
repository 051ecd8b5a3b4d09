"""only_bn.chapter_summary on the committed result: recomputed by hand from the raw JSON, and the
facts the chapter's prose rests on (formerly asserted in hidden cells of the chapter)."""

import copy
import dataclasses
import json
from pathlib import Path

import pytest

from bn.experiments.only_bn import (CHAPTER_PAIRS, OnlyBnSummary, chapter_summary, claim_verdicts,
                                    paired_difference, scaled_widths, summarize, width_tag)
from bn.statistics import VERDICTS
from tests.experiments.records import typed
from tests.experiments.raw_results import mean_ci, parse_interval

RESULT = Path(__file__).resolve().parents[2] / "book" / "results" / "only_bn.json"
pytestmark = pytest.mark.skipif(not RESULT.exists(), reason="no committed result yet")



@pytest.fixture(scope="module")
def raw():
    return json.loads(RESULT.read_text())


@pytest.fixture(scope="module")
def summary(raw):
    return chapter_summary(typed(raw))


def mismatches(summary, raw):
    """Keys of ``summary.acc`` and ``summary.d`` whose shown numbers differ from ``raw`` by hand.

    Each number is shown with one decimal in points: the hand value must round to it, so it may
    differ by half a unit of that decimal (0.05), plus 1e-9 for the two float64 paths.
    """
    runs = {(r["width_multiplier"], r["arm"], r["seed"]): r["test_acc"] for r in raw["measures"]["runs"]}
    seeds = raw["config"]["seeds"]
    bad = []
    for m in raw["config"]["width_multipliers"]:
        for arm in raw["config"]["arms"]:
            key = f"{arm}-{width_tag(m)}"
            hand = mean_ci([100 * runs[m, arm, s] for s in seeds], n=3)
            if any(abs(a - b) > 0.05 + 1e-9 for a, b in zip(parse_interval(summary.acc[key]), hand)):
                bad.append(key)
        for a, b in CHAPTER_PAIRS:
            key = f"{a}-{b}-{width_tag(m)}"
            hand = mean_ci([100 * (runs[m, a, s] - runs[m, b, s]) for s in seeds], n=3)
            if any(abs(x - y) > 0.05 + 1e-9 for x, y in zip(parse_interval(summary.d[key]), hand)):
                bad.append(key)
    return bad


def test_accuracies_and_paired_differences_match_a_recomputation_by_hand(summary, raw):
    assert len(summary.acc) == 15 and len(summary.d) == 12
    assert mismatches(summary, raw) == []


def test_setup_fields_from_the_raw_json(summary, raw):
    cfg, measures = raw["config"], raw["measures"]
    assert (summary.steps, summary.batch, summary.nseeds) == (cfg["steps"], cfg["batch_size"], 3)
    assert (summary.nfit, summary.nval, summary.ntest) == (45000, 5000, 10000)
    assert summary.nfit + summary.nval == 50000  # the CIFAR-10 training set, split
    # One division of exact integers, then one more: 2 float64 roundings.
    assert summary.epochs == pytest.approx(200 * 64 / 45000, rel=1e-15)
    assert summary.cpu_min == pytest.approx(raw["provenance"]["cpu_time_s"] / 60, rel=1e-15)
    assert summary.select_width == "0.5×" and summary.widest == "1×"
    assert summary.copy == {"official": "CIFAR-10, official release",
                            "jpeg-q75-rebuild": "CIFAR-10, JPEG-q75 rebuild"}[raw["provenance"]["data"]["copy"]]
    assert summary.lr_all == measures["chosen_lr"]["all"] and summary.lr_max == max(cfg["lr_grid"])


def test_counts_at_1x_are_those_of_the_networks_themselves(summary, raw):
    # The networks of the result file trained these counts (a hidden check of the chapter's
    # parameter table): rebuild each network, freeze it by arm, count.
    from bn.models import build_model
    from bn.training import set_trainable

    params = summarize(typed(raw))["params"]
    for m in raw["config"]["width_multipliers"]:
        for arm in raw["config"]["arms"]:
            counts = set_trainable(build_model("plain", widths=scaled_widths(m)), arm)
            assert counts.to_dict() == dataclasses.asdict(params[m][arm]), (m, arm)
    # The exercise's closed forms at k = 1: BN 2 (3*16 + 3*32 + 2*64) = 544, classifier 64*10 + 10.
    assert (summary.bn_1x, summary.head_1x) == ("544", "650")
    total = params[1.0]["all"].total
    assert summary.total_1x == f"{total:,}"
    assert summary.bn_share_1x == pytest.approx(100 * 544 / total, rel=1e-15)
    # "training two other weights per channel trains exactly as many"
    assert params[1.0]["random_params"].trainable == params[1.0]["bn_only"].trainable


def test_verdicts_and_plateau_are_the_rules(summary, raw):
    assert summary.verdict == claim_verdicts(typed(raw))
    assert set(summary.verdict) == {"above_chance", "above_random", "above_linear", "gap_grows"}
    assert set(summary.verdict.values()) <= set(VERDICTS)
    assert summary.plateau_linear_1.startswith(("plateaued (", "still rising ("))


def test_the_classifier_claim_waits_for_the_runs_still_rising(summary):
    # "The classifier-only runs at 0.5x were still improving when the budget ran out, so the rule
    # waits for longer runs; at 1x they had levelled off": the sentence and the verdict agree.
    assert summary.plateau_linear_05.startswith("still rising (")
    assert summary.plateau_linear_1.startswith("plateaued (")
    assert summary.verdict["above_linear"] == "not tested at this budget"


def test_a_summary_of_swapped_arms_or_seeds_fails_the_check(raw):
    # Swapping two arms' labels in the result: the hand recomputation on the true result flags it.
    swapped = copy.deepcopy(raw)
    for r in swapped["measures"]["runs"]:
        r["arm"] = {"bn_only": "linear_only", "linear_only": "bn_only"}.get(r["arm"], r["arm"])
    assert len(mismatches(chapter_summary(typed(swapped)), raw)) >= 10
    # Breaking the seed pairing of one arm leaves its mean but moves the paired intervals.
    shuffled = copy.deepcopy(raw)
    runs = [r for r in shuffled["measures"]["runs"] if r["arm"] == "random_params"]
    accs = {(r["width_multiplier"], r["seed"]): r["test_acc"] for r in runs}
    for r in runs:
        r["test_acc"] = accs[r["width_multiplier"], (r["seed"] + 1) % 3]
    bad = mismatches(chapter_summary(typed(shuffled)), raw)
    assert bad and all("random_params" in k for k in bad)


def test_a_diverged_run_is_refused_not_summarized(raw):
    broken = copy.deepcopy(raw)
    next(r for r in broken["measures"]["runs"] if r["arm"] == "bn_only")["test_acc"] = None
    with pytest.raises(ValueError, match="diverged"):
        chapter_summary(typed(broken))


def test_summary_is_a_frozen_record(summary):
    assert isinstance(summary, OnlyBnSummary)
    with pytest.raises(dataclasses.FrozenInstanceError):
        summary.steps = 0


# The facts the chapter's Verdict section rests on, on the committed result.

def diff(raw, m, arm, ref):
    return paired_difference(typed(raw), m, arm, ref)


def test_bn_only_is_above_chance_at_every_width(raw):
    # "every interval lies above chance" (Verdict, claim 1)
    acc = summarize(typed(raw))["accuracy"]
    assert all(acc[m]["bn_only"].low > 0.1 for m in raw["config"]["width_multipliers"])


def test_both_gaps_of_bn_only_grow_with_width(raw):
    # "Both differences of γ and β to the controls increase from 0.25× to 1×" (claim 3)
    widths = raw["config"]["width_multipliers"]
    for ref in ("random_params", "linear_only"):
        gaps = [diff(raw, m, "bn_only", ref).estimate for m in widths]
        assert gaps[0] < gaps[1] < gaps[2], ref


def test_bn_only_beats_random_params_in_each_seed_at_05_and_1(raw):
    # "At 0.5× and 1× γ and β win in each of the seeds; the interval at 1× still reaches below
    # zero ... at 0.25× the interval includes zero too" (claim 2)
    narrow, middle, default = raw["config"]["width_multipliers"]
    by = {(r["width_multiplier"], r["arm"], r["seed"]): r["test_acc"] for r in raw["measures"]["runs"]}
    assert all(by[m, "bn_only", s] > by[m, "random_params", s]
               for m in (middle, default) for s in raw["config"]["seeds"])
    assert diff(raw, middle, "bn_only", "random_params").low > 0
    assert diff(raw, default, "bn_only", "random_params").low < 0
    d = diff(raw, narrow, "bn_only", "random_params")
    assert d.low < 0 < d.high


def test_classifier_alone_leads_at_025_and_trails_within_noise_at_1(raw):
    # "At 0.25× the trained classifier on frozen features is *ahead* of γ and β; at 1× γ and β
    # lead by ..., an interval that still includes zero" (claim 2)
    narrow, _, default = raw["config"]["width_multipliers"]
    assert diff(raw, narrow, "bn_only", "linear_only").high < 0
    d = diff(raw, default, "bn_only", "linear_only")
    assert d.estimate > 0 > d.low


def test_affine_parameters_add_to_the_classifier_and_everything_leads(raw):
    # "Training both ... beats the classifier alone" and "training everything is still ... points
    # ahead of the best frozen arm at 1×" (claim 2, and the closing paragraph)
    default = max(raw["config"]["width_multipliers"])
    assert diff(raw, default, "bn_and_linear", "linear_only").low > 0
    assert diff(raw, default, "all", "bn_and_linear").low > 0
    acc = summarize(typed(raw))["accuracy"][default]
    assert max((a for a in acc if a != "all"), key=lambda a: acc[a].estimate) == "bn_and_linear"


def test_every_frozen_arm_chose_the_largest_rate(raw):
    # "every frozen arm chose the largest rate of the grid ... (training everything chose ...)"
    chosen, grid = raw["measures"]["chosen_lr"], raw["config"]["lr_grid"]
    assert all(chosen[a] == max(grid) for a in raw["config"]["arms"] if a != "all")
    assert chosen["all"] < max(grid)
