"""The committed synchronized-BN result: paired seeds, both arms, timings that add up, children's CPU time."""

import pytest

from bn.experiments.sync_bn import ARMS, PROFILES, report
from bn.results import load_result, results_dir
from tests.experiments.records import typed

pytestmark = pytest.mark.skipif(not (results_dir() / "sync_bn.json").exists(), reason="no committed result")


@pytest.fixture(scope="module")
def result():
    return load_result("sync_bn")


def test_the_result_is_the_cpu_profile_with_paired_seeds(result):
    assert result["profile"] == "cpu" and result["config"] == PROFILES["cpu"]
    seeds = result["seeds"]
    assert len(seeds) >= 3 and seeds == result["config"]["seeds"]
    for arm in ARMS:
        for rank in range(result["config"]["world_size"]):
            assert sorted(r["seed"] for r in result["measures"]["runs"] if r["arm"] == arm and r["rank"] == rank) == seeds


def test_the_collectives_fit_inside_the_step(result):
    for r in result["measures"]["runs"]:
        kinds = set(r["comm_seconds"])
        assert kinds == ({"gradients", "bn_forward", "bn_backward"} if r["arm"] == "synchronized"
                         else {"gradients"})
        assert 0 < sum(r["comm_seconds"].values()) < r["step_seconds"]


def test_cpu_time_counts_the_worker_processes(result):
    prov = result["provenance"]
    assert prov["cpu_time_s"] >= sum(prov["cpu_time_workers_s"])
    # The cpu profile's budget: about 6 to 8 CPU-minutes for both arms and every seed.
    assert prov["cpu_time_s"] / 60 < 10


def test_report_pairs_the_seeds(result):
    rep = report(typed(result))
    acc = rep["acc_by_seed"]
    diffs = [b - a for a, b in zip(acc["per_process"], acc["synchronized"])]
    assert rep["acc_difference"].estimate == pytest.approx(sum(diffs) / len(diffs), abs=1e-12)
    for arm in ARMS:
        assert 0 <= rep["grad_share"][arm].estimate < 1
        assert sum(rep["parts_ms"][arm].values()) == pytest.approx(rep["step_ms"][arm].estimate, rel=1e-9)
    assert rep["bn_share"]["per_process"].estimate == 0
    assert rep["step_ms_difference"].estimate == pytest.approx(
        rep["step_ms"]["synchronized"].estimate - rep["step_ms"]["per_process"].estimate, rel=1e-9)


def test_both_arms_are_evaluated_with_recomputed_and_with_running_statistics(result):
    rep = report(typed(result))
    for r in result["measures"]["runs"]:
        if r["rank"] == 0:
            assert r["final_test_acc"] == r["test_acc_curve"][-1][1]
            assert r["final_test_acc_running"] == r["test_acc_curve_running"][-1][1]
            assert [c[0] for c in r["test_acc_curve"]] == [c[0] for c in r["test_acc_curve_running"]]
    # The running-statistics comparison minus the recomputed one is the evaluation part, seed by seed.
    assert rep["evaluation_part"].estimate == pytest.approx(
        rep["acc_difference_running"].estimate - rep["acc_difference"].estimate, abs=1e-12)
