"""The weight-decay chapter's record (``chapter_summary``): its numbers recomputed by hand from the raw runs
of the committed result, the facts its prose relies on, and the cases a wrong summary would get wrong."""

import copy
import json
import math
import re
from pathlib import Path

import numpy as np
import pytest

from bn.experiments.weight_decay import (CLASSIFIER, chapter_summary, equilibrium_table, stored_interval,
                                         summarize, verdict_decays)
from bn.scale_dynamics import ToyConfig
from tests.experiments.raw_results import mean_ci
from tests.experiments.records import experiment_result, typed

ROOT = Path(__file__).resolve().parents[2]
RESULT = ROOT / "book" / "results" / "weight_decay.json"
TOY = ToyConfig(steps=2000, weight_decay=0.01, momentum=0.9, eps=1e-12)  # the chapter's toy run


@pytest.fixture(scope="module")
def raw():
    return json.loads(RESULT.read_text())


@pytest.fixture(scope="module")
def summary(raw):
    return chapter_summary(typed(raw), TOY)


def parse(text: str) -> tuple[float, float, float]:
    """``"1.02 [0.97, 1.07]"`` -> (1.02, 0.97, 1.07)."""
    est, low, high = re.fullmatch(r"([-+\d.]+) \[([-\d.]+), ([-\d.]+)\]", text).groups()
    return float(est), float(low), float(high)


def runs(raw, wd):
    return sorted((r for r in raw["measures"]["runs"] if r["weight_decay"] == wd), key=lambda r: r["seed"])


def close_to_printed(text: str, values: tuple[float, float, float], decimals: int, scale: float = 1.0):
    # A printed value is the exact one rounded to `decimals`: within half a unit of the last digit
    # (plus 1e-9 for the float64 arithmetic of the hand recomputation, many orders below it).
    for printed, exact in zip(parse(text), values):
        assert abs(printed - exact * scale) <= 0.5 * 10**-decimals + 1e-9, (text, values)


def test_settings_and_cost_are_the_results(summary, raw):
    cfg, prov = raw["config"], raw["provenance"]
    assert (summary.nseeds, summary.steps, summary.window, summary.every) == (3, 1000, 200, 50)
    assert summary.lr == cfg["lr"] and summary.ntest == prov["data"]["n_test"]
    assert summary.cpu_min == prov["cpu_time_s"] / 60
    assert summary.big == 5e-3 and summary.small == 5e-4
    # tau = (1 - mu) / (4 eta lambda) with mu = 0.9, eta = 0.1: 0.1 / (0.4 lambda).
    assert summary.tau == pytest.approx({"big": 50.0, "small": 500.0}, rel=1e-12)


def test_accuracies_and_paired_gains_recompute_from_the_raw_runs(summary, raw):
    acc = {wd: [r["history"]["final_test_acc"] for r in runs(raw, wd)] for wd in (0.0, 5e-4, 5e-3)}
    close_to_printed(summary.acc["0"], mean_ci(acc[0.0], n=3), 1, 100)
    close_to_printed(summary.acc["big"], mean_ci(acc[5e-3], n=3), 1, 100)
    close_to_printed(summary.acc["small"], mean_ci(acc[5e-4], n=3), 1, 100)
    # Paired by seed: the runs of one seed share initialization and batches.
    for tag, wd in (("big", 5e-3), ("small", 5e-4)):
        gains = [a - b for a, b in zip(acc[wd], acc[0.0])]
        close_to_printed(summary.gain[tag], mean_ci(gains, n=3), 1, 100)


def window_ratio(run, name, window, lr, wd, mu):
    """The layer's RMS relative update over the last ``window`` steps over sqrt(2 eta lambda / (1 + mu))."""
    h = run["history"]
    end = h["eval_step"][-1]
    num = den = 0.0
    for step, m in zip(h["eval_step"], h["measures"]):
        if step > end - window and m["steps"]:
            rec = m["layers"][name]
            num += m["steps"] * rec["mean_update_sq"]
            den += m["steps"] * rec["mean_norm_sq"]
    return math.sqrt(num / den) / math.sqrt(2 * lr * wd / (1 + mu))


def test_conv_and_classifier_ratios_recompute_from_the_raw_runs(summary, raw):
    cfg = raw["config"]
    for tag, wd in (("big", 5e-3), ("small", 5e-4)):
        sel = runs(raw, wd)
        names = list(sel[0]["history"]["measures"][0]["layers"])
        convs = [n for n in names if n != CLASSIFIER]
        per_seed = [float(np.mean([window_ratio(r, n, cfg["window_steps"], cfg["lr"], wd, cfg["momentum"])
                                   for n in convs])) for r in sel]
        close_to_printed(summary.ratio[tag], mean_ci(per_seed, n=3), 2)
        lin = [window_ratio(r, CLASSIFIER, cfg["window_steps"], cfg["lr"], wd, cfg["momentum"]) for r in sel]
        close_to_printed(summary.lin[tag], mean_ci(lin, n=3), 2)


def test_norm_change_and_the_fall_without_decay_recompute_from_the_raw_runs(summary, raw):
    window = raw["config"]["window_steps"]
    for tag, wd in (("big", 5e-3), ("small", 5e-4)):
        changes = []
        for r in runs(raw, wd):
            h = r["history"]
            start = h["eval_step"].index(h["eval_step"][-1] - window)
            convs = [n for n in h["measures"][0]["layers"] if n != CLASSIFIER]
            changes.append([h["measures"][-1]["layers"][n]["norm"] / h["measures"][start]["layers"][n]["norm"] - 1
                            for n in convs])
        # mean over layers of the mean over seeds = the mean of the (seeds x layers) table
        assert summary.change[tag] == pytest.approx(100 * np.mean(changes), rel=1e-9)
    first, last = [], []
    for r in runs(raw, 0.0):
        ms = r["history"]["measures"]
        convs = [n for n in ms[0]["layers"] if n != CLASSIFIER]
        first += [ms[1]["layers"][n]["rms_update"] for n in convs]
        last += [ms[-1]["layers"][n]["rms_update"] for n in convs]
    assert summary.nodecay_fall == pytest.approx(np.mean(first) / np.mean(last), rel=1e-9)


def test_toy_and_momentum_numbers(summary):
    assert summary.mu_factor == pytest.approx(math.sqrt(1.9), rel=1e-15)
    # Nesterov's update over heavy ball: sqrt(1 + 2 mu - 2 mu^3) = sqrt(1.342) at mu = 0.9.
    assert summary.nesterov_excess == pytest.approx(100 * (math.sqrt(1.342) - 1), rel=1e-12)
    toy = summary.toy
    assert (toy.steps, toy.lr, toy.wd, toy.mu) == (2000, 0.5, 0.01, 0.9)
    assert toy.tau == pytest.approx(0.1 / (4 * 0.5 * 0.01), rel=1e-12)


def test_the_classifier_exceeds_the_prediction_at_both_decays(raw):
    """Protects the classifier exercise's solution: "All four intervals lie above 1" (the classifier's ratio
    with and without the drift term, at both decays), from which it reads sum_t r_t > 0."""
    stored = raw["measures"]["summary"]["by_weight_decay"]
    for wd in verdict_decays(typed(raw)).values():
        for key in ("classifier_ratio", "classifier_ratio_drift_corrected"):
            assert stored_interval(stored[str(wd)][key]).low > 1, (wd, key)


def test_the_decays_that_carry_the_verdict_do_not_depend_on_the_order_of_the_config():
    payload = {"config": {"weight_decays": [5e-3, 0.0, 1e-4, 5e-4]}}
    assert verdict_decays(experiment_result(payload)) == {"big": 5e-3, "small": 1e-4}
    with pytest.raises(ValueError):
        verdict_decays(experiment_result({"config": {"weight_decays": [0.0]}}))


def test_a_wrong_seed_pairing_changes_the_gain_and_not_the_accuracy(summary, raw):
    """The gain is a paired difference: pairing a decayed run with another seed's run without decay
    (here the no-decay seeds rotated) leaves each arm's accuracy as it is but moves the gain."""
    bad = copy.deepcopy(raw)
    zero = [r for r in bad["measures"]["runs"] if r["weight_decay"] == 0.0]
    seeds = [r["seed"] for r in zero]
    for r, s in zip(zero, seeds[1:] + seeds[:1]):
        r["seed"] = s
    bad["measures"]["summary"] = summarize(typed(bad))
    wrong = chapter_summary(typed(bad), TOY)
    assert wrong.acc == summary.acc
    assert wrong.gain["big"] != summary.gain["big"] and wrong.gain["small"] != summary.gain["small"]


def test_swapped_decays_would_show(summary):
    # The two decays' numbers differ, so a summary that swapped big and small would not pass the
    # recomputations above (the ratio at the small decay is the one above 1).
    assert summary.ratio["big"] != summary.ratio["small"]
    assert parse(summary.ratio["small"])[1] > 1 > parse(summary.ratio["big"])[1]


def test_the_table_has_a_column_per_decay(raw, summary):
    table = equilibrium_table(typed(raw))
    html = table.html()
    for wd in raw["config"]["weight_decays"]:
        assert f"ω = {wd:g}" in html
    assert summary.ratio["big"] in html and summary.acc["0"] in html
