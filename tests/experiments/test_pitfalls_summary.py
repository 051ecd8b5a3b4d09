"""The chapter "Pitfalls, measured": its summary of the committed pitfalls result."""

import json
import math
import random
from pathlib import Path

import pytest

from bn.experiments import pitfalls as pf
from bn.experiments.base import ExperimentResult
from bn.experiments.plain_cnn import PlainRun
from bn.training import History, TrainConfig
from tests.experiments.raw_results import T975

RESULT = Path(__file__).resolve().parents[2] / "book" / "results" / "pitfalls.json"


@pytest.fixture(scope="module")
def result():
    with open(RESULT) as f:
        return json.load(f)


def _percent(values):
    # By hand: mean and the 95 % t half-width with n - 1 = 2 degrees of freedom (three seeds).
    n = len(values)
    assert n == 3
    m = sum(values) / n
    sd = math.sqrt(sum((v - m) ** 2 for v in values) / (n - 1))
    half = T975[2] * sd / math.sqrt(n)
    return f"{100 * m:.1f} % [{100 * (m - half):.1f}, {100 * (m + half):.1f}]"


def _final(result, arm):
    runs = sorted((r for r in result["measures"]["runs"] if r["arm"] == arm), key=lambda r: r["seed"])
    return [r["history"]["final_test_acc"] for r in runs]


def test_fine_tuning_freezes_what_the_prose_says(result):
    # Protects "With requires_grad=False alone, γ and β stay exactly as they were but the running
    # statistics move to the new data", and that BN in eval() keeps its statistics: exact zeros.
    fts = [s["fine_tuning"] for s in result["measures"]["per_seed"]]
    assert all(f["bn_eval"]["running_mean_change"] == 0.0 for f in fts)
    assert all(f["requires_grad_only"]["gamma_change"] == 0.0 for f in fts)
    assert all(f["requires_grad_only"]["running_mean_change"] > 0 for f in fts)


def test_summary_against_the_raw_result(result):
    s = pf.summarize(ExperimentResult.from_dict(result))
    per_seed = result["measures"]["per_seed"]
    # One-decimal strings of means and t intervals: the hand computation must give the same text
    # (a value within 1e-12 of a rounding boundary would be the only way to differ; none is).
    assert s.acc_eval == _percent([p["acc_eval"] for p in per_seed])
    assert s.acc_train_1 == _percent([p["acc_train_mode"]["1"] for p in per_seed])
    assert s.acc_train_max == _percent([p["acc_train_mode"]["1000"] for p in per_seed]) and s.bs_max == 1000
    assert s.mom["099"] == _percent([p["momentum"]["0.99"] for p in per_seed])
    assert s.order_bn_relu == _percent(_final(result, "bn_relu"))
    assert s.zg_zero == _percent(_final(result, "resnet_zero_gamma"))
    diffs = [a - b for a, b in zip(_final(result, "relu_bn"), _final(result, "bn_relu"))]
    m = sum(diffs) / 3
    assert s.order_diff.startswith(f"{100 * m:+.1f} points")
    last = [a for p in per_seed for a in p["momentum_099_last_batches"]]
    assert (s.momentum_099_nlast, s.momentum_099_lo) == (len(last), 100 * min(last))
    assert s.ratio_02 == pytest.approx(sum(p["dropout"]["variance_ratio"]["0.2"]["median"] for p in per_seed) / 3,
                                       rel=1e-12)
    assert s.reset_weight == pytest.approx(100 * 0.99**100, rel=1e-12)
    assert s.converted == pytest.approx(0.01, rel=1e-12)


def test_seed_order_does_not_matter_but_swapped_arms_do(result):
    good = pf.summarize(ExperimentResult.from_dict(result))
    shuffled = json.loads(json.dumps(result))
    random.Random(0).shuffle(shuffled["measures"]["runs"])
    assert pf.summarize(ExperimentResult.from_dict(shuffled)) == good  # paired by seed, not by the order of the file
    swapped = json.loads(json.dumps(result))
    for r in swapped["measures"]["runs"]:
        r["arm"] = {"bn_relu": "relu_bn", "relu_bn": "bn_relu"}.get(r["arm"], r["arm"])
    bad = pf.summarize(ExperimentResult.from_dict(swapped))
    assert bad.order_bn_relu == good.order_relu_bn and bad.order_diff != good.order_diff
    assert bad.order_diff.startswith("-") and good.order_diff.startswith("+")


def _run(arm, seed, acc):
    history = History([], [], [], [], [], [], [], False, None, None, 300, acc)
    return PlainRun(arm, seed, {"kind": "plain"}, TrainConfig(steps=300), 0.0, history)


def test_final_accuracies_are_in_seed_order():
    runs = [_run("a", 2, 0.3), _run("a", 0, 0.1), _run("b", 0, 0.5)]
    assert pf.final_accuracies(runs) == {"a": [0.1, 0.3], "b": [0.5]}


def test_a_renamed_measurement_in_the_file_is_an_error_naming_it(result):
    # The per-seed records load strictly: a key the summary does not know is not silently skipped.
    broken = json.loads(json.dumps(result))
    broken["measures"]["per_seed"][1]["fine_tuning"]["bn_eval"]["acc_shift"] = 0.5
    with pytest.raises(ValueError, match=r"pitfalls\.json: measures\['per_seed'\]\[1\].*'acc_shift'"):
        pf.summarize(ExperimentResult.from_dict(broken))
