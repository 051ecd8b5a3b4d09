"""The smoothness chapter's record (``chapter_summary``): numbers recomputed by hand from the raw runs of
the committed result, and the cases a wrong summary would get wrong (pairing, a missing run)."""

import copy
import json
import math
import re
from pathlib import Path

import numpy as np
import pytest

from bn.experiments.smoothness import ARMS, LABELS, chapter_summary, ics_table, landscape_table, outcome_table, \
    summarize
from tests.experiments.raw_results import mean_ci
from tests.experiments.records import typed

ROOT = Path(__file__).resolve().parents[2]
RESULT = ROOT / "book" / "results" / "smoothness.json"


@pytest.fixture(scope="module")
def raw():
    return json.loads(RESULT.read_text())


@pytest.fixture(scope="module")
def summary(raw):
    return chapter_summary(typed(raw))


def runs(raw, arm):
    return sorted((r for r in raw["measures"]["runs"] if r["arm"] == arm), key=lambda r: r["seed"])


def numbers(text: str) -> tuple[float, float, float]:
    """The three numbers of ``"+1.2 points [0.3, 2.1]"``, ``"43.3 % [30.3, 56.3]"``, ``"21.7× [20.8, 22.6]"``."""
    return tuple(float(x) for x in re.findall(r"[-+]?\d+\.\d+", text))


def printed_as(text: str, exact: tuple[float, float, float], decimals: int, scale: float = 1.0):
    # Printed = exact rounded to `decimals`: within half a unit of the last digit (1e-9 for the
    # float64 arithmetic of the recomputation).
    for printed, value in zip(numbers(text), exact):
        assert abs(printed - value * scale) <= 0.5 * 10**-decimals + 1e-9, (text, exact)


def test_settings_are_the_results(summary, raw):
    cfg, prov = raw["config"], raw["provenance"]
    assert (summary.steps, summary.batch, summary.nseeds) == (cfg["steps"], cfg["batch_size"], 3)
    assert summary.ntrain == prov["data"]["n_train"] - cfg["n_val"] == 45000
    assert summary.lr == raw["measures"]["lr"] and summary.kmax == 4.0
    assert summary.nevals == cfg["steps"] // cfg["eval_every"] + 1  # the start and every 50 steps
    best = max(raw["measures"]["lr_choice"]["trials"], key=lambda t: t["val_acc"])
    assert best["lr"] == summary.lr  # "so the rate is ...": the best validation accuracy


def test_accuracies_and_losses_recompute_from_the_raw_runs(summary, raw):
    acc = {arm: [r["history"]["final_test_acc"] for r in runs(raw, arm)] for arm in ARMS}
    recomputed = {arm: [r["recomputed_test_acc"] if r.get("recomputed_test_acc") is not None
                        else r["history"]["final_test_acc"] for r in runs(raw, arm)] for arm in ARMS}
    loss = {arm: [r["history"]["train_loss"][-1] for r in runs(raw, arm)] for arm in ARMS}
    for arm in ARMS:
        printed_as(summary.acc[arm], mean_ci(acc[arm], n=3), 1, 100)
        printed_as(summary.tl[arm], mean_ci(loss[arm], n=3), 2)
    # Paired by seed: the arms of one seed share initialization and batches.
    printed_as(summary.acc_noisy_bn, mean_ci([a - b for a, b in zip(acc["noisy_bn"], acc["bn"])], n=3), 1, 100)
    for a, b in (("noisy_bn", "bn"), ("noisy_bn", "no_bn"), ("no_bn", "bn")):
        printed_as(summary.accr[f"{a}-{b}"],
                   mean_ci([x - y for x, y in zip(recomputed[a], recomputed[b])], n=3), 1, 100)
        printed_as(summary.tl[f"{a}-{b}"], mean_ci([x - y for x, y in zip(loss[a], loss[b])], n=3), 2)


def mean_shift_of(run) -> float:
    """The run's mean move of the conv inputs' channel means, in units of the earlier spread, written out."""
    ms = run["history"]["measures"]
    per_interval = []
    for before, after in zip(ms[:-1], ms[1:]):
        layers = []
        for name in before["moments"]:
            mu0, s0 = np.array(before["moments"][name]["mean"]), np.array(before["moments"][name]["std"])
            mu1, s1 = np.array(after["moments"][name]["mean"]), np.array(after["moments"][name]["std"])
            live = (s0 > 0) & (s1 > 0)
            layers.append(np.mean(np.abs(mu1[live] - mu0[live]) / s0[live]))
        per_interval.append(layers)
    return float(np.mean(per_interval))


def test_the_mean_shift_ratio_recomputes_from_the_raw_moments(summary, raw):
    for a, b in (("noisy_bn", "bn"), ("noisy_bn", "no_bn")):
        logs = [math.log(mean_shift_of(x) / mean_shift_of(y)) for x, y in zip(runs(raw, a), runs(raw, b))]
        printed_as(summary.mean_shift[f"{a}-{b}"], tuple(math.exp(v) for v in mean_ci(logs, n=3)), 1)


def test_spiky_seeds_recompute_from_the_raw_landscape(summary, raw):
    def peak(run):  # largest loss range (theta itself and every step) after the start
        return max(max(m["landscape"]["losses"]) - min(m["landscape"]["losses"])
                   for m in run["history"]["measures"][1:])
    bn_ceiling = max(peak(r) for r in runs(raw, "bn"))
    spiky = [peak(r) / bn_ceiling for r in runs(raw, "no_bn") if peak(r) > 2 * bn_ceiling]
    assert summary.spiky == len(spiky) == 2
    assert summary.spiky_factor == pytest.approx(max(spiky), rel=1e-12)


def test_the_verdict_words_follow_the_printed_intervals(summary):
    # "stable inputs" is claimed as noisy BN's training loss below no BN's: reproduced exactly when the
    # printed interval of the difference lies below 0 (its upper bound is -0.02 at two decimals).
    assert (numbers(summary.tl["noisy_bn-no_bn"])[2] < 0) == (summary.verdict["stable_inputs"] == "reproduced")
    # gradient ICS and smoother: the no BN / BN ratios' intervals include 1.
    low, high = numbers(summary.ics_relative["no_bn-bn"])[1:]
    assert low < 1 < high and summary.verdict["gradient_ics"] == "not resolved"


def test_a_wrong_seed_pairing_moves_the_paired_numbers_only(summary, raw):
    bad = copy.deepcopy(raw)
    no_bn = [r for r in bad["measures"]["runs"] if r["arm"] == "no_bn"]
    seeds = [r["seed"] for r in no_bn]
    for r, s in zip(no_bn, seeds[1:] + seeds[:1]):
        r["seed"] = s
    wrong = chapter_summary(typed(bad))
    assert wrong.acc == summary.acc and wrong.tl["no_bn"] == summary.tl["no_bn"]
    assert wrong.acc_nobn_bn != summary.acc_nobn_bn and wrong.tl["no_bn-bn"] != summary.tl["no_bn-bn"]


def test_a_missing_run_is_an_error_not_a_shorter_pairing(raw):
    bad = copy.deepcopy(raw)
    bad["measures"]["runs"] = [r for r in bad["measures"]["runs"] if not (r["arm"] == "bn" and r["seed"] == 1)]
    with pytest.raises(ValueError):
        chapter_summary(typed(bad))


def test_tables_name_every_arm_with_the_figures_labels(raw, summary):
    pytest.importorskip("matplotlib")
    from bn.plotting.smoothness import ARM_STYLE

    assert {arm: style[0] for arm, style in ARM_STYLE.items()} == LABELS
    s, near = summarize(typed(raw)), summarize(typed(raw), k_max=0.4)
    for table in (outcome_table(s), ics_table(s), landscape_table(s, near, 4.0)):
        html = table.html()
        assert all(f"<td>{LABELS[arm]}" in html for arm in ARMS)
    assert summary.acc["bn"] in outcome_table(s).html()
    assert "k ≤ 0.4" in landscape_table(s, near, 4.0).html()
