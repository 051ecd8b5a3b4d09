"""The chapter "Population statistics in practice": its summary of the committed result."""

import json
from pathlib import Path

import pytest

from bn.experiments import population_statistics as ps
from bn.experiments.base import ExperimentResult
from bn.experiments.plain_cnn import PlainRun
from bn.training import History, TrainConfig

RESULT = Path(__file__).resolve().parents[2] / "book" / "results" / "population_statistics.json"


@pytest.fixture(scope="module")
def result():
    with open(RESULT) as f:
        return json.load(f)


def _mean(values):
    values = list(values)
    return sum(values) / len(values)


def test_summary_against_the_raw_result(result):
    s = ps.summarize(ExperimentResult.from_dict(result))
    runs, after = result["measures"]["runs"], result["measures"]["after_training"]
    # By hand: the evaluation at step 25 is the second of each history (eval_step 0, 25, ...).
    # Means of a few float64 accuracies in a different order than np.mean: 1e-12 relative.
    assert s.first == 25 and all(r["history"]["eval_step"][1] == 25 for r in runs)
    assert s.accuracy["ema-first"] == pytest.approx(
        100 * _mean(r["history"]["measures"][1]["acc_ema"] for r in runs), rel=1e-12)
    assert s.accuracy["precise-last"] == pytest.approx(
        100 * _mean(r["history"]["measures"][-1]["acc_precise"] for r in runs), rel=1e-12)
    gap_first = _mean(_mean(g["mean_shift"] for g in r["history"]["measures"][1]["gap"]) for r in runs)
    assert s.shift["first"] == pytest.approx(gap_first, rel=1e-12)
    assert s.calib_n == 50 and s.calib_one == pytest.approx(
        100 * _mean(a["calibration_batches"]["1"] for a in after), rel=1e-12)
    assert s.tail_worst_1 == 100 * min(min(a["tail_batch"]["1"]) for a in after)
    assert s.init_weight == pytest.approx(100 * 0.9 ** 25, rel=1e-13)
    assert (s.nseeds, s.ntrain, s.tail) == (2, 50_000, 50_000 % 64)
    # The prose: "the EMA network scores ... against ... for the same weights with recomputed
    # statistics" early, and the gap "has shrunk" by the last step.
    assert s.accuracy["ema-first"] < s.accuracy["precise-first"] and s.shift["last"] < s.shift["first"]


def test_swapped_ways_of_evaluating_would_be_caught(result):
    good = ps.summarize(ExperimentResult.from_dict(result))
    swapped = json.loads(json.dumps(result))
    for r in swapped["measures"]["runs"]:
        for m in r["history"]["measures"]:
            m["acc_ema"], m["acc_precise"] = m["acc_precise"], m["acc_ema"]
    bad = ps.summarize(ExperimentResult.from_dict(swapped))
    assert bad.accuracy["ema-first"] == good.accuracy["precise-first"] != good.accuracy["ema-first"]


def test_a_missing_seed_changes_the_means(result):
    # The summary averages every seed: dropping one is not silently the same summary.
    good = ps.summarize(ExperimentResult.from_dict(result))
    one = json.loads(json.dumps(result))
    one["measures"]["runs"] = one["measures"]["runs"][:1]
    bad = ps.summarize(ExperimentResult.from_dict(one))
    assert bad.nseeds == 1 and bad.accuracy["ema-first"] != good.accuracy["ema-first"]


def test_measure_at_reads_the_evaluation_of_that_step():
    history = History([0, 25, 50], [], [], [], [], [{"a": 1}, {"a": 2}, {"a": 3}], [], False, None, None, 50, None)
    run = PlainRun("bn", 0, {"kind": "plain"}, TrainConfig(steps=300), 0.0, history)
    assert ps.measure_at(run, 25, "a") == 2
    with pytest.raises(ValueError):
        ps.measure_at(run, 30, "a")
