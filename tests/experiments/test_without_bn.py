"""The study of residual networks without BN: its plan, its summary and its claims (on a smoke run)."""

import copy
import math

import numpy as np
import pytest

from bn.experiments import REGISTRY, ExperimentResult, run_experiment
from bn.experiments.without_bn import (METHODS, PROFILES, arm_name, chapter_summary, claim_rows, claims_table,
                                       depth_slope, results_table, summarize, sweep_table, train_args)
from bn.statistics import VERDICTS


@pytest.fixture(scope="module")
def smoke(synthetic_dir):
    return ExperimentResult.from_dict(run_experiment(REGISTRY["without_bn"], "smoke", data_dir=str(synthetic_dir),
                                                     progress=False))


def test_depth_slope_recovers_a_power_law_and_refuses_zeros():
    r = [3.0 * (i + 1) ** -1.0 for i in range(16)]
    # exact data: the fit's error is float64 rounding of a 16-point least-squares solve
    assert depth_slope(r) == pytest.approx(-1.0, abs=1e-12)
    assert depth_slope([2.0] * 8) == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(ValueError, match="positive ratios"):
        depth_slope([0.0, 0.0, 0.0])


def test_small_batches_scale_the_rate_linearly():
    cfg = PROFILES["cpu"]
    assert train_args(cfg, 0.1, 128)["peak_lr"] == 0.1
    assert train_args(cfg, 0.1, 16)["peak_lr"] == pytest.approx(0.1 * 16 / 128, rel=1e-12)


def test_profiles_keep_selection_apart_and_enough_runs_for_the_exact_test():
    for name, cfg in PROFILES.items():
        assert cfg["select_seed"] not in cfg["seeds"]
        assert set(cfg["variance_seeds"]) <= set(cfg["seeds"]) and set(cfg["high_seeds"]) <= set(cfg["seeds"])
        assert cfg["arm_seeds"] <= len(cfg["seeds"])
    # 4 of 4 against 0 of 4 is the smallest table Fisher's one-sided test settles at 2.5 %
    assert len(PROFILES["cpu"]["high_seeds"]) >= 4 and math.comb(8, 4) > 1 / 0.025


def test_smoke_run_records_every_arm_and_the_initialization(smoke):
    m = smoke.measures
    assert set(m["chosen_lr"]) == set(METHODS)
    assert {v["method"] for v in m["init_variance"]} == set(METHODS)
    arms = {r.spec.arm for r in smoke.runs if not r.spec.tags.get("sweep")}
    for method in METHODS:
        assert arm_name(method, 128, "own") in arms and arm_name(method, 8, "own") in arms
        # the BN-rate arm exists exactly where the method chose another rate than BN
        assert (arm_name(method, 128, "bn") in arms) == (m["chosen_lr"][method] != m["base_lr"])
    assert {arm_name("nf", 128, "high"), arm_name("nf_noclip", 128, "high")} <= arms
    noclip = [r for r in smoke.runs if r.spec.arm == arm_name("nf_noclip", 128, "high")]
    assert all(r.spec.model["agc"] == 0.0 for r in noclip)


def test_summary_and_tables(smoke):
    s = summarize(smoke)
    assert s.identity_max["skipinit"] == 0.0 and s.identity_max["fixup"] == 0.0
    assert s.bn_slope.high < 0           # BN's ratio falls with depth, even in 4 blocks
    assert set(s.slopes) == {"bn", "ws_gn", "nf"}
    record = chapter_summary(smoke)
    assert record.lr["bn"] == s.base_lr and record.small == 8 and record.scale_down == "sixteen"
    assert len(results_table(s).rows) == len(s.rows) == 3 * len(METHODS) - 1
    assert len(sweep_table(s).rows) == len(METHODS)


def test_claim_rows_use_the_vocabulary_and_follow_the_evidence(smoke):
    rows = claim_rows(smoke)
    assert [r.key for r in rows] == ["nobn_identity", "nobn_skipinit_small_batch", "nobn_fixup",
                                     "nobn_wsgn_small_batch", "nobn_nf_agc_high_rate"]
    assert all(r.verdict.word in VERDICTS for r in rows)
    assert rows[0].verdict.word == "reproduced"
    assert len(claims_table(rows).rows) == len(rows)


def test_a_wrong_result_changes_the_verdicts(smoke):
    # A BN whose branch did not shrink with depth (constant ratio) does not reproduce the identity claim
    flat = copy.deepcopy(smoke)
    for v in flat.measures["init_variance"]:
        if v["method"] == "bn":
            v["ratios"] = [1.0 + 0.01 * ((i * 7) % 3) for i in range(len(v["ratios"]))]
    assert claim_rows(flat)[0].verdict.word != "reproduced"
    # BN runs still climbing at the end: a claim about where training ends is not tested
    rising = copy.deepcopy(smoke)
    for r in rising.runs:
        if r.spec.arm.startswith("bn_"):
            n = len(r.history.val_acc)
            r.history.val_acc = list(np.linspace(0.1, 0.1 + 0.1 * n, n) + 0.01 * r.spec.seed)
    for row in claim_rows(rising)[1:4]:
        assert row.verdict.word == "not tested at this budget"
    # every run without AGC diverged: the counts follow
    broken = copy.deepcopy(smoke)
    for r in broken.runs:
        if r.spec.arm == arm_name("nf_noclip", 128, "high"):
            r.history.diverged = True
    assert summarize(broken).high["nf_noclip"][0] == 0
    assert "0/2 without" in claim_rows(broken)[-1].ours
