"""The normalization-family chapter's record (``summarize``): numbers recomputed by hand from the raw runs of
the committed result, the statements its prose makes in words (formerly asserts in the chapter), and the
cases a wrong summary would get wrong."""

import copy
import json
import re
from pathlib import Path

import pytest

from bn.experiments.norm_family import (LABELS, accuracy_change, accuracy_changes, accuracy_grid, accuracy_table,
                                        gap_table, summarize)
from bn.statistics import mean_ci, paired_difference_ci
from tests.experiments.raw_results import mean_ci as by_hand_ci  # bn.statistics' mean_ci is the other path
from tests.experiments.records import typed

ROOT = Path(__file__).resolve().parents[2]
RESULT = ROOT / "book" / "results" / "norm_family.json"
SMALL, MID, LARGE = 2, 8, 128  # the smallest batch, the ghost size, the largest batch of the cpu profile


@pytest.fixture(scope="module")
def raw():
    return json.loads(RESULT.read_text())


@pytest.fixture(scope="module")
def summary(raw):
    return summarize(typed(raw))


@pytest.fixture(scope="module")
def grid(raw):
    return accuracy_grid(typed(raw))


def by_seed(raw, arm, b, key="final_test_acc"):
    """The runs' values for one arm and batch size, in seed order, read straight from the run records."""
    recs = sorted((r for r in raw["measures"]["runs"] if r["arm"] == arm and r["batch_size"] == b),
                  key=lambda r: r["seed"])
    assert [r["seed"] for r in recs] == [0, 1, 2]
    return [r[key] for r in recs]


def printed_points(text, exact):
    # "+1.7 points [-8.1, 11.5]": each number is 100 x the exact one rounded to one decimal, so within
    # 0.05 of it (1e-9 for the float64 arithmetic of the recomputation).
    printed = [float(x) for x in re.findall(r"[-+]?\d+\.\d+", text)]
    assert len(printed) == 3
    for p, e in zip(printed, exact):
        assert abs(p - 100 * e) <= 0.05 + 1e-9, (text, exact)


def test_design_numbers_are_the_results(summary, raw):
    cfg = raw["config"]
    assert (summary.small, summary.large, summary.ghost) == (SMALL, LARGE, MID)
    assert summary.steps_small == 4096 // 2 == 2048 and summary.steps_large == 4096 // 128 == 32
    assert summary.lr_small == pytest.approx(0.1 * 2 / 128, rel=1e-15)
    assert (summary.warm, summary.ramp) == (5, 25) and summary.nconv == len(cfg["widths"]) == 8
    assert summary.cpu_min == raw["provenance"]["cpu_time_s"] / 60 and summary.nseeds == 3


def test_accuracies_and_changes_recompute_from_the_raw_runs(summary, raw):
    for arm in ("bn", "group", "layer", "renorm"):
        for b in (2, 8, 32, 128):
            assert summary.acc[f"{arm}-{b}"] == pytest.approx(100 * sum(by_seed(raw, arm, b)) / 3, rel=1e-12)
        for ref in (MID, LARGE):
            diffs = [a - c for a, c in zip(by_seed(raw, arm, SMALL), by_seed(raw, arm, ref))]
            printed_points(summary.change[f"{arm}-{ref}"], by_hand_ci(diffs))
    for arm in ("group", "layer"):
        bn = [a - c for a, c in zip(by_seed(raw, "bn", SMALL), by_seed(raw, "bn", MID))]
        other = [a - c for a, c in zip(by_seed(raw, arm, SMALL), by_seed(raw, arm, MID))]
        printed_points(summary.change_bn_vs[f"{arm}-{MID}"], by_hand_ci([x - y for x, y in zip(bn, other)]))
        printed_points(summary.bn_minus[f"{arm}-{SMALL}"],
                       by_hand_ci([x - y for x, y in zip(by_seed(raw, "bn", SMALL), by_seed(raw, arm, SMALL))]))


def test_train_eval_gap_and_ghost_numbers_recompute_from_the_raw_runs(summary, raw):
    evals, batch = by_seed(raw, "bn", SMALL), by_seed(raw, "bn", SMALL, "batch_stats_test_acc")
    assert summary.bn_eval_small == pytest.approx(100 * sum(evals) / 3, rel=1e-12)
    assert summary.bn_batch_small == pytest.approx(100 * sum(batch) / 3, rel=1e-12)
    printed_points(summary.bn_gap_small, by_hand_ci([a - b for a, b in zip(evals, batch)]))
    ghost = by_seed(raw, "ghost", LARGE)
    assert summary.acc_ghost_large == pytest.approx(100 * sum(ghost) / 3, rel=1e-12)
    printed_points(summary.ghost_vs_bn_large,
                   by_hand_ci([a - b for a, b in zip(ghost, by_seed(raw, "bn", LARGE))]))
    assert summary.acc_bn_ghostsize == summary.acc["bn-8"]


# --- what the prose says in words, on the committed result -----------------------------------

def test_bn_loses_accuracy_from_the_ghost_size_to_the_smallest_batch(grid):
    # "There BN changes by {nf-change-bn-8}" and "Two statements have intervals that settle their
    # sign: BN loses accuracy between batches of 8 and 2".
    assert accuracy_change(grid, "bn", SMALL, MID).high < 0


@pytest.mark.parametrize("arm", ["group", "layer"])
def test_group_and_layer_norm_do_not_measurably_change(grid, arm):
    # "while GroupNorm changes by ... and LayerNorm by ...: neither depends on the batch, and neither
    # moves"; "GroupNorm and LayerNorm do not measurably change between those batch sizes".
    iv = accuracy_change(grid, arm, SMALL, MID)
    assert iv.low < 0 < iv.high


def test_bn_is_ahead_at_the_ghost_size(grid):
    # "At B >= 8 BN is ahead of both batch-independent layers on average": BN minus LayerNorm excludes
    # 0 ("it is ahead of LayerNorm at 8"), BN minus GroupNorm is positive on average.
    assert paired_difference_ci(grid["bn"][MID], grid["layer"][MID]).low > 0
    assert paired_difference_ci(grid["bn"][MID], grid["group"][MID]).estimate > 0


@pytest.mark.parametrize("arm", ["group", "layer"])
def test_bn_is_no_longer_measurably_ahead_at_the_smallest_batch(grid, arm):
    # "At B = 2 that lead is gone: ... both intervals includes 0".
    iv = paired_difference_ci(grid["bn"][SMALL], grid[arm][SMALL])
    assert iv.low < 0 < iv.high


def test_batch_renorm_does_not_rescue_bn(grid):
    # "Batch Renormalization does not rescue BN here": below BN on average at the smallest and the
    # largest batch, and it loses accuracy from 8 to 2 (an interval below 0).
    for b in (SMALL, LARGE):
        assert mean_ci(grid["renorm"][b]).estimate < mean_ci(grid["bn"][b]).estimate
    assert accuracy_change(grid, "renorm", SMALL, MID).high < 0


@pytest.mark.parametrize("arm", ["bn", "group", "layer", "renorm"])
def test_every_arm_is_better_at_the_ghost_size_than_at_the_largest_batch(grid, arm):
    # "From B = 128 down to 8 every arm's mean accuracy rises".
    assert mean_ci(grid[arm][MID]).estimate > mean_ci(grid[arm][LARGE]).estimate


def test_eval_mode_is_not_worse_than_batch_statistics_at_the_smallest_batch(raw, grid):
    # "Here the clean one is, if anything, the better of the two".
    batch = accuracy_grid(typed(raw), "batch_stats_test_acc")
    assert mean_ci(grid["bn"][SMALL]).estimate > mean_ci(batch["bn"][SMALL]).estimate


def test_ghost_batches_at_the_largest_batch_do_not_reach_bn_at_the_ghost_size(grid):
    # "Normalizing over 8 examples is therefore not what made B = 8 the best batch size for BN here".
    assert mean_ci(grid["ghost"][LARGE]).estimate < mean_ci(grid["bn"][MID]).estimate


# --- what a wrong summary would get wrong ----------------------------------------------------

def test_a_wrong_seed_pairing_moves_the_changes_but_not_the_accuracies(summary, raw):
    bad = copy.deepcopy(raw)
    recs = [r for r in bad["measures"]["runs"] if r["arm"] == "bn" and r["batch_size"] == MID]
    seeds = [r["seed"] for r in recs]
    for r, s in zip(recs, seeds[1:] + seeds[:1]):
        r["seed"] = s
    wrong = summarize(typed(bad))
    # The same three values summed in another order: equal to the last bit or two.
    assert wrong.acc == pytest.approx(summary.acc, rel=1e-14)
    assert wrong.change["bn-8"] != summary.change["bn-8"]


def test_a_missing_run_is_an_error_not_two_seeds(raw):
    bad = copy.deepcopy(raw)
    bad["measures"]["runs"] = [r for r in bad["measures"]["runs"]
                               if not (r["arm"] == "bn" and r["batch_size"] == SMALL and r["seed"] == 1)]
    with pytest.raises(KeyError):
        summarize(typed(bad))


def test_changes_need_the_same_seeds_at_both_batch_sizes():
    grid = {"bn": {2: [0.1, 0.2, 0.3], 8: [0.2, 0.3]}}
    with pytest.raises(ValueError):
        accuracy_changes(grid, "bn", 2, 8)
    assert accuracy_changes({"bn": {2: [0.5, 0.25], 8: [0.25, 0.5]}}, "bn", 2, 8) == [0.25, -0.25]


def test_tables_show_every_arm_and_a_dash_where_none_was_trained(raw, summary):
    acc = accuracy_table(typed(raw)).html()
    assert all(LABELS[arm] in acc for arm in LABELS) and "–" in acc  # ghost-batch BN: not at B <= 8
    gap = gap_table(typed(raw)).html()
    assert summary.bn_gap_small in gap and LABELS["group"] not in gap
