"""The chapter "Watching a network train": its summary of the committed training_diagnostics result."""

import json
import math
import statistics
from pathlib import Path

import pytest

from bn.experiments import training_diagnostics as td
from bn.experiments.base import ExperimentResult

RESULT = Path(__file__).resolve().parents[2] / "book" / "results" / "training_diagnostics.json"


@pytest.fixture(scope="module")
def result():
    with open(RESULT) as f:
        return json.load(f)


def _by_arm(result):
    return {r["arm"]: r for r in result["measures"]["runs"]}


def test_summary_against_the_raw_result(result):
    s = td.summarize(ExperimentResult.from_dict(result))
    runs = _by_arm(result)
    # By hand from the JSON: the last evaluation's layers, loops instead of the summary's helpers.
    # Every number is a ratio, max or min of float64 JSON values: equal to 1e-12 relative.
    last = {a: runs[a]["history"]["measures"][-1]["layers"] for a in runs}
    first = {a: runs[a]["history"]["measures"][0]["layers"] for a in runs}
    assert s.sat_bn_end_max == pytest.approx(100 * max(row["act"]["saturated"] for row in last["bn"]), rel=1e-12)
    assert s.sat_nobn_end_min == pytest.approx(100 * min(row["act"]["saturated"] for row in last["no_bn"]),
                                               rel=1e-12)
    assert s.std_ratio["no_bn"] == pytest.approx(last["no_bn"][-1]["act"]["std"] / last["no_bn"][0]["act"]["std"],
                                                 rel=1e-12)
    assert s.grad_ratio["bn-init"] == pytest.approx(first["bn"][0]["grad"]["std"] / first["bn"][-1]["grad"]["std"],
                                                    rel=1e-12)
    assert s.grad_weaker == pytest.approx(1 / s.grad_ratio["no_bn-init"], rel=1e-12)
    tails = [statistics.median(v[-100:]) for v in runs["bn"]["update_ratios"].values()]
    assert s.ratio["bn-hi"] == pytest.approx(math.log10(max(tails)), rel=1e-12)
    assert s.final == {a: 100 * runs[a]["history"]["final_test_acc"] for a in ("bn", "no_bn")}
    assert (s.steps, s.batch, s.probe) == (runs["bn"]["train"]["steps"], 64, 256)
    # The prose: "without BN the first layer receives a gradient ... times weaker than the last".
    assert s.grad_weaker > 1


def test_swapped_arms_would_be_caught(result):
    good = td.summarize(ExperimentResult.from_dict(result))
    swapped = json.loads(json.dumps(result))
    for r in swapped["measures"]["runs"]:
        r["arm"] = {"bn": "no_bn", "no_bn": "bn"}[r["arm"]]
    bad = td.summarize(ExperimentResult.from_dict(swapped))
    assert bad.sat_bn_end_max == good.sat_nobn_end_max != good.sat_bn_end_max
    assert bad.final["bn"] == good.final["no_bn"] != good.final["bn"]


def test_first_and_last_evaluation_are_not_mixed_up(result):
    # Reversing the evaluations would report the initialization's saturation as the end's.
    good = td.summarize(ExperimentResult.from_dict(result))
    reversed_ = json.loads(json.dumps(result))
    for r in reversed_["measures"]["runs"]:
        r["history"]["measures"].reverse()
    bad = td.summarize(ExperimentResult.from_dict(reversed_))
    assert (bad.sat_bn_end_max, bad.grad_ratio["bn-init"]) != (good.sat_bn_end_max, good.grad_ratio["bn-init"])
